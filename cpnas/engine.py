"""``cpnas.engine``: ``cpnas.search``, the whole CP-NAS search (Algorithm 9) with events, checkpoints and resume.

The strategy (:mod:`cpnas.strategies`; by default the pure loop of :mod:`cpnas.loop`)
samples, scores and prunes; its trainer (for CP-NAS :class:`~cpnas.train.CPTrainer`)
trains and validates the networks on each sampled architecture; this module
wires them to the event stream and, when ``out`` is given, to a run directory
(:mod:`cpnas.runs`). Every random draw comes from a generator whose state is in the
checkpoint, so a resumed run repeats an uninterrupted one exactly (apart from times).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import random
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import distributed
from .config import SearchConfig, run_id_fields
from .data import load_data
from .errors import CpnasError, NonFiniteError
from .events import (
    Checkpointed,
    Event,
    GenotypeDerived,
    Progress,
    SampleStarted,
    SampleTrained,
    SearchFinished,
    SearchStarted,
    check_subscriber,
    notify,
)
from .genotype import Genotype
from .loop import SampleResult
from .memory import check_fits
from .provenance import provenance
from .runs import RunDir, read_events
from .runs.directory import check_same_config
from .scoring import last_round_accuracy
from .strategies import check_strategy
from .strategies import get as get_strategy
from .train import Stopped

log = logging.getLogger("cpnas")
SMALL_IMAGE = 16  # side length up to which a CPU search runs single-threaded


@dataclass
class SearchResult:
    status: str  # completed | stopped | failed
    genotype: Genotype | None
    out: Path | None
    events: list[Event] = field(default_factory=list)
    child_acc: float | None = None  # mean child val accuracy over the last round sampled
    parent_acc: float | None = None
    survivors: dict[str, str] | None = None
    seconds: float = 0.0
    config: SearchConfig | None = None

    @property
    def samples(self) -> list[SampleTrained]:
        return [e for e in self.events if isinstance(e, SampleTrained)]


class _Emitter:
    """Stamps seq/time/run_id and delivers each event.

    ``sinks`` (the run directory's recorder) are required: an error there ends the search. A
    subscriber (a viewer) that raises is detached. An event holding a NaN or an infinity is
    refused before anyone sees it, so none reaches the log.
    """

    def __init__(self, run_id: str, seq: int, subscribers: list[Any], sinks: list[Any]) -> None:
        self.run_id, self.seq, self.subscribers, self.sinks = run_id, seq, subscribers, sinks
        self.events: list[Event] = []

    def __call__(self, cls: type[Event], fields: dict) -> Event:
        event = cls(seq=self.seq, time=time.time(), run_id=self.run_id, **fields)
        _check_finite(event)
        for sink in self.sinks:  # before anything advances: a failed write is not an event
            notify(sink, event)
        self.seq += 1
        self.events.append(event)
        self.deliver(event, self.subscribers)
        return event

    def finish(self, fields: dict) -> None:
        """Emit SearchFinished; a sink already broken by the failure being reported is
        skipped, so the first error is the one the user sees."""
        try:
            self(SearchFinished, fields)
        except CpnasError:
            if fields["status"] != "failed":
                raise
            self.sinks = []
            self(SearchFinished, fields)

    def deliver(self, event: Event, subscribers: Iterable[Any]) -> None:
        for sub in list(subscribers):
            try:
                notify(sub, event)
            except Exception as exc:  # a viewer's bug must never corrupt the run
                self.subscribers.remove(sub)
                msg = f"subscriber {sub!r} raised {type(exc).__name__}: {exc}; detached"
                log.warning(msg)
                warnings.warn(msg, RuntimeWarning, stacklevel=2)


def _check_finite(event: Event) -> None:
    bad = _first_non_finite(event.to_dict())
    if bad is not None:
        where = f"round {event.round}, " if hasattr(event, "round") else ""
        raise NonFiniteError(
            f"{event.type}.{bad[0]} is {bad[1]} ({where}seq {event.seq}): the search cannot go "
            "on (a learning rate too high, a beta too large, or NaN in the data?)")


def _first_non_finite(value: Any, name: str = "") -> tuple[str, float] | None:
    if isinstance(value, float) and not math.isfinite(value):
        return name, value
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, inner in items:
        found = _first_non_finite(inner, f"{name}.{key}" if name else str(key))
        if found is not None:
            return found
    return None


def run_id_of(config: SearchConfig) -> str:
    """A digest of the config: a rerun or a resume of one config has one run id.

    Keys at their :data:`cpnas.config.LEGACY` value are left out and renamed keys keep their
    old spelling (:func:`cpnas.config.run_id_fields`), so a key added or renamed later does
    not change the id of a run that an older release wrote.
    """
    fields = run_id_fields(config.to_dict())
    text = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from .errors import ConfigError

        raise ConfigError("device: cuda was asked for, but torch sees no GPU (use auto or cpu)")
    return torch.device(name)


def search(config: SearchConfig | dict, subscribers: Iterable[Any] = (),
           out: str | Path | None = None, stop: threading.Event | None = None) -> SearchResult:
    """Run the whole CP-NAS search; resume from ``out``'s checkpoint when it has one.

    Ends with SearchFinished: ``completed``, ``stopped`` (``stop`` set, or Ctrl-C; the
    checkpoint stays at the last finished sample) or ``failed`` (the error is re-raised).
    """
    if not isinstance(config, SearchConfig):
        config = SearchConfig.from_dict(config)
    subscribers = list(subscribers)
    for sub in subscribers:  # a misspelt hook is refused before anything runs
        check_subscriber(sub)
    run = RunContext(config, subscribers, out, stop)
    return run.execute()


class RunContext:
    """One search run: what a strategy (``cpnas.strategies``) and a benchmark drive.

    :func:`search` builds one and calls :meth:`execute`. A strategy's ``run(ctx)`` gets it
    after the start (or the resume) and uses only these:

    - ``config`` (the :class:`~cpnas.config.SearchConfig`), ``trainer`` (the strategy's),
      ``loop`` (the strategy's state, checkpointed), ``rng`` (the run's ``random.Random``);
    - ``emit(EventClass, fields)``: deliver an event to the log and the subscribers;
    - ``evaluate`` / ``train`` / ``validate(rnd, t, s, arch)``: one sample trained and scored
      (SampleStarted/Progress/SampleTrained emitted), or its two halves for sweep and round
      scoring; ``progress(rnd, t, s)`` the trainer's step callback;
    - ``should_stop()`` (a stop was asked for, agreed across processes), ``stop_within()``;
    - ``checkpoint(state, rnd, t, s)``: write the checkpoint (and Checkpointed).

    ``subscribers`` (rank 0's live subscribers) may be appended to before :meth:`execute`.
    """

    def __init__(self, config: SearchConfig, subscribers: list, out, stop) -> None:
        self.config, self.stop = config, stop or threading.Event()
        # under torchrun rank 0 alone owns the run directory and the subscribers
        self.dist = distributed.current()
        check_strategy(config.strategy, self.dist)  # before anything is written
        self.subscribers = subscribers if self.dist.is_main else []
        self.emit: _Emitter | None = None  # set once the search has started (emits events)
        self.trained_seconds: dict[tuple[int, int, int], float] = {}  # trained ahead, not scored yet
        self.rd: RunDir | None = None
        self.resume: dict | None = None
        refused: BaseException | None = None
        try:
            if self.dist.is_main:  # before the run directory or a tensor: refuse what cannot fit
                check_fits(config, self.dist.world_size)
            if out is not None and self.dist.is_main:
                self._open_run_dir(out)
        except BaseException as exc:
            refused = exc
        # every rank resumes from rank 0's checkpoint, or fails with rank 0's refusal
        refused, self.resume = self.dist.from_main((refused, self.resume))
        if refused is not None:
            raise refused

    def _open_run_dir(self, out) -> None:
        rd = RunDir(out, create=False)
        rd.claim()  # one writer per run dir; a refusal below leaves nothing behind
        try:
            rd.check_config(self.config.to_dict())  # refuses a changed config
            if rd.has_checkpoint():
                self.resume = rd.load_checkpoint(run_id=run_id_of(self.config))
                _check_resume(self.resume, self.config)
        except BaseException:
            rd.release()
            raise
        self.rd = rd

    # -- set-up -----------------------------------------------------------------------------
    def _start(self) -> None:
        cfg = self.config
        self.device = resolve_device(cfg.device)
        if self.device.type == "cuda" and self.dist.active:
            self.device = torch.device("cuda", self.dist.local_rank)
        with self.dist.main_first():  # rank 0 downloads, the others then read its cache
            self.data = load_data(cfg.data, cfg.split_seed, cfg.val_fraction).to(self.device)
        if self.device.type == "cpu" and self.data.x_train.shape[-1] <= SMALL_IMAGE:
            # Tiny images: each op is a few microseconds of math, and extra threads only add
            # synchronisation (on a busy 2-core machine they spin: 3x slower, measured).
            torch.set_num_threads(1)
        self.strategy = get_strategy(cfg.strategy)
        self.trainer = self.strategy.trainer(cfg, self.data, self.device, self.dist)
        self.rng = random.Random(cfg.seed)
        self.t0, self.elapsed0 = time.time(), 0.0
        subs = list(self.subscribers)
        if self.resume is None:
            sinks = []
            if self.rd is not None:
                self.rd.write_config(cfg.to_dict())
                sinks.append(self.rd.recorder(keep_before_seq=0, run_id=run_id_of(cfg)))
            self.emit = _Emitter(run_id_of(cfg), 0, subs, sinks)
            self.loop = self.strategy.start(cfg)
            self.emit(SearchStarted, self._started_fields())
            if cfg.warmup_steps:
                log.info("warm-up: %d uniform single-path steps", cfg.warmup_steps)
                self.trainer.warm_up(cfg.warmup_steps, self.rng, self.stop_within)
            return
        st = self.resume
        self.loop = self.strategy.state_from_dict(st["loop"])
        self._free_pruned()  # the checkpoint holds the alive ops only
        self.trainer.load_state_dict(st["trainer"])
        _set_rng_state(self.rng, st["rng"])
        self.elapsed0 = float(st["elapsed"])
        sinks = ([self.rd.recorder(keep_before_seq=st["seq"], run_id=st["run_id"])]
                 if self.rd is not None else [])
        self.emit = _Emitter(st["run_id"], st["seq"], subs, sinks)
        old = self.dist.from_main([e for e in read_events(self.rd.events_path)
                                   if e.seq < st["seq"]] if self.rd is not None else None)
        if old and isinstance(old[0], SearchStarted):  # viewers learn the run was resumed
            old[0] = dataclasses.replace(old[0], resumed=True)  # (the log keeps its own)
        for event in old:  # live viewers get the full stream
            self.emit.deliver(event, self.emit.subscribers)
        self.emit.events.extend(old)
        ck = st["checkpointed"]
        log.info("resuming (%d of %d samples done)",
                 sum(isinstance(e, SampleTrained) for e in old), cfg.n_samples)
        self.emit(Checkpointed, ck)  # the event the checkpoint was taken for

    def _started_fields(self) -> dict:
        cfg = self.config
        return {"config": cfg.to_dict(), "space": cfg.space.to_dict(),
                "dataset": self.data.summary(), "device": str(self.device), "seed": cfg.seed,
                "provenance": provenance(str(self.device), torch.get_num_threads(),
                                         self.dist.world_size)}

    # -- the search -------------------------------------------------------------------------
    def execute(self) -> SearchResult:
        threads = torch.get_num_threads()
        try:
            return self._execute()
        finally:
            torch.set_num_threads(threads)
            if self.rd is not None:
                self.rd.release()

    def _execute(self) -> SearchResult:
        survivors, status, error = None, "stopped", None
        try:
            self._start()
            survivors = self.strategy.run(self)  # the context: see cpnas.strategies
            if survivors is not None:
                status = "completed"
            genotype = self._derive(survivors) if survivors is not None else None
        except (Stopped, KeyboardInterrupt):
            if self.emit is None:  # interrupted while loading: nothing started
                raise
            status, genotype = "stopped", None
        except BaseException as exc:
            lost = distributed.peer_lost(exc, self.dist)  # a rank died: one line, no traceback
            shown = lost if lost is not None else exc
            self._finish("failed", " ".join(str(shown).split()) or type(exc).__name__)
            if lost is not None:
                raise lost from None
            raise
        self._finish(status, error)
        return self._result(status, genotype, survivors)

    # -- the strategies' context (cpnas.strategies): the run's hooks ------------------------
    def progress(self, rnd: int, t: int, s: int):
        """The trainer's per-step callback: Progress events at fixed steps of a sample."""

        def on_step(step: int, steps: int, c: float, p: float) -> None:
            # the trainer calls it at PROGRESS_PER_SAMPLE fixed steps (cpnas.train)
            self.emit(Progress, {"round": rnd, "t": t, "s": s, "step": step,
                                 "steps": steps, "child_loss": c, "parent_loss": p})

        return on_step

    def _free_pruned(self) -> None:
        """Free what the last round pruned (``free_pruned``; trainers that prune nothing skip)."""
        alive = getattr(self.loop, "alive", None)
        if alive is not None and hasattr(self.trainer, "keep_only"):
            self.trainer.keep_only(alive)

    def stop_within(self) -> bool:
        """A stop between steps: one process stops at once; under torchrun the ranks agree on
        a stop between samples only (one flag all-reduced per sample, not per step)."""
        return self.stop.is_set() if not self.dist.active else False

    def should_stop(self) -> bool:
        """A stop between samples, agreed by every rank."""
        return self.dist.any(self.stop.is_set())

    def _starting(self, rnd: int, t: int, s: int, arch: dict[str, str]) -> None:
        """Before a sample's training: free pruned ops; announce the sample (``announce_samples``)."""
        self._free_pruned()
        if self.config.announce_samples:
            self.emit(SampleStarted, {"round": rnd, "t": t, "s": s, "arch": arch})

    def evaluate(self, rnd: int, t: int, s: int, arch: dict[str, str]) -> SampleResult:
        self._starting(rnd, t, s, arch)
        return self.trainer.train_sample(arch, self.progress(rnd, t, s), self.stop_within)

    def train(self, rnd: int, t: int, s: int, arch: dict[str, str]) -> tuple[float, float]:
        self._starting(rnd, t, s, arch)
        t0 = time.perf_counter()
        losses = self.trainer.train_steps(arch, self.progress(rnd, t, s), self.stop_within)
        self.trained_seconds[(rnd, t, s)] = time.perf_counter() - t0
        return losses

    def validate(self, rnd: int, t: int, s: int, arch: dict[str, str]) -> SampleResult:
        """Validation of a sample trained ahead (sweep or round scoring); its ``seconds`` add
        the sample's training time, as when it is trained and validated in one go (a sample
        trained before a resume counts its validation only)."""
        t0 = time.perf_counter()
        c_acc, p_acc = self.trainer.accuracy(arch)
        seconds = time.perf_counter() - t0 + self.trained_seconds.pop((rnd, t, s), 0.0)
        return SampleResult(child_acc=c_acc, parent_acc=p_acc, seconds=seconds)

    def checkpoint(self, st, rnd: int, t: int, s: int) -> None:
        if self.rd is None or getattr(st, "pending", None) is not None:
            return  # sweep / round scoring checkpoints once per sweep / round, after its last sample
        fields = {"path": str(self.rd.checkpoint_path), "round": rnd, "t": t, "s": s}
        self.rd.save_checkpoint({
            "run_id": self.emit.run_id, "seq": self.emit.seq, "checkpointed": fields,
            "elapsed": self._elapsed(), "loop": st.to_dict(), "rng": _rng_state(self.rng),
            "trainer": self.trainer.state_dict(), "config": self.config.to_dict(),
        }, run_id=self.emit.run_id)
        self.emit(Checkpointed, fields)

    def _derive(self, survivors: dict[str, str]) -> Genotype:
        geno, edges = self.strategy.derive(self.loop, self.emit.events, survivors, self.config)
        self.emit(GenotypeDerived, {"genotype": str(geno), "edges": edges})
        if self.rd is not None:
            child, parent = last_round_accuracy(self._samples())
            self.rd.write_genotype(geno, {"edges": edges, "child_acc": child,
                                          "parent_acc": parent, "run_id": self.emit.run_id})
        return geno

    def _samples(self) -> list[SampleTrained]:
        return [e for e in self.emit.events if isinstance(e, SampleTrained)]

    def _elapsed(self) -> float:
        return self.elapsed0 + time.time() - self.t0

    def _finish(self, status: str, error: str | None) -> None:
        if self.emit is None:  # failed before the first event: nothing to close
            return
        self.emit.finish({"status": status, "seconds": self._elapsed(), "error": error})
        for sub in [*self.emit.sinks, *self.emit.subscribers]:
            if hasattr(sub, "close"):
                sub.close()

    def _result(self, status: str, genotype: Genotype | None, survivors) -> SearchResult:
        child, parent = last_round_accuracy(self._samples())
        return SearchResult(status=status, genotype=genotype,
                            out=self.rd.path if self.rd else None, events=self.emit.events,
                            child_acc=child, parent_acc=parent, survivors=survivors,
                            seconds=self._elapsed(), config=self.config)


# -- RNG state as plain containers (torch.load(weights_only=True) reads them) ---------------


def _rng_state(rng: random.Random) -> dict:
    version, state, gauss = rng.getstate()
    np_state = np.random.get_state()
    return {
        "python": [version, list(state), gauss],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(rng: random.Random, st: dict) -> None:
    version, state, gauss = st["python"]
    rng.setstate((version, tuple(state), gauss))
    n = st["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    torch.set_rng_state(st["torch"])
    if st["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def _check_resume(state: dict, config: SearchConfig) -> None:
    from .errors import RunDirError

    needed = ("run_id", "seq", "checkpointed", "elapsed", "loop", "rng", "trainer")
    missing = [k for k in needed if k not in state]
    if missing:
        raise RunDirError(f"checkpoint lacks {', '.join(missing)}; delete it to start afresh")
    if state.get("config") is not None:
        check_same_config(state["config"], config.to_dict(), "checkpoint")
