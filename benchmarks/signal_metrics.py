"""The four signal metrics of issue 10, for the old and the new teaching defaults, side by side.

For each default and each search seed, one real search (the engine, no run directory):
- **evaluator**: when round 0 has been scored, the z of the committed random genotypes
  (``benchmarks/data/groundtruth.json``) is computed with the supernets as the search has
  trained them, on the validation split; Kendall tau against their stand-alone accuracy,
  with a 95% bootstrap CI (scoring does not change the search: no gradient, no RNG);
- **position bias**: pooled within-round Spearman rho of z against position;
- **early vs late**: round-0 ranking against the elimination order (mean tau over edges),
  and, with ``--control``, a search-length run that scores every op without pruning;
- **round-0 sample share**: edges whose round-0 pruned op sat in the worst sample (1 = the
  round pruned one sample, not ops).
Across seeds: **decision stability** (kappa of per-edge survivors against chance) and,
with ``--found``, the found cells trained stand-alone (``cpnas.standalone.Protocol``)
against the random cells (Welch t-test over per-seed accuracies).

    OMP_NUM_THREADS=1 python benchmarks/signal_metrics.py --seeds 0 1 --found --control
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import statistics
import time
from pathlib import Path

import torch

from cpnas import engine
from cpnas import events as ev
from cpnas.config import LEGACY, SearchConfig
from cpnas.genotype import parse_genotype
from cpnas.randomcells import genotype_arch
from cpnas.scoring import indicator
from cpnas.signal import (
    decision_stability,
    early_vs_late,
    kendall_tau,
    run_metrics,
    survivors_of,
    tau_with_ci,
)
from cpnas.standalone import Protocol, standalone_table

TRUTH = Path(__file__).parent / "data" / "groundtruth.json"
# The teaching default before issue 10: T = 1, one epoch (4 steps of 256) per sample, no warm-up.
OLD = dict(LEGACY, repeats=1, sample_steps=None, batch_size=256, genotype_mode="top2")


def load_truth():
    """Reference genotypes, their mean stand-alone accuracy, and every per-seed accuracy."""
    if not TRUTH.is_file():  # before the ground truth is in: draw the same genotypes
        from cpnas.randomcells import random_genotypes

        return random_genotypes(20, 2026), None, None
    data = json.loads(TRUTH.read_text())
    return ([parse_genotype(r["genotype"]) for r in data["results"]],
            [r["mean"] for r in data["results"]], [a for r in data["results"] for a in r["test"]])


class _RoundScorer:
    """At every RoundScored, z of the reference genotypes with the search's own supernets.

    Round 0's is the headline figure; the later rounds give tau against search time.
    """

    def __init__(self, run, genotypes, beta: float) -> None:
        self.run, self.genotypes, self.beta = run, genotypes, beta
        self.rounds: list[dict] = []  # round, search cpu seconds so far, z per genotype
        self.seconds = self.cpu = 0.0  # spent scoring: not search time
        self.c0 = time.process_time()

    def on_event(self, event) -> None:
        if isinstance(event, ev.RoundScored):
            t0, c0 = time.time(), time.process_time()
            tr = self.run.trainer
            accs = [tr.accuracy(genotype_arch(g, tr.config.space)) for g in self.genotypes]
            self.rounds.append({"round": event.round, "cpu": c0 - self.c0 - self.cpu,
                                "z": [indicator(c, p, self.beta) for c, p in accs]})
            self.seconds += time.time() - t0
            self.cpu += time.process_time() - c0

    @property
    def z(self):
        return self.rounds[0]["z"]


def one_search(cfg: SearchConfig, genotypes, truth) -> dict:
    # the reference genotypes use ops the search prunes: keep their weights (free_pruned
    # changes no number of the search), or scoring after round 0 finds them freed
    cfg = dataclasses.replace(cfg, free_pruned=False)
    run = engine.RunContext(cfg, [], None, None)
    scorer = _RoundScorer(run, genotypes, cfg.beta)
    run.subscribers.append(scorer)
    t0, c0 = time.time(), time.process_time()
    res = run.execute()
    events = res.events
    out = {"seconds": round(time.time() - t0 - scorer.seconds, 1),
           "cpu": round(time.process_time() - c0 - scorer.cpu, 1), "child": res.child_acc, "parent": res.parent_acc,
           "genotype": str(res.genotype), "survivors": survivors_of(events), **run_metrics(events)}
    out.update(z=scorer.z, rounds=scorer.rounds, tau=math.nan, tau_ci=[math.nan, math.nan])
    if truth:
        add_taus(out, truth)
    return out


def control(cfg: SearchConfig, rounds: int) -> float:
    """Score every op for ``rounds`` rounds without pruning; tau(round 0, last round)."""
    from cpnas.data import load_data
    from cpnas.train import CPTrainer

    torch.set_num_threads(1)
    tr = CPTrainer(cfg, load_data(cfg.data, cfg.split_seed), torch.device("cpu"))
    rng = random.Random(cfg.seed)
    tr.warm_up(cfg.warmup_steps, rng)
    space, zbars = cfg.space, []
    for _ in range(rounds):
        zs = {e: {o: [] for o in space.ops} for e in space.edges}
        for _t in range(cfg.repeats):
            perm = {e: rng.sample(space.ops, len(space.ops)) for e in space.edges}
            for s in range(len(space.ops)):
                arch = {e: perm[e][s] for e in space.edges}
                o = tr.train_sample(arch)
                z = indicator(o.child_acc, o.parent_acc, cfg.beta)
                for e, op in arch.items():
                    zs[e][op].append(z)
        zbars.append({e: {o: statistics.fmean(v) for o, v in per.items()} for e, per in zs.items()})
    return early_vs_late(zbars[0], zbars[-1])


def add_taus(run: dict, truth: list[float]) -> None:
    """Kendall tau (round 0, with CI) and tau by round, from a run's stored z's."""
    tau = tau_with_ci(run["z"], truth)
    run.update(tau=tau.tau, tau_ci=[tau.low, tau.high])
    if "rounds" in run:  # the committed report keeps tau_by_round, not the z lists
        run["tau_by_round"] = [[r["round"], round(r["cpu"], 1), kendall_tau(r["z"], truth)]
                               for r in run["rounds"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--found", action="store_true", help="train the found cells stand-alone")
    ap.add_argument("--control", type=int, default=0, metavar="ROUNDS",
                    help="also run the no-pruning control for ROUNDS rounds (new default)")
    ap.add_argument("--only", choices=("old", "new"), help="measure one default only")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON",
                    help="override the new default (to try candidates)")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--rescore", metavar="JSON", help="recompute the taus of a stored --json")
    ap.add_argument("--table", nargs="+", metavar="JSON",
                    help="start from reports stored by earlier runs (their defaults are not rerun)")
    args = ap.parse_args()
    genotypes, truth, random_runs = load_truth()
    if args.rescore:
        stored = json.loads(Path(args.rescore).read_text())
        for name, runs in stored.items():
            for r in runs if isinstance(runs, list) else runs["runs"]:
                add_taus(r, truth)
                print(name, f"tau {r['tau']:+.3f} [{r['tau_ci'][0]:+.2f}, {r['tau_ci'][1]:+.2f}]",
                      "by round (round, cpu s, tau):", [[a, b, round(c, 2)] for a, b, c in r["tau_by_round"]])
        return
    overrides = {k: json.loads(v) for k, _, v in (item.partition("=") for item in args.set)}
    configs = {"old": SearchConfig(device="cpu", **OLD),
               "new": SearchConfig(device="cpu", **overrides)}
    report: dict = {}
    for path in args.table or []:  # reports stored by earlier runs (--json)
        report.update(json.loads(Path(path).read_text()))
        for entry in report.values():
            for r in entry["runs"] if truth else []:
                add_taus(r, truth)
    for name, base in configs.items():
        if name in report or (args.only and name != args.only):
            continue
        report[name] = measure(name, base, args.seeds, genotypes, truth, args.json, report)
    for name, entry in report.items():
        if args.found and "welch" not in entry:
            entry.update(found_cells(entry, random_runs))
        if args.control and name == "new" and "control_early_vs_late" not in entry:
            entry["control_early_vs_late"] = control(configs["new"], args.control)
    _print_table(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str) + "\n")


def measure(name, base, seeds, genotypes, truth, json_path, report) -> dict:
    runs = []
    for seed in seeds:
        cfg = SearchConfig.from_dict({**base.to_dict(), "seed": seed})
        runs.append(one_search(cfg, genotypes, truth))
        r = runs[-1]
        if json_path:  # as it goes: a long benchmark keeps what it measured
            Path(json_path).write_text(json.dumps({**report, name: {"runs": runs}}, default=str))
        print(f"{name} seed {seed}: {r['seconds']} s ({r['cpu']} s cpu), tau {r['tau']:+.2f} "
              f"[{r['tau_ci'][0]:+.2f}, {r['tau_ci'][1]:+.2f}], position {r['position_bias']:+.2f}, "
              f"early/late {r['early_vs_late']:+.2f}, round-0 sample share "
              f"{r['sample_prune_share']:.2f}, child {r['child']:.3f} parent {r['parent']:.3f}",
              flush=True)
    entry: dict = {"config": base.to_dict(), "runs": runs, "kappa": math.nan,
                   "agreement": math.nan, "chance": math.nan}
    if len(runs) > 1:
        stab = decision_stability([r["survivors"] for r in runs])
        entry.update(kappa=stab.kappa, agreement=stab.agreement, chance=stab.chance,
                     histogram=stab.histogram)
    return entry


def found_cells(entry: dict, random_runs: list[float]) -> dict:
    """The found cells trained stand-alone, against the random cells (Welch t-test)."""
    from scipy.stats import ttest_ind

    found = standalone_table([parse_genotype(r["genotype"]) for r in entry["runs"]], Protocol())
    accs = [a for f in found for a in f.test]
    t = ttest_ind(accs, random_runs, equal_var=False)
    return {"found": [f.to_dict() for f in found],
            "welch": {"found_mean": statistics.fmean(accs), "random_mean": statistics.fmean(random_runs),
                      "t": float(t.statistic), "p": float(t.pvalue)}}


def _sweep_bias(entry: dict) -> str:
    runs = entry["runs"]
    if all("position_bias_sweep" in r for r in runs):
        return f"{statistics.fmean(r['position_bias_sweep'] for r in runs):+.2f}"
    if entry.get("config", {}).get("repeats", 1) == 1 and all("position_bias" in r for r in runs):
        return f"{statistics.fmean(r['position_bias'] for r in runs):+.2f}"  # T = 1: the same
    return "n/a"  # a report from before the metric


def _print_table(report: dict) -> None:
    def mean(entry, key, fallback=None):  # fallback: a key older reports lack (T = 1: equal)
        return statistics.fmean(r.get(key, r.get(fallback)) for r in entry["runs"])

    names = list(report)
    rows = [
        ("Kendall tau vs stand-alone (after round 0)", lambda e: f"{mean(e, 'tau'):+.2f}"),
        ("  95% CI per seed", lambda e: " ".join(f"[{r['tau_ci'][0]:+.2f},{r['tau_ci'][1]:+.2f}]"
                                                for r in e["runs"])),
        ("position bias (pooled within-round rho)", lambda e: f"{mean(e, 'position_bias'):+.2f}"),
        ("  within sweeps (what can bias a prune)", _sweep_bias),
        ("survivor agreement / chance / kappa",
         lambda e: f"{e['agreement']:.2f} / {e['chance']:.2f} / {e['kappa']:+.2f}"),
        ("early vs late (round 0 vs elimination)", lambda e: f"{mean(e, 'early_vs_late'):+.2f}"),
        ("  control without pruning", lambda e: f"{e.get('control_early_vs_late', float('nan')):+.2f}"),
        ("round-0 pruned ops from the worst sample", lambda e: f"{mean(e, 'sample_prune_share'):.2f}"),
        ("last-round child / parent val acc", lambda e: f"{mean(e, 'child'):.3f} / {mean(e, 'parent'):.3f}"),
        ("search wall / cpu seconds (API, no run dir)",
         lambda e: f"{mean(e, 'seconds'):.1f} / {mean(e, 'cpu'):.1f}"),
        ("found cells stand-alone (mean test)", lambda e: (f"{e['welch']['found_mean']:.4f} vs random "
                                                          f"{e['welch']['random_mean']:.4f}, Welch p "
                                                          f"{e['welch']['p']:.3f}") if "welch" in e else "-"),
    ]
    print("\nKendall tau against search CPU time (the search's own supernets, end of each round):")
    for n in names:
        for seed, r in enumerate(report[n]["runs"]):
            pts = ", ".join(f"{c:.0f} s {t:+.2f}" for _, c, t in r.get("tau_by_round", []))
            print(f"  {n} run {seed}: {pts}")
    print("\n| metric | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, fn in rows:
        print(f"| {label} | " + " | ".join(fn(report[n]) for n in names) + " |")


if __name__ == "__main__":
    main()
