from ift_desktop.cli import main

raise SystemExit(main())
