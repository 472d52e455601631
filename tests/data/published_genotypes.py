# Published genotypes, copied verbatim from their repositories (the text right of each `=`).
# A test corpus: tests read it as text through `FILE.py:NAME` (ast only; it is never imported
# or run). Where two repositories use one name, the later one gets a prefix; its original
# name is in the comment. Every genotype's edges are written out by hand in
# tests/test_published.py.
from collections import namedtuple

Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')

# ---- quark0/darts cnn/genotypes.py (commit 8876e79): flat pairs, 5-node cells, ops outside
# the 8 (sep_conv_7x7, conv_7x1_1x7), concat subsets
NASNet = Genotype(
  normal = [
    ('sep_conv_5x5', 1),
    ('sep_conv_3x3', 0),
    ('sep_conv_5x5', 0),
    ('sep_conv_3x3', 0),
    ('avg_pool_3x3', 1),
    ('skip_connect', 0),
    ('avg_pool_3x3', 0),
    ('avg_pool_3x3', 0),
    ('sep_conv_3x3', 1),
    ('skip_connect', 1),
  ],
  normal_concat = [2, 3, 4, 5, 6],
  reduce = [
    ('sep_conv_5x5', 1),
    ('sep_conv_7x7', 0),
    ('max_pool_3x3', 1),
    ('sep_conv_7x7', 0),
    ('avg_pool_3x3', 1),
    ('sep_conv_5x5', 0),
    ('skip_connect', 3),
    ('avg_pool_3x3', 2),
    ('sep_conv_3x3', 2),
    ('max_pool_3x3', 1),
  ],
  reduce_concat = [4, 5, 6],
)

AmoebaNet = Genotype(
  normal = [
    ('avg_pool_3x3', 0),
    ('max_pool_3x3', 1),
    ('sep_conv_3x3', 0),
    ('sep_conv_5x5', 2),
    ('sep_conv_3x3', 0),
    ('avg_pool_3x3', 3),
    ('sep_conv_3x3', 1),
    ('skip_connect', 1),
    ('skip_connect', 0),
    ('avg_pool_3x3', 1),
    ],
  normal_concat = [4, 5, 6],
  reduce = [
    ('avg_pool_3x3', 0),
    ('sep_conv_3x3', 1),
    ('max_pool_3x3', 0),
    ('sep_conv_7x7', 2),
    ('sep_conv_7x7', 0),
    ('avg_pool_3x3', 1),
    ('max_pool_3x3', 0),
    ('max_pool_3x3', 1),
    ('conv_7x1_1x7', 0),
    ('sep_conv_3x3', 5),
  ],
  reduce_concat = [3, 4, 6]
)

DARTS = Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])

# ---- yuhuixu1993/PC-DARTS genotypes.py (commit 283b086): range() concat, an alias
PC_DARTS_cifar = Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))
PC_DARTS_image = Genotype(normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)], reduce_concat=range(2, 6))


PCDARTS = PC_DARTS_cifar

# ---- chenxin061/pdarts genotypes.py (commit b1575e1)
PDARTS = Genotype(normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0),('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3',0), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)], reduce_concat=range(2, 6))

# ---- xiaomi-automl/FairDARTS fairdarts/genotypes.py (commit 675a0c8): ENASNet (its reduce
# cell's c_{k-2} feeds only nodes 0 and 4), GDAS_V1, and (op, to, from) triples with 0 to 7
# inputs per node
ENASNet = Genotype(
  normal = [
    ('sep_conv_3x3', 1),
    ('skip_connect', 1),
    ('sep_conv_5x5', 1),
    ('skip_connect', 0),
    ('avg_pool_3x3', 0),
    ('sep_conv_3x3', 1),
    ('sep_conv_3x3', 0),
    ('avg_pool_3x3', 1),
    ('sep_conv_5x5', 1),
    ('avg_pool_3x3', 0),
  ],
  normal_concat = [2, 3, 4, 5, 6],
  reduce = [
    ('sep_conv_5x5', 0),
    ('sep_conv_3x3', 1), # 2
    ('sep_conv_3x3', 1),
    ('avg_pool_3x3', 1), # 3
    ('sep_conv_3x3', 1),
    ('avg_pool_3x3', 1), # 4
    ('avg_pool_3x3', 1),
    ('sep_conv_5x5', 4), # 5
    ('sep_conv_3x3', 5),
    ('sep_conv_5x5', 0),
  ],
  reduce_concat = [2, 3, 4, 5, 6],
)

GDAS_V1 = Genotype(
  normal=[('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 0), ('sep_conv_5x5', 2), ('sep_conv_3x3', 3), ('skip_connect', 0), ('sep_conv_5x5', 4), ('sep_conv_3x3', 3)],
  normal_concat=range(2, 6),
  reduce=[('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 2), ('sep_conv_5x5', 1), ('dil_conv_5x5', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_5x5', 2)],
  reduce_concat=range(2, 6)
)

FairDARTS_a = Genotype(normal=[('sep_conv_3x3', 2, 0), ('sep_conv_5x5', 2, 1), ('max_pool_3x3', 4, 0), ('sep_conv_3x3', 5, 0)], normal_concat=range(2, 6),
         reduce=[('max_pool_3x3', 2, 0), ('avg_pool_3x3', 2, 1), ('avg_pool_3x3', 3, 0), ('dil_conv_5x5', 3, 1), ('avg_pool_3x3', 4, 0), ('sep_conv_5x5', 4, 1),
                 ('skip_connect', 5, 0), ('skip_connect', 5, 1)], reduce_concat=range(2, 6))

FairDARTS_b = Genotype(normal=[('sep_conv_3x3', 2, 0), ('sep_conv_3x3', 2, 1), ('sep_conv_3x3', 3, 1), ('dil_conv_3x3', 4, 0), ('sep_conv_5x5', 4, 1), ('dil_conv_5x5', 5, 1)], normal_concat=range(2, 6),
reduce=[('skip_connect', 2, 0), ('dil_conv_3x3', 2, 1), ('skip_connect', 3, 0), ('dil_conv_3x3', 3, 1), ('max_pool_3x3', 4, 0), ('sep_conv_3x3', 4, 1), ('skip_connect', 5, 2), ('max_pool_3x3', 5, 0)], reduce_concat=range(2, 6))

FairDARTS_c = Genotype(normal=[('max_pool_3x3', 2, 0), ('sep_conv_5x5', 2, 1), ('dil_conv_3x3', 4, 0), ('dil_conv_5x5', 4, 2), ('skip_connect', 5, 3), ('sep_conv_3x3', 5, 0)], normal_concat=range(2, 6),
                       reduce=[('dil_conv_3x3', 2, 1), ('dil_conv_5x5', 2, 0), ('dil_conv_3x3', 3, 0), ('sep_conv_3x3', 3, 1), ('sep_conv_5x5', 4, 0), ('sep_conv_5x5', 4, 3), ('sep_conv_5x5', 5, 0), ('skip_connect', 5, 1)], reduce_concat=range(2, 6))

DCO_EDGE_BS_64 = Genotype(normal=[('dil_conv_3x3', 2, 0), ('sep_conv_3x3', 2, 0), ('sep_conv_3x3', 2, 1), ('dil_conv_3x3', 2, 1), ('max_pool_3x3', 3, 0), ('sep_conv_5x5', 3, 0), ('dil_conv_3x3', 3, 1), ('max_pool_3x3', 4, 0), ('dil_conv_5x5', 5, 0)], normal_concat=range(2, 6),
         reduce=[('sep_conv_5x5', 2, 0), ('skip_connect', 2, 0), ('dil_conv_5x5', 2, 1), ('skip_connect', 2, 1), ('skip_connect', 3, 0), ('max_pool_3x3', 3, 0), ('max_pool_3x3', 3, 1), ('sep_conv_3x3', 3, 1), ('skip_connect', 3, 2), ('sep_conv_5x5', 3, 2), ('max_pool_3x3', 4, 0), ('avg_pool_3x3', 4, 0), ('dil_conv_5x5', 4, 1), ('sep_conv_3x3', 4, 1), ('sep_conv_5x5', 4, 2), ('skip_connect', 4, 2), ('skip_connect', 4, 3), ('sep_conv_5x5', 4, 3), ('max_pool_3x3', 5, 0), ('avg_pool_3x3', 5, 0), ('dil_conv_5x5', 5, 1), ('dil_conv_3x3', 5, 1), ('skip_connect', 5, 2), ('sep_conv_5x5', 5, 2), ('sep_conv_5x5', 5, 3), ('dil_conv_5x5', 5, 3), ('dil_conv_3x3', 5, 4), ('skip_connect', 5, 4)], reduce_concat=range(2, 6))

FairDARTS = FairDARTS_a  # the file spells this alias `DARTS = FairDARTS_a`

# ---- xiangning-chen/DrNAS DARTS-space/genotypes.py (commit 68bbcbf)
DrNAS_cifar10 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), ('dil_conv_5x5', 3)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_5x5', 2), ('sep_conv_5x5', 1), ('sep_conv_5x5', 1), ('dil_conv_5x5', 3), ('skip_connect', 4), ('sep_conv_5x5', 1)], reduce_concat=range(2, 6))
DrNAS_imagenet = Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('dil_conv_3x3', 3), ('skip_connect', 0), ('sep_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 2), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1)], reduce_concat=range(2, 6))

# ---- automl/RobustDARTS src/genotypes.py (commit 0f2c5b7): the `noise` op of space S4
DARTS_S4_cifar100_1127869_2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('noise', 2), ('noise', 3), ('noise', 1), ('noise', 4), ('noise', 3)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], reduce_concat=range(2, 6))
DARTS_S2_cifar10_1127900_1 = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 2), ('skip_connect', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 2), ('sep_conv_3x3', 4), ('sep_conv_3x3', 3)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 4), ('sep_conv_3x3', 3)], reduce_concat=range(2, 6))

# ---- D-X-Y/AutoDL-Projects lib/nas_infer_model/DXYs/genotypes.py (commit bb2f405): a tuple
# of pairs per node and the extra fields connectN=None, connects=None (its namedtuple is
# namedtuple('Genotype', 'normal normal_concat reduce reduce_concat connectN connects'))
AutoDL_NASNet = Genotype(  # NASNet there
  normal = [
    (('sep_conv_5x5', 1), ('sep_conv_3x3', 0)),
    (('sep_conv_5x5', 0), ('sep_conv_3x3', 0)),
    (('avg_pool_3x3', 1), ('skip_connect', 0)),
    (('avg_pool_3x3', 0), ('avg_pool_3x3', 0)),
    (('sep_conv_3x3', 1), ('skip_connect', 1)),
  ],
  normal_concat = [2, 3, 4, 5, 6],
  reduce = [
    (('sep_conv_5x5', 1), ('sep_conv_7x7', 0)),
    (('max_pool_3x3', 1), ('sep_conv_7x7', 0)),
    (('avg_pool_3x3', 1), ('sep_conv_5x5', 0)),
    (('skip_connect', 3), ('avg_pool_3x3', 2)),
    (('sep_conv_3x3', 2), ('max_pool_3x3', 1)),
  ],
  reduce_concat = [4, 5, 6],
  connectN=None, connects=None,
)

PNASNet = Genotype(
  normal = [
    (('sep_conv_5x5', 0), ('max_pool_3x3', 0)),
    (('sep_conv_7x7', 1), ('max_pool_3x3', 1)),
    (('sep_conv_5x5', 1), ('sep_conv_3x3', 1)),
    (('sep_conv_3x3', 4), ('max_pool_3x3', 1)),
    (('sep_conv_3x3', 0), ('skip_connect', 1)),
  ],
  normal_concat = [2, 3, 4, 5, 6],
  reduce = [
    (('sep_conv_5x5', 0), ('max_pool_3x3', 0)),
    (('sep_conv_7x7', 1), ('max_pool_3x3', 1)),
    (('sep_conv_5x5', 1), ('sep_conv_3x3', 1)),
    (('sep_conv_3x3', 4), ('max_pool_3x3', 1)),
    (('sep_conv_3x3', 0), ('skip_connect', 1)),
  ],
  reduce_concat = [2, 3, 4, 5, 6],
  connectN=None, connects=None,
)

AutoDL_DARTS_V2 = Genotype(  # DARTS_V2 there
  normal=[
    (('sep_conv_3x3', 0), ('sep_conv_3x3', 1)), # step 1
    (('sep_conv_3x3', 0), ('sep_conv_3x3', 1)), # step 2
    (('sep_conv_3x3', 1), ('skip_connect', 0)), # step 3
    (('skip_connect', 0), ('dil_conv_3x3', 2))  # step 4
  ],
  normal_concat=[2, 3, 4, 5],
  reduce=[
    (('max_pool_3x3', 0), ('max_pool_3x3', 1)), # step 1
    (('skip_connect', 2), ('max_pool_3x3', 1)), # step 2
    (('max_pool_3x3', 0), ('skip_connect', 2)), # step 3
    (('skip_connect', 2), ('max_pool_3x3', 1))  # step 4
  ],
  reduce_concat=[2, 3, 4, 5],
  connectN=None, connects=None,
)

SETN = Genotype(
  normal=[
    (('skip_connect', 0), ('sep_conv_5x5', 1)),
    (('sep_conv_5x5', 0), ('sep_conv_3x3', 1)),
    (('sep_conv_5x5', 1), ('sep_conv_5x5', 3)),
    (('max_pool_3x3', 1), ('conv_3x1_1x3', 4))],
  normal_concat=[2, 3, 4, 5],
  reduce=[
    (('sep_conv_3x3', 0), ('sep_conv_5x5', 1)),
    (('avg_pool_3x3', 0), ('sep_conv_5x5', 1)),
    (('avg_pool_3x3', 0), ('sep_conv_5x5', 1)),
    (('avg_pool_3x3', 0), ('skip_connect', 1))],
  reduce_concat=[2, 3, 4, 5],
  connectN=None, connects=None
)

AutoDL_GDAS_V1 = Genotype(  # GDAS_V1 there (its last reduce node differs from FairDARTS's copy)
  normal=[
    (('skip_connect', 0), ('skip_connect', 1)),
    (('skip_connect', 0), ('sep_conv_5x5', 2)),
    (('sep_conv_3x3', 3), ('skip_connect', 0)),
    (('sep_conv_5x5', 4), ('sep_conv_3x3', 3))],
  normal_concat=[2, 3, 4, 5],
  reduce=[
    (('sep_conv_5x5', 0), ('sep_conv_3x3', 1)),
    (('sep_conv_5x5', 2), ('sep_conv_5x5', 1)),
    (('dil_conv_5x5', 2), ('sep_conv_3x3', 1)),
    (('sep_conv_5x5', 0), ('sep_conv_5x5', 1))],
  reduce_concat=[2, 3, 4, 5],
  connectN=None, connects=None
)

# ---- khanrc/pt.darts genotypes.py (commit c48f506), the example in from_str's docstring:
# one list of pairs per node
PT_DARTS = Genotype(
            normal=[[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)],
                    [('sep_conv_3x3', 1), ('dil_conv_3x3', 2)],
                    [('sep_conv_3x3', 1), ('sep_conv_3x3', 2)],
                    [('sep_conv_3x3', 1), ('dil_conv_3x3', 4)]],
            normal_concat=range(2, 6),
            reduce=[[('max_pool_3x3', 0), ('max_pool_3x3', 1)],
                    [('max_pool_3x3', 0), ('skip_connect', 2)],
                    [('max_pool_3x3', 0), ('skip_connect', 2)],
                    [('max_pool_3x3', 0), ('skip_connect', 2)]],
            reduce_concat=range(2, 6))
