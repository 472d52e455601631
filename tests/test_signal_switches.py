"""One test per hazard fix of issue 10, each a SearchConfig switch (docs/method.md "Signal")."""

import hashlib
import json
import random

import pytest
import torch

from cpnas.config import LEGACY, SearchConfig
from cpnas.data import load_data
from cpnas.engine import run_id_of
from cpnas.errors import ConfigError
from cpnas.genotype import DARTS_V2
from cpnas.model import FixedNet, SuperNet
from cpnas.ops import OpSpec
from cpnas.space import SearchSpace
from cpnas.train import CPTrainer, train_genotype

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
