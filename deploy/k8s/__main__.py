from deploy.k8s.render import main

raise SystemExit(main())
