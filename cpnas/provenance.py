"""Where a run came from, recorded in its ``SearchStarted``: versions, commit, command line,
and the machine: the CPU's model and the kernels torch picked for it (AVX2, AVX-512, ...), and
the GPU where one is used. Two runs of one config on machines whose kernels differ round
differently (docs/runs.md, "What is bit-exact"); these fields say why their floats differ.
"""

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


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, sysctl on macOS), else the platform's
    processor string; ``""`` when none can be found."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model", "Processor"):
                    return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                 text=True, timeout=5, check=False)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


def cpu_capability() -> str | None:
    """The CPU kernels torch dispatches to (``AVX2``, ``AVX512``, ``DEFAULT``, ...): they set
    how its float sums round. ``ATEN_CPU_CAPABILITY`` can lower it."""
    import torch

    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):  # an older torch
        return None


def gpu_name(device: str) -> str | None:
    """The GPU's name when ``device`` is a CUDA device, else None."""
    import torch

    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    try:
        return torch.cuda.get_device_name(torch.device(device))
    except (RuntimeError, AssertionError, ValueError):
        return None


def provenance(device: str, threads: int, world_size: int = 1) -> dict[str, Any]:
    import torch

    from .version import __version__

    return {"cpnas": __version__, "torch": torch.__version__,
            "python": platform.python_version(), "git_commit": git_commit(),
            "command": list(sys.argv), "threads": threads, "device": device,
            "world_size": world_size, "cpu": cpu_model(), "cpu_capability": cpu_capability(),
            "machine": platform.machine(), "gpu": gpu_name(device)}
