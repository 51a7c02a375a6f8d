from eidos.cli.main import main

raise SystemExit(main())
