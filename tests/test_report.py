"""report.html: standalone, offline, with every view in it."""

from __future__ import annotations

import html
import json
import re

import pytest

from cpnas.errors import CpnasError, RunDirError
from cpnas.simulate import simulate
from cpviz import write_report

SMALL_OPS = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3")


def make_run(path, **kw):
    events = simulate(ops=SMALL_OPS, nodes=2, seed=kw.pop("seed", 3), **kw)
    path.mkdir(parents=True)
    (path / "events.jsonl").write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    return events


def test_report_of_a_finished_run(tmp_path):
    events = make_run(tmp_path / "run")
    out = write_report(tmp_path / "run")
    assert out == tmp_path / "run" / "report.html"
    page = out.read_text(encoding="utf-8")
    for div in ("heatmap", "timeline", "curves", "op-gap"):
        assert f'id="{div}"' in page
    assert page.count("<svg") >= 3  # the genotype pair and one state diagram per cell
    for cell in ("genotype-cells", "state-normal", "state-reduce"):
        assert re.search(f'id="{cell}"><div class="cpnas-focus"><style>[^<]*</style><svg', page)  # focus mode
    assert events[-2].genotype in page.replace("&#x27;", "'")  # the DARTS string, escaped
    assert "1-bit model summary" in page and 'class="dataframe' in page
    # offline: plotly.js inline, nothing loaded from the network
    assert page.count("<script") >= 5
    assert not re.search(r'<script[^>]+src=', page)
    assert "<link" not in page  # (plotly.js mentions a topojson CDN; only geo plots use it)


def test_report_of_a_half_finished_run_and_from_events(tmp_path):
    events = make_run(tmp_path / "run", stop_after=5)
    out = write_report(tmp_path / "run", tmp_path / "elsewhere" / "r.html")
    page = out.read_text(encoding="utf-8")
    assert "stopped" in page and "Searched cells" not in page
    assert write_report(events, tmp_path / "ev.html").is_file()
    with pytest.raises(CpnasError, match="out_path"):
        write_report(events)


def test_report_reads_genotype_json_when_the_log_has_none(tmp_path):
    events = make_run(tmp_path / "run", stop_after=5)
    geno = simulate(ops=SMALL_OPS, nodes=2, seed=3)[-2].genotype
    (tmp_path / "run" / "genotype.json").write_text(json.dumps({"genotype": geno}), encoding="utf-8")
    page = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "Searched cells" in page and not any(e.type == "GenotypeDerived" for e in events)


def test_report_bad_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError):
        write_report(tmp_path / "empty")
    (tmp_path / "empty" / "events.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(RunDirError, match="no events"):
        write_report(tmp_path / "empty")
    assert not (tmp_path / "empty" / "report.html").exists()


def _marks(layout):
    """The visible marks on cells (not the key) of a layout or frame layout: (row, text)."""
    return [(a["y"], a["text"]) for a in layout["annotations"]
            if a.get("visible") is not False and a.get("yref") == "y"]


def test_heatmap_marks_on_every_row_of_every_frame():
    from cpviz.heatmap import heatmap_spec
    from cpviz.state import replay

    state = replay(simulate(seed=3))  # the teaching space: 8 ops, 28 edges, 7 rounds
    spec = heatmap_spec(state)
    assert len(state.edges) == 28 and len(spec["frames"]) == 7
    for frame in spec["frames"]:
        r = int(frame["name"])
        marks = _marks(frame["layout"])
        assert {row for row, _ in marks} == set(state.edges)  # every row, not the first few
        for edge in state.edges:
            texts = sorted(t for row, t in marks if row == edge)
            # rN for each op pruned before this round, ✕ for this round's prune, ★ the survivor
            assert texts == sorted([f"r{i + 1}" for i in range(r)] + ["✕", "★"])
        # plotly merges a frame's marks into the shown ones index by index: each says it is
        # visible, or it would inherit an earlier frame's hidden placeholder at its index
        assert all(a["visible"] is True for a in frame["layout"]["annotations"]
                   if a.get("yref") == "y" or a.get("text"))


def test_the_report_does_not_play_its_frames_on_load(tmp_path):
    make_run(tmp_path / "run")
    page = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "Plotly.animate" not in page  # auto_play off: it would leave the first frame's marks


def test_timeline_rows_follow_the_heatmap_and_never_move():
    from cpviz.heatmap import heatmap_spec
    from cpviz.state import replay, round_starts
    from cpviz.timeline import timeline_spec

    for state in round_starts(replay(simulate(seed=3))):
        heat, time = heatmap_spec(state, slider=False)["layout"], timeline_spec(state)["layout"]
        assert list(time["yaxis"]["categoryarray"]) == list(heat["yaxis"]["categoryarray"]) \
            == list(state.edges)
        assert time["yaxis"]["range"] == heat["yaxis"]["range"]  # the first edge on top in both
        assert time["yaxis"]["ticktext"] == heat["yaxis"]["ticktext"]  # and named alike


def test_header_prunes_and_edges_table(tmp_path):
    events = make_run(tmp_path / "run")
    page = write_report(tmp_path / "run").read_text(encoding="utf-8")
    from cpnas.scoring import last_round_accuracy
    from cpviz.state import replay

    state = replay(events)
    child, parent = last_round_accuracy(state.samples)
    assert "<td>beta_P</td><td>0.5</td>" in page
    assert f"child (1-bit) {child:.4f}" in page and f"parent (full precision) {parent:.4f}" in page
    for line in state.prune_lines():  # what each round pruned, in words
        assert html.escape(line) in page
    table = page[page.index('id="edges"'):]
    table = table[:table.index("</table>")]
    rounds = set(re.findall(r"<td>r(\d+)</td>", table))
    assert rounds == {str(r + 1) for r in range(state.n_rounds)}  # counted from 1
    assert "normal c_{k-2}→0" in table and "normal:0->2" not in table
