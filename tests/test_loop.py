import random
from collections import Counter

import pytest

from cpnas import events as ev
from cpnas.loop import LoopState, SampleResult, run_loop
from cpnas.scoring import indicator, softmax
from cpnas.space import SearchSpace

SPACE = SearchSpace(ops=("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"), nodes=2)


def _evaluate(noise_seed=0):
    noise = random.Random(noise_seed)
    quality = {"none": 0.0, "skip_connect": 0.3, "max_pool_3x3": 0.2, "sep_conv_3x3": 0.6}

    def evaluate(rnd, t, s, arch):
        q = sum(quality[o] for o in arch.values()) / len(arch)
        child = 0.2 + 0.5 * q + noise.uniform(-0.05, 0.05)
        return SampleResult(child, min(1.0, child + 0.2), 1.0 - child, 0.8 - child)

    return evaluate


def _run(repeats=1, beta=0.5, seed=0, state=None, stop_after=None, on_sample=None, rng=None):
    out: list[tuple[type, dict]] = []
    done = [0]

    def emit(cls, fields):
        out.append((cls, fields))
        if cls is ev.SampleTrained:
            done[0] += 1

    surv = run_loop(SPACE, repeats, beta, _evaluate(seed), emit, rng or random.Random(seed),
                    should_stop=lambda: stop_after is not None and done[0] >= stop_after,
                    state=state, on_sample=on_sample)
    return surv, out


@pytest.mark.parametrize("repeats", [1, 2])
def test_every_alive_op_on_every_edge_is_sampled_once_per_sweep(repeats):
    _, out = _run(repeats=repeats)
    alive = None
    sweeps: dict[tuple[int, int], list[dict]] = {}
    for cls, f in out:
        if cls is ev.RoundStarted:
            alive = f["alive"]
        if cls is ev.SampleTrained:
            sweeps.setdefault((f["round"], f["t"]), []).append(f["arch"])
            assert all(op in alive[e] for e, op in f["arch"].items())
    k = len(SPACE.ops)
    assert len(sweeps) == repeats * (k - 1)
    for (rnd, _), archs in sweeps.items():
        assert len(archs) == k - rnd
        for e in SPACE.edges:
            assert sorted(a[e] for a in archs) == sorted(
                [f for c, f in out if c is ev.RoundStarted][rnd]["alive"][e])


def test_each_round_prunes_the_argmin_ev_once_per_edge_and_k_minus_1_rounds_leave_one():
    surv, out = _run(repeats=2)
    scored = {f["round"]: f for c, f in out if c is ev.RoundScored}
    pruned = [f for c, f in out if c is ev.OpPruned]
    k = len(SPACE.ops)
    assert sorted(scored) == list(range(k - 1))
    per_round = Counter(f["round"] for f in pruned)
    assert per_round == {r: len(SPACE.edges) for r in range(k - 1)}
    for f in pruned:
        evs = scored[f["round"]]["ev"][f["edge"]]
        assert f["op"] == min(evs, key=evs.get)
        assert f["op"] not in f["alive"]
    assert set(surv) == set(SPACE.edges)
    assert all(isinstance(op, str) for op in surv.values())
    last = {f["edge"]: f["alive"] for f in pruned if f["round"] == k - 2}
    assert all(len(ops) == 1 and ops[0] == surv[e] for e, ops in last.items())


@pytest.mark.parametrize("beta", [0.5, 0.0, 1.0, -0.7, 2.0])
def test_z_is_equation_4_15_and_zbar_is_the_mean_over_t(beta):
    _, out = _run(repeats=2, beta=beta)
    zs: dict = {}
    for cls, f in out:
        if cls is ev.SampleTrained:
            expected = beta * (f["parent_acc"] - f["child_acc"]) + f["child_acc"]
            assert f["z"] == pytest.approx(expected, abs=1e-12)
            for e, op in f["arch"].items():
                zs.setdefault((f["round"], e, op), []).append(f["z"])
        if cls is ev.RoundScored:
            for e, per in f["zbar"].items():
                for op, zbar in per.items():
                    vals = zs[(f["round"], e, op)]
                    assert len(vals) == 2 and zbar == pytest.approx(sum(vals) / 2)
                assert f["ev"][e] == pytest.approx(softmax(per))


def test_indicator_endpoints():
    assert indicator(0.4, 0.9, 0.0) == 0.4
    assert indicator(0.4, 0.9, 1.0) == 0.9


def test_same_seed_same_stream_other_seed_other_stream():
    assert _run(seed=3)[1] == _run(seed=3)[1]
    assert _run(seed=3)[1] != _run(seed=4)[1]


def test_stopping_returns_none():
    surv, out = _run(stop_after=3)
    assert surv is None
    assert sum(c is ev.SampleTrained for c, _ in out) == 3


@pytest.mark.parametrize("cut", [1, 4, 7, 9])
def test_resuming_from_a_saved_state_repeats_the_uninterrupted_stream(cut):
    """Save the loop state and rng after `cut` samples, resume from copies of them."""
    full_surv, full = _run(repeats=1)
    saved = {}

    def on_sample(st, rnd, t, s):
        if sum(1 for c, _ in first if c is ev.SampleTrained) == cut and not saved:
            saved["state"] = st.to_dict()
            saved["rng"] = rng.getstate()

    rng = random.Random(0)
    first: list = []
    evaluate = _evaluate(0)
    run_loop(SPACE, 1, 0.5, evaluate, lambda c, f: first.append((c, f)), rng,
             on_sample=on_sample)
    # The synthetic evaluator draws noise per sample: advance a fresh one past `cut` samples.
    ev2 = _evaluate(0)
    for _ in range(cut):
        ev2(0, 0, 0, {e: "none" for e in SPACE.edges})
    rng2 = random.Random()
    rng2.setstate(saved["rng"])
    rest: list = []
    surv = run_loop(SPACE, 1, 0.5, ev2, lambda c, f: rest.append((c, f)), rng2,
                    state=LoopState.from_dict(saved["state"]))
    n_before = [i for i, (c, _) in enumerate(full) if c is ev.SampleTrained][cut - 1] + 1
    assert full[:n_before] + rest == full
    assert surv == full_surv


def test_genotype_ranks_survivors_by_search_wide_zbar_not_the_degenerate_last_ev():
    from cpnas.loop import derive_from_events
    from cpnas.scoring import survivor_scores
    from cpnas.simulate import simulate

    events = simulate(seed=3)
    samples = [e for e in events if isinstance(e, ev.SampleTrained)]
    derived = [e for e in events if isinstance(e, ev.GenotypeDerived)][0]
    survivors = {e: info["op"] for e, info in derived.edges.items()}
    # With T = 1 the last round's two samples cover every edge: every survivor's ev is equal.
    assert len({round(info["ev"], 12) for info in derived.edges.values()}) == 1
    zbar = survivor_scores(samples, survivors)
    edge = "normal:0->2"
    expect = [s.z for s in samples if s.arch[edge] == survivors[edge]]
    assert zbar[edge] == pytest.approx(sum(expect) / len(expect))
    assert len(expect) == 7  # the survivor was sampled once in each of the 7 rounds
    geno, edges = derive_from_events(events, survivors, nodes=4)
    for dst in range(2, 6):  # each node keeps its two non-none inputs with the highest zbar
        cands = sorted(
            ((zbar[e], e) for e in survivors if e.startswith("normal:") and e.endswith(f"->{dst}")
             and survivors[e] != "none"), reverse=True)[:2]
        kept = {e for e, info in edges.items() if info["selected"] and e.startswith("normal:")
                and e.endswith(f"->{dst}")}
        assert kept == {e for _, e in cands}
    assert str(geno) == derived.genotype
