"""Files: cell diagrams as svg/pdf/png/dot, and static PNGs of plotly figures.

Graphviz rendering uses the ``dot`` program when it is on PATH. Otherwise it uses the
Graphviz libraries bundled in the pygraphviz wheel (pygraphviz 2.x ships the layout and
render plugins as shared libraries next to the package, and lays out in-process; it ships
no ``dot`` executable), so rendering needs no root. :func:`graphviz_backend` says which one
is used; set ``CPNAS_GRAPHVIZ=dot`` or ``CPNAS_GRAPHVIZ=pygraphviz`` to choose.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cpnas.errors import CpnasError
from cpnas.runs import atomic_write_bytes

from ._imports import try_import

FORMATS = ("svg", "pdf", "png", "dot")
_BACKENDS = ("dot", "pygraphviz")
_NO_GRAPHVIZ = (
    "rendering needs Graphviz: install it (Debian/Ubuntu: apt-get install graphviz; "
    "conda: conda install -c conda-forge graphviz) or, without root, pip install pygraphviz"
)


def graphviz_backend() -> str:
    """``"dot"`` (the program on PATH) or ``"pygraphviz"`` (its bundled libraries).

    ``CPNAS_GRAPHVIZ`` picks one explicitly. Raises CpnasError when neither is available.
    """
    wanted = os.environ.get("CPNAS_GRAPHVIZ", "").strip().lower()
    if wanted and wanted not in _BACKENDS:
        raise CpnasError(f"CPNAS_GRAPHVIZ must be one of {list(_BACKENDS)}, got {wanted!r}")
    if wanted in ("", "dot") and shutil.which("dot"):
        return "dot"
    if wanted in ("", "pygraphviz") and _has_pygraphviz():
        return "pygraphviz"
    if wanted:
        raise CpnasError(f"CPNAS_GRAPHVIZ={wanted} is not available; {_NO_GRAPHVIZ}")
    raise CpnasError(_NO_GRAPHVIZ)


def _has_pygraphviz() -> bool:
    try:
        import pygraphviz  # noqa: F401
    except ImportError:
        return False
    return True


def render_bytes(graph: Any, fmt: str, *, in_process: bool = False) -> bytes:
    """Render a ``graphviz.Digraph`` (or DOT text) to the bytes of one format.

    ``in_process``: lay it out with pygraphviz's Graphviz library in this process where it is
    installed and ``CPNAS_GRAPHVIZ`` does not ask for ``dot``: no process to start, which is
    most of the cost of a small graph (~14 ms against ~30 ms for a compact cell: the live
    dashboard's diagram)."""
    _check_formats([fmt])
    source = graph if isinstance(graph, str) else graph.source
    if fmt == "dot":
        return source.encode("utf-8")
    wanted = os.environ.get("CPNAS_GRAPHVIZ", "").strip().lower()
    if in_process and wanted != "dot" and _has_pygraphviz():
        pygraphviz = try_import("pygraphviz", "rendering")
        return pygraphviz.AGraph(string=source).draw(format=fmt, prog="dot")
    if graphviz_backend() == "dot":
        graphviz = try_import("graphviz", "rendering")
        return graphviz.Source(source).pipe(format=fmt)
    pygraphviz = try_import("pygraphviz", "rendering")
    return pygraphviz.AGraph(string=source).draw(format=fmt, prog="dot")


def _check_formats(formats: Iterable[str]) -> list[str]:
    out = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise CpnasError(f"unsupported format {fmt!r}; choose from {', '.join(FORMATS)}")
        out.append(fmt)
    if not out:
        raise CpnasError(f"no format given; choose from {', '.join(FORMATS)}")
    return out


def ensure_dir(out_dir: str | os.PathLike) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CpnasError(f"{out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CpnasError(f"{out}: cannot create the directory ({exc.strerror})") from None
    return out


def export_cell(
    source: Any,
    out_dir: str | os.PathLike,
    formats: Iterable[str] | str = FORMATS,
    *,
    cells: Iterable[str] = ("normal", "reduce"),
    binary: bool = True,
    legend: bool = True,
    dpi: int | None = None,
) -> list[Path]:
    """Write ``normal.<fmt>`` and ``reduce.<fmt>`` for every format; return the paths.

    ``source`` is anything :func:`cpviz.cell_graph` takes. ``dpi``: the PNG's resolution
    (Graphviz's default: 96; 300 for print gives about 3x the pixels each way). Everything is
    rendered before the first file is written, so a failure leaves no partial set behind.
    """
    if dpi is not None and not (isinstance(dpi, int) and 10 <= dpi <= 1200):
        raise CpnasError(f"dpi: must be an integer in 10..1200, got {dpi!r}")
    from .cell import cell_graph
    from .state import genotype_or_state

    fmts = _check_formats(formats.split(",") if isinstance(formats, str) else formats)
    resolved = genotype_or_state(source)
    rendered = []
    for cell in cells:
        graph = cell_graph(resolved, cell, binary=binary, legend=legend)
        rendered += [(f"{cell}.{fmt}", render_bytes(_at_dpi(graph, dpi) if fmt == "png" else graph, fmt))
                     for fmt in fmts]
    return write_files(out_dir, rendered)


def write_files(out_dir: str | os.PathLike, files: list[tuple[str, bytes]]) -> list[Path]:
    """Write every (name, bytes) into ``out_dir`` (made if absent), each atomically, once all
    were rendered (a failed render writes nothing); return the paths."""
    out = ensure_dir(out_dir)
    for name, data in files:
        atomic_write_bytes(out / name, data)
    return [out / name for name, _ in files]


def _at_dpi(graph: Any, dpi: int | None) -> Any:
    """A copy of the diagram drawn at ``dpi`` (None: as it is)."""
    if dpi is None:
        return graph
    copy = graph.copy()
    copy.attr(dpi=str(dpi))
    return copy


# -- plotly figures -> PNG -------------------------------------------------------------------

_CHROME_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_NO_CHROME = (
    "static PNG export needs Chrome or Chromium: install it (Debian/Ubuntu: apt-get install "
    "chromium), or run kaleido_get_chrome, or set BROWSER_PATH to a Chrome executable"
)


def find_browser() -> str:
    """The Chrome/Chromium kaleido will drive: BROWSER_PATH, then PATH, then /usr/bin/chromium."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise CpnasError(f"BROWSER_PATH={env} is not an executable; {_NO_CHROME}")
        return env
    for name in _CHROME_NAMES:
        found = shutil.which(name)
        if found:
            return found
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    raise CpnasError(_NO_CHROME)


def to_png(fig: Any, path: str | os.PathLike, *, width: int | None = None, height: int | None = None,
           scale: float = 2.0) -> Path:
    """A static PNG of a plotly figure via kaleido and the machine's Chromium."""
    kaleido = try_import("kaleido", "static PNG export")
    browser = find_browser()
    opts = {"format": "png", "scale": scale}
    opts.update({k: v for k, v in (("width", width), ("height", height or fig.layout.height)) if v})
    data = kaleido.calc_fig_sync(fig, opts=opts, kopts={"path": browser})
    path = Path(path)
    ensure_dir(path.parent)
    atomic_write_bytes(path, data)
    return path


__all__ = ["FORMATS", "export_cell", "find_browser", "graphviz_backend", "render_bytes", "to_png",
           "write_files"]
