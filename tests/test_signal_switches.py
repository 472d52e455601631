"""One test per hazard fix of issue 10, each a SearchConfig switch (docs/method.md "Signal")."""

import hashlib
import json
import random
from types import SimpleNamespace as NS  # noqa: F401  (the DARTS rule test)

import pytest
import torch

from cpnas import events as ev
from cpnas.config import LEGACY, SearchConfig
from cpnas.data import load_data
from cpnas.engine import run_id_of
from cpnas.errors import ConfigError
from cpnas.final import train_genotype
from cpnas.genotype import DARTS_V2
from cpnas.model import FixedNet, SuperNet
from cpnas.ops import OpSpec
from cpnas.space import SearchSpace
from cpnas.train import CPTrainer

SMALL = dict(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2, channels=4, device="cpu")


def _first_cell_inputs(net, *args):
    seen = {}

    def keep(name):
        def hook(module, inputs, output):
            seen[name] = inputs[0]  # returns None: the output stays as it is
        return hook

    net.cells[0].pre0.register_forward_hook(keep("s0"))
    net.cells[0].pre1.register_forward_hook(keep("s1"))
    net(*args)
    return seen["s0"], seen["s1"]


@pytest.mark.parametrize("distinct", [False, True])
def test_distinct_inputs_for_the_first_cell(distinct):
    space = SearchSpace(ops=SMALL["ops"], nodes=2)
    arch = {e: "sep_conv_3x3" for e in space.edges}
    x = torch.randn(4, 1, 8, 8)
    torch.manual_seed(0)
    sup = SuperNet(space, 1, 10, 4, 2, OpSpec(binary=True), distinct_inputs=distinct)
    s0, s1 = _first_cell_inputs(sup, x, arch)
    assert s0.shape == s1.shape == (4, 12, 8, 8)
    assert torch.equal(s0, s1) is not distinct
    fixed = FixedNet(DARTS_V2, 1, 10, 4, 2, OpSpec(binary=True), distinct_inputs=distinct)
    f0, f1 = _first_cell_inputs(fixed, x)  # the network `cpnas train` builds: the same change
    assert torch.equal(f0, f1) is not distinct


@pytest.mark.parametrize("from_parent", [False, True])
def test_child_initialised_from_the_parent(from_parent):
    cfg = SearchConfig(child_from_parent=from_parent, **SMALL)
    tr = CPTrainer(cfg, load_data(cfg.data, 0), torch.device("cpu"))
    child, parent = tr.child.state_dict(), tr.parent.state_dict()
    assert child.keys() == parent.keys()
    same = all(torch.equal(child[k], parent[k]) for k in child)
    assert same is from_parent


def test_data_seed_is_separate_from_the_search_seed():
    assert SearchConfig(seed=3).split_seed == 0  # fixed by default: seeds share the splits
    assert SearchConfig(seed=3, data_seed=5).split_seed == 5
    assert SearchConfig(seed=3, data_seed=None).split_seed == 3  # the old behaviour
    with pytest.raises(ConfigError, match="^data_seed:"):
        SearchConfig(data_seed=-1)
    a, b = load_data("digits", SearchConfig(seed=0).split_seed), load_data("digits", SearchConfig(seed=1).split_seed)
    assert torch.equal(a.y_val, b.y_val)


def test_warm_up_trains_uniform_single_paths_before_round_zero():
    cfg = SearchConfig(warmup_steps=3, sample_steps=1, **SMALL)
    tr = CPTrainer(cfg, load_data(cfg.data, 0), torch.device("cpu"))
    before = {k: v.clone() for k, v in tr.parent.state_dict().items()}
    state = tr.batches.generator.get_state()
    tr.warm_up(cfg.warmup_steps, random.Random(0))
    assert any(not torch.equal(before[k], v) for k, v in tr.parent.state_dict().items())
    assert not torch.equal(state, tr.batches.generator.get_state())
    with pytest.raises(ConfigError, match="^warmup_steps:"):
        SearchConfig(warmup_steps=-1)


def test_legacy_values_keep_old_run_ids():
    old = SearchConfig(**LEGACY)
    fields = {k: v for k, v in old.to_dict().items() if k not in LEGACY}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]
    assert run_id_of(old) == digest
    assert run_id_of(SearchConfig()) != digest  # the new defaults are another search
    assert set(LEGACY) >= {"data_seed", "distinct_inputs", "child_from_parent", "warmup_steps"}


def test_final_training_with_the_cp_loss():
    data = load_data("digits", 0)
    kw = dict(epochs=1, channels=4, cells=2, batch_size=256, seed=0, distinct_inputs=True)
    plain = train_genotype(DARTS_V2, data, **kw)
    cp = train_genotype(DARTS_V2, data, cp_loss=True, **kw)
    assert 0.0 <= cp.test_acc <= 1.0 and cp.train_loss > 0
    assert cp.train_loss != plain.train_loss  # another objective, another run
    fp = train_genotype(DARTS_V2, data, binary=False, cp_loss=True, **kw)  # no parent for FP
    assert fp.train_loss == train_genotype(DARTS_V2, data, binary=False, **kw).train_loss


# -- after the loop's named steps: sweep scoring and the DARTS genotype rule ------------------


def _sweep_run(repeats, stop_after=None, state=None, rng=None, ahead="sweep"):
    from cpnas.loop import SampleResult, run_loop

    space = SearchSpace(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2)
    calls, out, done = [], [], [0]
    quality = {"none": 0.0, "skip_connect": 0.3, "sep_conv_3x3": 0.6}

    def train(rnd, t, s, arch):
        calls.append(("train", rnd, t, s))
        return 1.0 + s, 2.0 + s

    def evaluate(rnd, t, s, arch):
        calls.append(("score", rnd, t, s))
        q = sum(quality[o] for o in arch.values()) / len(arch)
        return SampleResult(0.3 + q + 0.01 * s, 0.5 + q)

    def emit(cls, fields):
        out.append((cls, fields))
        done[0] += cls is ev.SampleTrained

    surv = run_loop(space, repeats, 0.5, evaluate, emit, rng or random.Random(0),
                    should_stop=lambda: stop_after is not None and done[0] >= stop_after,
                    state=state, train=train, train_ahead=ahead)
    return surv, calls, out


@pytest.mark.parametrize("repeats", [1, 2, 3])
def test_sweep_scoring_trains_a_sweep_then_scores_it_and_keeps_the_invariants(repeats):
    surv, calls, out = _sweep_run(repeats)
    assert [c[0] for c in calls[:6]] == ["train"] * 3 + ["score"] * 3
    samples = [f for c, f in out if c is ev.SampleTrained]
    assert [s["child_loss"] for s in samples[:3]] == [1.0, 2.0, 3.0]
    _assert_invariants(samples, out, repeats)
    assert set(surv.values()) <= {"skip_connect", "sep_conv_3x3", "none"}


def test_sweep_scoring_resumes_mid_sweep_without_retraining():
    from cpnas.loop import LoopState

    full = _sweep_run(2)
    st = LoopState.start(SearchSpace(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2))
    rng = random.Random(0)  # the engine checkpoints its state; here it simply carries on
    _, calls1, out1 = _sweep_run(2, stop_after=2, state=st, rng=rng)
    assert st.pending is not None and st.s == 2  # trained, one sample left to score
    state = LoopState.from_dict(st.to_dict())
    surv, calls2, out2 = _sweep_run(2, state=state, rng=rng)
    assert calls2[0] == ("score", 0, 0, 2)  # no retraining of the sweep
    strip = [(c, f) for c, f in out1 + out2 if c is not ev.RoundStarted]
    assert [f.get("z") for c, f in strip] == [f.get("z") for c, f in full[2] if c is not ev.RoundStarted]
    assert surv == full[0]


def _assert_invariants(samples, out, repeats):
    """Sampling without replacement (each op once per sweep) and argmin pruning."""
    by_sweep: dict = {}
    for s in samples:
        by_sweep.setdefault((s["round"], s["t"]), []).append(s["arch"])
    assert len(by_sweep) == 2 * repeats
    for archs in by_sweep.values():  # sampling without replacement: each op once per sweep
        for e in archs[0]:
            assert len({a[e] for a in archs}) == len(archs)
    scored = None
    for c, f in out:  # argmin pruning
        if c is ev.RoundScored:
            scored = f["ev"]
        if c is ev.OpPruned:
            assert scored[f["edge"]][f["op"]] == min(scored[f["edge"]].values())


def _samples(out):
    return [f for c, f in out if c is ev.SampleTrained]


@pytest.mark.parametrize("repeats", [1, 2, 3])
def test_round_scoring_trains_the_whole_round_then_scores_it_on_the_same_weights(repeats):
    surv, calls, out = _sweep_run(repeats, ahead="round")
    k = 3
    for rnd in (0, 1):  # every training of the round comes before its first scoring
        mine = [c[0] for c in calls if c[1] == rnd]
        n = repeats * (k - rnd)
        assert mine == ["train"] * n + ["score"] * n
    samples = _samples(out)
    assert [s["child_loss"] for s in samples[:k]] == [1.0, 2.0, 3.0]  # each its own loss
    _assert_invariants(samples, out, repeats)
    # the same draws as sweep scoring: only when the samples are scored differs
    sweep_samples = _samples(_sweep_run(repeats)[2])
    assert [s["arch"] for s in samples] == [s["arch"] for s in sweep_samples]


def test_round_scoring_resumes_mid_round_without_retraining():
    from cpnas.loop import LoopState

    full = _sweep_run(2, ahead="round")
    st = LoopState.start(SearchSpace(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2))
    rng = random.Random(0)
    _, calls1, out1 = _sweep_run(2, stop_after=4, state=st, rng=rng, ahead="round")
    assert (st.t, st.s, len(st.pending), len(st.queued)) == (1, 1, 3, 0)  # sweep 1 in scoring
    state = LoopState.from_dict(st.to_dict())
    surv, calls2, out2 = _sweep_run(2, state=state, rng=rng, ahead="round")
    assert calls2[0] == ("score", 0, 1, 1)  # no retraining of the round
    strip = [(c, f) for c, f in out1 + out2 if c is not ev.RoundStarted]
    assert [f.get("z") for c, f in strip] == [f.get("z") for c, f in full[2] if c is not ev.RoundStarted]
    assert [f.get("child_loss") for c, f in strip] == [
        f.get("child_loss") for c, f in full[2] if c is not ev.RoundStarted]
    assert surv == full[0]


@pytest.mark.parametrize("scoring", ["sample", "sweep", "round"])
def test_scoring_switch_in_the_engine_counts_training_steps_between_scorings(scoring, monkeypatch):
    from cpnas.engine import search

    seen = []  # (round, training steps done) at every validation of a sample
    real = CPTrainer.accuracy

    def accuracy(self, arch, chunk=1024):
        seen.append(self.steps_done)
        return real(self, arch, chunk)

    monkeypatch.setattr(CPTrainer, "accuracy", accuracy)
    cfg = SearchConfig(**SMALL, data="synthetic:64", repeats=2, sample_steps=1, batch_size=16,
                       warmup_steps=2, scoring=scoring)
    res = search(cfg)
    rounds = [s.round for s in res.samples]
    assert len(seen) == len(rounds) == cfg.n_samples
    per_round: dict = {}
    for rnd, steps in zip(rounds, seen):
        per_round.setdefault(rnd, []).append(steps)
    for rnd, steps in per_round.items():
        if scoring == "round":  # one set of weights for the whole round
            assert len(set(steps)) == 1
        elif scoring == "sweep":  # one set per sweep: K = 3 - rnd samples each
            k = 3 - rnd
            assert [len(set(steps[i:i + k])) for i in range(0, len(steps), k)] == [1, 1]
            assert len(set(steps)) == 2
        else:  # each sample right after its own training step
            assert steps == sorted(set(steps))


def test_scoring_replaces_score_per_sweep_and_old_runs_keep_their_ids():
    from cpnas.config import stored_config

    assert LEGACY["scoring"] == "sample"
    for old, new in ((True, "sweep"), (False, "sample")):
        assert SearchConfig.from_dict({"score_per_sweep": old}).scoring == new
        assert stored_config({"score_per_sweep": old}, "x")["scoring"] == new
    # the id a release with score_per_sweep gave today's defaults (scoring "sweep")
    fields = {k: v for k, v in SearchConfig().to_dict().items()
              if not (k in LEGACY and v == LEGACY[k]) and k != "scoring"}
    digest = hashlib.sha256(json.dumps({**fields, "score_per_sweep": True},
                                       sort_keys=True).encode()).hexdigest()[:12]
    assert run_id_of(SearchConfig(scoring="sweep")) == digest
    assert run_id_of(SearchConfig(scoring="round")) != digest
    with pytest.raises(ConfigError, match="score_per_sweep"):
        SearchConfig.from_dict({"score_per_sweep": 1})
    with pytest.raises(ConfigError, match="disagree"):
        SearchConfig.from_dict({"score_per_sweep": True, "scoring": "round"})
    with pytest.raises(ConfigError, match="^scoring:"):
        SearchConfig(scoring="epoch")


def test_darts_rule_every_node_two_inputs_none_survivors_offer_their_last_pruned_op():
    from cpnas.scoring import darts_genotype, edge_strengths

    ops = ("none", "skip_connect", "sep_conv_3x3")
    survivors = {"normal:0->2": "none", "normal:1->2": "sep_conv_3x3", "normal:0->3": "none",
                 "normal:1->3": "none", "normal:2->3": "skip_connect"}
    survivors.update({e.replace("normal", "reduce"): "sep_conv_3x3" for e in list(survivors)})
    last_out = {"normal:0->2": "skip_connect", "normal:0->3": "sep_conv_3x3",
                "normal:1->3": "skip_connect"}
    pruned = []
    for e, surv in survivors.items():
        others = [o for o in ops if o != surv]
        order = ([o for o in others if o != last_out[e]] + [last_out[e]]) if e in last_out else others
        pruned += [NS(round=r, edge=e, op=o) for r, o in enumerate(order)]
    samples = [NS(arch={"normal:0->3": "sep_conv_3x3"}, z=0.9),
               NS(arch={"normal:1->3": "skip_connect"}, z=0.1)]
    st = edge_strengths(samples, pruned, survivors)
    assert st["normal:0->2"][0] == "skip_connect" and st["normal:1->2"][0] == "sep_conv_3x3"
    assert st["normal:2->3"][1][0] == 2  # a survivor ranks past the last round
    g = darts_genotype(samples, pruned, survivors, nodes=2)
    assert "arity" not in str(g)
    assert g.nodes("normal") == [[("skip_connect", 0), ("sep_conv_3x3", 1)],
                                 [("sep_conv_3x3", 0), ("skip_connect", 2)]]
    assert all(len(n) == 2 for c in ("normal", "reduce") for n in g.nodes(c))


def test_cpnas_train_cp_loss_flag_and_the_run_settings(tmp_path, capsys):
    from cpnas.cli import main

    argv = ["train", "DARTS_V2", "--cp-loss", "--epochs", "1", "--channels", "4", "--cells", "2",
            "--device", "cpu", "--out", str(tmp_path)]
    assert main(argv) == 0
    report = json.loads((tmp_path / "train.json").read_text())
    assert report["cp_loss"] is True and report["theta"] == SearchConfig().theta
    assert report["distinct_inputs"] is True and report["data_seed"] == 0  # today's defaults
    assert 0.0 <= report["binary"]["test_acc"] <= 1.0
