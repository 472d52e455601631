"""The training recipe shared by the search and the final training: optimizer, learning-rate
schedule (constant or cosine, with a linear learning-rate warm-up), and batch augmentation
done on the device (random crop with zero padding, horizontal flip, cutout).

The learning rate is a pure function of the step count, so a checkpoint only needs the count.
Augmentation draws its randomness from a CPU generator for the *whole* global batch, so every
rank of a data-parallel run draws the same numbers and a checkpoint of rank 0's generator
restores all of them; only the index tensors travel to the device (no host sync).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F

SGD_WEIGHT_DECAY = 3e-4  # DARTS' search value; the old "sgd" choice had it built in
# Adam's fused kernel (torch >= 2.4 on the CPU): one call updates every parameter, where the
# default CPU path runs ~10 small ops per parameter; the same update up to float rounding
# (tested), ~5x cheaper (docs/benchmarks.md "Signal"). The search's ``fused_adam`` key.
FUSED_DEVICES = ("cpu", "cuda")
_FUSED_CPU = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 4)


def make_optimizer(name: str, params: Iterable, lr: float, momentum: float = 0.9,
                   weight_decay: float | None = None, fused: bool = False) -> torch.optim.Optimizer:
    """Adam (no weight decay unless given; ``momentum`` does not apply; with ``fused``, torch's
    fused kernel where it has one for the parameters' device) or momentum SGD."""
    if name == "adam":
        params = list(params)
        devices = {p.device.type for p in params}
        fused = fused and bool(params) and devices <= set(FUSED_DEVICES) and (
            _FUSED_CPU or devices == {"cuda"})
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay or 0.0,
                                fused=fused or None)
    wd = SGD_WEIGHT_DECAY if weight_decay is None else weight_decay
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)


def lr_at(step: int, total: int, lr: float, schedule: str = "constant", lr_min: float = 0.0,
          warmup: int = 0) -> float:
    """Learning rate for 0-based ``step`` of ``total``: linear warm-up over the first ``warmup``
    steps, then constant or cosine from ``lr`` down to ``lr_min`` at the last step."""
    if warmup and step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "constant":
        return lr
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizers: Iterable[torch.optim.Optimizer], lr: float) -> None:
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr


def _pad(side: int, pad: int | None) -> int:
    return max(1, side // 8) if pad is None else pad


def draw_crop_flip(n: int, side: int, generator: torch.Generator,
                   pad: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per image: row offset, column offset (0 .. 2*pad) and a flip bit, on the CPU."""
    p = _pad(side, pad)
    dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
    flips = torch.randint(0, 2, (n,), generator=generator, dtype=torch.bool)
    return dy, dx, flips


def apply_crop_flip(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flips: torch.Tensor,
                    pad: int, flip: bool = True) -> torch.Tensor:
    """Crop every image of ``x`` at its own offset, flipping those whose bit is set, in one
    gather (no Python loop over images)."""
    n, _, h, w = x.shape
    dev = x.device
    dy, dx, flips = (t.to(dev, non_blocking=True) for t in (dy, dx, flips))
    padded = F.pad(x, (pad, pad, pad, pad))
    cols = torch.arange(w, device=dev)
    if flip:
        cols = torch.where(flips[:, None], cols.flip(0), cols)  # (n, w): flipped read order
    else:
        cols = cols.expand(n, w)
    rows_i = dy[:, None] + torch.arange(h, device=dev)  # (n, h)
    cols_i = dx[:, None] + cols  # (n, w)
    batch = torch.arange(n, device=dev)[:, None, None, None]
    chans = torch.arange(x.shape[1], device=dev)[None, :, None, None]
    return padded[batch, chans, rows_i[:, None, :, None], cols_i[:, None, None, :]]


def draw_cutout(n: int, h: int, w: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, the centre of its cutout square, on the CPU."""
    return (torch.randint(0, h, (n,), generator=generator),
            torch.randint(0, w, (n,), generator=generator))


def apply_cutout(x: torch.Tensor, cy: torch.Tensor, cx: torch.Tensor, length: int) -> torch.Tensor:
    """DARTS' cutout: zero one ``length`` x ``length`` square per image around its centre
    (clipped at the border), the same square in every channel."""
    _, _, h, w = x.shape
    cy, cx = (t.to(x.device, non_blocking=True)[:, None] for t in (cy, cx))
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    lo, hi = length // 2, length - length // 2
    inside_y = (ys >= cy - lo) & (ys < cy + hi)
    inside_x = (xs >= cx - lo) & (xs < cx + hi)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])
    return x * keep[:, None].to(x.dtype)


def augment(x: torch.Tensor, n_global: int, rows: slice, generator: torch.Generator,
            crop_flip: bool = False, cutout: int = 0) -> torch.Tensor:
    """Augment ``x``, this rank's ``rows`` of a global batch of ``n_global`` images: the
    draws are made for the whole global batch (every rank draws alike), then sharded."""
    side = x.shape[-1]
    if crop_flip:
        dy, dx, flips = draw_crop_flip(n_global, side, generator)
        x = apply_crop_flip(x, dy[rows], dx[rows], flips[rows], pad=_pad(side, None))
    if cutout:
        cy, cx = draw_cutout(n_global, x.shape[-2], side, generator)
        x = apply_cutout(x, cy[rows], cx[rows], cutout)
    return x
