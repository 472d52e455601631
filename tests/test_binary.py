import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from cpnas.binary import BinaryConv2d, binarize_weight, sign_ste, weight_scale


def test_sign_forward_gives_exactly_plus_minus_one():
    x = torch.tensor([-2.0, -0.3, 0.0, 0.4, 3.0])
    assert sign_ste(x).tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0]


def test_ste_gradient_passes_only_where_abs_x_at_most_one():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    upstream = torch.arange(1.0, 8.0)
    sign_ste(x).backward(upstream)
    assert x.grad.tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]


def test_binarized_weights_take_two_values_per_output_channel():
    torch.manual_seed(0)
    w = torch.randn(6, 3, 3, 3)
    hat = binarize_weight(w)
    alpha = w.abs().mean(dim=(1, 2, 3))
    for c in range(6):
        values = set(hat[c].flatten().tolist())
        assert len(values) == 2
        assert torch.allclose(torch.tensor(sorted(values)), torch.stack([-alpha[c], alpha[c]]))
    assert torch.equal(torch.sign(hat), torch.where(w >= 0, 1.0, -1.0))
    assert weight_scale(w).shape == (6, 1, 1, 1)


def test_weight_ste_is_identity():
    w = torch.randn(4, 2, 3, 3, requires_grad=True)
    g = torch.randn(4, 2, 3, 3)
    binarize_weight(w).backward(g)
    assert torch.equal(w.grad, g)


def test_binary_conv_is_conv_of_signs_with_scaled_sign_weights():
    torch.manual_seed(1)
    conv = BinaryConv2d(3, 5, 3, padding=1)
    x = torch.randn(2, 3, 6, 6)
    expected = F.conv2d(torch.where(x >= 0, 1.0, -1.0), binarize_weight(conv.weight), padding=1)
    assert torch.allclose(conv(x), expected)
    # A 1-bit input: scaling the input does not change the output.
    assert torch.allclose(conv(3 * x), conv(x))


# -- the tiny-map matmul paths are the same computation as F.conv2d (exactness) ---------------

import pytest  # noqa: E402

from cpnas import binary  # noqa: E402
from cpnas.binary import Conv2d, tap_matrices, tiny_depthwise_conv2d  # noqa: E402


def test_sign_matches_where_including_zero_signed_zero_and_the_ste_edges():
    x = torch.randn(1000, dtype=torch.float64)
    x[:4] = torch.tensor([0.0, -0.0, 1.0, -1.0])
    one = torch.ones((), dtype=x.dtype)
    x[4], x[5] = torch.nextafter(one, 2 * one), -torch.nextafter(one, 2 * one)
    for xt in (x, x.float()):
        assert torch.equal(sign_ste(xt), torch.where(xt >= 0, 1.0, -1.0).to(xt.dtype))
        leaf = xt.clone().requires_grad_()
        g = torch.randn_like(xt)
        sign_ste(leaf).backward(g)
        assert torch.equal(leaf.grad, g * (xt.abs() <= 1).to(xt.dtype))


def test_tap_matrices_drop_taps_that_only_see_padding():
    # A dilation-2 5x5 on a 4x4 map: offsets +-4 never land inside, so 16 of 25 taps are zero.
    s = tap_matrices(4, 4, 5, 1, 4, 2, torch.device("cpu"), torch.float32)
    assert s.shape == (25, 16, 16)
    assert int((s.flatten(1).sum(1) > 0).sum()) == 9


def _grads(out, inputs, g):
    return torch.autograd.grad(out, inputs, g)


@pytest.mark.parametrize("k,dilation", [(3, 1), (5, 1), (3, 2), (5, 2)])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("side", [8, 4, 5])
@pytest.mark.parametrize("channels_last", [False, True])
def test_tiny_depthwise_conv_equals_conv2d_with_gradients(k, dilation, stride, side, channels_last):
    torch.manual_seed(k + dilation + stride + side)
    x = torch.randn(6, 5, side, side, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    w = torch.randn(5, 1, k, k, dtype=torch.float64, requires_grad=True)
    pad = dilation * (k - 1) // 2
    ref = F.conv2d(x, w, None, stride, pad, dilation, 5)
    out = tiny_depthwise_conv2d(x, w, stride, pad, dilation)
    assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-10)
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last
    g = torch.randn_like(ref)
    for a, b in zip(_grads(out, (x, w), g), _grads(ref, (x, w), g)):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("cls", [Conv2d, BinaryConv2d])
def test_depthwise_modules_take_the_tiny_path_and_agree_with_it_off(cls, monkeypatch):
    torch.manual_seed(3)
    conv = cls(4, 4, 5, padding=4, dilation=2, groups=4, bias=False).double()
    x = torch.randn(8, 4, 4, 4, dtype=torch.float64, requires_grad=True)
    calls = []
    real = binary.tiny_depthwise_conv2d
    monkeypatch.setattr(binary, "tiny_depthwise_conv2d", lambda *a: calls.append(1) or real(*a))
    out = conv(x)
    assert calls, "a depth-wise conv on a 4x4 CPU map takes the tap-matrix path"
    g = torch.randn_like(out)
    got = _grads(out, (x, conv.weight), g)
    monkeypatch.setattr(binary, "TINY_MAP", 0)  # switched off: plain F.conv2d
    ref = conv(x)
    assert len(calls) == 1
    assert torch.allclose(out, ref, atol=1e-10)
    for a, b in zip(got, _grads(ref, (x, conv.weight), g)):
        assert torch.allclose(a, b, atol=1e-10)


def test_binary_depthwise_alpha_comes_from_the_full_kernel():
    # Outer taps of a dilated 5x5 never touch a 4x4 map, but they still set alpha (Eq. 4.17).
    conv = BinaryConv2d(2, 2, 5, padding=4, dilation=2, groups=2).double()
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.weight[:, :, 0, :] = 9.0  # an outer row: unreachable on 4x4, raises alpha
    x = torch.ones(1, 2, 4, 4, dtype=torch.float64)
    alpha = conv.weight.abs().mean(dim=(1, 2, 3))
    out = conv(x)
    # Centre pixel (1, 1) of a 4x4 map reaches the 3x3 centre taps at offsets -2..2 that fit:
    # rows/cols 1+{-2,0,2} in range -> {1, 3} x {1, 3} = 4 in-map taps, each +alpha * +1.
    assert torch.allclose(out[0, :, 1, 1], 4 * alpha)


def test_a_strided_pointwise_conv_on_few_channels_trains_without_the_torch_crash():
    # torch 2.13's oneDNN weight gradient of a 1x1 stride-2 conv on a channels-last CPU
    # input of < 8 channels corrupts the heap (FactorizedReduce of a channels=2 search on
    # 32x32 images segfaulted); cpnas.binary.conv2d reads every other pixel and runs stride
    # 1 instead. In a subprocess, so a crash fails this test instead of the whole session.
    code = """
import torch
import torch.nn.functional as F
from cpnas.binary import Conv2d
torch.set_num_threads(1)  # as a search on one thread per process
torch.manual_seed(0)
conv = Conv2d(4, 2, 1, stride=2, bias=False)
x = torch.randn(16, 4, 32, 32).contiguous(memory_format=torch.channels_last).requires_grad_()
g = torch.randn(16, 2, 16, 16)
for _ in range(3):  # the crash came on the first to third backward
    x.grad = conv.weight.grad = None
    conv(x).backward(g)
ref_x = x.detach().contiguous().requires_grad_()
ref_w = conv.weight.detach().clone().requires_grad_()
out = F.conv2d(ref_x, ref_w, stride=2)  # NCHW: torch's path that works
out.backward(g)
torch.testing.assert_close(conv(x), out)
torch.testing.assert_close(x.grad, ref_x.grad)
torch.testing.assert_close(conv.weight.grad, ref_w.grad, rtol=1e-4, atol=1e-4)  # 4096-term sums
print("same")
"""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "same", done.stderr[-2000:]
