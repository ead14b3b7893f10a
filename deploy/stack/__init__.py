"""The whole local system: servers (deploy.local), the three services, demo data, and the test run."""
