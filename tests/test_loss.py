import torch

from cpnas.binary import BinaryConv2d
from cpnas.loss import CenterLoss, child_loss, filter_loss


def _pair(seed=0):
    torch.manual_seed(seed)
    child = BinaryConv2d(4, 6, 3)
    parent = torch.nn.Conv2d(4, 6, 3, bias=False)
    return child, parent


def test_cp_loss_is_zero_when_the_reconstruction_equals_the_parent_filters():
    child, parent = _pair()
    with torch.no_grad():
        parent.weight.copy_(child.reconstructed_weight())
    assert float(filter_loss([(child, parent)]).detach()) == 0.0
    labels = torch.tensor([0, 1, 2, 0, 1])
    centers = CenterLoss(3, 3)
    centers.centers.copy_(torch.randn(3, 3))
    feats = centers.centers[labels].clone()  # every feature sits on its class center
    ce = torch.tensor(0.7)
    total = child_loss(ce, [(child, parent)], feats, labels, centers, theta=2.0, lam=3.0)
    assert float(total.detach()) == float(ce)


def test_filter_loss_is_the_sum_over_filters_of_per_filter_mse():
    child, parent = _pair(1)
    diff = parent.weight - child.reconstructed_weight()
    expected = sum(float((diff[c] ** 2).mean().detach()) for c in range(6))
    assert abs(float(filter_loss([(child, parent), (child, parent)]).detach()) - 2 * expected) < 1e-5


def test_parent_is_not_pulled_toward_the_child():
    child, parent = _pair(2)
    filter_loss([(child, parent)]).backward()
    assert parent.weight.grad is None
    assert child.weight.grad is not None and child.weight.grad.abs().sum() > 0


def test_theta_and_lambda_switch_their_terms_off():
    child, parent = _pair(3)
    feats, labels = torch.randn(4, 3), torch.tensor([0, 1, 1, 2])
    ce = torch.tensor(1.5)
    off = child_loss(ce, [(child, parent)], feats, labels, CenterLoss(3, 3), 0.0, 0.0)
    assert float(off) == 1.5
    on = child_loss(ce, [(child, parent)], feats, labels, CenterLoss(3, 3), 1.0, 1.0)
    assert float(on.detach()) > 1.5


def test_center_update_sets_then_tracks_the_class_means():
    loss = CenterLoss(3, 2, momentum=0.5)
    feats = torch.tensor([[1.0, 1.0], [3.0, 3.0], [10.0, 0.0]])
    labels = torch.tensor([0, 0, 2])
    loss.update(feats, labels)
    assert loss.centers.tolist() == [[2.0, 2.0], [0.0, 0.0], [10.0, 0.0]]
    loss.update(torch.tensor([[4.0, 4.0]]), torch.tensor([0]))
    assert loss.centers[0].tolist() == [3.0, 3.0]
    assert float(loss(torch.tensor([[3.0, 3.0]]), torch.tensor([0]))) == 0.0
