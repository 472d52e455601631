"""Comparing runs in tests: the event fields that must match when two runs did the same work,
and a search stopped then resumed."""

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


def stop_then_resume(config, out, when):
    """Run a search on ``out`` that stops at the first event for which ``when(event)`` holds,
    then resume it with the same config; return the resumed result (both statuses checked)."""
    import threading

    from cpnas.engine import search

    stop = threading.Event()
    first = search(config, subscribers=[lambda e: stop.set() if when(e) else None], out=out,
                   stop=stop)
    assert first.status == "stopped"
    resumed = search(config, out=out)
    assert resumed.status == "completed"
    return resumed
