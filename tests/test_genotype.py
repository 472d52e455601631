import pytest

from cpnas.errors import GenotypeError
from cpnas.genotype import DARTS_V2, Genotype, derive_genotype, parse_genotype

DARTS_V2_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


def test_darts_v2_round_trip():
    g = parse_genotype(DARTS_V2_TEXT)
    assert g == DARTS_V2
    assert str(g) == DARTS_V2_TEXT
    assert parse_genotype(str(g)) == g


@pytest.mark.parametrize("payload", [
    "__import__('os').system('touch {marker}')",
    "Genotype(normal=[(__import__('os').system('touch {marker}'), 0)], normal_concat=[2], "
    "reduce=[], reduce_concat=[2])",
    "Genotype(normal=open('{marker}', 'w'), normal_concat=[2], reduce=[], reduce_concat=[2])",
    "exec('open(\"{marker}\", \"w\")')",
])
def test_injected_code_is_rejected_and_never_runs(tmp_path, payload):
    marker = tmp_path / "pwned"
    with pytest.raises(GenotypeError):
        parse_genotype(payload.format(marker=marker))
    assert not marker.exists()


def _survivors(ops_by_edge):
    return dict(ops_by_edge)


def test_derive_top2_keeps_the_two_best_non_none_inputs_per_node():
    surv = {"normal:0->2": "sep_conv_3x3", "normal:1->2": "none",
            "normal:0->3": "skip_connect", "normal:1->3": "max_pool_3x3",
            "normal:2->3": "dil_conv_3x3",
            "reduce:0->2": "avg_pool_3x3", "reduce:1->2": "sep_conv_5x5",
            "reduce:0->3": "none", "reduce:1->3": "none", "reduce:2->3": "skip_connect"}
    ev = {e: 0.5 for e in surv}
    ev.update({"normal:0->3": 0.2, "normal:1->3": 0.9, "normal:2->3": 0.6})
    g = derive_genotype(surv, ev, nodes=2)
    assert g.nodes("normal") == [[("sep_conv_3x3", 0)],
                                 [("max_pool_3x3", 1), ("dil_conv_3x3", 2)]]
    assert g.nodes("reduce") == [[("avg_pool_3x3", 0), ("sep_conv_5x5", 1)],
                                 [("skip_connect", 2)]]
    everything = derive_genotype(surv, ev, nodes=2, mode="all")
    assert len(everything.nodes("normal")[1]) == 3
    assert parse_genotype(str(g)) == g


def test_genotype_rejects_edges_from_later_nodes():
    with pytest.raises(GenotypeError):
        Genotype(normal=[("sep_conv_3x3", 3), ("skip_connect", 0)], normal_concat=[2],
                 reduce=[("skip_connect", 0), ("skip_connect", 1)], reduce_concat=[2])
