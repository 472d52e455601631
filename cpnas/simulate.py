"""A synthetic CP-NAS run: the real loop (:mod:`cpnas.loop`) with made-up accuracies.

Used by tests, docs and the viewers to get a complete, faithful event stream in
milliseconds, without training a network. Nothing here is a search result.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable

from .events import Event, GenotypeDerived, SampleStarted, SearchFinished, SearchStarted, notify
from .loop import SampleResult, derive_from_events, run_loop
from .registry import CONV_FAMILIES, display_facts
from .space import PRIMITIVES, SearchSpace

# How much each op helps the synthetic child and parent: made up, from the op's facts, for a
# plausible ordering (convs best, larger receptive fields a little worse; `none` harmful).
_FAMILY_QUALITY = {"none": -0.6, "skip": 0.2, "max_pool": 0.0, "avg_pool": 0.05,
                   "sep_conv": 0.5, "dil_conv": 0.35}


def _quality(op: str) -> float:
    facts = display_facts(op)
    if facts.family not in _FAMILY_QUALITY:
        return 0.1
    wider = max(0, facts.kernel - 3) / facts.dilation if facts.family in CONV_FAMILIES else 0
    return round(_FAMILY_QUALITY[facts.family] - 0.05 * wider, 6)


def simulate(
    ops: Iterable[str] = PRIMITIVES,
    nodes: int = 4,
    repeats: int = 1,
    beta: float = 0.5,
    seed: int = 0,
    subscribers: Iterable[Callable | object] = (),
    stop_after: int | None = None,
    stop: threading.Event | None = None,
    delay: float = 0.0,
) -> list[Event]:
    """Return (and send to ``subscribers``) the events of one synthetic search.

    ``stop_after`` stops after that many samples, and ``stop`` once it is set (status
    ``stopped``), for half-finished states; ``delay`` sleeps per sample, for live demos.
    """
    space = SearchSpace(ops=tuple(ops), nodes=nodes)
    rng = random.Random(seed)
    noise = random.Random(seed + 1)
    run_id = uuid.UUID(int=random.Random(seed + 2).getrandbits(128)).hex[:12]
    out: list[Event] = []
    subs = list(subscribers)
    t0 = time.time()

    def emit(cls: type[Event], fields: dict) -> None:
        event = cls(seq=len(out), time=time.time(), run_id=run_id, **fields)
        out.append(event)
        for sub in subs:
            notify(sub, event)

    n_done = 0

    def evaluate(rnd: int, t: int, s: int, arch: dict[str, str]) -> SampleResult:
        nonlocal n_done
        n_done += 1
        emit(SampleStarted, {"round": rnd, "t": t, "s": s, "arch": arch})  # as the engine does
        if delay:
            time.sleep(delay)
        q = sum(_quality(op) for op in arch.values()) / max(1, len(arch))
        parent = min(0.99, max(0.1, 0.75 + 0.3 * q + noise.gauss(0, 0.02)))
        child = min(parent, max(0.1, 0.45 + 0.5 * q + noise.gauss(0, 0.03)))
        return SampleResult(child, parent, child_loss=2.3 * (1 - child), parent_loss=2.3 * (1 - parent))

    config = {"ops": list(space.ops), "nodes": nodes, "repeats": repeats, "beta": beta,
              "seed": seed, "data": "simulated"}
    emit(SearchStarted, {"config": config, "space": space.to_dict(),
                            "dataset": {"name": "simulated"}, "device": "none", "seed": seed})
    survivors = run_loop(space, repeats, beta, evaluate, emit, rng,
                         should_stop=lambda: (stop_after is not None and n_done >= stop_after)
                         or (stop is not None and stop.is_set()))
    if survivors is None:
        emit(SearchFinished, {"status": "stopped", "seconds": time.time() - t0})
        return out
    geno, edges = derive_from_events(out, survivors, nodes)
    emit(GenotypeDerived, {"genotype": str(geno), "edges": edges})
    emit(SearchFinished, {"status": "completed", "seconds": time.time() - t0})
    return out
