"""python -m embbert.perf: see embbert.perf.run."""

from .run import main

raise SystemExit(main())
