"""The ``cpnas`` command: ``search`` and ``train``, plus subcommands other packages plug in
through the ``cpnas.commands`` entry-point group (cpviz adds ``render`` and ``report``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .errors import ConfigError, CpnasError, RunDirError
from .events import Callback
from .flags import SEARCH_FLAGS, parse_set

log = logging.getLogger("cpnas")

def _number(kind: type, key: str):
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}: must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None

    return parse


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so a bad flag is a one-line ConfigError."""

    def error(self, message: str):  # type: ignore[override]
        raise ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cpnas", description="CP-NAS: Child-Parent NAS for 1-bit CNNs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_search(sub)
    _add_train(sub)
    _add_study(sub)
    _add_tune(sub)
    _load_plugins(sub)
    return parser


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="search a cell with CP-NAS (resumes a run dir with a checkpoint)")
    p.add_argument("--config", help="a preset name (cifar10-paper, teaching) or a JSON file of "
                                    "config keys; flags override it")
    from .config import SearchConfig

    for flag, key, kind, text in SEARCH_FLAGS:
        default = getattr(SearchConfig, key)  # the one place the defaults live
        shown = "" if default is None or isinstance(default, tuple) else f" (default {default})"
        p.add_argument(flag, dest=key, type=_number(kind, key) if kind is not str else str,
                       default=None, help=text + shown)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random crop + horizontal flip of training batches (default off)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any config key (VALUE as JSON, else text), e.g. --set genotype_mode=top2; "
                        "repeatable; over --config, under the flags")
    _add_data_dir(p)
    p.add_argument("--out", help="run directory (events.jsonl, config.json, checkpoint.pt, genotype.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from .trackers import add_log_to_arguments

    add_log_to_arguments(p)
    p.set_defaults(func=cmd_search)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a genotype from scratch as a 1-bit net and test it")
    from .resolve import ACCEPTS

    p.add_argument("genotype", help=ACCEPTS)
    p.add_argument("--fp-twin", action="store_true", help="also train the full-precision twin")
    p.add_argument("--protocol", help="training protocol: teaching (default: Adam, 30 epochs, the "
                                      "search's size) | cifar10-paper (DARTS evaluation: SGD, "
                                      "cosine, cutout, drop-path, auxiliary head, 20 cells x 36 "
                                      "channels, 600 epochs) | a JSON file; flags override it")
    p.add_argument("--cp-loss", action="store_true",
                   help="train the 1-bit net with the Child-Parent loss (Eq. 4.17), its "
                        "full-precision parent alongside")
    p.add_argument("--epochs", type=_number(int, "epochs"), default=None,
                   help="default: the protocol's (teaching: 30)")
    p.add_argument("--data", default=None, help="default: the run's data, else digits")
    p.add_argument("--channels", type=_number(int, "channels"), default=None)
    p.add_argument("--cells", type=_number(int, "cells"), default=None)
    p.add_argument("--seed", type=_number(int, "seed"), default=None)
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    _add_data_dir(p)
    p.add_argument("--out", help="write train.json here (default: into the run directory)")
    p.set_defaults(func=cmd_train)


def _add_study(sub) -> None:
    from .study import add_arguments

    p = sub.add_parser(
        "study",
        help="run a grid of searches (strategy x beta_P x seed), train every found cell, "
             "write results.csv (and study.html where cpviz is installed)",
        description="Run CP-NAS against its baselines on one space, data set and budget: every "
        "grid point is a resumable run directory under DIR/searches; running the same command "
        "again skips what is done. --list prints each point as a command line instead "
        "(docs/study.md).")
    add_arguments(p)
    p.set_defaults(func=cmd_study)


def _add_tune(sub) -> None:
    from .tune import add_arguments

    p = sub.add_parser(
        "tune", help="an Optuna study over beta_P, T, sample steps and the learning rate; "
                     "objective: the found cell's stand-alone test accuracy (needs cpnas[tune])",
        description="Each trial is a normal run directory under DIR/STUDY; each round's mean "
        "child accuracy is reported to Optuna's pruner. Several processes on one --storage "
        "share the study; optuna-dashboard STORAGE shows it (docs/trackers.md).")
    add_arguments(p)
    p.set_defaults(func=cmd_tune)


def cmd_tune(args: argparse.Namespace) -> int:
    from .tune import run_tune, storage_url

    study = run_tune(args, say=lambda text: print(text, file=sys.stderr))
    states: dict[str, int] = {}
    for trial in study.trials:
        states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
    print(f"study {study.study_name}: {len(study.trials)} trials "
          f"({', '.join(f'{n} {k}' for k, n in sorted(states.items()))})")
    try:
        best = study.best_trial
        print(f"best: trial {best.number}, stand-alone test accuracy {best.value:.1%}, "
              f"{best.params}, {best.user_attrs.get('run_dir')}")
    except ValueError:  # no trial completed yet
        pass
    print(f"optuna-dashboard {storage_url(args)}")
    return 0


# Other packages add outputs of a finished study through this entry-point group: each entry is
# a callable(study folder) -> path written (cpviz adds study.html).
STUDY_OUTPUTS = "cpnas.study_outputs"


def cmd_study(args: argparse.Namespace) -> int:
    from .study import command_lines, run_study, spec_from_args, study_dir

    spec = spec_from_args(args)
    if args.list:
        print("\n".join(command_lines(spec, args.out)))
        return 0
    if args.collect:
        from .study import collect, write_results

        if not (Path(args.out) / "searches").is_dir():
            raise RunDirError(f"{args.out}: not a study folder (no searches/)")
        rows = collect(spec, args.out)
        write_results(rows, Path(args.out) / "results.csv")
        done = sum(r["test_acc"] != "" for r in rows)
        print(f"study: {done} of {len(rows)} grid points done", file=sys.stderr)
    else:
        study_dir(args.out)  # refuse an unusable folder before anything runs
        run_study(spec, args.out, jobs=args.jobs, say=lambda text: print(text, file=sys.stderr))
    print(Path(args.out) / "results.csv")
    for ep in entry_points(group=STUDY_OUTPUTS):
        try:
            writer = ep.load()
        except Exception as exc:  # a broken plugin must not lose the study's own results
            log.warning("cpnas: study output %r unavailable (%s: %s)", ep.name, type(exc).__name__, exc)
            continue
        print(writer(args.out))
    return 0


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    from .download import CACHE_ENV

    p.add_argument("--data-dir", help=f"cache folder of downloaded datasets (sets ${CACHE_ENV}; "
                                      "default ~/.cache/cpnas)")


def _load_plugins(sub) -> None:
    for ep in entry_points(group="cpnas.commands"):
        try:
            ep.load()(sub)
        except Exception as exc:  # a broken plugin must not take the core CLI down
            log.warning("cpnas: subcommand %r unavailable (%s: %s)", ep.name, type(exc).__name__, exc)


def _negatives_joined(argv: Sequence[str]) -> list[str]:
    """``--betas -1,0.5`` as ``--betas=-1,0.5``: argparse takes a value that starts with '-' for
    an option unless it is a single number; no option of ours starts with '-' and a digit."""
    out: list[str] = []
    for arg in argv:
        if (out and out[-1].startswith("--") and "=" not in out[-1] and len(arg) > 1
                and arg[0] == "-" and (arg[1].isdigit() or arg[1] == ".")):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


# Arguments that name a path on disk, in every subcommand that has them (search, train, study,
# and cpviz's render and report); checked before any command runs.
PATH_ARGS = {"out": "--out", "config": "--config", "data_dir": "--data-dir", "run_dir": "RUN_DIR"}


def check_path_args(args: argparse.Namespace) -> None:
    """Refuse an empty path (``Path("")`` is the current folder: ``--out ""`` would write the
    run there) and one longer than the system takes (ENAMETOOLONG from deep inside a command
    otherwise), in one line naming the argument."""
    from . import limits

    for attr, flag in PATH_ARGS.items():
        value = getattr(args, attr, None)
        if not isinstance(value, str):
            continue
        if not value.strip():
            raise ConfigError(f"{flag}: an empty path; give a file or directory name")
        longest = max((len(os.fsencode(part)) for part in value.split("/")), default=0)
        if longest > limits.MAX_NAME_BYTES:
            raise ConfigError(f"{flag}: a name in the path is {longest} bytes long; the system "
                              f"takes {limits.MAX_NAME_BYTES} (limits.MAX_NAME_BYTES)")
        if len(os.fsencode(value)) > limits.MAX_PATH_BYTES:
            raise ConfigError(f"{flag}: the path is {len(os.fsencode(value))} bytes long; the "
                              f"system takes {limits.MAX_PATH_BYTES} (limits.MAX_PATH_BYTES)")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        parser = build_parser()
        args = parser.parse_args(_negatives_joined(sys.argv[1:] if argv is None else list(argv)))
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        check_path_args(args)
        if getattr(args, "data_dir", None):
            from .download import CACHE_ENV

            os.environ[CACHE_ENV] = args.data_dir
        return int(args.func(args) or 0)
    except CpnasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# -- search ----------------------------------------------------------------------------------


def search_config(args: argparse.Namespace):
    from .config import SearchConfig, read_config_source, stored_config
    from .runs.layout import LOG_NAME

    values: dict[str, Any] = read_config_source(args.config) if args.config else {}
    if args.config and (Path(args.config).parent / LOG_NAME).is_file():
        # a run's own record: keys added since take their LEGACY value
        values = stored_config(values, str(args.config))
    values.update(parse_set(args.set))
    for _, key, _, _ in SEARCH_FLAGS:
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    for key in ("device", "augment"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    return SearchConfig.from_dict(values)


class ProgressBar(Callback):
    """A tqdm bar over the sampled architectures, opened at the first event (so an input
    error is refused before any bar is drawn)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar = None
        self.pruned: list = []  # the OpPruned of the round ending now, said in words when it ends

    def on_event(self, event) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="arch", dynamic_ncols=True, file=sys.stderr)
        super().on_event(event)

    def on_sample_trained(self, e) -> None:
        self.bar.update(1)
        self.bar.set_postfix(round=e.round, child=f"{e.child_acc:.2f}", parent=f"{e.parent_acc:.2f}",
                             z=f"{e.z:.3f}")

    def on_op_pruned(self, e) -> None:
        self.pruned.append(e)

    def on_round_started(self, e) -> None:
        self.say_prunes()

    def on_genotype_derived(self, e) -> None:
        self.say_prunes()

    def say_prunes(self) -> None:
        """The round just ended, in words (:func:`cpnas.scoring.prune_line`), above the bar."""
        from .scoring import prune_line

        if self.pruned and self.bar is not None:
            self.bar.write(prune_line(self.pruned[0].round, self.pruned), file=sys.stderr)
        self.pruned = []

    def on_search_finished(self, e) -> None:
        self.say_prunes()
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event):
    """SIGINT/SIGTERM set ``stop`` (the search ends at the next step, its checkpoint at the
    last finished sample); a second one exits at once with 128 + its number. Yields a list
    that receives the first signal's number."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handle(signum: int, frame) -> None:
        if caught:
            os._exit(128 + signum)  # asked twice: no clean-up, the checkpoint is still whole
        caught.append(signum)
        stop.set()
        print(f"\n{signal.Signals(signum).name}: stopping after the current step (send it again "
              "to exit at once)", file=sys.stderr, flush=True)

    old = {s: signal.signal(s, handle) for s in STOP_SIGNALS}
    try:
        yield caught
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _stop_with_launcher(stop: threading.Event, me) -> threading.Event:
    """Under torchrun: when the launcher goes away by any signal (kill -9 included, which it
    cannot pass on), this rank stops at the next step boundary as a stop does: the log ends
    ``stopped`` and the run's lock is released, so the same command resumes it
    (:mod:`cpnas.parent`)."""
    from .parent import watch_parent

    orphaned = threading.Event()

    def gone(pid: int) -> None:
        orphaned.set()
        stop.set()
        with contextlib.suppress(OSError):  # the launcher's terminal or pipe may be gone too
            print(f"rank {me.rank}: the launcher (pid {pid}) is gone; stopping after the "
                  "current step", file=sys.stderr, flush=True)

    watch_parent(gone)
    return orphaned


def cmd_search(args: argparse.Namespace) -> int:
    from . import distributed
    from .engine import search

    config = search_config(args)
    me = distributed.init(config.device)  # torchrun: join its process group; else rank 0 of 1
    subs = [] if args.quiet or not me.is_main else [ProgressBar(config.n_samples)]
    if args.log_to is not None and me.is_main:  # refused (a missing package) before any search
        from .trackers import logger_options, make_loggers

        subs += make_loggers(args.log_to, args.out, logger_options(args))
    stop = threading.Event()
    orphaned = _stop_with_launcher(stop, me) if me.active else threading.Event()
    try:
        with stop_on_signals(stop) as caught:
            result = search(config, subscribers=subs, out=args.out, stop=stop)
    except RuntimeError as exc:  # a collective outside the search's own handling
        lost = distributed.peer_lost(exc, me)
        if lost is None:
            raise
        raise lost from None
    finally:
        distributed.shutdown()
    code = _search_exit(result, me, caught, args)
    if orphaned.is_set():
        # The launcher is gone: nobody waits for this rank's exit code, and torch's teardown
        # of a process group whose store lived in the launcher takes seconds. The log, the
        # checkpoint and the lock are already closed, so exit now.
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    return code


def _search_exit(result, me, caught: list[int], args: argparse.Namespace) -> int:
    if not me.is_main:
        return 0 if result.status == "completed" else 1
    print(summary_table(result))
    if result.status != "completed":
        where = f" --out {args.out}" if args.out else ""
        print(f"search {result.status}; run the same command to resume{where}", file=sys.stderr)
        if result.status == "stopped":
            return 128 + caught[0] if caught else 130
        return 1
    return 0


def summary_table(result) -> str:
    """Per edge: the survivor, its final ev, its search-wide zbar (what the genotype ranks
    by), kept in the genotype, the ops in pruning order."""
    from . import scoring
    from .events import GenotypeDerived, OpPruned

    prunes: dict[str, list[str]] = {}
    for e in result.events:
        if isinstance(e, OpPruned):
            prunes.setdefault(e.edge, []).append(f"{e.op}@{e.round + 1}")  # rounds from 1
    derived = [e for e in result.events if isinstance(e, GenotypeDerived)]
    edges = derived[-1].edges if derived else {}
    lines = [f"{'edge':<14} {'survivor':<14} {'ev':>6} {'zbar':>6} {'kept':<4} {'rounds':>6}  "
             "pruned (op@round)"]
    for edge, info in edges.items():
        pr = prunes.get(edge, [])
        lines.append(f"{edge:<14} {info['op']:<14} {info['ev']:>6.3f} {info.get('zbar', float('nan')):>6.3f} "
                     f"{'yes' if info['selected'] else '':<4} {len(pr):>6}  {', '.join(pr)}")
    lines += ["", "what each round pruned:"] + scoring.prune_lines(
        e for e in result.events if isinstance(e, OpPruned)) + [""]
    if result.child_acc is not None:
        lines.append(f"last-round mean val accuracy: child {result.child_acc:.1%}, "
                     f"parent {result.parent_acc:.1%}   ({result.status}, {result.seconds:.1f} s)")
    if result.genotype is not None:
        lines.append(f"genotype: {result.genotype}")
    if result.out is not None:
        lines.append(f"run directory: {result.out}")
    return "\n".join(lines)


# -- train -----------------------------------------------------------------------------------


def train_options(args: argparse.Namespace, run_cfg: dict, protocol) -> dict[str, Any]:
    """The final training's options: flags, else the protocol's, else the run's config, else
    defaults; each checked against its bounds (a 0 is refused, not taken for "unset")."""
    from . import limits
    from .config import LEGACY, SearchConfig, check_int

    def pick(name: str, default: int) -> int:
        value = getattr(args, name)
        if value is None:
            value = getattr(protocol, name, None)
        return value if value is not None else run_cfg.get(name, default)

    def setting(key: str) -> Any:  # the run's (a run older than the key: LEGACY), else default
        if not run_cfg:
            return getattr(SearchConfig, key)
        return run_cfg.get(key, LEGACY.get(key, getattr(SearchConfig, key)))

    opts = {"channels": pick("channels", 8), "cells": pick("cells", 3), "seed": pick("seed", 0),
            "epochs": pick("epochs", 30),
            "fp_preprocess": bool(setting("fp_preprocess")), "shortcut": bool(setting("shortcut")),
            "distinct_inputs": bool(setting("distinct_inputs")), "data_seed": setting("data_seed")}
    if args.cp_loss:  # the search's Eq. 4.17 weights
        opts.update(cp_loss=True, theta=float(setting("theta")), lam=float(setting("lam")))
    for name, low, high in (("channels", 1, limits.MAX_CHANNELS), ("cells", 1, limits.MAX_CELLS),
                            ("seed", 0, limits.MAX_SEED), ("epochs", 1, limits.MAX_STEPS)):
        check_int(name, opts[name], low, high)
    return opts


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from . import distributed
    from .data import check_spec, load_data
    from .engine import resolve_device
    from .final import Protocol, train_genotype
    from .resolve import check_buildable, resolve
    from .runs import atomic_write_text
    from .runs.files import check_dir_target

    resolved = resolve(args.genotype)
    genotype, run_cfg, run_dir = resolved.require(), resolved.config, resolved.run_dir
    check_buildable(genotype)  # before any data is loaded
    data_spec = args.data or run_cfg.get("data", "digits")
    protocol = Protocol.load(args.protocol or "teaching")
    opts = train_options(args, run_cfg, protocol)
    seed, data_seed = opts.pop("seed"), opts.pop("data_seed")
    split_seed = seed if data_seed is None else int(data_seed)  # the search's split
    protocol = dataclasses.replace(protocol, epochs=opts.pop("epochs"), channels=opts.pop("channels"),
                                   cells=opts.pop("cells"))
    check_spec(data_spec)
    out = Path(args.out) if args.out else run_dir
    if out is not None:  # found out now, not after minutes of training
        check_dir_target(out, "output directory")
    device = resolve_device(args.device)
    me = distributed.init(args.device)  # torchrun: one training across the processes
    try:
        if device.type == "cuda" and me.active:
            import torch

            device = torch.device("cuda", me.local_rank)
        with me.main_first():  # rank 0 downloads, the others then read its cache
            data = load_data(data_spec, split_seed)
        say = print if me.is_main else (lambda *a, **k: None)
        report: dict[str, Any] = {"genotype": str(genotype), "data": data_spec, "seed": seed,
                                  "data_seed": split_seed, **opts, "protocol": protocol.to_dict(), "world_size": me.world_size}
        for binary in [True] + ([False] if args.fp_twin else []):
            name = "1-bit" if binary else "full-precision twin"
            say(f"training the {name} network ({protocol.epochs} epochs on {data.name}) ...",
                file=sys.stderr)
            res = train_genotype(genotype, data, binary=binary, seed=seed, device=device,
                                 protocol=protocol, dist=me, **opts)
            report["binary" if binary else "fp_twin"] = {"test_acc": res.test_acc,
                                                         "val_acc": res.val_acc, "epochs": res.epochs}
            say(f"{name}: test accuracy {res.test_acc:.1%} (val {res.val_acc:.1%})")
    finally:
        distributed.shutdown()
    if out is not None and me.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "train.json", json.dumps(report, indent=2) + "\n")
        print(f"results: {out / 'train.json'}")
    if run_dir is not None and me.is_main:  # the run's tracker runs (cpnas.trackers), if any
        from .trackers import log_standalone

        values = {"test_acc": report["binary"]["test_acc"], "val_acc": report["binary"]["val_acc"]}
        if "fp_twin" in report:
            values["fp_twin_test_acc"] = report["fp_twin"]["test_acc"]
        for tracker in log_standalone(run_dir, values):
            print(f"logged to {tracker}: standalone/test_acc")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
