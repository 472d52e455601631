"""The one resolver: what did the user hand me? For every command and every view.

:func:`resolve` takes, in this order:

1. a :class:`~cpnas.genotype.Genotype`, or any object with ``normal, normal_concat, reduce,
   reduce_concat`` (a DARTS ``collections.namedtuple`` included);
2. events: a list (or any iterable) of :class:`~cpnas.events.Event` objects;
3. a path that exists, whatever characters it holds: a run directory (its ``genotype.json``
   and its ``events.jsonl``), an event log (``events.jsonl`` or any ``*.jsonl``), a
   ``genotype.json``, or a text file holding one ``Genotype(...)``; a ``.py`` file needs a
   name (4.);
4. ``FILE.py:NAME``: the assignment ``NAME`` of a repository's genotypes file, read with
   :mod:`ast` only (never imported), aliases such as ``DARTS = DARTS_V2`` followed;
5. a published name (:data:`cpnas.genotype.PUBLISHED`: ``DARTS_V2``, ``PC_DARTS``, ...);
6. ``Genotype(...)`` text of any length (never tried as a path when it cannot be one).

The answer is one tagged :class:`Resolved`: ``kind`` is ``"genotype"`` (a cell, nothing
else) or ``"run"`` (a search: its directory and/or its events, and its genotype once the
search has written one). Commands take the genotype (:meth:`Resolved.require`); cpviz folds
a run's :attr:`Resolved.events` into its ``SearchState`` once. Anything else is a
:class:`~cpnas.errors.GenotypeError` whose one line says what was seen.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from .errors import GenotypeError
from .events import Event
from .genotype import PUBLISHED, Genotype, parse_genotype
from .runs.genotype_file import read_genotype_file
from .runs.layout import GENOTYPE_NAME, LOG_NAME

ACCEPTS = ("a run directory, an events.jsonl, a genotype.json or text file, FILE.py:NAME (a repository's genotypes "
           "file, read without running it), a published name (" + ", ".join(PUBLISHED) + ") or a "
           "Genotype(...) string")
GENOTYPE_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
_FILE_NAME = re.compile(r"^(?P<file>.+\.py):(?P<name>[A-Za-z_]\w*)$")
_MAX_PATH = 4096  # PATH_MAX on Linux: longer text is never a path


@dataclass(frozen=True)
class Resolved:
    """What an argument named: a genotype, or a run (``kind``).

    A run has a directory (``run_dir``), an event log (``log``: the directory's
    ``events.jsonl``, or a log named on its own) or events handed over in memory; its
    ``genotype`` is None until the search writes ``genotype.json`` (and for a log or events
    named on their own: they are a search, whose genotype cpviz reads from the events).
    """

    genotype: Genotype | None
    run_dir: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    log: Path | None = None
    given: tuple[Event, ...] | None = None  # events handed over in memory

    @property
    def kind(self) -> Literal["genotype", "run"]:
        """``"run"`` for a run directory, an event log or events; ``"genotype"`` otherwise."""
        return "run" if self.run_dir is not None or self.log is not None or self.given is not None else "genotype"

    @cached_property
    def events(self) -> tuple[Event, ...]:
        """The run's events (read from its log once, on first use); one line for a genotype."""
        if self.given is not None:
            return self.given
        if self.log is None:
            raise GenotypeError("a genotype has no search to show: pass a run directory, its "
                                f"{LOG_NAME} or a list of events")
        from .runs import read_events

        return tuple(read_events(self.run_dir if self.run_dir is not None else self.log))

    def require(self) -> Genotype:
        """The genotype, or one line saying the run has none (yet)."""
        if self.genotype is not None:
            return self.genotype
        if self.run_dir is not None:
            raise GenotypeError(f"{self.run_dir}: the run has no {GENOTYPE_NAME} yet (is the search finished?)")
        where = self.log if self.log is not None else "events"
        raise GenotypeError(f"{where}: a search's events, not a genotype (pass its run directory, "
                            f"whose {GENOTYPE_NAME} holds the cell)")


def resolve(source: Any) -> Resolved:
    """Resolve an argument (see the module docstring for what is accepted)."""
    if isinstance(source, Resolved):
        return source
    if isinstance(source, Genotype):
        return Resolved(source)
    if has_genotype_fields(source):
        return Resolved(genotype_from_object(source))
    if isinstance(source, os.PathLike):
        return _from_path(Path(source), os.fspath(source))
    if isinstance(source, Iterable) and not isinstance(source, (str, bytes, dict)):
        events = tuple(source)
        if all(isinstance(e, Event) for e in events):
            return Resolved(None, given=events)
        raise GenotypeError(f"expected a list of events, got one holding {type(_first_odd(events)).__name__}")
    if not isinstance(source, str):
        raise GenotypeError(f"expected a Genotype, a genotype object, text, a path or events, "
                            f"got {type(source).__name__}")
    text = source.strip()
    path = existing_path(source)
    if path is not None:
        return _from_path(path, source)
    m = _FILE_NAME.match(text)
    if m:
        return Resolved(read_genotype_file(Path(m["file"]), m["name"]))
    if text in PUBLISHED:
        return Resolved(PUBLISHED[text])
    if text.isidentifier():
        raise GenotypeError(f"{text!r} is no published genotype ({', '.join(PUBLISHED)}) and no file here")
    if "(" not in text and ("/" in text or "." in text):
        raise GenotypeError(f"{text}: no such run directory or genotype file")
    return Resolved(parse_genotype(text))


def _first_odd(events: tuple) -> Any:
    return next(e for e in events if not isinstance(e, Event))


def existing_path(text: str) -> Path | None:
    """``Path(text)`` if it names something on disk; text that cannot be a path is not one."""
    if not text or len(text) > _MAX_PATH or "\0" in text:
        return None
    try:
        path = Path(text)
        return path if path.exists() else None
    except (OSError, ValueError):  # e.g. ENAMETOOLONG: a pasted Genotype(...) string
        return None


def _from_path(path: Path, text: str) -> Resolved:
    if path.is_dir():
        from .runs.directory import read_run_config

        config = read_run_config(path) or {}
        genotype = read_genotype_file(path / GENOTYPE_NAME) if (path / GENOTYPE_NAME).is_file() else None
        return Resolved(genotype, path, config, log=path / LOG_NAME)
    if not path.exists():
        m = _FILE_NAME.match(text)
        if m:
            return Resolved(read_genotype_file(Path(m["file"]), m["name"]))
        raise GenotypeError(f"{path}: no such run directory or genotype file")
    if path.name == LOG_NAME or path.suffix == ".jsonl":
        return Resolved(None, log=path)
    return Resolved(read_genotype_file(path))


# -- objects ---------------------------------------------------------------------------------


def has_genotype_fields(obj: Any) -> bool:
    return not isinstance(obj, (str, bytes, Path)) and all(hasattr(obj, f) for f in GENOTYPE_FIELDS)


def genotype_from_object(obj: Any) -> Genotype:
    """A Genotype from any object with the four DARTS fields (a DARTS namedtuple).

    The fields are written out as text and read by the one parser, so an object takes the
    same shapes as text does (pairs, per-node lists, triples, ``range``)."""
    if isinstance(obj, Genotype):
        return obj
    parts = []
    for name in GENOTYPE_FIELDS:
        value = getattr(obj, name)
        if isinstance(value, range):
            value = list(value)
        parts.append(f"{name}={value!r}")
    try:
        return parse_genotype("Genotype(" + ", ".join(parts) + ")")
    except GenotypeError as exc:
        raise GenotypeError(f"{type(obj).__name__} object: {exc}") from None


# -- what train can build --------------------------------------------------------------------


def buildable_ops() -> tuple[str, ...]:
    """The ops ``cpnas train`` can build: the registered ones, each with a torch builder."""
    from .registry import op_names

    return op_names()


def check_buildable(genotype: Genotype) -> None:
    """Refuse, in one line, a genotype with ops ``train`` cannot build (before any data)."""
    known = buildable_ops()
    unknown = sorted(genotype.ops() - set(known))
    if unknown:
        raise GenotypeError(f"train cannot build the op{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(unknown)} (it builds {', '.join(known)})")
