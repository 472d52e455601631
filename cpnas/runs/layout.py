"""What a run directory holds, by name: the run's own files, what other commands may write
beside them, and the two checks every writer makes (:func:`is_run_dir`,
:func:`check_write_target`). The writers (files.py), the log, the lock and the run directory
read the names here."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import RunDirError

LOG_NAME = "events.jsonl"
LOCK_NAME = "run.lock"
CONFIG_NAME, CHECKPOINT_NAME, GENOTYPE_NAME = "config.json", "checkpoint.pt", "genotype.json"
STANDALONE_NAME = "standalone.json"  # cpnas study's stand-alone training of the found cell
# What the toolkit writes into a run directory: the search's files, then `cpnas train`'s
# and `cpnas study`'s results and cpviz's report and cell drawings. Anything else is someone
# else's.
RUN_FILES = (CONFIG_NAME, LOG_NAME, CHECKPOINT_NAME, GENOTYPE_NAME, LOCK_NAME)
# `cpnas render RUN --out RUN` (and cpviz.animate_cells into the run) draw the cells beside
# the log: the run recognises those files as it does report.html, so the run still resumes.
CELL_DRAWINGS = tuple(f"{cell}.{fmt}" for cell in ("normal", "reduce")
                      for fmt in ("svg", "pdf", "png", "dot", "gif"))
OURS = {**dict.fromkeys(RUN_FILES, "file"), "train.json": "file", STANDALONE_NAME: "file",
        "report.html": "file", **dict.fromkeys(CELL_DRAWINGS, "file"), "cells": "dir",
        # the experiment trackers (cpnas.trackers): which tracker runs hold this run, and
        # TensorBoard's event files
        "trackers.json": "file", "tensorboard": "dir"}
TEMP = re.compile(r"\.(?P<name>[\w.]+)\.\w+\.tmp")  # an atomic writer's temp file


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run: its log, checkpoint or genotype (a config alone may be
    anyone's ``config.json``)."""
    try:
        return any((path / name).exists() or (path / name).is_symlink()
                   for name in (LOG_NAME, CHECKPOINT_NAME, GENOTYPE_NAME))
    except OSError:
        return False


def check_write_target(path: Path) -> None:
    """Refuse a write by any command but the search over a run's own file (its log,
    checkpoint, config, genotype or lock), and a write through a symbolic link inside a run
    (``RUN/cells`` linking out of it): either would lose or scatter what the run holds."""
    parent = path.parent
    if path.name in RUN_FILES and is_run_dir(parent):
        raise RunDirError(f"{path}: that is the run's own {path.name}; writing there would "
                          "replace it and the run could not be read or resumed: give another "
                          "--out (the report's default is RUN/report.html)")
    if parent.is_symlink() and is_run_dir(parent.parent):
        raise RunDirError(f"{parent}: a symbolic link inside the run {parent.parent}; cpnas "
                          "does not write through links out of a run: give the real folder")


__all__ = ["CELL_DRAWINGS", "CHECKPOINT_NAME", "CONFIG_NAME", "GENOTYPE_NAME", "LOCK_NAME",
           "LOG_NAME", "OURS", "RUN_FILES", "STANDALONE_NAME", "TEMP", "check_write_target",
           "is_run_dir"]
