import math

import pytest
import torch

from cpnas.optim import (
    _FUSED_CPU,
    apply_crop_flip,
    apply_cutout,
    draw_crop_flip,
    draw_cutout,
    lr_at,
    make_optimizer,
)


def test_lr_schedule_warmup_then_cosine_to_lr_min():
    total, lr, low = 100, 0.1, 0.001
    assert lr_at(0, total, lr) == lr == lr_at(99, total, lr)  # constant
    warm = [lr_at(s, total, lr, "cosine", low, warmup=10) for s in range(total)]
    assert warm[0] == pytest.approx(lr / 10) and warm[9] == pytest.approx(lr)
    assert warm[10] == pytest.approx(lr)
    assert all(a >= b for a, b in zip(warm[10:], warm[11:]))  # monotone down after warm-up
    assert lr_at(total, total, lr, "cosine", low) == pytest.approx(low)
    mid = lr_at(50, total, lr, "cosine", low)
    assert mid == pytest.approx(low + (lr - low) / 2)


def test_optimizers_carry_the_recipe():
    p = [torch.nn.Parameter(torch.zeros(2))]
    sgd = make_optimizer("sgd", p, 0.1, momentum=0.5, weight_decay=None)
    assert sgd.param_groups[0]["momentum"] == 0.5 and sgd.param_groups[0]["weight_decay"] == 3e-4
    assert make_optimizer("adam", p, 0.1).param_groups[0]["weight_decay"] == 0.0
    assert make_optimizer("adam", p, 0.1, weight_decay=0.01).param_groups[0]["weight_decay"] == 0.01


def test_fused_adam_is_the_plain_update_up_to_rounding():
    torch.manual_seed(0)
    shapes = [(8, 1, 3, 3), (16, 8, 1, 1), (10,)]
    fused = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    plain = [torch.nn.Parameter(p.detach().clone()) for p in fused]
    a = make_optimizer("adam", fused, 0.003, fused=True)
    b = torch.optim.Adam(plain, lr=0.003)
    assert a.param_groups[0]["fused"] is (True if _FUSED_CPU else None)
    assert make_optimizer("adam", plain, 0.003).param_groups[0]["fused"] is None  # the default
    for _ in range(20):
        for ps in (fused, plain):
            for i, p in enumerate(ps):
                p.grad = torch.sin(p.detach() * (i + 1)) + 0.1  # the same gradients
        a.step()
        b.step()
    for p, q in zip(fused, plain):
        assert torch.allclose(p, q, rtol=1e-5, atol=1e-6)


def test_crop_flip_moves_each_image_by_its_own_offset():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8) + 1
    dy, dx = torch.tensor([1, 2]), torch.tensor([1, 0])  # pad 1: (1, 1) = no shift
    out = apply_crop_flip(x, dy, dx, torch.tensor([False, True]), pad=1)
    assert torch.equal(out[0], x[0])
    # image 1: shifted down one row (row 0 reads padded row 2 = image row 1), left by one
    # column with zeros entering on the left, then flipped
    expect = torch.nn.functional.pad(x[1:], (1, 1, 1, 1))[0, :, 2:10, 0:8].flip(-1)
    assert torch.equal(out[1], expect)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = draw_crop_flip(64, 32, g1)
    assert all(torch.equal(u, v) for u, v in zip(a, draw_crop_flip(64, 32, g2)))
    assert int(a[0].max()) <= 8 and int(a[0].min()) >= 0  # pad 4 for 32x32


def test_cutout_zeroes_one_square_per_image():
    x = torch.ones(16, 3, 32, 32)
    out = apply_cutout(x, *draw_cutout(16, 32, 32, torch.Generator().manual_seed(0)), 16)
    zeros = (out[:, 0] == 0).sum(dim=(1, 2))
    assert bool((zeros > 0).all()) and bool((zeros <= 256).all())
    assert torch.equal(out[:, 0] == 0, out[:, 2] == 0)  # the same square in every channel
    assert not math.isnan(float(out.sum()))
