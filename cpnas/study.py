"""``cpnas study``: a grid of searches (strategy x beta_P x seed), every found cell trained
from scratch under one protocol, and one results table (docs/study.md).

A grid point is a normal run directory, ``DIR/searches/<run id>``, named by the digest of
its search config, so two names for one config (``child-only`` and ``cpnas`` at beta_P 0)
share one search. Each point is two steps, both resumable: the search (a completed run is
skipped, a cut one resumes from its checkpoint) and the stand-alone training of the found
cell (:mod:`cpnas.standalone`, the signal benchmark's protocol, with the search's seed; 1-bit
and the FP twin; written to the run's ``standalone.json`` and skipped when it is there
with the same protocol). ``DIR/study.jsonl`` records every search and training the study
finished. ``--list`` prints each search as a ``cpnas search`` line for a scheduler; a later
``cpnas study`` with the same flags finds them done, trains and collects ``results.csv``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import re
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import limits
from .config import SearchConfig
from .errors import ConfigError, RunDirError
from .runs.layout import STANDALONE_NAME as STANDALONE
from .strategies import NAMED_BETAS, STRATEGIES

log = logging.getLogger("cpnas")

NAMES: tuple[str, ...] = (*STRATEGIES, *NAMED_BETAS)  # what --strategies accepts
SWEPT = ("cpnas",)  # names whose rows take beta_P from --betas; the others leave it empty
COLUMNS = ("strategy", "beta", "seed", "genotype", "search_seconds", "test_acc", "test_acc_fp",
           "conv_ops", "run_dir")


@dataclass(frozen=True)
class Training:
    """The study's knobs of the stand-alone protocol (:func:`protocol_for` builds the rest)."""

    epochs: int = 10
    channels: int = 8
    cells: int = 3
    batch_size: int = 64  # cpnas.standalone.Protocol's; here so that a preset can pin it
    lr: float = 0.003
    fp_twin: bool = True  # also train the full-precision twin (the test_acc_fp column)


@dataclass(frozen=True)
class StudySpec:
    strategies: tuple[str, ...] = NAMES
    betas: tuple[float, ...] = (0.5,)
    seeds: tuple[int, ...] = (0, 1, 2)
    search: dict[str, Any] = field(default_factory=dict)  # SearchConfig keys for every search
    training: Training = Training()
    # a seed sets the data split (data_seed) as well as the search's and the training's seed,
    # for every strategy alike: the comparisons are paired by seed (cpnas.stats)
    split_per_seed: bool = True

    def __post_init__(self) -> None:
        unknown = [s for s in self.strategies if s not in NAMES]
        if unknown:
            raise ConfigError(f"strategies: unknown strategy {unknown[0]!r} (known: {', '.join(NAMES)})")
        for name in ("strategies", "betas", "seeds"):
            values = getattr(self, name)
            if not values:
                raise ConfigError(f"{name}: the grid needs at least one value")
            if len(set(values)) != len(values):
                raise ConfigError(f"{name}: a value is listed twice in {list(values)}")
        for beta in self.betas:
            if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not math.isfinite(beta):
                raise ConfigError(f"betas: must be finite numbers, got {beta!r}")
        for seed in self.seeds:
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ConfigError(f"seeds: must be integers >= 0, got {seed!r}")
        # beta in the search settings is the beta_P of the rows that do not sweep it (random's)
        for key in ("strategy", "seed", *(("data_seed",) if self.split_per_seed else ())):
            if key in self.search:
                raise ConfigError(f"{key}: set by the grid, not by the search settings")
        for name in ("epochs", "channels", "cells", "batch_size"):
            value = getattr(self.training, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: must be an integer >= 1, got {value!r}")
        from .config import check_int

        check_int("train cells", self.training.cells, 1, limits.MAX_CELLS)
        check_int("train channels", self.training.channels, 1, limits.MAX_CHANNELS)
        check_int("epochs", self.training.epochs, 1, limits.MAX_STEPS)
        # a bad search setting, or a seed over the limit, fails here, before anything runs
        top = max(self.seeds)
        SearchConfig(**{**self.search, "seed": top,
                        **({"data_seed": top} if self.split_per_seed else {})})


# Presets: "default" is StudySpec's defaults (it follows the search defaults as they move);
# the others are frozen in cpnas/presets/study/NAME.json, which pins every search and
# training key, so no later change of a default changes their run ids or numbers. A key
# added to SearchConfig after a preset was frozen takes its LEGACY value (the behaviour from
# before the key existed), as a stored run does (cpnas.config.stored_config).
PRESET_FOLDER = "study"


def preset_names() -> list[str]:
    from .config import preset_names as shipped

    return ["default", *shipped(PRESET_FOLDER)]


def preset_spec(name: str) -> StudySpec:
    """The grid of a preset by name (``default`` or a frozen file in cpnas/presets/study)."""
    if name == "default":
        return StudySpec()
    from .config import LEGACY, read_config_source

    if name not in preset_names():
        raise ConfigError(f"preset: no study preset {name!r} (presets: {', '.join(preset_names())})")
    d = read_config_source(name, PRESET_FOLDER)
    grid = ("strategy", "seed", "data_seed")
    search = {**{k: v for k, v in LEGACY.items() if k not in grid}, **d["search"]}
    return StudySpec(strategies=tuple(d["strategies"]), betas=tuple(float(b) for b in d["betas"]),
                     seeds=tuple(d["seeds"]), search=search, training=Training(**d["training"]),
                     split_per_seed=d.get("split_per_seed", True))


# --quick: minutes on 2 cores, every strategy kept (the notebooks' tiny space).
FIG49_OPS = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3", "dil_conv_3x3")
QUICK_SEARCH: dict[str, Any] = {
    "ops": FIG49_OPS, "nodes": 2, "cells": 2, "channels": 4, "sample_steps": 2, "batch_size": 32,
    "repeats": 1, "warmup_steps": 0}
QUICK_TRAINING = Training(epochs=2, channels=4, cells=2)


def quick(spec: StudySpec) -> StudySpec:
    """The grid shrunk to minutes: the first two seeds (the seeds given, if fewer), a tiny
    space, 2-epoch trainings. Too few seeds for a test: the tables say so (cpnas.stats)."""
    return dataclasses.replace(spec, seeds=spec.seeds[:2], search={**spec.search, **QUICK_SEARCH},
                               training=QUICK_TRAINING)


# -- the grid ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    strategy: str  # the study's name (child-only, parent-only or a config strategy)
    beta: float | None  # None where beta_P is not swept
    seed: int
    config: SearchConfig

    @property
    def run_id(self) -> str:
        from .engine import run_id_of

        return run_id_of(self.config)


def expand(spec: StudySpec) -> list[Point]:
    """Every (strategy, beta, seed) point in order; beta only where the strategy sweeps it."""
    points = []
    for name in spec.strategies:
        strategy, fixed = NAMED_BETAS.get(name, (name, None))
        betas: Sequence[float | None] = spec.betas if name in SWEPT else [fixed]
        for beta in betas:
            for seed in spec.seeds:
                keys = {**spec.search, "strategy": strategy, "seed": seed}
                if spec.split_per_seed:
                    keys["data_seed"] = seed
                if beta is not None:
                    keys["beta"] = float(beta)
                points.append(Point(name, None if beta is None else float(beta), seed,
                                    SearchConfig(**keys)))
    return points


# What `cpnas study` writes into its folder (study.html through cpviz); anything else there
# is someone else's, and the study refuses the folder as `cpnas search` refuses a run
# directory holding foreign files.
STUDY_FILES = {"searches": "dir", "results.csv": "file", "study.jsonl": "file",
               "study.html": "file"}
_STUDY_TEMP = re.compile(r"\.(?P<name>[\w.]+)\.\w+\.tmp")  # an atomic writer's temp file


def study_dir(out: str | os.PathLike) -> Path:
    """``out`` made ready for a study (created if absent); RunDirError if it cannot be used.

    The folder is claimed as a search claims its run directory: it must be new, empty or a
    study's (``searches/`` beside the study's files). A folder holding other files, or a
    ``results.csv``/``study.html``/``study.jsonl`` without ``searches/`` (a user's own), is
    refused before anything is written, and so is a symbolic link among the study's files
    (a write through it would land outside the folder)."""
    if not os.fspath(out):
        raise RunDirError("the study folder is an empty path; give a directory")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path}: the study folder is a file; give a directory")
    if path.is_dir():
        _check_study_contents(path)
    try:
        (path / "searches").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{path}: cannot create the study folder ({exc.strerror})") from None
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise RunDirError(f"{path}: the study folder cannot be read and written")
    return path


def _check_study_contents(path: Path) -> None:
    entries = sorted(path.iterdir())
    links = [e.name for e in entries if e.is_symlink()]
    foreign = [e.name for e in entries if not e.is_symlink() and e.name not in STUDY_FILES
               and not ((m := _STUDY_TEMP.fullmatch(e.name)) and m["name"] in STUDY_FILES)]
    if links:
        raise RunDirError(f"{path}: {', '.join(links[:3])} is a symbolic link; cpnas study never "
                          "writes through a link out of its folder: give another --out")
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise RunDirError(f"{path}: holds files cpnas study did not write ({shown}); refusing "
                          "to write there: give a new or empty folder, or a study's folder")
    wrong = [e.name for e in entries if e.name in STUDY_FILES
             and e.is_dir() != (STUDY_FILES[e.name] == "dir")]
    if wrong:
        raise RunDirError(f"{path}: not a usable study folder ({', '.join(wrong)} of the wrong "
                          "kind)")
    searches = path / "searches"
    if entries and not searches.is_dir():
        shown = ", ".join(e.name for e in entries[:3])
        raise RunDirError(f"{path}: holds {shown} but no searches/; cpnas study did not write "
                          "them, so they are left alone: give another --out")
    if searches.is_dir():
        inside = [e.name for e in searches.iterdir() if e.is_symlink() or not e.is_dir()]
        if inside:
            raise RunDirError(f"{searches}: {', '.join(sorted(inside)[:3])} is not a search's "
                              "folder (a file or a link); refusing to write there")


def command_lines(spec: StudySpec, out: str | os.PathLike) -> list[str]:
    """One ``cpnas search`` line per distinct search; a later ``cpnas study`` trains and collects.

    A line names every key of its config (a flag where ``cpnas search`` has one, ``--set
    KEY=VALUE`` otherwise), so it builds the same config, and the same run id, whatever the
    defaults of the cpnas that runs it."""
    from .flags import SEARCH_FLAGS, set_value_text

    flags = {key: flag for flag, key, _, _ in SEARCH_FLAGS}
    lines, seen = [], set()
    for p in expand(spec):
        if p.run_id in seen:
            continue
        seen.add(p.run_id)
        args = ["cpnas", "search"]
        for key, value in p.config.to_dict().items():
            if key in flags and value is not None and not isinstance(value, bool):
                args += [f"{flags[key]}={','.join(value) if isinstance(value, list) else value}"]
            else:
                args += ["--set", f"{key}={set_value_text(value)}"]
        args += ["--out", str(Path(out) / "searches" / p.run_id), "--quiet"]
        lines.append(shlex.join(args))
    return lines


# -- running ----------------------------------------------------------------------------------


def run_study(spec: StudySpec, out: str | os.PathLike, jobs: int | None = None,
              say: Callable[[str], None] = lambda text: None) -> list[dict]:
    """Run what is not done yet, then collect; returns the rows of ``results.csv``."""
    path = study_dir(out)
    todo: dict[str, dict] = {}
    for p in expand(spec):
        todo.setdefault(p.run_id, p.config.to_dict())
    pending = [rid for rid in todo
               if not _done(path / "searches" / rid, protocol_for(todo[rid], spec.training))]
    pending.sort(key=lambda rid: todo[rid]["seed"])  # seed by seed: a cut grid stays paired
    say(f"study: {len(todo)} searches, {len(todo) - len(pending)} already done")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(pending) or 1))
    work = [(str(path), rid, todo[rid], asdict(spec.training)) for rid in pending]
    if jobs == 1:
        for i, item in enumerate(work):
            say(f"[{i + 1}/{len(work)}] {item[1]} ({todo[item[1]]['strategy']}, "
                f"seed {todo[item[1]]['seed']})")
            _point(*item)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from .parent import exit_with_parent

        ctx = multiprocessing.get_context("spawn")  # no forked torch threads
        # each worker dies with this process (kill -9 included), and with the workers gone
        # the resource tracker, whose pipe they held, ends too (cpnas.parent)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=exit_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(_point, *item): item[1] for item in work}
            for i, fut in enumerate(as_completed(futures)):
                fut.result()  # a failed point raises here, after the others have run
                say(f"[{i + 1}/{len(work)}] {futures[fut]} done")
    rows = collect(spec, path)
    write_results(rows, path / "results.csv")
    return rows


def protocol_for(config: dict, training: Training):
    """The stand-alone protocol of one grid point: the search's data, split, seed and network
    options, the study's epochs and size, 1-bit and the FP twin."""
    from .standalone import Protocol

    cfg = SearchConfig.from_dict(config)
    return Protocol(data=cfg.data, data_seed=cfg.split_seed, seeds=(cfg.seed,),
                    epochs=training.epochs, channels=training.channels, cells=training.cells,
                    batch_size=training.batch_size, lr=training.lr, fp_preprocess=cfg.fp_preprocess, shortcut=cfg.shortcut,
                    distinct_inputs=cfg.distinct_inputs, fp_twin=training.fp_twin)


def _point(study: str, run_id: str, config: dict, training: dict) -> None:
    """Search (or resume) one grid point, then train its cell; a worker process's task."""
    from .engine import search

    root = Path(study)
    run_dir = root / "searches" / run_id
    if _search_status(run_dir) != "completed":
        result = search(config, out=run_dir)
        if result.status != "completed":
            raise RunDirError(f"{run_dir}: the search ended {result.status}")
        _record(root, {"done": "search", "run": run_id, "seconds": result.seconds})
    protocol = protocol_for(config, Training(**training))
    if _training(run_dir, protocol) is None:
        _train(run_dir, config, protocol)
        _record(root, {"done": "train", "run": run_id, **training})


def _train(run_dir: Path, config: dict, protocol) -> None:
    from .engine import resolve_device
    from .runs import atomic_write_text, load_run
    from .standalone import train_standalone

    result = train_standalone(load_run(run_dir).genotype, protocol,
                              device=resolve_device(config["device"]))
    text = json.dumps({"protocol": protocol.to_dict(), **result.to_dict()}, indent=2)
    atomic_write_text(run_dir / STANDALONE, text + "\n")


def _record(root: Path, record: dict) -> None:
    """Append one line to ``study.jsonl`` (one short write: lines of parallel workers stay whole)."""
    line = json.dumps({"time": time.time(), **record}) + "\n"
    fd = os.open(root / "study.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW,
                 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _search_status(run_dir: Path) -> str:
    from .runs import load_run

    try:
        return load_run(run_dir).status
    except RunDirError:
        return "absent"


def _training(run_dir: Path, protocol) -> dict | None:
    """The run's standalone.json if it was trained under ``protocol``, else None."""
    try:
        data = json.loads((run_dir / STANDALONE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    ok = isinstance(data, dict) and data.get("protocol") == protocol.to_dict()
    return data if ok and data.get("test") and (data.get("fp_test") or not protocol.fp_twin) else None


def _done(run_dir: Path, protocol) -> bool:
    return _search_status(run_dir) == "completed" and _training(run_dir, protocol) is not None


# -- the command line (the handler lives in cpviz.cli, which also writes study.html) ----------


def add_arguments(p) -> None:
    p.add_argument("--strategies", default=None, metavar="LIST",
                   help=f"comma-separated, out of {','.join(NAMES)} (default: the preset's)")
    p.add_argument("--betas", default=None, metavar="LIST",
                   help="beta_P values for the cpnas rows, e.g. --betas -1,0.5 (default: the "
                        "preset's; default 0.5)")
    p.add_argument("--seeds", default=None, metavar="LIST",
                   help="seeds, e.g. 0,1,2 or 0-49 (default: the preset's; default 0,1,2)")
    p.add_argument("--preset", choices=preset_names(), default="default",
                   help="fig4.9: the powered miniature Fig. 4.9; teaching: the teaching "
                        "default's space (docs/study.md); both frozen")
    p.add_argument("--quick", action="store_true",
                   help="a tiny space and short trainings: minutes, every strategy, 2 seeds")
    p.add_argument("--data", default=None, help="data of every search (default digits)")
    p.add_argument("--sample-steps", type=int, default=None, help="training steps per sample")
    p.add_argument("--epochs", type=int, default=None, help="stand-alone training epochs")
    p.add_argument("--train-channels", type=int, default=None, help="channels of the trained nets")
    p.add_argument("--train-cells", type=int, default=None, help="cells of the trained nets")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None)
    p.add_argument("--jobs", type=int, default=None, help="parallel searches (default: one per core)")
    p.add_argument("--list", action="store_true",
                   help="print each grid point as a shell command line and run nothing")
    p.add_argument("--collect", action="store_true",
                   help="write results.csv (and study.html) from the points done so far; run nothing")
    p.add_argument("--out", default="study", metavar="DIR", help="study folder (default: study)")


def spec_from_args(args) -> StudySpec:
    """The grid the flags ask for: the preset, shrunk by --quick, then the flags given (a flag
    always wins, --quick included)."""
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"jobs: must be an integer >= 1, got {args.jobs}")
    spec = preset_spec(args.preset)
    if args.quick:
        spec = quick(spec)
    search = dict(spec.search)
    for key in ("data", "sample_steps", "device"):
        if getattr(args, key) is not None:
            search[key] = getattr(args, key)
    given = {"epochs": args.epochs, "channels": args.train_channels, "cells": args.train_cells}
    training = dataclasses.replace(spec.training, **{k: v for k, v in given.items() if v is not None})
    seeds = _seeds(args.seeds) or spec.seeds
    return dataclasses.replace(
        spec, strategies=_list(args.strategies, str, "strategies") or spec.strategies,
        betas=_list(args.betas, float, "betas") or spec.betas,
        seeds=seeds[:2] if args.quick and args.seeds is None else seeds,
        search=search, training=training)


def _seeds(text: str | None) -> tuple[int, ...]:
    """``0,1,2`` or a range ``0-49`` (both ends included), or a mix: ``0-9,20``."""
    out: list[int] = []
    for item in _list(text, str, "seeds"):
        low, dash, high = item.partition("-")
        try:
            if dash and low:
                a, b = int(low), int(high)
                if b < a or b - a > 100_000:
                    raise ConfigError(f"seeds: {item!r} is not a range low-high of at most 100000 seeds")
                out += range(a, b + 1)
            else:
                out.append(int(item))
        except ValueError:
            raise ConfigError(f"seeds: {text!r} is not a list of integers (or ranges a-b)") from None
    return tuple(out)


def _list(text: str | None, kind: type, name: str) -> tuple:
    if text is None:
        return ()
    items = [t.strip() for t in text.split(",")]
    if "" in items:
        raise ConfigError(f"{name}: an empty item in {text!r} (give a comma-separated list)")
    try:
        return tuple(kind(t) for t in items)
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a list of {kind.__name__} values") from None


# -- results ----------------------------------------------------------------------------------


def conv_ops(genotype) -> int:
    """Edges of a genotype (both cells) whose op is a convolution (the registry's families)."""
    from .registry import CONV_FAMILIES, display_facts

    return sum(display_facts(op).family in CONV_FAMILIES
               for cell in ("normal", "reduce") for op, _ in getattr(genotype, cell))


def collect(spec: StudySpec, out: str | os.PathLike) -> list[dict]:
    """One row per grid point, from the run directories; what is not done yet stays empty."""
    from . import events
    from .runs import load_run

    root = Path(out)
    rows = []
    for p in expand(spec):
        run_dir = root / "searches" / p.run_id
        row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
        row.update(strategy=p.strategy, beta="" if p.beta is None else p.beta, seed=p.seed,
                   run_dir=f"searches/{p.run_id}")
        try:
            run = load_run(run_dir)
        except RunDirError:
            rows.append(row)
            continue
        finished = [x for x in run.events if isinstance(x, events.SearchFinished)]
        if run.status == "completed" and run.genotype is not None:
            row.update(genotype=str(run.genotype), search_seconds=round(finished[-1].seconds, 3),
                       conv_ops=conv_ops(run.genotype))
            trained = _training(run_dir, protocol_for(p.config.to_dict(), spec.training))
            if trained is not None:
                row.update(test_acc=trained["test"][0],
                           test_acc_fp=trained["fp_test"][0] if trained.get("fp_test") else "")
        rows.append(row)
    return rows


def write_results(rows: list[dict], path: str | os.PathLike) -> None:
    import io

    from .runs import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def read_results(path: str | os.PathLike) -> list[dict]:
    """``results.csv`` back as rows with numbers (None where a cell is empty)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.csv"
    try:
        with open(p, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RunDirError(f"{p}: cannot read the study results ({exc.__class__.__name__})") from None
    if not set(COLUMNS) <= set(reader.fieldnames or ()):
        raise RunDirError(f"{p}: not a study results table (columns {', '.join(COLUMNS)})")
    kinds = {"beta": float, "seed": int, "search_seconds": float, "test_acc": float,
             "test_acc_fp": float, "conv_ops": int}
    return [{k: (kinds[k](v) if v != "" else None) if k in kinds else v for k, v in r.items()}
            for r in rows]


__all__ = ["COLUMNS", "NAMES", "Point", "StudySpec", "Training", "add_arguments",
           "collect", "command_lines", "conv_ops", "expand", "preset_names", "preset_spec",
           "protocol_for", "quick",
           "read_results", "run_study", "spec_from_args", "study_dir", "write_results"]
