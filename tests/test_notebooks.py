"""The teaching notebooks: each runs top to bottom in quick mode, and none is committed with
outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_binarization.ipynb", "02_search_space.ipynb", "03_cpnas_live.ipynb",
         "04_exploring_beta.ipynb", "05_exporting_cells.ipynb", "06_does_it_beat_random.ipynb"]


def test_the_notebooks_are_there():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: cell {i} has outputs"
            assert cell.execution_count is None, f"{name}: cell {i} has an execution count"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_runs_top_to_bottom_in_quick_mode(name, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("CPNAS_QUICK", "1")
    monkeypatch.setenv("CPNAS_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    # kernel "python3": jupyter_client starts a kernelspec's "python" as sys.executable,
    # so the kernel is this venv's interpreter
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert errors == []
    CLAIMS.get(name, lambda nb: None)(nb)  # what its text says, against what it printed
    # nothing was written next to the notebooks
    assert sorted(p.name for p in NOTEBOOKS.iterdir() if p.suffix not in (".ipynb", ".py")
                  and p.name not in ("__pycache__", ".ipynb_checkpoints")) == []


# -- each notebook's checkable claims, against its own outputs -------------------------------


def _text(cell) -> str:
    """What a code cell printed (streams and plain-text results)."""
    out = []
    for o in cell.outputs:
        if o.get("output_type") == "stream":
            out.append(o["text"])
        elif "data" in o and "text/plain" in o["data"]:
            out.append(o["data"]["text/plain"])
    return "".join(out)


def _figures(cell) -> list[dict]:
    return [o["data"]["application/vnd.plotly.v1+json"] for o in cell.outputs
            if "application/vnd.plotly.v1+json" in o.get("data", {})]


def _cell(nb, starts: str):
    return next(c for c in nb.cells if c.source.startswith(starts))


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _claims_01(nb) -> None:
    """The filter loss falls, then climbs back as alpha outgrows the parent's scale: the
    straight-through lesson the text draws, from the numbers the notebook printed."""
    import re

    text = _text(_cell(nb, "from cpnas.binary import weight_scale"))
    m = re.search(r"filter loss: ([0-9.]+) at the start, ([0-9.]+) at its lowest \(step (\d+)\), "
                  r"([0-9.]+) after (\d+) steps", text)
    start, lowest, step, final, steps = float(m[1]), float(m[2]), int(m[3]), float(m[4]), int(m[5])
    assert lowest < start and 0 < step < steps - 1 and final > lowest  # it falls, then rebounds
    a = re.search(r"child's alpha \(mean \|W\|\): ([0-9.]+) -> ([0-9.]+); the parent's: ([0-9.]+)", text)
    assert float(a[2]) > float(a[3])  # alpha grew past the parent's scale
    (fig,) = _figures(_cell(nb, "from plotly.subplots import make_subplots"))
    assert f"until step {step}," in fig["layout"]["title"]["text"]
    titles = [fig["layout"][k]["title"]["text"] for k in ("yaxis", "yaxis2", "xaxis2")]
    assert all(titles)  # every axis says what it shows
    assert "climb back" in _markdown(nb) and "straight-through" in _markdown(nb)


def _claims_02(nb) -> None:
    """"The last round" is the last round; edge ids are mapped to the diagram's nodes."""
    cell = _cell(nb, 'print(f"round {state.n_rounds}')
    (fig,) = _figures(cell)
    assert "round 3 of 3, the last" in _text(cell)
    assert fig["layout"]["title"]["text"].startswith("Indicator ev per edge and op, round 3")
    assert "round 3 of 3" in _markdown(nb)
    mapping = _text(_cell(nb, "from cpviz.cell import edge_label"))
    assert "normal:0->2" in mapping and "normal c_{k-2}→0" in mapping
    md = _markdown(nb)
    assert md.index("**ev**") < md.index("The heatmap shows")  # ev is defined before it is drawn
    lines = _text(_cell(nb, "for line in state.prune_lines()")).splitlines()
    assert [line[:8] for line in lines] == ["Round 1:", "Round 2:", "Round 3:"]


def _claims_05(nb) -> None:
    """The node range the text gives is the one drawn; the normal cell is drawn above the
    reduction cell and c_{k-2} above c_{k-1}, as the text says; the published genotype goes in
    as text."""
    import re

    from dotread import svg_nodes

    pair = _cell(nb, "nodes = result.config.nodes")
    m = re.search(r"(\d+) intermediate nodes: 0\.\.(\d+)", _text(pair))
    assert int(m[2]) == int(m[1]) - 1
    md = _markdown(nb)
    assert "the normal cell above the reduction cell" in md and "$c_{k-2}$ (above)" in md
    (svg,) = [o["data"]["image/svg+xml"] for o in pair.outputs if "image/svg+xml" in o.get("data", {})]
    y = {name: node.y for name, node in svg_nodes(svg).items()}  # SVG y grows downwards
    assert y["normal/title"] < y["reduce/title"]
    assert all(y[f"{c}/c_{{k-2}}"] < y[f"{c}/c_{{k-1}}"] for c in ("normal", "reduce"))
    assert {f"normal/{i}" for i in range(int(m[1]))} <= set(y)  # the nodes the text names are drawn
    assert "cpviz.export_cell(text," in _cell(nb, "text = str(DARTS_V2)").source
    assert "dpi=72" in _cell(nb, "gif = cpviz.animate_cells").source and "At 72 dpi" in md


def _claims_04(nb) -> None:
    """Every point is a mean over seeds with its error bar; the axes start at 0 and end at
    the largest possible value; the axis labels are typeset."""
    import re

    grid = _cell(nb, "from cpnas.data import load_data")
    seeds = len(re.findall(r"^\d+ ", _text(grid), flags=re.M))  # one table row per search
    (fig,) = _figures(_cell(nb, "from plotly.subplots import make_subplots"))
    points = [t for t in fig["data"] if t.get("error_y")]
    assert points and len(points) == len(fig["data"])  # every line has error bars
    assert all(len(t["error_y"]["array"]) == len(t["x"]) for t in points)
    assert seeds >= 2 * max(len(t["x"]) for t in points)  # at least 2 seeds per point
    lay = fig["layout"]
    assert lay["yaxis"]["range"] == [0, 1] and lay["yaxis2"]["range"][0] == 0
    assert lay["xaxis"]["title"]["text"] == "β<sub>P</sub>"
    assert "_" not in lay["yaxis"]["title"]["text"] + lay["yaxis2"]["title"]["text"]
    (gap,) = _figures(_cell(nb, "last = list(results.values())[-1]"))
    assert "<sub>P</sub>" in gap["layout"]["yaxis"]["title"]["text"]  # not raw "A_P - A_C"


CLAIMS = {"01_binarization.ipynb": _claims_01, "02_search_space.ipynb": _claims_02,
          "04_exploring_beta.ipynb": _claims_04, "05_exporting_cells.ipynb": _claims_05}
