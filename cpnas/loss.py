"""The kernel-level Child-Parent loss (Eqs. 4.17-4.18).

L_child = CE + (theta/2) * sum_{l,c} MSE(H^l_c, H_hat^l_c) + (lambda/2) * center loss.
H is the parent's filter (full precision, detached: the parent supervises and is not pulled
toward the child); H_hat = alpha * sign(W) is the child's reconstructed filter at the same
place of the same sampled architecture. The center loss pulls the child's last (pooled)
feature map toward the running mean of its class (MCN-style).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .binary import BinaryConv2d

ConvPair = tuple[BinaryConv2d, nn.Conv2d]  # (child conv, parent conv) at the same place


def binary_pairs(child: nn.Module, parent: nn.Module) -> list[ConvPair]:
    """The (child, parent) conv pairs the filter loss compares: the child's binarized convs
    with the parent's convs at the same place (two nets of one architecture list their convs
    in the same order)."""
    from .ops import convs

    return [(c, p) for c, p in zip(convs(child), convs(parent)) if isinstance(c, BinaryConv2d)]


def filter_loss(pairs: Iterable[ConvPair]) -> torch.Tensor:
    """sum over convs l and output channels c of MSE(H^l_c, H_hat^l_c) (Eq. 4.17)."""
    total: torch.Tensor | None = None
    for child, parent in pairs:
        diff = parent.weight.detach() - child.reconstructed_weight()
        term = diff.pow(2).flatten(1).mean(dim=1).sum()  # MSE per filter, summed over c
        total = term if total is None else total + term
    if total is None:
        return torch.zeros(())
    return total


class CenterLoss(nn.Module):
    """||f - fbar_y||^2 with fbar the running class mean of the child's features (Eq. 4.18).

    The centers are a buffer, so they travel with the checkpoint; they are updated without
    gradient after each step (momentum ``momentum``).
    """

    def __init__(self, num_classes: int, dim: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("centers", torch.zeros(num_classes, dim))
        self.register_buffer("seen", torch.zeros(num_classes))

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (features - self.centers[labels]).pow(2).sum(dim=1).mean()

    @torch.no_grad()
    def update(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        # No boolean indexing: it would wait for the GPU (a host sync) on every step.
        k = self.centers.shape[0]
        features = features.detach().to(self.centers.dtype)  # bf16 under autocast
        sums = torch.zeros_like(self.centers).index_add_(0, labels, features)
        counts = torch.bincount(labels, minlength=k).to(features.dtype)
        present = counts > 0
        means = sums / counts.clamp(min=1)[:, None]
        # The first batch of a class sets its center; later batches move it by `momentum`;
        # a class absent from the batch keeps its center (rate 0).
        rate = torch.where(self.seen > 0, self.momentum, 1.0) * present
        self.centers.add_(rate[:, None] * (means - self.centers))
        self.seen.copy_(torch.maximum(self.seen, present.to(self.seen.dtype)))


def child_loss(ce: torch.Tensor, pairs: Iterable[ConvPair], features: torch.Tensor,
               labels: torch.Tensor, centers: CenterLoss, theta: float, lam: float) -> torch.Tensor:
    """Eq. 4.17: CE plus the weighted filter and center terms (a weight of 0 skips a term)."""
    loss = ce
    if theta:
        loss = loss + 0.5 * theta * filter_loss(pairs).to(ce.device)
    if lam:
        loss = loss + 0.5 * lam * centers(features, labels)
    return loss
