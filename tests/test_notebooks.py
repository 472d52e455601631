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
    # nothing was written next to the notebooks
    assert sorted(p.name for p in NOTEBOOKS.iterdir() if p.suffix not in (".ipynb", ".py")
                  and p.name not in ("__pycache__", ".ipynb_checkpoints")) == []
