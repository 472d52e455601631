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
