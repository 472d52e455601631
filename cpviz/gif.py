"""``cpnas render RUN --format gif``: each cell's animation across the rounds of a run.

The frames are :func:`cpviz.animate.animate_cells`'s ``"genotype"`` style: after every scored
round the cell the search would return if it stopped there, titled "after round n of N",
the derived genotype last (held longer). A genotype alone has no rounds: the source must
be a run directory (or its ``events.jsonl``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cpnas.errors import CpnasError

GIF_DPI = 72  # animate_cells' default


def run_gifs(source: Any, out_dir: str | os.PathLike, *, dpi: int | None = None,
             cells: tuple[str, ...] = ("normal", "reduce")) -> list[Path]:
    """Write ``normal.gif`` and ``reduce.gif`` for a run; return the paths."""
    from cpnas.resolve import resolve
    from cpnas.runs.layout import LOG_NAME

    from .animate import animate_cells
    from .export import ensure_dir
    from .state import state_of

    resolved = resolve(source)
    if resolved.kind != "run" or resolved.given is not None or not resolved.log.is_file():
        raise CpnasError(f"--format gif needs a run directory (its {LOG_NAME}): a genotype has "
                         f"no rounds to animate; got {str(source)[:80]!r}")
    state = state_of(resolved)
    out = ensure_dir(out_dir)
    return [animate_cells(state, out / f"{cell}.gif", cell, style="genotype",
                          dpi=dpi or GIF_DPI) for cell in cells]


__all__ = ["run_gifs"]
