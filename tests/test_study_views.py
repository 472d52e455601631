"""cpviz's study views on a hand-made results table with known numbers."""

from __future__ import annotations

import math
import statistics

import pytest

from cpnas.genotype import DARTS_V2, PC_DARTS
from cpnas.study import COLUMNS, read_results, write_results

pytest.importorskip("plotly")

from cpviz.study import (  # noqa: E402
    beta_chart,
    stat,
    strategy_chart,
    study_data,
    study_html,
    summary_table,
    write_study_html,
)

G1, G2 = str(DARTS_V2), str(PC_DARTS)


def _row(strategy, beta, seed, acc, fp, conv, geno=G1, run=None):
    return {"strategy": strategy, "beta": beta, "seed": seed, "genotype": geno,
            "search_seconds": 10.0 + seed, "test_acc": acc, "test_acc_fp": fp, "conv_ops": conv,
            "run_dir": run or f"searches/{strategy}-{beta}-{seed}"}


ROWS = [
    _row("cpnas", 0.0, 0, 0.90, 0.95, 4), _row("cpnas", 0.0, 1, 0.92, 0.96, 6),
    _row("cpnas", 1.0, 0, 0.80, 0.97, 2, G2), _row("cpnas", 1.0, 1, 0.84, 0.93, 2, G2),
    _row("child-only", 0.0, 0, 0.90, 0.95, 4, run="searches/cpnas-0.0-0"),
    _row("child-only", 0.0, 1, 0.92, 0.96, 6, run="searches/cpnas-0.0-1"),
    _row("random", None, 0, 0.85, 0.90, 3), _row("random", None, 1, 0.87, 0.92, 5),
    _row("random-pick", None, 0, 0.70, 0.80, 1, G2), _row("random-pick", None, 1, None, None, None, ""),
]


def test_stat_is_mean_and_sample_std():
    s = stat([0.9, 0.92, None, math.nan])
    assert s.n == 2 and s.mean == pytest.approx(0.91)
    assert s.std == pytest.approx(statistics.stdev([0.9, 0.92]))
    assert math.isnan(stat([0.5]).std) and stat([]).n == 0


def test_study_data_groups_by_strategy_and_beta():
    d = study_data(ROWS)
    labels = [g.label for g in d.groups]
    # child-only is the same searches as cpnas β=0: one group, both names
    assert labels == ["cpnas β=0 (child-only)", "cpnas β=1", "random", "random-pick"]
    by = {g.label: g for g in d.groups}
    assert by["cpnas β=1"].stats["test_acc"].mean == pytest.approx(0.82)
    assert by["random"].stats["test_acc_fp"].std == pytest.approx(statistics.stdev([0.90, 0.92]))
    assert by["random-pick"].stats["test_acc"].n == 1  # the unfinished seed is left out
    # child-only is cpnas at beta 0: the beta sweep counts each search once
    assert [(b.beta, b.stats["test_acc"].n) for b in d.betas] == [(0.0, 2), (1.0, 2)]
    assert d.betas[1].stats["conv_ops"].mean == 2
    cells = dict(d.cells)
    assert set(cells) == {G1, G2}
    assert "random-pick, seed 0" in cells[G2] and len(cells[G1]) == 6


def test_charts_carry_the_numbers():
    d = study_data(ROWS)
    fig = strategy_chart(d)
    assert [t.name for t in fig.data] == [g.label for g in d.groups]  # one box per group
    assert list(fig.data[1].y) == pytest.approx([80.0, 84.0])  # cpnas β=1, its seeds
    assert sum(len(t.y) for t in fig.data) == 7  # one dot per finished seed, child-only's once
    assert all(t.boxpoints == "all" and t.boxmean is True for t in fig.data)
    fp = strategy_chart(d, "test_acc_fp")
    assert sum(fp.data[0].y) / 2 == pytest.approx(95.5)
    beta = beta_chart(d)
    acc, conv = beta.data[0], beta.data[2]
    assert list(acc.x) == [0.0, 1.0] and acc.y[0] == pytest.approx(91.0)
    assert list(conv.y) == [5.0, 2.0]
    shapes = [s for s in beta.layout.shapes]
    assert any(s.type == "rect" for s in shapes)  # random's mean ± std band
    table = summary_table(d)
    assert table.loc["random", "seeds"] == 2
    assert table.loc["cpnas β=0 (child-only)", "1-bit acc %"].startswith("91.0 ± ")
    assert not d.comparisons  # no cpnas β=0.5 row: nothing to compare against
    assert len(study_data(ROWS, reference="cpnas β=0").comparisons) == 3


def test_the_page_is_standalone_and_agrees_with_the_csv(tmp_path):
    rows = [{k: ("" if r[k] is None else r[k]) for k in COLUMNS} for r in ROWS]
    write_results(rows, tmp_path / "results.csv")
    back = read_results(tmp_path)
    assert [r["test_acc"] for r in back] == [r["test_acc"] for r in ROWS]
    path = write_study_html(tmp_path)
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "study.html"
    assert page.count("<script") >= 3 and 'src="http' not in page  # plotly inline, nothing fetched
    assert page.count("plotly.js v") <= 2  # the library is embedded once
    assert page.count('class="cell-diagram"') == 2  # each distinct cell drawn once
    assert "91.0 ± 1.4" in page  # the summary table's cpnas β=0 line
    assert study_html(back) == page


def test_no_rows_is_an_error(tmp_path):
    from cpnas.errors import CpnasError

    write_results([], tmp_path / "results.csv")
    with pytest.raises(CpnasError, match="no rows"):
        study_data(tmp_path)


def test_the_verdicts_come_from_the_paired_family():
    from cpnas.stats import compare
    from cpviz.study import comparison_table, difference_chart

    rows = [_row("cpnas", 0.5, s, 0.80 + 0.01 * (s % 5), 0.9, 4) for s in range(12)]
    rows += [_row("random", None, s, 0.83 + 0.01 * (s % 5), 0.9, 4) for s in range(12)]
    rows += [_row("darts", None, s, 0.80 + 0.01 * ((s * 7) % 5), 0.9, 4) for s in range(12)]
    d = study_data(rows)
    assert d.comparisons == tuple(compare(rows))
    table = comparison_table(d)
    assert list(table.index) == ["random", "darts"]
    assert table.loc["random", "verdict"] == "beyond noise: better"
    assert table.loc["random", "difference (points)"] == "+3.0"
    fig = difference_chart(d)
    assert sorted(t.name for t in fig.data) == ["beyond noise: better", "within noise"]
    page = study_html(d)
    assert "Holm" in page and "beyond noise: better" in page
    two = study_data([r for r in rows if r["seed"] < 2])
    assert {c.verdict for c in two.comparisons} == {"too few seeds"}
