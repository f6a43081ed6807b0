"""`python -m backend.cli ...` runs the `upscale` command line, as `python -m backend` does."""

from backend.cli import main

raise SystemExit(main())
