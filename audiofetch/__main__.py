from audiofetch.cli import main

raise SystemExit(main())
