"""Shuffled mini-batch indices from a seeded generator whose state is checkpointable: the
data order of the search (:mod:`cpnas.train`) and of the final training (:mod:`cpnas.final`)."""

from __future__ import annotations

import torch


class Batches:
    """Shuffled mini-batches from a seeded generator whose state is checkpointable."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size = n, min(batch_size, n)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def per_epoch(self) -> int:
        return max(1, self.n // self.batch_size)  # drop the ragged tail: BN uses batch stats

    def take(self, steps: int) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        while len(out) < steps:
            perm = torch.randperm(self.n, generator=self.generator)
            for i in range(self.per_epoch):
                out.append(perm[i * self.batch_size:(i + 1) * self.batch_size])
        return out[:steps]


__all__ = ["Batches"]
