"""How much does the live dashboard slow the search down?

Runs the same search (digits, a small config) alternately without and with the dashboard
subscribed, and prints the median wall time of each and their ratio. "With" is the real
set-up of a notebook: the search in the dashboard's worker thread, the main thread draining
the queue and redrawing every figure ``--refresh`` seconds, as the kernel loop does.

    .venv/bin/python benchmarks/dashboard_overhead.py --repeats 3

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


def with_dashboard(config: SearchConfig, refresh: float, budget: float | None) -> float:
    dash = Dashboard(config, refresh=refresh, draw_budget=budget)
    t0 = time.perf_counter()
    dash.start()
    state = dash.join(timeout=3600)  # pumps and redraws on this thread, like the kernel loop
    assert state.status == "completed", state.status
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (alternating)")
    parser.add_argument("--refresh", type=float, default=0.1, help="dashboard redraw interval, s")
    parser.add_argument("--draw-budget", type=float, default=0.03,
                        help="Dashboard(draw_budget=...): max share of time spent redrawing "
                             "(default 0.03, the dashboard's own; 0 = redraw on every sample)")
    parser.add_argument("--sample-steps", type=int, default=SMALL["sample_steps"])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    config = SearchConfig(**{**SMALL, "sample_steps": args.sample_steps}, device=args.device)
    search(SearchConfig(**{**SMALL, "sample_steps": 1}, device=args.device))  # warm-up: imports, data
    plain, dashed = [], []
    for i in range(args.repeats):
        plain.append(without_dashboard(config))
        dashed.append(with_dashboard(config, args.refresh, args.draw_budget))
        print(f"run {i + 1}: without {plain[-1]:7.2f} s   with dashboard {dashed[-1]:7.2f} s", flush=True)
    a, b = statistics.median(plain), statistics.median(dashed)
    print(f"median: without {a:.2f} s, with dashboard {b:.2f} s, ratio {b / a:.3f} "
          f"({(b / a - 1) * 100:+.1f}% overhead; {config.n_samples} samples, refresh {args.refresh} s, "
          f"draw budget {args.draw_budget})")


if __name__ == "__main__":
    main()
