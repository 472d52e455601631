"""Shared helpers for the teaching notebooks: quick mode and where runs are written.

``CPNAS_QUICK=1`` (set by the notebook tests and CI) shrinks every run so that all the
notebooks execute top to bottom in a few minutes on 2 CPU cores. Without it the notebooks
run the teaching-size searches the prose describes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

QUICK = os.environ.get("CPNAS_QUICK", "") not in ("", "0")


def pick(full, quick):
    """``quick`` in quick mode, ``full`` otherwise."""
    return quick if QUICK else full


def runs_dir() -> Path:
    """Where notebooks write runs and exports: the repository's ``runs/`` (gitignored) when
    the notebook sits in the repository, else a temporary folder. Never ``notebooks/``."""
    env = os.environ.get("CPNAS_RUNS")
    if env:
        root = Path(env)
    else:
        repo = Path.cwd().resolve().parent
        root = repo / "runs" if (repo / "pyproject.toml").is_file() else \
            Path(tempfile.gettempdir()) / "cpnas-runs"
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_run_dir(name: str) -> Path:
    """A fresh, empty run directory ``<runs>/<name>-<n>``."""
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=runs_dir()))


# The smallest search that still shows every part of CP-NAS: 5 ops (4 rounds), 2 nodes,
# a couple of training steps per sample. Quick mode only; the full runs use the defaults.
QUICK_SEARCH = {"ops": ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3", "dil_conv_3x3"),
                "nodes": 2, "cells": 3, "channels": 4, "sample_steps": 4, "batch_size": 32}


def search_config(**overrides):
    """A ``cpnas.SearchConfig`` on digits: the defaults, or the tiny one in quick mode."""
    from cpnas.config import SearchConfig

    base = dict(QUICK_SEARCH) if QUICK else {}
    base.update(overrides)
    return SearchConfig(**base)


def live_config(**overrides):
    """Notebook 3's search: :func:`search_config`, with ``CPNAS_LIVE_REPEATS`` sweeps per round
    when that is set (the browser test sets a large T, so the search cannot end before Stop);
    ``CPNAS_LIVE_FULL=1`` gives the teaching search even in quick mode (the README picture)."""
    repeats = os.environ.get("CPNAS_LIVE_REPEATS", "")
    if repeats:
        overrides.setdefault("repeats", int(repeats))
    if os.environ.get("CPNAS_LIVE_FULL", "") not in ("", "0"):
        from cpnas.config import SearchConfig

        return SearchConfig(**overrides)
    return search_config(**overrides)
