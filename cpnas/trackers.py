"""Experiment trackers: TensorBoard and MLflow loggers as event subscribers.

Each logger is a :class:`cpnas.events.Callback` (one logger per tracker, Lightning's
convention) that a search takes like any subscriber::

    cpnas.search(config, out="runs/a", subscribers=[TensorBoardLogger("runs/a/tensorboard"),
                                                    MLflowLogger()])

``cpnas search --log-to tensorboard,mlflow`` (and ``cpnas tune --log-to``, for each trial's
search) finds them by name through the ``cpnas.loggers``
entry-point group (each entry a callable ``make(run_dir) -> subscriber``). What they record,
under the run's id and name (docs/trackers.md):

- the config as hyper-parameters;
- per sample (step = the sample's 0-based index in the search): child/parent validation
  accuracy, child/parent training loss, z;
- per round (at the step of its last sample): the round's mean child/parent accuracy, the
  zbar and ev of every alive op on every edge (histograms and a table), the pruned ops as text
  and, where cpviz is installed, the cell diagram at the round's end (an image);
- at the end: the genotype, and ``genotype.json`` and ``report.html`` (MLflow: artifacts;
  TensorBoard: text);
- ``cpnas train RUN`` adds the stand-alone accuracy (:func:`log_standalone`).

The images and the report need cpviz (graphviz): they come through the
``cpnas.tracker_views`` entry points (``cells``: events -> {name: PNG bytes}; ``report``:
run directory -> report.html path), so cpnas imports no view package.

**Resume.** A resumed search delivers every event again; a logger reads its tracker back
(TensorBoard's event files, MLflow's metric history) and skips each (tag, step) that is
there already, so the tracker run goes on without a duplicated step. The tracker run of a
run directory is recorded in its ``trackers.json``.

The trackers' clients are optional: ``pip install 'cpnas[trackers]'``; a logger asked for
without its package is refused before the search starts, with one line naming the extra.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import math
import os
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .errors import ConfigError, CpnasError
from .events import Callback, Event

log = logging.getLogger("cpnas")

EXTRA = "pip install 'cpnas[trackers]'"
LOGGERS_GROUP = "cpnas.loggers"
VIEWS_GROUP = "cpnas.tracker_views"
TRACKERS_FILE = "trackers.json"  # in the run directory: which tracker runs hold this run
TENSORBOARD_DIR = "tensorboard"  # RUN/tensorboard, TensorBoard's default place
SAMPLE_METRICS = ("child_acc", "parent_acc", "child_loss", "parent_loss", "z")
_DEFAULT: Any = object()


def require(module: str, tracker: str) -> Any:
    """Import a tracker's client or raise a one-line CpnasError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CpnasError(f"{tracker} logging needs the '{module.split('.')[0]}' package: "
                         f"{EXTRA}") from None


def tracker_views() -> dict[str, Callable]:
    """The ``cpnas.tracker_views`` entry points that load (cpviz: ``cells``, ``report``)."""
    out: dict[str, Callable] = {}
    for ep in entry_points(group=VIEWS_GROUP):
        try:
            out[ep.name] = ep.load()
        except Exception as exc:  # a broken view must not stop the logging of numbers
            log.warning("cpnas: tracker view %r unavailable (%s: %s)", ep.name,
                        type(exc).__name__, exc)
    return out


def read_trackers(run_dir: str | os.PathLike | None) -> dict[str, Any]:
    """A run directory's ``trackers.json`` ({} where there is none or it cannot be read)."""
    if run_dir is None:
        return {}
    try:
        data = json.loads((Path(run_dir) / TRACKERS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_trackers(run_dir: Path, key: str, value: dict[str, Any]) -> None:
    from .runs import atomic_write_text

    data = read_trackers(run_dir)
    data[key] = {**data.get(key, {}), **value}
    atomic_write_text(run_dir / TRACKERS_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n")


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A config as flat ``key -> text`` hyper-parameters (lists joined by commas)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_params(value, name + "."))
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = "None" if value is None else str(value)
    return out


def scores_table(zbar: dict, ev: dict) -> list[dict[str, Any]]:
    """One row per edge and alive op: edge, op, zbar, ev."""
    return [{"edge": edge, "op": op, "zbar": float(z), "ev": float(ev.get(edge, {}).get(op, math.nan))}
            for edge, ops in zbar.items() for op, z in ops.items()]


class TrackerLogger(Callback):
    """What both loggers share: the step count, the round's pending outputs, resume skipping.

    A subclass opens its tracker run in :meth:`_open` and writes with the ``_log_*`` methods;
    :meth:`_seen` says whether a (tag, step) is already in the tracker (read back on resume).
    """

    tracker = "tracker"

    def __init__(self, *, run_dir: str | os.PathLike | None = None, run_name: str | None = None,
                 cell_images: Callable | None = _DEFAULT, report: Callable | None = _DEFAULT) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.run_name = run_name
        views = tracker_views() if _DEFAULT in (cell_images, report) else {}
        self.cell_images = views.get("cells") if cell_images is _DEFAULT else cell_images
        self.report = views.get("report") if report is _DEFAULT else report
        self.events: list[Event] = []
        self.samples = 0  # SampleTrained seen so far: the next sample's step
        self.run_id = ""
        self.opened = False
        self._round: int | None = None  # a scored round whose end is not logged yet
        self._pruned: list[str] = []
        self._round_acc: list[tuple[float, float]] = []

    # -- the event stream ------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if self._round is not None and event.type in ("RoundStarted", "GenotypeDerived",
                                                      "SearchFinished"):
            self._end_round()
        self.events.append(event)
        super().on_event(event)

    def on_search_started(self, e) -> None:
        self.run_id = e.run_id
        if self.run_name is None:
            self.run_name = self.run_dir.name if self.run_dir is not None else e.run_id
        self._open(e)
        self.opened = True
        self._record()
        self._log_params(dict(e.config), e)

    def on_checkpointed(self, e) -> None:
        if self.run_dir is None and e.path:
            self.run_dir = Path(e.path).parent
            self._record()

    def on_round_started(self, e) -> None:
        self._round_acc = []

    def on_sample_trained(self, e) -> None:
        step = self.samples
        self.samples += 1
        self._round_acc.append((e.child_acc, e.parent_acc))
        self._log_scalars({f"sample/{k}": float(getattr(e, k)) for k in SAMPLE_METRICS}, step)

    def on_round_scored(self, e) -> None:
        step = max(self.samples - 1, 0)
        if self._round_acc:
            n = len(self._round_acc)
            self._log_scalars({"round/child_acc_mean": sum(c for c, _ in self._round_acc) / n,
                               "round/parent_acc_mean": sum(p for _, p in self._round_acc) / n},
                              step)
        self._log_scores(e.round, scores_table(e.zbar, e.ev), step)
        self._round, self._pruned = e.round, []

    def on_op_pruned(self, e) -> None:
        self._pruned.append(f"{e.edge}: {e.op} (ev {e.ev:.3f}; left {', '.join(e.alive)})")

    def _end_round(self) -> None:
        rnd, self._round = self._round, None
        step = max(self.samples - 1, 0)
        self._log_text("round/pruned", f"round {rnd}:\n" + "\n".join(self._pruned), step,
                       f"rounds/round_{rnd:02d}_pruned.txt")
        self._log_cells(f"round_{rnd:02d}", step)

    def on_genotype_derived(self, e) -> None:
        step = max(self.samples - 1, 0)
        self._log_text("genotype", e.genotype, step, "genotype.txt")
        self._log_cells("genotype", step)

    def on_search_finished(self, e) -> None:
        step = max(self.samples - 1, 0)
        if e.status == "completed" and self.run_dir is not None:
            genotype = self.run_dir / "genotype.json"
            if genotype.is_file():
                self._log_file(genotype, "genotype.json", step)
            if self.report is not None:
                try:
                    self._log_file(Path(self.report(self.run_dir)), "report.html", step)
                except Exception as exc:  # no report: the numbers are logged all the same
                    log.warning("cpnas: %s: no report.html (%s: %s)", self.tracker,
                                type(exc).__name__, exc)
        self._finish(e.status)

    def _log_cells(self, name: str, step: int) -> None:
        if self.cell_images is None:
            return
        try:
            pictures = self.cell_images(list(self.events))
        except Exception as exc:  # Graphviz missing or a view's bug: skip the picture
            log.warning("cpnas: %s: no cell image (%s: %s)", self.tracker, type(exc).__name__, exc)
            self.cell_images = None
            return
        for cell, png in pictures.items():
            tag = f"genotype/{cell}" if name == "genotype" else f"cell/{cell}"
            self._log_image(tag, png, step, f"cells/{name}_{cell}.png")

    def _record(self) -> None:
        """Write this logger's tracker run into the run directory's trackers.json."""
        if self.run_dir is not None and self.opened and self.run_dir.is_dir():
            _write_trackers(self.run_dir, self.tracker, self._where())

    # -- what a tracker implements ---------------------------------------------------------
    def _open(self, started) -> None: ...
    def _where(self) -> dict[str, Any]: return {}
    def _log_params(self, config: dict, started) -> None: ...
    def _log_scalars(self, values: dict[str, float], step: int) -> None: ...
    def _log_scores(self, rnd: int, rows: list[dict], step: int) -> None: ...
    def _log_text(self, tag: str, text: str, step: int, artifact: str) -> None: ...
    def _log_image(self, tag: str, png: bytes, step: int, artifact: str) -> None: ...
    def _log_file(self, path: Path, name: str, step: int) -> None: ...
    def _finish(self, status: str) -> None: ...


# -- TensorBoard -----------------------------------------------------------------------------


def read_tensorboard(log_dir: str | os.PathLike) -> Any:
    """TensorBoard's own reader (an EventAccumulator) over every event file of ``log_dir``."""
    acc_mod = require("tensorboard.backend.event_processing.event_accumulator", "TensorBoard")
    acc = acc_mod.EventAccumulator(str(log_dir), size_guidance={
        acc_mod.SCALARS: 0, acc_mod.IMAGES: 0, acc_mod.HISTOGRAMS: 0, acc_mod.TENSORS: 0})
    acc.Reload()
    return acc


class TensorBoardLogger(TrackerLogger):
    """Scalars, histograms, text and images in ``log_dir`` (default ``RUN/tensorboard``)."""

    tracker = "tensorboard"

    def __init__(self, log_dir: str | os.PathLike | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        require("tensorboard", "TensorBoard")  # first: torch's writer needs it
        self._tb = require("torch.utils.tensorboard", "TensorBoard")
        if log_dir is None and self.run_dir is None:
            raise ConfigError("TensorBoardLogger: give a log_dir (or the run_dir, for "
                              f"RUN/{TENSORBOARD_DIR})")
        self.log_dir = Path(log_dir) if log_dir is not None else self.run_dir / TENSORBOARD_DIR
        self.writer = None
        self.seen: set[tuple[str, int]] = set()

    def _open(self, started) -> None:
        if self.log_dir.is_dir() and any(self.log_dir.iterdir()):
            acc = read_tensorboard(self.log_dir)
            for kind, tags in acc.Tags().items():
                reader = {"scalars": acc.Scalars, "images": acc.Images,
                          "histograms": acc.Histograms, "tensors": acc.Tensors}.get(kind)
                for tag in tags if reader is not None else ():
                    name = tag.removesuffix("/text_summary")  # add_text's tensor tag
                    self.seen.update((name, ev.step) for ev in reader(tag))
        self.writer = self._tb.SummaryWriter(log_dir=str(self.log_dir), flush_secs=10)

    def _where(self) -> dict[str, Any]:
        return {"log_dir": str(self.log_dir.resolve()), "run_id": self.run_id}

    def _new(self, tag: str, step: int) -> bool:
        if (tag, step) in self.seen or self.writer is None:
            return False
        self.seen.add((tag, step))
        return True

    def on_checkpointed(self, e) -> None:
        super().on_checkpointed(e)
        if self.writer is not None:  # on disk with the checkpoint: a resume skips these steps
            self.writer.flush()

    def _log_params(self, config: dict, started) -> None:
        if not self._new("config", 0):
            return
        params = flat_params(config)
        self.writer.add_text("config", "\n".join(f"    {k} = {v}" for k, v in params.items()), 0)
        self.writer.add_text("run", f"run id {started.run_id}, name {self.run_name}", 0)
        from torch.utils.tensorboard.summary import hparams

        values = {k: _hparam_value(v) for k, v in params.items()}
        metrics = {f"sample/{k}": 0.0 for k in ("child_acc", "parent_acc")}
        metrics["standalone/test_acc"] = 0.0
        for summary in hparams(values, metrics):
            self.writer.file_writer.add_summary(summary)

    def _log_scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            if self._new(tag, step):
                self.writer.add_scalar(tag, value, step)

    def _log_scores(self, rnd: int, rows: list[dict], step: int) -> None:
        import numpy as np

        for key in ("zbar", "ev"):
            if rows and self._new(f"round/{key}", step):
                self.writer.add_histogram(f"round/{key}", np.array([r[key] for r in rows]), step)
        table = ["| edge | op | zbar | ev |", "|---|---|---|---|"]
        table += [f"| {r['edge']} | {r['op']} | {r['zbar']:.4f} | {r['ev']:.4f} |" for r in rows]
        self._log_text("round/scores", f"round {rnd}\n\n" + "\n".join(table), step, "")

    def _log_text(self, tag: str, text: str, step: int, artifact: str) -> None:
        if self._new(tag, step):
            self.writer.add_text(tag, text if tag == "round/scores" else _preformatted(text), step)

    def _log_image(self, tag: str, png: bytes, step: int, artifact: str) -> None:
        if not self._new(tag, step):
            return
        import numpy as np
        from PIL import Image

        picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        self.writer.add_image(tag, picture, step, dataformats="HWC")

    def _log_file(self, path: Path, name: str, step: int) -> None:
        tag = "file/" + name
        if not self._new(tag, step):
            return
        if name.endswith(".html"):  # TensorBoard shows no HTML: where it is
            self.writer.add_text(tag, f"written to {path.resolve()}", step)
        else:
            self.writer.add_text(tag, _preformatted(path.read_text()), step)

    def _finish(self, status: str) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _hparam_value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def _preformatted(text: str) -> str:
    """Markdown that TensorBoard shows as written (an indented block)."""
    return "\n".join("    " + line for line in text.splitlines())


# -- MLflow ----------------------------------------------------------------------------------


def mlflow_uri(uri: str | None = None) -> str:
    """The tracking URI: the one given, else ``MLFLOW_TRACKING_URI``, else MLflow's default."""
    if uri:
        return uri
    mlflow = require("mlflow", "MLflow")
    return mlflow.get_tracking_uri()  # reads MLFLOW_TRACKING_URI, else MLflow's own default


class MLflowLogger(TrackerLogger):
    """Params, metrics (with steps), tags and artifacts in one MLflow run.

    ``tracking_uri``: default ``MLFLOW_TRACKING_URI``, else MLflow's own default (a local
    store); never a server that was not named. A resumed search goes on in the run that its
    run directory's ``trackers.json`` names.
    """

    tracker = "mlflow"

    def __init__(self, tracking_uri: str | None = None, *, experiment: str = "cpnas",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        require("mlflow", "MLflow")
        self.uri = mlflow_uri(tracking_uri)
        self.experiment = experiment
        self.client = None
        self.mlflow_run_id: str | None = None
        self.seen: dict[str, set[int]] = {}

    def _open(self, started) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(self.uri)
        known = read_trackers(self.run_dir).get("mlflow", {})
        if known.get("run_id") and known.get("tracking_uri") == self.uri \
                and known.get("cpnas_run_id") == started.run_id:
            try:
                self.client.get_run(known["run_id"])
                self.mlflow_run_id = known["run_id"]
                self.client.update_run(self.mlflow_run_id, status="RUNNING")
            except Exception:  # deleted, or another store: a new run
                self.mlflow_run_id = None
        if self.mlflow_run_id is None:
            exp = self.client.get_experiment_by_name(self.experiment)
            exp_id = exp.experiment_id if exp is not None else self.client.create_experiment(self.experiment)
            tags = {"cpnas.run_id": started.run_id, "cpnas.strategy": str(started.config.get("strategy", ""))}
            if self.run_dir is not None:
                tags["cpnas.run_dir"] = str(self.run_dir.resolve())
            run = self.client.create_run(exp_id, run_name=self.run_name, tags=tags)
            self.mlflow_run_id = run.info.run_id

    def _where(self) -> dict[str, Any]:
        return {"tracking_uri": self.uri, "run_id": self.mlflow_run_id,
                "experiment": self.experiment, "cpnas_run_id": self.run_id}

    def _log_params(self, config: dict, started) -> None:
        from mlflow.entities import Param

        have = self.client.get_run(self.mlflow_run_id).data.params
        params = [Param(k, v[:6000]) for k, v in flat_params(config).items() if k not in have]
        for i in range(0, len(params), 100):
            self.client.log_batch(self.mlflow_run_id, params=params[i:i + 100])

    def _steps(self, key: str) -> set[int]:
        if key not in self.seen:
            self.seen[key] = {m.step for m in self.client.get_metric_history(self.mlflow_run_id, key)}
        return self.seen[key]

    def _log_scalars(self, values: dict[str, float], step: int) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, step) for k, v in values.items()
                   if step not in self._steps(k)]
        if metrics:
            self.client.log_batch(self.mlflow_run_id, metrics=metrics)
            for m in metrics:
                self.seen[m.key].add(step)

    def _log_scores(self, rnd: int, rows: list[dict], step: int) -> None:
        self.client.log_dict(self.mlflow_run_id, {"round": rnd, "step": step, "scores": rows},
                             f"rounds/round_{rnd:02d}_scores.json")

    def _log_text(self, tag: str, text: str, step: int, artifact: str) -> None:
        if artifact:
            self.client.log_text(self.mlflow_run_id, text, artifact)
        if tag == "genotype":
            self.client.set_tag(self.mlflow_run_id, "cpnas.genotype", text[:5000])

    def _log_image(self, tag: str, png: bytes, step: int, artifact: str) -> None:
        self._put(artifact, png)

    def _log_file(self, path: Path, name: str, step: int) -> None:
        self.client.log_artifact(self.mlflow_run_id, str(path))

    def _put(self, artifact: str, data: bytes) -> None:
        import tempfile

        folder, _, name = artifact.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            self.client.log_artifact(self.mlflow_run_id, str(path), folder or None)

    def _finish(self, status: str) -> None:
        if self.client is not None and self.mlflow_run_id is not None:
            state = {"completed": "FINISHED", "failed": "FAILED"}.get(status, "KILLED")
            self.client.set_terminated(self.mlflow_run_id, status=state)


# -- finding loggers by name; `cpnas train` ---------------------------------------------------

BUILTIN: dict[str, Callable[..., Any]] = {
    "tensorboard": lambda run_dir: TensorBoardLogger(run_dir=run_dir),
    "mlflow": lambda run_dir, tracking_uri=None: MLflowLogger(tracking_uri, run_dir=run_dir),
}


def logger_factories() -> dict[str, Callable[..., Any]]:
    """Name -> ``make(run_dir)``: the ``cpnas.loggers`` entry points over the built-in two."""
    out = dict(BUILTIN)
    for ep in entry_points(group=LOGGERS_GROUP):
        if ep.name in BUILTIN and ep.value.startswith(__name__ + ":"):
            continue  # the built-in one, registered for other tools to find
        try:
            out[ep.name] = ep.load()
        except Exception as exc:
            log.warning("cpnas: logger %r unavailable (%s: %s)", ep.name, type(exc).__name__, exc)
    return out


def add_log_to_arguments(p: Any) -> None:
    """``--log-to`` and ``--mlflow-uri``, as ``cpnas search`` and ``cpnas tune`` take them."""
    p.add_argument("--log-to", metavar="TRACKERS", default=None,
                   help="also log to experiment trackers: tensorboard (RUN/tensorboard), mlflow "
                        "(MLFLOW_TRACKING_URI, else MLflow's default), comma-separated; needs "
                        f"{EXTRA} (docs/trackers.md)")
    p.add_argument("--mlflow-uri", metavar="URI", default=None,
                   help="MLflow tracking URI for --log-to mlflow (default: MLFLOW_TRACKING_URI, "
                        "else MLflow's own default, a local store)")


def logger_options(args: Any) -> dict[str, dict[str, Any]]:
    """The per-logger options of ``--log-to``'s flags (for :func:`make_loggers`)."""
    return {"mlflow": {"tracking_uri": args.mlflow_uri}} if args.mlflow_uri else {}


def make_loggers(names: str, run_dir: str | os.PathLike | None,
                 options: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """``--log-to a,b``: the loggers, each checked (its package, its place) before a search;
    ``options``: keyword arguments per logger name (``{"mlflow": {"tracking_uri": ...}}``)."""
    wanted = [n.strip().lower() for n in names.split(",") if n.strip()]
    factories = logger_factories()
    unknown = [n for n in wanted if n not in factories]
    if unknown:
        raise ConfigError(f"--log-to: unknown logger {unknown[0]!r} (known: {', '.join(sorted(factories))})")
    if not wanted:
        raise ConfigError(f"--log-to: name a logger ({', '.join(sorted(factories))})")
    if "tensorboard" in wanted and run_dir is None:
        raise ConfigError(f"--log-to tensorboard needs --out (it writes RUN/{TENSORBOARD_DIR})")
    out = []
    for name in dict.fromkeys(wanted):
        factory = factories[name]
        out.append(factory(Path(run_dir) if run_dir is not None else None,
                           **(options or {}).get(name, {})))
    return out


def log_standalone(run_dir: str | os.PathLike, values: dict[str, float]) -> list[str]:
    """Log a final training's accuracies to the tracker runs of ``run_dir`` (its
    trackers.json); return the trackers written. A tracker whose package is missing is
    skipped with a warning: the training's own result is in train.json all the same."""
    done = []
    known = read_trackers(run_dir)
    tb = known.get("tensorboard", {})
    if tb.get("log_dir"):
        try:
            require("tensorboard", "TensorBoard")
            writer_mod = require("torch.utils.tensorboard", "TensorBoard")
            step = _sample_count(run_dir)
            writer = writer_mod.SummaryWriter(log_dir=tb["log_dir"])
            for key, value in values.items():
                writer.add_scalar(f"standalone/{key}", value, step)
            writer.close()
            done.append("tensorboard")
        except CpnasError as exc:
            log.warning("cpnas: %s", exc)
    ml = known.get("mlflow", {})
    if ml.get("run_id") and ml.get("tracking_uri"):
        try:
            require("mlflow", "MLflow")
            from mlflow.tracking import MlflowClient

            client = MlflowClient(ml["tracking_uri"])
            for key, value in values.items():
                client.log_metric(ml["run_id"], f"standalone/{key}", float(value), step=0)
            done.append("mlflow")
        except CpnasError as exc:
            log.warning("cpnas: %s", exc)
        except Exception as exc:  # the store moved or is down: train.json still holds it
            log.warning("cpnas: mlflow: could not log the stand-alone accuracy (%s: %s)",
                        type(exc).__name__, exc)
    return done


def _sample_count(run_dir: str | os.PathLike) -> int:
    """The step after a run's last sample (where the stand-alone accuracy goes)."""
    try:
        with open(Path(run_dir) / "events.jsonl", encoding="utf-8") as f:
            return sum('"type":"SampleTrained"' in line for line in f)
    except OSError:
        return 0


__all__ = ["MLflowLogger", "TensorBoardLogger", "TrackerLogger", "add_log_to_arguments",
           "log_standalone", "logger_factories", "logger_options", "make_loggers", "read_tensorboard", "read_trackers",
           "tracker_views"]
