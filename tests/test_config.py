import json

import pytest

from cpnas.config import SearchConfig
from cpnas.errors import ConfigError, CpnasError
from cpnas.space import PRIMITIVES


def test_defaults_are_the_teaching_search():
    cfg = SearchConfig()
    assert cfg.ops == PRIMITIVES and cfg.nodes == 4 and cfg.repeats == 2
    assert cfg.data == "digits" and cfg.beta == 0.5 and cfg.seed == 0
    assert cfg.n_samples == 70  # T = 2: every op gets two z's per round (docs/method.md)
    assert (cfg.sample_steps, cfg.batch_size, cfg.warmup_steps) == (2, 128, 0)
    assert cfg.scoring == "sweep" and cfg.child_from_parent and cfg.distinct_inputs and cfg.fused_adam
    assert cfg.genotype_mode == "darts" and cfg.data_seed == 0
    assert len(cfg.space.edges) == 28
    assert SearchConfig(repeats=2, ops=("none", "skip_connect", "sep_conv_3x3")).n_samples == 10


def test_dict_and_json_round_trip(tmp_path):
    cfg = SearchConfig(ops=("none", "sep_conv_3x3"), nodes=2, beta=-1, sample_steps=3)
    d = cfg.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["ops"] == ["none", "sep_conv_3x3"] and d["beta"] == -1.0
    assert SearchConfig.from_dict(d) == cfg
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"nodes": 3, "ops": "none,max_pool_3x3"}))
    loaded = SearchConfig.from_json_file(path)
    assert loaded.nodes == 3 and loaded.ops == ("none", "max_pool_3x3")


@pytest.mark.parametrize("values, key", [
    ({"ops": ["none", "conv_7x7"]}, "ops"),
    ({"ops": []}, "ops"),
    ({"ops": ["none"]}, "ops"),
    ({"beta": "high"}, "beta"),
    ({"beta": True}, "beta"),
    ({"nodes": 0}, "nodes"),
    ({"nodes": 2.5}, "nodes"),
    ({"cells": 0}, "cells"),
    ({"sample_steps": 0}, "sample_steps"),
    ({"theta": -1}, "theta"),
    ({"lam": float("nan")}, "lam"),
    ({"device": "tpu"}, "device"),
    ({"optimizer": "lion"}, "optimizer"),
    ({"shortcut": "yes"}, "shortcut"),
    ({"data": "cifar10:/no/such/folder"}, "data"),
    ({"data": "/no/such/folder"}, "data"),
    ({"colour": "red"}, "colour"),
    ({"momentum": 1.0}, "momentum"),
    ({"weight_decay": -1e-4}, "weight_decay"),
    ({"lr_schedule": "step"}, "lr_schedule"),
    ({"lr_min": 1.0}, "lr_min"),
    ({"lr_warmup_steps": -1}, "lr_warmup_steps"),
    ({"augment": 1}, "augment"),
    ({"val_fraction": 1.0}, "val_fraction"),
])
def test_bad_values_give_one_line_naming_the_key(values, key):
    with pytest.raises(CpnasError) as info:
        SearchConfig.from_dict(values)
    msg = str(info.value)
    assert msg.startswith(f"{key}:") and "\n" not in msg
    assert info.value.exit_code == 2


def test_bad_json_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nodes: 3")
    with pytest.raises(ConfigError, match="not JSON"):
        SearchConfig.from_json_file(bad)
    with pytest.raises(ConfigError, match="not found"):
        SearchConfig.from_json_file(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="JSON object"):
        SearchConfig.from_json_file(tmp_path / "list.json")


def test_the_recipe_keys_leave_old_run_ids_alone():
    from cpnas.config import LEGACY
    from cpnas.engine import run_id_of

    # ids an older release (before momentum, schedule, augmentation, val_fraction) gave, to
    # its defaults of then: the signal keys at LEGACY and the teaching defaults from before
    signal = ("data_seed", "distinct_inputs", "child_from_parent", "warmup_steps",
              "scoring", "strategy", "fused_adam",
              "lr_span_warmup", "announce_samples")  # not signal keys: also defaults that are not the old behaviour
    then = {"repeats": 1, "sample_steps": None, "batch_size": 256, "genotype_mode": "top2",
            **{k: LEGACY[k] for k in signal}}
    assert run_id_of(SearchConfig(**then)) == "fd976bd246de"
    assert run_id_of(SearchConfig(**then, optimizer="sgd", data="synthetic:64", cells=3)) \
        == "d4cd2c7f9588"
    assert all(getattr(SearchConfig(), k) == v for k, v in LEGACY.items() if k not in signal)
    assert run_id_of(SearchConfig(**then, lr_schedule="cosine")) != "fd976bd246de"


def test_presets_ship_in_the_package_and_load_by_name_or_path(tmp_path):
    from cpnas.config import preset_names, read_config_source

    assert {"cifar10-paper", "teaching"} <= set(preset_names())
    paper = SearchConfig.from_dict(read_config_source("cifar10-paper"))
    assert (paper.cells, paper.channels, paper.batch_size, paper.optimizer) == (8, 16, 64, "sgd")
    assert (paper.lr, paper.lr_min, paper.lr_schedule) == (0.025, 0.001, "cosine")
    assert (paper.momentum, paper.weight_decay, paper.augment) == (0.9, 3e-4, True)
    assert paper.data == "cifar10" and paper.val_fraction == 0.5
    assert SearchConfig.from_dict(read_config_source("teaching")) == SearchConfig()
    path = tmp_path / "teaching"  # a file wins over a preset of the same name
    path.write_text('{"nodes": 2}')
    assert read_config_source(str(path)) == {"nodes": 2}
    with pytest.raises(ConfigError, match="^config: no file 'cifar-paper' and no preset .*cifar10-paper"):
        read_config_source("cifar-paper")
