"""The cell pictures of README.md and docs/cpviz.md, drawn with the current cpviz.

    python benchmarks/doc_images.py                 # docs/images/{darts_v2,searched}_cells.{svg,png}
    python benchmarks/doc_images.py --run RUN_DIR   # first record RUN_DIR's genotype as the searched cell

darts_v2_cells: ``cpviz.cell_pair(cpnas.DARTS_V2)``. searched_cells: the cell pair of the genotype
in benchmarks/data/searched_cells.json (a make demo run's; docs/cpviz.md, "Pictures"). The
SVGs at the diagram's own size, the PNGs at 60 dpi to stay small.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cpnas
from cpnas.runs import atomic_write_bytes, atomic_write_text
from cpviz import cell_pair
from cpviz.export import render_bytes

ROOT = Path(__file__).resolve().parents[1]
SEARCHED = ROOT / "benchmarks" / "data" / "searched_cells.json"
IMAGES = ROOT / "docs" / "images"
PNG_DPI = "60"


def write_pair(source, stem: str, out: Path = IMAGES) -> list[Path]:
    graph = cell_pair(source)
    paths = [out / f"{stem}.svg", out / f"{stem}.png"]
    atomic_write_bytes(paths[0], render_bytes(graph, "svg"))
    graph.attr(dpi=PNG_DPI)
    atomic_write_bytes(paths[1], render_bytes(graph, "png"))
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", metavar="RUN_DIR",
                    help="record this run's genotype in benchmarks/data/searched_cells.json first")
    args = ap.parse_args()
    record = json.loads(SEARCHED.read_text())
    if args.run:
        record = {"genotype": str(cpnas.load_run(args.run).genotype),
                  "source": f"the run directory {Path(args.run).name} (benchmarks/doc_images.py --run)"}
        atomic_write_text(SEARCHED, json.dumps(record, indent=2) + "\n")
    for path in write_pair(cpnas.DARTS_V2, "darts_v2_cells") + write_pair(record["genotype"], "searched_cells"):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
