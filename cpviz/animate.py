"""An animated GIF of a cell across the rounds of a search (like the DARTS README's).

Two styles:
- ``"search"``: one frame per round start (every op alive, then one fewer per edge each
  round) and a last frame with the survivors, each the search-state diagram of
  :func:`cpviz.cell_graph`;
- ``"genotype"``: after every scored round, the cell the search would return if it stopped
  there (on each edge the alive op with the highest ev, then DARTS's top-2 per node), as in
  the DARTS README's animations; the last frame is the derived genotype.

Graphviz renders each frame to PNG and Pillow assembles them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from cpnas.errors import CpnasError, GenotypeError
from cpnas.genotype import Genotype, parse_genotype

from ._imports import try_import
from .export import atomic_write_bytes, ensure_dir, render_bytes
from .state import SearchState, as_state, leading_genotype
from .state import round_starts as animation_states


def genotype_frames(state: SearchState) -> list[tuple[int, Genotype]]:
    """(rounds done, leading genotype) after every scored round; the derived one last."""
    frames = []
    for rnd in sorted(state.scores):
        try:
            frames.append((rnd + 1, leading_genotype(state, rnd)))
        except GenotypeError:  # every leader on a cell is "none": no cell to draw yet
            continue
    if state.genotype:
        final = parse_genotype(state.genotype)
        if not frames or frames[-1][1] != final:
            frames.append((max(state.scores, default=-1) + 1, final))
    return frames


def animate_cells(
    state_or_events: Any,
    out_path: str | os.PathLike,
    cell: str = "normal",
    *,
    style: str = "search",
    frame_ms: int = 1000,
    last_ms: int = 3000,
    dpi: int = 72,
) -> Path:
    """Write the GIF; ``last_ms`` holds the final frame longer. Returns the path."""
    image = try_import("PIL.Image", "the cell animation")
    state = as_state(state_or_events)
    if style not in ("search", "genotype"):
        raise CpnasError(f"style must be 'search' or 'genotype', got {style!r}")
    if not state.edges or state.round < 0:
        raise CpnasError("the search has not started a round yet: nothing to animate")
    from .cell import cell_graph

    if style == "search":
        sources = [(None, snap) for snap in animation_states(state)]
    else:
        sources = [(f"after round {n} of {state.n_rounds}", g) for n, g in genotype_frames(state)]
    if not sources:
        raise CpnasError("no round has been scored yet: no leading cell to animate")
    pictures = []
    for title, snap in sources:
        graph = cell_graph(snap, cell, title=title)
        graph.attr(dpi=str(dpi))
        pictures.append(image.open(io.BytesIO(render_bytes(graph, "png"))).convert("RGB"))
    frames = _same_size(image, pictures)
    out = Path(out_path)
    ensure_dir(out.parent)
    buf = io.BytesIO()
    durations = [frame_ms] * (len(frames) - 1) + [last_ms]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    atomic_write_bytes(out, buf.getvalue())
    return out


def _same_size(image: Any, pictures: list) -> list:
    """Pad every frame onto a white canvas of the largest size (Graphviz sizes vary)."""
    width = max(p.width for p in pictures)
    height = max(p.height for p in pictures)
    out = []
    for p in pictures:
        canvas = image.new("RGB", (width, height), "white")
        canvas.paste(p, ((width - p.width) // 2, (height - p.height) // 2))
        out.append(canvas)
    return out


__all__ = ["animate_cells", "animation_states", "genotype_frames", "leading_genotype"]
