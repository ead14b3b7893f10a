"""CivicGrid on Kubernetes: Kustomize base and overlays, and the tool that renders and checks them.

``python -m deploy.k8s --help``; the layout and how to apply it are in docs/kubernetes.md.
"""
