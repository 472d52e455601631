"""An animated GIF of a cell across the rounds of a search (like the DARTS README's).

One frame per round start (every op alive, then one fewer per edge each round) and a last
frame with the survivors; each frame is the search-state diagram of :func:`cpviz.cell_graph`
rendered to PNG by Graphviz, and Pillow assembles them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from cpnas.errors import CpnasError

from ._imports import try_import
from .export import _ensure_dir, atomic_write_bytes, render_bytes
from .state import SearchState, as_state


def animation_states(state: SearchState) -> list[SearchState]:
    """The state at the start of every round reached, then the latest state."""
    frames = [state.at_round(r) for r in range(max(state.round, 0) + 1)]
    if frames[-1] is not state:
        frames.append(state)
    return frames


def animate_cells(
    state_or_events: Any,
    out_path: str | os.PathLike,
    cell: str = "normal",
    *,
    frame_ms: int = 1000,
    last_ms: int = 3000,
    dpi: int = 60,
) -> Path:
    """Write the GIF; ``last_ms`` holds the final frame longer. Returns the path."""
    image = try_import("PIL.Image", "the cell animation")
    state = as_state(state_or_events)
    if not state.edges or state.round < 0:
        raise CpnasError("the search has not started a round yet: nothing to animate")
    from .cell import cell_graph

    pictures = []
    for snap in animation_states(state):
        graph = cell_graph(snap, cell)
        graph.attr(dpi=str(dpi))
        pictures.append(image.open(io.BytesIO(render_bytes(graph, "png"))).convert("RGB"))
    frames = _same_size(image, pictures)
    out = Path(out_path)
    _ensure_dir(out.parent)
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


__all__ = ["animate_cells", "animation_states"]
