"""Where a run came from, recorded in its ``SearchStarted``: versions, commit, command line."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def git_commit() -> str | None:
    """The commit of the cpnas checkout, when cpnas runs from one (None otherwise)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def provenance(device: str, threads: int, world_size: int = 1) -> dict[str, Any]:
    import torch

    from .version import __version__

    return {"cpnas": __version__, "torch": torch.__version__,
            "python": platform.python_version(), "git_commit": git_commit(),
            "command": list(sys.argv), "threads": threads, "device": device,
            "world_size": world_size}
