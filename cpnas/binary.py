"""1-bit building blocks: sign with a straight-through estimator, scaled sign weights, and a
binarized convolution (docs/method.md, "Binarization"); plus the depth-wise convolution both
networks use on tiny CPU feature maps (:func:`conv2d`).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn


def _sign(x: torch.Tensor) -> torch.Tensor:
    # torch.sign(0) is 0, which would give a third value; 1-bit means exactly {-1, +1}, with
    # sign(0) = +1. sign(sign(x) + 0.5) maps {-1, 0, +1} to {-1, +1, +1}: the same values as
    # where(x >= 0, 1, -1) (tested), in two cheap passes (where/ge are ~10x slower here).
    return torch.sign(x).add_(0.5).sign_()


@functools.lru_cache(maxsize=8)
def _ste_bound(dtype: torch.dtype) -> float:
    # hardtanh_backward passes grad where -b < x < b, strictly; b = nextafter(1) makes it
    # |x| <= 1 in this dtype.
    one = torch.ones((), dtype=dtype)
    return float(torch.nextafter(one, 2 * one))


class SignSTE(torch.autograd.Function):
    """sign(x) forward; the gradient passes where |x| <= 1 (straight-through estimator)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return _sign(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        b = _ste_bound(x.dtype)  # one fused kernel for grad * 1{|x| <= 1}
        return torch.ops.aten.hardtanh_backward(grad, x, -b, b)


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


# -- depth-wise convolution on tiny maps --------------------------------------------------------

# H*W up to 8x8 takes the matmul paths (tap-matrix depth-wise conv, averaging-matrix pool);
# 0 switches them off (read at call time; the tests compare both paths).
TINY_MAP = 64


def _axis_taps(size: int, k: int, stride: int, pad: int, dilation: int) -> torch.Tensor:
    """One-hot (k, size, out): tap i of output o reads input o*stride - pad + i*dilation."""
    out = (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    src = (torch.arange(out) * stride - pad).unsqueeze(0) + (torch.arange(k) * dilation).unsqueeze(1)
    onehot = (src.unsqueeze(1) == torch.arange(size).view(1, size, 1)).float()
    return onehot  # a tap that lands in the zero padding matches no input: an all-zero column


@functools.lru_cache(maxsize=64)
def tap_matrices(h: int, w: int, k: int, stride: int, pad: int, dilation: int,
                 device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """S with S[t, p, q] = 1 iff input pixel p is tap t of output pixel q; (k*k, h*w, ho*wo).

    A constant of the geometry (cached, never trained): taps that only ever see zero padding
    (a dilation-2 5x5 on a 4x4 map) are all-zero, so they cost nothing, exactly.
    """
    sy, sx = _axis_taps(h, k, stride, pad, dilation), _axis_taps(w, k, stride, pad, dilation)
    s = torch.einsum("iym,jxn->ijyxmn", sy, sx)
    return s.reshape(k * k, h * w, sy.shape[2] * sx.shape[2]).to(device=device, dtype=dtype)


class _BatchedMatmul(torch.autograd.Function):
    """bmm whose backward makes the incoming gradient contiguous once: a strided (NHWC)
    gradient otherwise sends bmm down a per-matrix copy loop (measured: 2x the matmuls)."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(a, b)
        return torch.bmm(a, b)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        a, b = ctx.saved_tensors
        grad = grad.contiguous()
        grad_a = torch.bmm(grad, b.transpose(1, 2)) if ctx.needs_input_grad[0] else None
        grad_b = torch.bmm(a.transpose(1, 2), grad) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


def tiny_depthwise_conv2d(x: torch.Tensor, weight: torch.Tensor, stride: int, pad: int,
                          dilation: int) -> torch.Tensor:
    """A depth-wise conv as one batched matmul per channel: out_c = x_c @ (sum_t w_ct S_t).

    The same sums as ``F.conv2d(..., groups=C)`` (equal up to float rounding, tested): on an
    8x8 map mkldnn's depth-wise backward for 5x5 and dilated kernels is 3-10x slower than
    these matmuls. Autograd gives the weight gradient through the einsum.
    """
    n, c, h, w = x.shape
    k = weight.shape[-1]
    s = tap_matrices(h, w, k, stride, pad, dilation, x.device, x.dtype)
    ho = (h + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    m = torch.einsum("ct,tpq->cpq", weight.reshape(c, k * k), s)  # per-channel spatial map
    xt = x.permute(1, 0, 2, 3).reshape(c, n, h * w).contiguous()
    out = _BatchedMatmul.apply(xt, m)  # (c, n, ho*wo)
    out = out.reshape(c, n, ho, -1).permute(1, 0, 2, 3)
    # Hand on the input's memory layout: mixed layouts send BN, pools and sign to slow paths.
    return out.contiguous(memory_format=layout_of(x))


def layout_of(x: torch.Tensor) -> torch.memory_format:
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _tiny_depthwise(conv: nn.Conv2d, x: torch.Tensor) -> bool:
    return (is_tiny(x) and conv.groups > 1 and conv.groups == conv.in_channels
            == conv.out_channels and conv.kernel_size[0] == conv.kernel_size[1]
            and conv.kernel_size[0] > 1 and len(set(conv.stride)) == 1
            and len(set(conv.dilation)) == 1 and isinstance(conv.padding, tuple)
            and len(set(conv.padding)) == 1)


def is_tiny(x: torch.Tensor) -> bool:
    """A CPU feature map small enough for the matmul forms (``TINY_MAP``)."""
    return x.device.type == "cpu" and x.shape[-1] * x.shape[-2] <= TINY_MAP


def _strided_pointwise_on_few_channels(conv: nn.Conv2d, x: torch.Tensor) -> bool:
    """A 1x1 strided conv on a CPU channels-last input of fewer than 8 channels: torch
    2.13's oneDNN weight gradient for it corrupts the heap (a segfault in backward; plain
    ``F.conv2d`` of a (16, 4, 32, 32) NHWC input with a (2, 4, 1, 1) weight and stride 2
    reproduces it; 8 or more channels, stride 1 or an NCHW input do not)."""
    return (x.device.type == "cpu" and conv.kernel_size == (1, 1) and conv.stride != (1, 1)
            and conv.padding == (0, 0) and conv.groups == 1 and x.shape[1] < 8
            and x.is_contiguous(memory_format=torch.channels_last))


def conv2d(conv: nn.Conv2d, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``conv``'s convolution of x with ``weight``: tap matrices for a tiny depth-wise conv;
    a strided 1x1 conv on few channels reads every stride-th pixel and runs with stride 1
    (the same sums), around a torch crash (:func:`_strided_pointwise_on_few_channels`)."""
    if conv.bias is None and _tiny_depthwise(conv, x):
        return tiny_depthwise_conv2d(x, weight, conv.stride[0], conv.padding[0], conv.dilation[0])
    if _strided_pointwise_on_few_channels(conv, x):
        sy, sx = conv.stride
        return F.conv2d(x[:, :, ::sy, ::sx], weight, conv.bias)
    return F.conv2d(x, weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` whose depth-wise convs take the tiny-map path (the parent's convs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d(self, x, self.weight)


class BinaryConv2d(Conv2d):
    """A convolution with 1-bit weights (scaled sign) and, optionally, 1-bit inputs."""

    def __init__(self, *args, binarize_input: bool = True, **kwargs) -> None:
        kwargs.setdefault("bias", False)
        super().__init__(*args, **kwargs)
        self.binarize_input = binarize_input

    def reconstructed_weight(self) -> torch.Tensor:
        """H_hat, the child's filter as the CP loss compares it with the parent's (Eq. 4.17)."""
        return binarize_weight(self.weight)  # alpha from the full kernel, whatever path runs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.binarize_input:
            x = sign_ste(x)
        return conv2d(self, x, self.reconstructed_weight())
