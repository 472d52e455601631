"""Bounds on sizes, checked before anything heavy starts; each refusal names its limit.

A value past one of these would not fit in memory or time on any machine the toolkit is
meant for (``--nodes 1000`` builds half a million edges), or would overflow a seed.
"""

from __future__ import annotations

MAX_NODES = 16  # intermediate nodes per cell: 16 gives 152 edges per cell type
MAX_CELLS = 64
MAX_CHANNELS = 4096
MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit
MAX_REPEATS = 1000
MAX_BATCH_SIZE = 65536
MAX_STEPS = 10**7  # training steps per sample, and epochs of a final training
MAX_DATASET_SIZE = 10**7  # images in a dataset
MAX_GENOTYPE_CHARS = 100_000  # a genotype text of MAX_NODES nodes is ~2 KB
MAX_OP_NAME_CHARS = 100  # an op name ("sep_conv_3x3"; published ones are under 20)
MAX_FILE_BYTES = 64 * 2**20  # a config, genotype or JSON file read whole
MAX_NAME_BYTES = 255  # one name in a path (NAME_MAX on Linux and macOS)
MAX_PATH_BYTES = 4095  # a whole path (PATH_MAX on Linux, less its terminating NUL)
