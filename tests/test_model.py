import torch

from cpnas.genotype import DARTS_V2
from cpnas.model import FixedNet, SuperNet
from cpnas.ops import OpSpec
from cpnas.space import SearchSpace

SPACE = SearchSpace(ops=("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3", "dil_conv_3x3"),
                    nodes=3)


def _net(binary=True, cells=3):
    torch.manual_seed(0)
    return SuperNet(SPACE, 1, 10, 4, cells, OpSpec(binary=binary))


def test_supernet_holds_every_op_on_every_edge():
    net = _net()
    cell = net.cells[0]
    assert len(cell.edges) == 3 + 4 + 5 - 3  # edges into nodes 2, 3, 4: 2 + 3 + 4
    assert all(set(ops) == set(SPACE.ops) for ops in cell.edges.values())


def test_single_path_runs_only_the_sampled_ops():
    net = _net()
    arch = {e: ("sep_conv_3x3" if i % 2 else "dil_conv_3x3") for i, e in enumerate(SPACE.edges)}
    logits, feats = net(torch.randn(8, 1, 8, 8), arch)
    assert logits.shape == (8, 10) and feats.shape == (8, net.feature_dim)
    logits.sum().backward()
    for i, kind in enumerate(net.layout):
        for name, ops in net.cells[i].edges.items():
            src, dst = name.split("_")
            chosen = arch[f"{kind}:{src}->{dst}"]
            for op, module in ops.items():
                grads = [p.grad for p in module.parameters()]
                if op == chosen:
                    assert all(g is not None for g in grads)
                else:
                    assert all(g is None for g in grads), (name, op)


def test_all_none_node_is_zero_and_the_net_still_runs():
    net = _net(cells=2)
    arch = {e: "none" for e in SPACE.edges}
    logits, feats = net(torch.randn(4, 1, 8, 8), arch)
    assert torch.count_nonzero(feats) == 0
    assert logits.shape == (4, 10)


def test_child_and_parent_share_one_layout():
    child, parent = _net(True), _net(False)
    cs = {k: v.shape for k, v in child.state_dict().items()}
    ps = {k: v.shape for k, v in parent.state_dict().items()}
    assert cs == ps


def test_fixed_net_of_darts_v2():
    torch.manual_seed(0)
    net = FixedNet(DARTS_V2, 3, 10, 4, 3, OpSpec(binary=True, batch_stats=False))
    out = net(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 10)
    # Only the genotype's ops exist: DARTS_V2's normal cell has 8 edges.
    assert sum(len(ops) for ops in net.cells[0].edges.values()) == 8


def test_tiny_map_matmul_paths_equal_the_torch_kernels_on_a_whole_supernet(monkeypatch):
    from cpnas import binary
    from cpnas.space import PRIMITIVES
    space = SearchSpace(ops=PRIMITIVES, nodes=3)
    arch = {e: PRIMITIVES[i % len(PRIMITIVES)] for i, e in enumerate(space.edges)}
    x = torch.randn(16, 1, 8, 8, dtype=torch.float64)
    for binary_net in (True, False):
        torch.manual_seed(0)
        net = SuperNet(space, 1, 10, 4, 2, OpSpec(binary=binary_net)).double()
        results = []
        for tiny in (binary.TINY_MAP, 0):  # 0: every op on the plain torch kernels
            monkeypatch.setattr(binary, "TINY_MAP", tiny)
            net.zero_grad(set_to_none=True)
            logits, _ = net(x, arch)
            logits.square().sum().backward()
            results.append((logits.detach(), [p.grad for p in net.parameters()]))
        (la, ga), (lb, gb) = results
        assert torch.allclose(la, lb, atol=1e-9)
        for a, b in zip(ga, gb):
            assert (a is None) == (b is None)
            assert a is None or torch.allclose(a, b, atol=1e-8)


def test_trainer_state_packs_into_few_tensors_and_resumes_exactly(tmp_path):
    import io

    from cpnas.config import SearchConfig
    from cpnas.data import load_data
    from cpnas.runs import unpack_tensors
    from cpnas.runs.checkpoint import check_plain
    from cpnas.train import CPTrainer

    cfg = SearchConfig(ops=("skip_connect", "sep_conv_3x3", "dil_conv_5x5"), nodes=2,
                       channels=4, batch_size=64, device="cpu", bn_batch_stats=False)
    data = load_data("digits", 0)
    arch = {e: cfg.ops[i % 3] for i, e in enumerate(cfg.space.edges)}
    a = CPTrainer(cfg, data, torch.device("cpu"))
    for idx in a.batches.take(2):
        a.step(arch, idx)
    plain = unpack_tensors(a.state_dict())
    state = a.state_dict()
    check_plain(state)  # what RunDir.save_checkpoint demands
    assert len(state["buffers"]) <= 4 and "int64" in state["buffers"]  # BN counters
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    b = CPTrainer(SearchConfig(**{**cfg.to_dict(), "seed": 1}), data, torch.device("cpu"))
    b.load_state_dict(torch.load(buf, weights_only=True))
    c = CPTrainer(SearchConfig(**{**cfg.to_dict(), "seed": 2}), data, torch.device("cpu"))
    c.load_state_dict(plain)  # the unpacked (older checkpoint) form still loads
    for k, v in plain["child"].items():
        assert torch.equal(b.child.state_dict()[k], v)
    nxt = [t.batches.take(1)[0] for t in (a, b, c)]
    assert torch.equal(nxt[0], nxt[1]) and torch.equal(nxt[0], nxt[2])
    losses = [t.step(arch, i) for t, i in zip((a, b, c), nxt)]
    assert losses[0] == losses[1] == losses[2]
