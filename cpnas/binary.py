"""1-bit building blocks: sign with a straight-through estimator, scaled sign weights, and a
binarized convolution (METHOD.md, "Binarization").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _sign(x: torch.Tensor) -> torch.Tensor:
    # torch.sign(0) is 0, which would give a third value; 1-bit means exactly {-1, +1}.
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class SignSTE(torch.autograd.Function):
    """sign(x) forward; the gradient passes where |x| <= 1 (straight-through estimator)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return _sign(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    return SignSTE.apply(x)


def weight_scale(w: torch.Tensor) -> torch.Tensor:
    """alpha per output channel = mean |W| of that channel (XNOR-style), shaped to broadcast."""
    return w.abs().mean(dim=tuple(range(1, w.dim())), keepdim=True)


class _ScaledSignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return weight_scale(w) * _sign(w)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad


def binarize_weight(w: torch.Tensor) -> torch.Tensor:
    """H_hat = alpha * sign(W), with a straight-through backward (dH_hat/dW = 1).

    Computed in one Function so the value is exactly alpha_c * (+-1): two values per output
    channel (``w + (hat - w).detach()`` would add rounding noise).
    """
    return _ScaledSignSTE.apply(w)


class BinaryConv2d(nn.Conv2d):
    """A convolution with 1-bit weights (scaled sign) and, optionally, 1-bit inputs."""

    def __init__(self, *args, binarize_input: bool = True, **kwargs) -> None:
        kwargs.setdefault("bias", False)
        super().__init__(*args, **kwargs)
        self.binarize_input = binarize_input

    def reconstructed_weight(self) -> torch.Tensor:
        """H_hat, the child's filter as the CP loss compares it with the parent's (Eq. 4.17)."""
        return binarize_weight(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.binarize_input:
            x = sign_ste(x)
        return F.conv2d(x, self.reconstructed_weight(), self.bias, self.stride,
                        self.padding, self.dilation, self.groups)
