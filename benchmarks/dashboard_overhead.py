"""How much does the live dashboard slow the search down?

Runs the same search alternately without and with the dashboard subscribed, and prints
the median wall time of each and their ratio, side by side with the redraw intervals the
dashboard kept (the time between two redraws of the figures while the search ran) and the
share of wall time its redraws took. "With" is the real set-up of a notebook: the search in
the dashboard's worker thread, the main thread draining the queue every ``--refresh``
seconds and redrawing as the dashboard's policy says, as the kernel loop does.

    .venv/bin/python benchmarks/dashboard_overhead.py --repeats 3            # a small search
    .venv/bin/python benchmarks/dashboard_overhead.py --full --repeats 2     # the teaching default

Aim: under 3% overhead. Timing belongs here, never in tests.
"""

from __future__ import annotations

import argparse
import statistics
import time

from cpnas.config import SearchConfig
from cpnas.engine import search
from cpviz.dashboard import Dashboard

SMALL = {"ops": ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3", "dil_conv_3x3"),
         "nodes": 2, "cells": 3, "channels": 8, "sample_steps": 10, "batch_size": 64}


def without_dashboard(config: SearchConfig) -> float:
    t0 = time.perf_counter()
    result = search(config)
    assert result.status == "completed", result.status
    return time.perf_counter() - t0


def with_dashboard(config: SearchConfig, refresh: float, interval: float | None,
                   budget: float | None) -> tuple[float, list, dict[str, list[float]]]:
    """Wall time, the redraws, and when each view changed (monotonic s): heatmap, curves and
    timeline when their figure is replaced, the diagram when the tab on show gets new SVG."""
    dash = Dashboard(config, refresh=refresh, interval=interval, draw_budget=budget)
    changed: dict[str, list[float]] = {"heatmap": [], "curves": [], "timeline": [], "diagram": []}
    for name in ("heatmap", "curves", "timeline"):
        dash.figures[name].show = _timed(dash.figures[name].show, changed[name])
    dash.diagrams["normal"].observe(lambda _: changed["diagram"].append(time.monotonic()), names="value")
    t0 = time.perf_counter()
    dash.start()
    state = dash.join(timeout=3600)  # pumps and redraws on this thread, like the kernel loop
    assert state.status == "completed", state.status
    return time.perf_counter() - t0, dash.live.draws, changed


def _timed(show, times: list[float]):
    def timed(fig) -> None:
        times.append(time.monotonic())
        show(fig)

    return timed


def change_figures(changed: dict[str, list[float]]) -> str:
    """Per view: how often it changed while the search ran (gaps between two changes)."""
    parts = []
    for name, times in changed.items():
        gaps = sorted(b - a for a, b in zip(times, times[1:]))
        if not gaps:
            parts.append(f"{name} {len(times)}x")
            continue
        p90 = gaps[min(len(gaps) - 1, int(0.9 * len(gaps)))]
        parts.append(f"{name} {len(times)}x, every {statistics.median(gaps):.2f} s median, "
                     f"p90 {p90:.2f}, max {gaps[-1]:.2f}")
    return "views changed: " + "; ".join(parts)


def draw_figures(draws: list, wall: float) -> str:
    """Redraw intervals (gaps between the starts of two redraws) and the redraws' share."""
    gaps = sorted(b.at - a.at for a, b in zip(draws, draws[1:]))
    if not gaps:
        return f"{len(draws)} redraw"
    p90 = gaps[min(len(gaps) - 1, int(0.9 * len(gaps)))]
    spent = sum(d.seconds for d in draws)
    costs = {}
    for d in draws:
        costs.setdefault(d.reason, []).append(d.seconds * 1000)
    each = ", ".join(f"{reason} {len(ms)}x median {statistics.median(ms):.0f} ms (max {max(ms):.0f})"
                     for reason, ms in costs.items())
    return (f"{len(draws)} redraws, interval median {statistics.median(gaps):.2f} s, p90 {p90:.2f} s, "
            f"max {gaps[-1]:.2f} s; redrawing {spent:.2f} s = {100 * spent / wall:.1f}% of the wall time; "
            f"cost per redraw: {each}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (alternating)")
    parser.add_argument("--refresh", type=float, default=0.1, help="dashboard redraw interval, s")
    parser.add_argument("--interval", type=float, default=2.0,
                        help="Dashboard(interval=...): seconds between redraws (default 2.0, the "
                             "dashboard's own; 0 = on every pump with something new)")
    parser.add_argument("--draw-budget", type=float, default=0.03,
                        help="Dashboard(draw_budget=...): max share of time spent redrawing "
                             "(default 0.03, the dashboard's own; 0 = no cap)")
    parser.add_argument("--full", action="store_true",
                        help="the full default search (SearchConfig() on digits), not the small one")
    parser.add_argument("--sample-steps", type=int, default=SMALL["sample_steps"])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    small = {} if args.full else {**SMALL, "sample_steps": args.sample_steps}
    config = SearchConfig(**small, device=args.device)
    search(SearchConfig(**{**SMALL, "sample_steps": 1}, device=args.device))  # warm-up: imports, data
    plain, dashed = [], []
    for i in range(args.repeats):
        plain.append(without_dashboard(config))
        wall, draws, changed = with_dashboard(config, args.refresh, args.interval or None,
                                              args.draw_budget or None)
        dashed.append(wall)
        print(f"run {i + 1}: without {plain[-1]:7.2f} s   with dashboard {wall:7.2f} s   "
              f"{draw_figures(draws, wall)}\n       {change_figures(changed)}", flush=True)
    a, b = statistics.median(plain), statistics.median(dashed)
    print(f"median: without {a:.2f} s, with dashboard {b:.2f} s, ratio {b / a:.3f} "
          f"({(b / a - 1) * 100:+.1f}% overhead; {config.n_samples} samples, refresh {args.refresh} s, "
          f"interval {args.interval} s, draw budget {args.draw_budget})")


if __name__ == "__main__":
    main()
