"""Processes that die with their parent: torchrun's ranks and ``cpnas study``'s workers.

torchrun starts each rank in a process group of its own, and a process pool's workers run
their task to the end: when the launcher or the study is killed (``kill -9`` leaves it no
time to pass the signal on), its children would go on for hours, holding the run's lock
(the same command is then refused) and memory. Each child instead watches its parent: when
``os.getppid()`` changes (the child was handed to init or a subreaper), its parent is gone.
A rank then stops at the next step boundary as a stop does (the log ends ``stopped``, the
lock is released); a study worker exits at once (its run directory resumes exactly, as after
any kill). Polling is portable, and a thread that exits does not fire it by mistake, as
Linux's ``PR_SET_PDEATHSIG`` can when the thread that started the child ends.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

POLL_SECONDS = 0.5


def watch_parent(on_gone: Callable[[int], None], interval: float = POLL_SECONDS,
                 parent: int | None = None) -> threading.Thread:
    """Call ``on_gone(parent pid)`` once, from a daemon thread, when the parent has gone.

    ``parent``: the pid to watch (default: the parent now). A process whose parent is
    already gone by then (``parent`` given, and not ours) calls it at once."""
    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(interval)
        on_gone(parent)

    thread = threading.Thread(target=watch, name="cpnas-watch-parent", daemon=True)
    thread.start()
    return thread


def exit_with_parent(parent: int) -> None:
    """A process pool's initializer: this worker is killed when ``parent`` (the process
    that made the pool) is gone, whatever it was doing."""
    watch_parent(lambda _: os.kill(os.getpid(), signal.SIGKILL), parent=parent)


__all__ = ["POLL_SECONDS", "exit_with_parent", "watch_parent"]
