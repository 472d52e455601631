"""Property-based (hypothesis): whatever the input, the genotype parser, the config loader and
the event reader give a clean result or a clean refusal (a CpnasError), never anything else."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpnas.config import SearchConfig, read_json, stored_config
from cpnas.errors import CpnasError, GenotypeError
from cpnas.genotype import Genotype, parse_genotype
from cpnas.runs import read_events
from cpnas.space import PRIMITIVES

FIXTURE_LOG = Path(__file__).parent / "fixtures" / "run_v1" / "events.jsonl"
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
ops = st.sampled_from(PRIMITIVES) | st.text(max_size=12)
edge = st.tuples(ops, st.integers(-3, 7)).map(lambda e: f"({e[0]!r}, {e[1]})")
cell = st.lists(edge, max_size=8).map(lambda es: "[" + ", ".join(es) + "]")
ints = st.lists(st.integers(-2, 8), max_size=5).map(str)
genotype_like = st.builds(
    lambda n, nc, r, rc: f"Genotype(normal={n}, normal_concat={nc}, reduce={r}, reduce_concat={rc})",
    cell, ints, cell, ints)


def _parse(text: str) -> None:
    try:
        g = parse_genotype(text)
    except GenotypeError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(g, Genotype)
    assert parse_genotype(str(g)) == g  # what it prints, it reads back


@FAST
@given(st.text(max_size=300))
def test_any_text_is_a_genotype_or_a_genotype_error(text: str) -> None:
    _parse(text)


@FAST
@given(genotype_like)
def test_genotype_shaped_text_is_a_genotype_or_a_genotype_error(text: str) -> None:
    _parse(text)


@FAST
@given(st.integers(1, 30_000), st.sampled_from("([{"))
def test_deeply_nested_genotype_text_is_refused_cleanly(depth: int, bracket: str) -> None:
    _parse("Genotype(normal=" + bracket * depth)


def _config(value) -> None:
    try:
        cfg = SearchConfig.from_dict(value)
    except CpnasError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert SearchConfig.from_dict(cfg.to_dict()) == cfg  # a loaded config round-trips


@FAST
@given(st.text(max_size=20) | st.text(min_size=300, max_size=5000).map(lambda t: "cifar10:" + t)
       | st.text(max_size=30).map(lambda t: "~" + t))
def test_any_data_spec_is_a_config_or_a_config_refusal(spec: str) -> None:
    _config({"data": spec})


config_dicts = st.dictionaries(
    st.sampled_from(["nodes", "cells", "channels", "seed", "ops", "lr", "beta", "data",
                     "device", "genotype_mode", "shortcut", "config_version", "sample_steps"]),
    json_values, max_size=5)


@FAST
@given(json_values | config_dicts)
def test_any_json_is_a_config_or_a_config_refusal(value) -> None:
    _config(value)
    try:
        stored_config(value, "config.json")
    except CpnasError:
        pass


@FAST
@given(st.binary(max_size=400))
def test_any_config_file_is_read_or_refused(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("cfg") / "config.json"
    path.write_bytes(data)
    try:
        value = read_json(path)
    except CpnasError:
        return
    _config(value)


def _read(tmp: Path, data: bytes) -> None:
    log = tmp / "events.jsonl"
    log.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            events = read_events(log)
        except CpnasError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
    assert events and [e.seq for e in events] == list(range(len(events)))
    assert len({e.run_id for e in events}) == 1


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_are_a_log_or_a_log_refusal(tmp_path_factory, data: bytes) -> None:
    _read(tmp_path_factory.mktemp("log"), data)


LINES = FIXTURE_LOG.read_text().splitlines()


@FAST
@given(st.integers(0, len(LINES) - 1), st.text(max_size=12), json_values)
def test_a_real_log_with_one_field_changed_is_read_or_refused(tmp_path_factory, line, key, value):
    event = json.loads(LINES[line])
    event[key if key else "type"] = value
    lines = [*LINES[:line], json.dumps(event), *LINES[line + 1:]]
    _read(tmp_path_factory.mktemp("log"), ("\n".join(lines) + "\n").encode())


@FAST
@given(st.integers(0, len(FIXTURE_LOG.read_bytes())))
def test_a_real_log_cut_anywhere_is_read_up_to_the_cut(tmp_path_factory, cut: int) -> None:
    _read(tmp_path_factory.mktemp("log"), FIXTURE_LOG.read_bytes()[:cut])
