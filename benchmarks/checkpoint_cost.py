"""Cost of writing one checkpoint of the teaching search: release 0.1.0's format (version 1,
``torch.save`` straight to the file) against today's (version 2: the state serialized, its
SHA-256, then written in one piece).

    .venv/bin/python benchmarks/checkpoint_cost.py [--repeats 11]

Prints the median ms per checkpoint and the file size of each, and the time to load and
verify a version-2 file. A search writes one checkpoint per sampled architecture (35 in the
teaching search).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpnas.config import SearchConfig  # noqa: E402
from cpnas.data import load_data  # noqa: E402
from cpnas.runs.checkpoint import (  # noqa: E402
    CHECKPOINT_FORMAT,
    load_checkpoint_file,
    save_checkpoint_file,
)
from cpnas.runs.files import atomic_file  # noqa: E402
from cpnas.train import CPTrainer  # noqa: E402


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the search on digits
    trainer = CPTrainer(SearchConfig(device="cpu"), load_data("digits", 0), torch.device("cpu"))
    state = {"trainer": trainer.state_dict()}
    path = Path(tempfile.mkdtemp()) / "checkpoint.pt"

    def version_1() -> None:
        with atomic_file(path) as f:
            torch.save({"format": CHECKPOINT_FORMAT, "version": 1, "state": state}, f)

    for name, write in (("version 1 (0.1.0)", version_1),
                        ("version 2 (checksum)", lambda: save_checkpoint_file(path, state, "x"))):
        ms = _median_ms(write, args.repeats)
        print(f"{name}: {ms:.1f} ms per checkpoint, {path.stat().st_size / 1e6:.2f} MB")
    print(f"load and verify version 2: {_median_ms(lambda: load_checkpoint_file(path), 3):.1f} ms")


if __name__ == "__main__":
    main()
