"""Comparing two runs' event logs: the fields that must match when two runs did the same work."""

from __future__ import annotations

from cpnas import events as ev
from cpnas.config import stored_config


def comparable(events: list[ev.Event]) -> list[dict]:
    """Events without wall-clock fields and the run directory's own path.

    An old log's ``SearchStarted`` lacks config keys added since: they take their LEGACY
    values, as when the run is resumed, so an old log compares equal to its resumption.
    """
    out = []
    for e in events:
        d = e.without_time()
        d.pop("path", None)
        if isinstance(e, ev.SearchStarted):
            d["config"] = stored_config(d["config"], "log")
        out.append(d)
    return out
