"""``cpnas tune``: an Optuna study over the search's knobs (docs/trackers.md).

Each trial draws beta_P, T (``repeats``), the training steps per sample and the learning rate
from the ranges given, runs a normal search into its own run directory, trains the found cell
from scratch by the study protocol (:func:`cpnas.study.protocol_for`, one seed, 1-bit) and
returns its stand-alone *test* accuracy. Each round's mean child validation accuracy is
reported as an intermediate value, so Optuna's pruner (median by default) can stop a poor
search early; a pruned search stops at its next step and keeps its run directory.

The study lives in any Optuna storage (``--storage``: an SQLite file by default, an RDB URL
for many machines). Several ``cpnas tune`` processes on one storage and study name share the
study; as with Optuna's own ``optimize``, ``--n-trials`` counts the trials of one process.
``optuna-dashboard <storage>`` shows it. Optuna is optional: ``pip install 'cpnas[tune]'``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, CpnasError

log = logging.getLogger("cpnas")

EXTRA = "pip install 'cpnas[tune]'"
RESULT_NAME = "standalone.json"  # a trial's stand-alone training, as cpnas study writes it


@dataclass(frozen=True)
class Knob:
    """One searched knob: a config key and its range (``low == high``: fixed)."""

    key: str
    low: float
    high: float
    integer: bool = False
    log: bool = False

    def suggest(self, trial: Any) -> float | int:
        if self.low == self.high:
            return int(self.low) if self.integer else float(self.low)
        if self.integer:
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, log=self.log)


# flag, config key, default range, integer, log scale, what it is
KNOBS: list[tuple[str, str, str, bool, bool, str]] = [
    ("--beta", "beta", "-1:1", False, False, "beta_P of Eq. 4.15"),
    ("--repeats", "repeats", "1:3", True, False, "T, sweeps per round"),
    ("--sample-steps", "sample_steps", "1:4", True, False, "training steps per sample"),
    ("--lr", "lr", "1e-4:1e-2", False, True, "learning rate (log scale)"),
]


def parse_range(text: str, key: str, integer: bool, log_scale: bool) -> Knob:
    """``LO:HI`` (or one value ``V``: fixed) as a :class:`Knob`; ConfigError on anything else."""
    parts = text.split(":")
    if len(parts) not in (1, 2) or not all(p.strip() for p in parts):
        raise ConfigError(f"--{key.replace('_', '-')}: expected LO:HI or one value, got {text!r}")
    try:
        values = [int(p) if integer else float(p) for p in parts]
    except ValueError:
        kind = "integers" if integer else "numbers"
        raise ConfigError(f"--{key.replace('_', '-')}: expected {kind} LO:HI, got {text!r}") from None
    low, high = values[0], values[-1]
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"--{key.replace('_', '-')}: the range must be finite, got {text!r}")
    if low > high:
        raise ConfigError(f"--{key.replace('_', '-')}: LO must not exceed HI, got {text!r}")
    if log_scale and low <= 0:
        raise ConfigError(f"--{key.replace('_', '-')}: a log-scale range must be above 0, got {text!r}")
    return Knob(key, low, high, integer, log_scale and low < high)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="runs/tune", metavar="DIR",
                   help="the trials' run directories go to DIR/STUDY/trial-NNNN (default runs/tune)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="an Optuna storage URL (default: sqlite:///DIR/optuna.db); "
                        "an RDB shared by several machines runs one study on all of them")
    p.add_argument("--study-name", default="cpnas-tune", metavar="NAME",
                   help="the study (created, or joined when it exists; default cpnas-tune)")
    p.add_argument("--n-trials", type=int, default=10, metavar="N",
                   help="trials this process runs (Optuna's convention; default 10)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="start no trial after this many seconds")
    for flag, key, default, _, _, text in KNOBS:
        p.add_argument(flag, dest=f"range_{key}", default=default, metavar="LO:HI",
                       help=f"{text} (default {default}; one value fixes it)")
    p.add_argument("--pruner", choices=("median", "none"), default="median",
                   help="stop a trial whose round's mean child accuracy is below the median of "
                        "earlier trials at that round (default median)")
    p.add_argument("--sampler-seed", type=int, default=None, help="seed of Optuna's TPE sampler")
    p.add_argument("--config", help="a preset or JSON file of fixed search keys (as cpnas search)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed search key, e.g. --set nodes=2 (repeatable)")
    p.add_argument("--epochs", type=int, default=None, help="stand-alone training epochs "
                                                              "(default: cpnas study's, 10)")
    p.add_argument("--quick", action="store_true",
                   help="cpnas study --quick's tiny space and 2-epoch training (minutes a trial)")
    from .trackers import add_log_to_arguments

    add_log_to_arguments(p)  # each trial's search logs to them, as cpnas search --log-to


def storage_url(args: argparse.Namespace) -> str:
    if args.storage:
        return args.storage
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(out / 'optuna.db').resolve()}"


def require_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise CpnasError(f"cpnas tune needs the 'optuna' package: {EXTRA}") from None
    return optuna


def open_study(optuna: Any, url: str, name: str, pruner: str, seed: int | None) -> Any:
    """Create or join the study; a storage Optuna cannot open is a one-line CpnasError."""
    pruners = {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
               "none": optuna.pruners.NopPruner}
    import time

    for attempt in range(20):
        try:
            storage: Any = url
            if url.startswith("sqlite"):  # processes sharing one file wait for its lock
                storage = optuna.storages.RDBStorage(
                    url, engine_kwargs={"connect_args": {"timeout": 60}})
            return optuna.create_study(storage=storage, study_name=name, direction="maximize",
                                       load_if_exists=True, pruner=pruners[pruner](),
                                       sampler=optuna.samplers.TPESampler(seed=seed))
        except Exception as exc:  # sqlalchemy's errors, ValueError, ImportError of a driver
            text = " ".join(str(exc).split())
            if attempt < 19 and ("already exists" in text or "UNIQUE constraint" in text
                                 or "locked" in text):
                # another process is creating the same tables or study right now: join it
                time.sleep(0.25 + 0.05 * attempt)
                continue
            raise ConfigError(f"--storage {url!r}: Optuna cannot open it "
                              f"({type(exc).__name__}: {text[:200]})") from None
    raise AssertionError("unreachable")


class _RoundReporter:
    """A subscriber: each round's mean child accuracy to the trial; a stop when it is pruned."""

    def __init__(self, trial: Any, stop: threading.Event) -> None:
        self.trial, self.stop = trial, stop
        self.accs: dict[int, list[float]] = {}
        self.pruned = False

    def __call__(self, event: Any) -> None:
        if event.type == "SampleTrained":
            self.accs.setdefault(event.round, []).append(event.child_acc)
        elif event.type == "RoundScored" and self.accs.get(event.round):
            accs = self.accs[event.round]
            self.trial.report(sum(accs) / len(accs), step=event.round)
            if self.trial.should_prune():
                self.pruned = True
                self.stop.set()


def make_objective(base: dict[str, Any], knobs: list[Knob], root: Path, training: Any,
                   say: Callable[[str], None] = lambda text: None, *, log_to: str | None = None,
                   logger_options: dict[str, dict[str, Any]] | None = None) -> Callable[[Any], float]:
    """The objective of one trial: search, train the cell stand-alone, return its test accuracy.

    ``log_to`` (``--log-to``'s names): each trial's search logs to those trackers as
    ``cpnas search --log-to`` does (its run directory's ``tensorboard/``, one MLflow run per
    trial), its stand-alone test accuracy added as ``standalone/test_acc``."""
    import optuna

    from .config import SearchConfig
    from .engine import resolve_device, search
    from .runs import atomic_write_text
    from .standalone import train_standalone
    from .study import protocol_for
    from .trackers import log_standalone, make_loggers

    def objective(trial: Any) -> float:
        values = {k.key: k.suggest(trial) for k in knobs}
        config = SearchConfig.from_dict({**base, **values})
        run_dir = root / f"trial-{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run_dir.resolve()))
        stop = threading.Event()
        reporter = _RoundReporter(trial, stop)
        say(f"trial {trial.number}: {json.dumps(values)} -> {run_dir}")
        loggers = make_loggers(log_to, run_dir, logger_options) if log_to is not None else []
        result = search(config, subscribers=[reporter, *loggers], out=run_dir, stop=stop)
        if reporter.pruned:
            say(f"trial {trial.number}: pruned")
            raise optuna.TrialPruned()
        if result.status != "completed" or result.genotype is None:
            raise CpnasError(f"trial {trial.number}: the search ended {result.status}")
        trial.set_user_attr("genotype", str(result.genotype))
        protocol = dataclasses.replace(protocol_for(config.to_dict(), training), fp_twin=False)
        res = train_standalone(result.genotype, protocol, device=resolve_device(config.device))
        text = json.dumps({"protocol": protocol.to_dict(), **res.to_dict()}, indent=2)
        atomic_write_text(run_dir / RESULT_NAME, text + "\n")
        trial.set_user_attr("standalone_test", list(res.test))
        if loggers:
            log_standalone(run_dir, {"test_acc": res.mean})
        say(f"trial {trial.number}: stand-alone test accuracy {res.mean:.1%}")
        return res.mean

    return objective


def tune_setup(args: argparse.Namespace) -> tuple[dict[str, Any], list[Knob], Any]:
    """The fixed search keys, the knobs and the training; every range checked against the
    config's own bounds (both ends) before a study is opened."""
    from .config import SearchConfig, read_config_source
    from .flags import parse_set
    from .study import QUICK_SEARCH, QUICK_TRAINING, Training

    base: dict[str, Any] = read_config_source(args.config) if args.config else {}
    if args.quick:
        base.update(QUICK_SEARCH)
    base.update(parse_set(args.set))
    knobs = [parse_range(getattr(args, f"range_{key}"), key, integer, log_scale)
             for _, key, _, integer, log_scale, _ in KNOBS]
    for end in ("low", "high"):  # a range end the config refuses is refused now, in one line
        try:
            SearchConfig.from_dict({**base, **{k.key: getattr(k, end) if not k.integer
                                               else int(getattr(k, end)) for k in knobs}})
        except ConfigError as exc:
            raise ConfigError(f"knob range: {exc}") from None
    training = QUICK_TRAINING if args.quick else Training()
    if args.epochs is not None:
        if args.epochs < 1:
            raise ConfigError(f"--epochs: must be >= 1, got {args.epochs}")
        training = dataclasses.replace(training, epochs=args.epochs)
    if args.n_trials < 1:
        raise ConfigError(f"--n-trials: must be >= 1, got {args.n_trials}")
    if args.timeout is not None and not args.timeout > 0:
        raise ConfigError(f"--timeout: must be above 0 seconds, got {args.timeout}")
    return base, knobs, training


def check_trial_dirs(root: Path, study: Any) -> None:
    """Refuse a folder holding trial directories that this study's trials do not name (an
    older study's, under the same --out and --study-name): a trial would meet another's run."""
    if not root.is_dir():
        return
    present = {p.resolve() for p in root.glob("trial-*")}  # listed before the trials are read:
    known = {Path(t.user_attrs["run_dir"]) for t in study.trials  # a trial names its folder
             if "run_dir" in t.user_attrs}                        # before it creates it
    foreign = sorted(p.name for p in present - known)
    if foreign:
        raise ConfigError(f"{root}: holds {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}"
                          f" of another study (not in study {study.study_name!r} of this "
                          "storage); give another --out or --study-name")


def run_tune(args: argparse.Namespace, say: Callable[[str], None] = lambda text: None) -> Any:
    """Open (or join) the study and run this process's trials; return the study."""
    from .trackers import logger_options, make_loggers

    optuna = require_optuna()
    base, knobs, training = tune_setup(args)
    root = Path(args.out) / args.study_name
    options = logger_options(args)
    if args.log_to is not None:  # an unknown tracker or a missing package: refused before the study
        make_loggers(args.log_to, root, options)
    url = storage_url(args)
    study = open_study(optuna, url, args.study_name, args.pruner, args.sampler_seed)
    check_trial_dirs(root, study)
    root.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.set_user_attr("cpnas.knobs", [dataclasses.asdict(k) for k in knobs])
    objective = make_objective(base, knobs, root, training, say, log_to=args.log_to,
                               logger_options=options)
    study.optimize(objective, n_trials=args.n_trials,
                   timeout=args.timeout, catch=(CpnasError,))
    return study


def tune_and_plot(out: str | Path, n_trials: int = 4, **flags: Any) -> dict[str, Any]:
    """For a notebook: run a tiny ``cpnas tune --quick`` into ``out`` and draw Optuna's own
    parameter-importance and parallel-coordinate plots (plotly figures).

    ``flags``: any ``cpnas tune`` flag by its name (``epochs=1``, ``beta="-1:1"``,
    ``study_name="nb"``; a list repeats a flag: ``set=["nodes=2", "cells=1"]``). Returns ``{"study", "importance", "parallel", "trials"}`` (trials:
    Optuna's ``trials_dataframe``)."""
    import argparse

    class Parser(argparse.ArgumentParser):  # a bad flag is a ConfigError, not an exit
        def error(self, message: str):  # type: ignore[override]
            raise ConfigError(message)

    parser = Parser(prog="cpnas tune")
    add_arguments(parser)
    argv = ["--quick", "--out", str(out), "--n-trials", str(n_trials)]
    for name, value in flags.items():
        for one in value if isinstance(value, (list, tuple)) else [value]:  # set=["a=1", "b=2"]
            argv += [f"--{name.replace('_', '-')}={one}"]
    args = parser.parse_args(argv)
    study = run_tune(args)
    optuna = require_optuna()
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    vis = optuna.visualization
    figures: dict[str, Any] = {"study": study, "trials": study.trials_dataframe()}
    figures["parallel"] = vis.plot_parallel_coordinate(study) if done else None
    # importance needs two finished trials that differ in a parameter
    figures["importance"] = vis.plot_param_importances(study) if len(done) >= 2 else None
    return figures


__all__ = ["KNOBS", "Knob", "add_arguments", "make_objective", "open_study", "parse_range",
           "run_tune", "tune_and_plot", "tune_setup"]
