"""``python -m cpnas``: the ``cpnas`` command (so ``torchrun -m cpnas search ...`` works)."""

from .cli import main

raise SystemExit(main())
