"""Paper-scale recipe: presets end to end, the schedule and augmentation, exact resume with them."""

from __future__ import annotations

import json

import pytest
import torch
from eventcmp import stop_then_resume

from cpnas import cli
from cpnas import events as ev
from cpnas.config import SearchConfig
from cpnas.data import load_data
from cpnas.engine import search
from cpnas.runs import read_events
from cpnas.train import CPTrainer

SMALL = dict(data="digits", ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2, cells=1,
             channels=4, sample_steps=2, batch_size=32, device="cpu")
RECIPE = dict(optimizer="sgd", lr=0.05, lr_schedule="cosine", lr_min=0.001, lr_warmup_steps=3,
              momentum=0.8, weight_decay=1e-4, augment=True, val_fraction=0.4)


@pytest.mark.slow
def test_the_paper_preset_runs_end_to_end_on_cpu(tmp_path, capsys):
    # every knob of cifar10-paper (8 cells, SGD, cosine, augmentation, half the images for
    # validation); only the sizes that cost time are shrunk (2 ops: 2 samples)
    out = tmp_path / "run"
    argv = ["search", "--config", "cifar10-paper", "--data", "synthetic:200", "--sample-steps", "2",
            "--ops", "skip_connect,sep_conv_3x3", "--nodes", "2", "--channels", "4",
            "--batch-size", "16", "--device", "cpu", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 0
    events = read_events(out)
    cfg = events[0].config
    assert cfg["cells"] == 8 and cfg["lr_schedule"] == "cosine" and cfg["augment"] is True
    assert events[0].dataset["val"] == 80  # val_fraction 0.5 of the 160 non-test images
    assert events[-1].status == "completed" and "genotype: Genotype(" in capsys.readouterr().out


def test_the_trainer_follows_the_schedule_and_augments_on_the_device():
    cfg = SearchConfig(**SMALL, **RECIPE, warmup_steps=64)  # (no longer the default)
    data = load_data(cfg.data, cfg.seed, cfg.val_fraction)
    tr = CPTrainer(cfg, data, torch.device("cpu"))
    total = cfg.warmup_steps + cfg.n_samples * tr.steps_per_sample  # the warm-up counts
    assert tr.total_steps == total and cfg.warmup_steps == 64
    assert tr.lr(0) == pytest.approx(0.05 / 3) and tr.lr(total) == pytest.approx(0.001)
    assert tr.lr(total - cfg.warmup_steps) > 0.01  # mid-cosine where the samples end
    legacy = CPTrainer(SearchConfig(**SMALL, **RECIPE, warmup_steps=64, lr_span_warmup=False), data,
                       torch.device("cpu"))
    assert legacy.lr(total - cfg.warmup_steps) == pytest.approx(0.001)  # ended 64 steps early
    arch = {e: "sep_conv_3x3" for e in cfg.space.edges}
    tr.step(arch, tr.batches.take(1)[0])
    assert tr.steps_done == 1 and tr.child_opt.param_groups[0]["lr"] == pytest.approx(0.05 / 3)
    assert tr.child_opt.param_groups[0]["momentum"] == 0.8
    idx = torch.arange(32)
    x, _ = tr.batch(idx)
    assert x.shape == data.x_train[idx].shape and not torch.equal(x, data.x_train[idx])


def _values(events):
    keep = (ev.SampleTrained, ev.RoundScored, ev.OpPruned, ev.GenotypeDerived)
    return [{k: v for k, v in e.without_time().items() if k not in ("seconds", "seq")}
            for e in events if isinstance(e, keep)]


def test_a_stopped_search_with_the_recipe_resumes_exactly(tmp_path):
    cfg = SearchConfig(**SMALL, **RECIPE)
    whole = search(cfg)
    # stopped after a prune: the checkpoint then holds the alive ops only
    resumed = stop_then_resume(cfg, tmp_path / "r",
                               lambda e: isinstance(e, ev.SampleTrained) and e.round == 1)
    assert _values(resumed.events) == _values(whole.events)
    assert str(resumed.genotype) == str(whole.genotype)


def _numel(params) -> int:
    return sum(p.numel() for p in params)


def test_pruned_ops_are_freed_from_both_supernets_and_their_optimizers():
    cfg = SearchConfig(**SMALL, optimizer="sgd")
    data = load_data(cfg.data, cfg.seed)
    tr = CPTrainer(cfg, data, torch.device("cpu"))
    for op in ("sep_conv_3x3", "skip_connect"):  # train every op once: momentum buffers exist
        tr.step({e: op for e in cfg.space.edges}, tr.batches.take(1)[0])
    before = [_numel(net.parameters()) for net in (tr.child, tr.parent)]
    tr.keep_only({e: ["none", "skip_connect"] for e in cfg.space.edges})  # sep_conv pruned
    # the same count as supernets that never held sep_conv_3x3 (skip_connect has no weights)
    small = CPTrainer(SearchConfig(**{**SMALL, "ops": ("none", "skip_connect")}), data,
                      torch.device("cpu"))
    for net, opt, ref in ((tr.child, tr.child_opt, small.child), (tr.parent, tr.parent_opt, small.parent)):
        assert _numel(net.parameters()) == _numel(ref.parameters())
        assert not any("sep_conv_3x3" in name for name, _ in net.named_parameters())
        live = {id(p) for p in net.parameters()}
        in_opt = [p for g in opt.param_groups for p in g["params"]]
        assert {id(p) for p in in_opt} == live and len(in_opt) == len(live)
        assert {id(p) for p in opt.state} <= live and len(opt.state) > 0
    assert [_numel(net.parameters()) for net in (tr.child, tr.parent)] < before
    kept = CPTrainer(SearchConfig(**SMALL, free_pruned=False), data, torch.device("cpu"))
    kept.keep_only({e: ["none", "skip_connect"] for e in cfg.space.edges})
    assert _numel(kept.child.parameters()) == before[0]  # the switch keeps them


@pytest.mark.slow
def test_a_short_paper_protocol_train_runs_on_cpu(tmp_path, capsys):
    from cpnas.final import Protocol

    paper = Protocol.load("cifar10-paper")
    assert (paper.cells, paper.channels, paper.epochs, paper.optimizer) == (20, 36, 600, "sgd")
    assert (paper.cutout, paper.drop_path, paper.auxiliary, paper.grad_clip) == (16, 0.2, 0.4, 5.0)
    # every knob of the protocol (SGD, cosine, crop + flip + cutout, drop-path, auxiliary
    # head, clipping); only depth, width and length are shrunk
    argv = ["train", "DARTS_V2", "--protocol", "cifar10-paper", "--data", "synthetic:100",
            "--epochs", "2", "--cells", "3", "--channels", "4", "--device", "cpu",
            "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    report = json.loads((tmp_path / "train.json").read_text())
    assert report["protocol"]["auxiliary"] == 0.4 and report["protocol"]["cells"] == 3
    assert report["binary"]["epochs"] == 2 and 0 <= report["binary"]["test_acc"] <= 1
    assert "1-bit: test accuracy" in capsys.readouterr().out


def test_the_auxiliary_head_and_drop_path_train_only():
    from cpnas.genotype import DARTS_V2
    from cpnas.model import FixedNet
    from cpnas.ops import OpSpec

    net = FixedNet(DARTS_V2, 3, 10, 4, 3, OpSpec(binary=True, batch_stats=False), auxiliary=True)
    x = torch.randn(4, 3, 32, 32)
    logits, aux = net(x)
    assert logits.shape == aux.shape == (4, 10) and net.aux_at == 2
    net.set_drop_path(0.5)
    torch.manual_seed(0)
    a, _ = net(x)
    torch.manual_seed(1)
    b, _ = net(x)
    assert not torch.allclose(a, b)  # the dropped paths differ with the seed
    net.eval()
    assert net(x).shape == (4, 10) and torch.equal(net(x), net(x))  # no head, no drop in eval


def test_bf16_autocast_channels_last_and_determinism_run_on_cpu():
    cfg = SearchConfig(**SMALL, precision="bf16", channels_last=True, deterministic=True)
    data = load_data(cfg.data, cfg.seed)
    try:
        tr = CPTrainer(cfg, data, torch.device("cpu"))
        assert torch.are_deterministic_algorithms_enabled()
        arch = {e: "sep_conv_3x3" for e in cfg.space.edges}
        out = tr.train_sample(arch)
    finally:
        torch.use_deterministic_algorithms(False)  # process-wide: leave it as it was
    assert tr.centers.centers.dtype == torch.float32  # the state stays float32
    assert all(p.dtype == torch.float32 for p in tr.child.parameters())
    assert torch.isfinite(torch.tensor([out.child_loss, out.parent_loss])).all()
    assert 0 <= out.child_acc <= 1 and 0 <= out.parent_acc <= 1


def test_a_bad_protocol_is_one_line(tmp_path, capsys):
    assert cli.main(["train", "DARTS_V2", "--protocol", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no preset" in err[0] and "cifar10-paper" in err[0]
    bad = tmp_path / "p.json"
    bad.write_text('{"drop_path": 1.5}')
    assert cli.main(["train", "DARTS_V2", "--protocol", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("error: momentum, drop_path")
