"""How much memory a search will need, estimated from its config before anything is built.

Every bound in :mod:`cpnas.limits` holds on its own, but together they can ask for more than
any machine has (``--nodes 16 --cells 64 --channels 4096``: two supernets of ~5e12
parameters); built, such a search is killed by the kernel minutes later, leaving a run
directory holding only its lock. :func:`check_fits` refuses it first, in one line with the
estimate and the memory available, before the run directory is claimed or a tensor made.

The estimate counts what a search certainly holds: the parameters of the child and parent
supernets (each op built once on torch's ``meta`` device, which allocates nothing, per
width and stride, and multiplied by the edges holding it) with their gradients and the
optimizer's state, one training step's activations along the sampled path, and the dataset
as float32 tensors. It leaves out Python's and torch's own overhead, so it errs low: a search
it refuses cannot fit, and one it passes may still be tight.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from .errors import ConfigError

# (channels, height, width) and images of each data kind, known without loading it
SHAPES = {"digits": ((1, 8, 8), 1797), "mnist": ((1, 28, 28), 70_000),
          "fashion-mnist": ((1, 28, 28), 70_000), "cifar10": ((3, 32, 32), 60_000),
          "synthetic": ((3, 32, 32), 2048)}
FLOAT = 4  # bytes of a float32
ACTIVATIONS_PER_EDGE = 8  # tensors an op keeps for its backward (sep_conv: ~8 of the map's size)


def human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


@cache
def _op_params(name: str, channels: int, stride: int, binary: bool, shortcut: bool,
               batch_stats: bool) -> int:
    import torch

    from .ops import OpSpec, build_op

    with torch.device("meta"):
        op = build_op(name, channels, stride, OpSpec(binary=binary, shortcut=shortcut,
                                                     batch_stats=batch_stats))
    return sum(p.numel() for p in op.parameters())


@cache
def _pre_params(c_in: int, c: int, reduce: bool) -> int:
    import torch

    from .ops import ConvBN, FactorizedReduce, OpSpec

    with torch.device("meta"):
        m = FactorizedReduce(c_in, c, OpSpec()) if reduce else ConvBN(c_in, c, 1, 1, 0, OpSpec())
    return sum(p.numel() for p in m.parameters())


def supernet_params(config, in_channels: int, num_classes: int, binary: bool) -> int:
    """The parameters of one supernet of ``config`` (the child when ``binary``)."""
    from .shape import cell_layout, cell_widths

    n, ops = config.nodes, config.space.ops
    stem = 3 * config.channels * (2 if config.distinct_inputs else 1)
    total = in_channels * stem * 9 + 2 * stem
    c_last = config.channels
    widths = cell_widths(cell_layout(config.cells), config.channels, 3 * config.channels,
                         [n] * config.cells)
    for kind, c_pp, c_p, c, red_prev in widths:
        total += _pre_params(c_pp, c, red_prev) + _pre_params(c_p, c, False)
        for dst in range(2, n + 2):
            for src in range(dst):
                stride = 2 if kind == "reduce" and src < 2 else 1
                total += sum(_op_params(op, c, stride, binary, config.shortcut,
                                        config.bn_batch_stats) for op in ops)
        c_last = n * c
    return total + c_last * num_classes + num_classes


def step_activations(config, shape: tuple[int, int, int]) -> int:
    """Floats one training step keeps for its backward, along the sampled path of one net."""
    from .shape import cell_layout, cell_widths

    _, h, w = shape
    n, batch = config.nodes, config.batch_size
    total = batch * 3 * config.channels * h * w * 2  # the stem
    widths = cell_widths(cell_layout(config.cells), config.channels, 3 * config.channels,
                         [n] * config.cells)
    for kind, _, _, c, _ in widths:
        if kind == "reduce":
            h, w = (h + 1) // 2, (w + 1) // 2
        edges = n * (n + 3) // 2
        total += batch * c * h * w * (ACTIVATIONS_PER_EDGE * edges + n + 2)
    return total


def estimate(config, world_size: int = 1) -> tuple[int, str]:
    """Bytes the search will hold at least, and what they are (for the message)."""
    from .data import parse_spec

    kind, arg = parse_spec(config.data)
    shape, images = SHAPES.get(kind, SHAPES["cifar10"])
    if kind == "synthetic" and arg and arg.isdigit():
        images = int(arg)
    num_classes = 10
    params = sum(supernet_params(config, shape[0], num_classes, binary) for binary in (True, False))
    states = 3 if config.optimizer == "adam" else 2  # weights, gradients, Adam's two or SGD's one
    weights = params * (states + 1) * FLOAT
    steps = 2 * step_activations(config, shape) * FLOAT
    data = images * shape[0] * shape[1] * shape[2] * FLOAT
    total = (weights + steps + data) * world_size
    what = (f"2 supernets of {params / 2:.2g} parameters each with gradients and "
            f"{config.optimizer} state {human(weights)}, a step at batch {config.batch_size} "
            f"{human(steps)}, the data {human(data)}"
            + (f", times {world_size} processes" if world_size > 1 else ""))
    return total, what


def available(device: str = "cpu") -> tuple[int | None, str]:
    """Bytes this process can still use, and where the number comes from: the GPU's free
    memory on CUDA; else the smaller of RAM available and the cgroup's limit less its use."""
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return free, f"free on {torch.cuda.get_device_name(torch.device(device))}"
    found: list[tuple[int, str]] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append((int(line.split()[1]) * 1024, "RAM available"))
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append((os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "RAM"))
        except (ValueError, OSError, AttributeError):
            pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            if limit.isdigit() and int(limit) < 2**60:
                used = int(Path(usage_file).read_text().strip())
                found.append((max(int(limit) - used, 0), "left under the cgroup's memory limit"))
            break
        except (OSError, ValueError):
            continue
    if not found:
        return None, "unknown"
    return min(found)


def check_fits(config, world_size: int = 1) -> None:
    """Refuse, in one line with the estimate and the memory available, a search that cannot
    fit; say nothing when it can (or when the memory available cannot be found)."""
    device = config.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    need, what = estimate(config, world_size if device == "cpu" else 1)
    have, where = available("cuda:0" if device == "cuda" else device)
    if have is not None and need > have:
        raise ConfigError(f"this search needs at least {human(need)} of memory ({what}), and "
                          f"{human(have)} is {where}: use fewer nodes, cells or channels, a "
                          "smaller batch or dataset")


__all__ = ["available", "check_fits", "estimate", "human", "supernet_params"]
