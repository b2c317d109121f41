from memory_service.cli import main

raise SystemExit(main())
