"""The event stream: the contract between the engine (cpnas) and its viewers (cpviz).

Every event is a frozen dataclass with ``type``, ``seq`` (monotone from 0 within a run),
``time`` (unix seconds) and ``run_id``. ``to_json()`` gives one line of JSON, and
``event_from_json()`` reads any of them back. The schema is versioned: ``SearchStarted``
carries ``schema``; a reader refuses a newer major version.

Indices are 0-based: ``round`` 0 is the first round (K = number of ops), ``t`` counts the
T repeats of a sweep and ``s`` the K samples of one sweep. Edge ids are the stable strings
of :mod:`cpnas.space` (``normal:0->2``). Events are immutable all the way down: payload
dicts and lists are copied into :class:`FrozenDict` / :class:`FrozenList` (still a dict and a
list to read, JSON and compare), so a subscriber cannot change what the next one sees.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import RunDirError

SCHEMA_VERSION = 1

Arch = dict[str, str]  # edge id -> op name
EdgeScores = dict[str, dict[str, float]]  # edge id -> op name -> score


class _Frozen:
    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{type(self).__name__}: events are immutable; copy the payload to change it")


class FrozenDict(_Frozen, dict):
    """A dict that refuses every change."""

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _Frozen._refuse
    __ior__ = _Frozen._refuse

    def __reduce__(self):  # pickle and deepcopy rebuild it whole
        return (FrozenDict, (dict(self),))


class FrozenList(_Frozen, list):
    """A list that refuses every change."""

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = _Frozen._refuse
    clear = reverse = sort = __iadd__ = __imul__ = _Frozen._refuse

    def __reduce__(self):
        return (FrozenList, (list(self),))


def freeze(value: Any) -> Any:
    """A deep, immutable copy of a payload value (dicts, lists, tuples and sets inside)."""
    if isinstance(value, dict):
        return FrozenDict((k, freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return FrozenList(freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    return value


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event."""

    type: ClassVar[str] = "Event"
    seq: int = 0
    time: float = 0.0
    run_id: str = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (dict, list, tuple, set)) and not isinstance(value, _Frozen):
                object.__setattr__(self, f.name, freeze(value))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            out[f.name] = getattr(self, f.name)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), default=_json_default)

    def without_time(self) -> dict[str, Any]:
        """The payload with wall-clock fields (and the machine's provenance) dropped, for
        comparing runs."""
        d = self.to_dict()
        d.pop("time", None)
        for key in ("seconds", "provenance"):
            d.pop(key, None)
        return d


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


@dataclass(frozen=True, kw_only=True)
class SearchStarted(Event):
    type: ClassVar[str] = "SearchStarted"
    schema: int = SCHEMA_VERSION
    config: dict[str, Any] = field(default_factory=dict)
    # {"ops": [...], "nodes": n, "cell_types": ["normal", "reduce"], "edges": [ids]}
    space: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    seed: int = 0
    # True in the copy a resumed search delivers to its live subscribers (and its result's
    # events), which then get every event before the checkpoint again; the log keeps False.
    resumed: bool = False
    # cpnas/torch/python versions, git commit, command line, threads, device, world size
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RoundStarted(Event):
    type: ClassVar[str] = "RoundStarted"
    round: int = 0
    K: int = 0
    alive: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SampleStarted(Event):
    """Sample ``s`` of sweep ``t`` starts training: the architecture the child and parent run
    now. Under sweep or round scoring its SampleTrained (the validation) comes later, after
    the sweep's (round's) training. Emitted when ``SearchConfig.announce_samples`` is on."""

    type: ClassVar[str] = "SampleStarted"
    round: int = 0
    t: int = 0
    s: int = 0
    arch: Arch = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SampleTrained(Event):
    type: ClassVar[str] = "SampleTrained"
    round: int = 0
    t: int = 0
    s: int = 0
    arch: Arch = field(default_factory=dict)
    child_loss: float = math.nan
    parent_loss: float = math.nan
    child_acc: float = math.nan
    parent_acc: float = math.nan
    z: float = math.nan
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    type: ClassVar[str] = "Progress"
    round: int = 0
    t: int = 0
    s: int = 0
    step: int = 0
    steps: int = 0
    child_loss: float = math.nan
    parent_loss: float = math.nan


@dataclass(frozen=True, kw_only=True)
class RoundScored(Event):
    type: ClassVar[str] = "RoundScored"
    round: int = 0
    zbar: EdgeScores = field(default_factory=dict)  # Eq. 4.16, mean z over t
    ev: EdgeScores = field(default_factory=dict)  # softmax of zbar over the alive ops


@dataclass(frozen=True, kw_only=True)
class OpPruned(Event):
    type: ClassVar[str] = "OpPruned"
    round: int = 0
    edge: str = ""
    op: str = ""
    ev: float = math.nan
    alive: list[str] = field(default_factory=list)  # ops left on the edge after pruning


@dataclass(frozen=True, kw_only=True)
class GenotypeDerived(Event):
    type: ClassVar[str] = "GenotypeDerived"
    genotype: str = ""  # the DARTS repr string
    # edge id -> {"op": surviving op, "ev": its last ev, "zbar": its search-wide mean z
    # (what the genotype ranks by), "selected": kept in the genotype}
    edges: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Checkpointed(Event):
    type: ClassVar[str] = "Checkpointed"
    path: str = ""
    round: int = 0
    t: int = 0
    s: int = 0


@dataclass(frozen=True, kw_only=True)
class SearchFinished(Event):
    type: ClassVar[str] = "SearchFinished"
    status: str = "completed"  # completed | stopped | failed
    seconds: float = 0.0
    error: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        SearchStarted,
        RoundStarted,
        SampleStarted,
        SampleTrained,
        Progress,
        RoundScored,
        OpPruned,
        GenotypeDerived,
        Checkpointed,
        SearchFinished,
    )
}


def event_from_dict(data: Any) -> Event:
    """Build an event from its ``to_dict()`` form; raise RunDirError on anything else."""
    if not isinstance(data, dict):
        raise RunDirError(f"an event must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise RunDirError(f"unknown event type {kind!r}")
    if cls is SearchStarted:
        schema = data.get("schema", SCHEMA_VERSION)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise RunDirError(
                f"event log has schema version {schema!r}; this cpnas reads up to "
                f"{SCHEMA_VERSION} (upgrade cpnas to read it)"
            )
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names - {"type"}
    if unknown:
        raise RunDirError(f"{kind} has unknown fields: {', '.join(sorted(unknown))}")
    kwargs = {k: v for k, v in data.items() if k != "type"}
    for f in dataclasses.fields(cls):
        if f.name in kwargs and not _fits(kwargs[f.name], _default(f)):
            raise RunDirError(f"{kind}.{f.name} is {_kind(kwargs[f.name])}, expected "
                              f"{_kind(_default(f))}")
    return cls(**kwargs)


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _fits(value: Any, default: Any) -> bool:
    """Whether a read value has the kind of the field's default (its declared type)."""
    if default is None:  # error: str | None
        return value is None or isinstance(value, str)
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "an integer", float: "a number", str: "text",
            dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def event_from_json(line: str) -> Event:
    """Parse one line of ``events.jsonl``."""
    from .reading import loads

    try:
        data = loads(line)
    except json.JSONDecodeError as exc:
        raise RunDirError(f"not a JSON event ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # nested too deeply, or an integer of 5000 digits
        raise RunDirError(f"not a JSON event ({exc})") from None
    return event_from_dict(data)


# -- subscribers -----------------------------------------------------------------------------


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class Callback:
    """Lightning-style subscriber: override only the hooks you need.

    Every event type has one declared hook below (a documented no-op); ``on_event``
    dispatches each event to its hook. A plain callable ``fn(event)`` is a valid subscriber
    too. A subscriber's ``on_*`` method that names no event (``on_sampel_trained``) would never
    be called, so :func:`check_subscriber` refuses it when the subscriber is attached.
    """

    def on_event(self, event: Event) -> None:
        getattr(self, HOOKS[event.type])(event)

    def on_search_started(self, event: SearchStarted) -> None:
        """Once, first: the config, the space (ops, edges), the data, device, seed and where the
        run came from. ``event.resumed`` is true when a resumed search replays its log."""

    def on_round_started(self, event: RoundStarted) -> None:
        """A round begins: its index, K (ops alive per edge) and the alive ops of every edge."""

    def on_sample_started(self, event: SampleStarted) -> None:
        """Sample s of sweep t starts training: the architecture the two supernets run now."""

    def on_sample_trained(self, event: SampleTrained) -> None:
        """A sample is scored: its architecture, both losses, both validation accuracies and
        its indicator z (Eq. 4.15)."""

    def on_progress(self, event: Progress) -> None:
        """Inside a sample, at fixed steps: the running child and parent losses."""

    def on_round_scored(self, event: RoundScored) -> None:
        """A round ends: zbar (Eq. 4.16) and ev (its softmax) of every alive op on every edge."""

    def on_op_pruned(self, event: OpPruned) -> None:
        """One edge's worst op (lowest ev) is removed; the ops left on the edge."""

    def on_genotype_derived(self, event: GenotypeDerived) -> None:
        """Once, at the end: the DARTS genotype and each edge's survivor with its scores."""

    def on_checkpointed(self, event: Checkpointed) -> None:
        """The checkpoint was written (after a sample, a sweep or a round)."""

    def on_search_finished(self, event: SearchFinished) -> None:
        """Once, last: completed, stopped or failed, the wall seconds and any error text."""


def _hook(event_type: str) -> str:
    return "on_" + _snake(event_type)


# event type -> the hook Callback declares for it (every event type has one)
HOOKS: dict[str, str] = {name: _hook(name) for name in EVENT_TYPES}


def check_subscriber(subscriber: Any) -> None:
    """Refuse a subscriber with an ``on_*`` method that names no event (a misspelt hook
    would silently never fire); ConfigError names the method and the hooks there are."""
    from .errors import ConfigError

    known = set(HOOKS.values()) | {"on_event"}
    for name in dir(type(subscriber)):
        if name.startswith("on_") and name not in known and callable(getattr(subscriber, name)):
            raise ConfigError(f"subscriber {type(subscriber).__name__}.{name}: no event is called "
                              f"that; the hooks are {', '.join(sorted(HOOKS.values()))}")


def notify(subscriber: Any, event: Event) -> None:
    """Deliver one event to a subscriber (an object with ``on_event`` or a callable)."""
    if hasattr(subscriber, "on_event"):
        subscriber.on_event(event)
    else:
        subscriber(event)
