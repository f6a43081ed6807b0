"""`python -m backend ...` runs the `upscale` command line."""

from backend.cli import main

raise SystemExit(main())
