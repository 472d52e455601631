"""The stand-alone protocol: train a genotype from scratch over several seeds and score it.

This is the ground truth a weight-sharing evaluator is judged against (SPOS; Ning et al.
2020). One protocol for every genotype: the fixed network of :func:`cpnas.final.train_genotype`
as a 1-bit net (optionally also its full-precision twin), a fixed number of epochs, one data
split (``data_seed``) shared by every seed, and ``seeds`` training seeds (init and batch
order) whose accuracies are averaged.

**Scoring.** The search scores samples on the validation split, so the ground truth must not
be measured there: stand-alone accuracy is the *test* split's accuracy (digits: 360 images,
one image = 0.28 points), averaged over the seeds. The validation accuracy is recorded too,
for reference only.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from .genotype import Genotype


@dataclass(frozen=True)
class Protocol:
    """How every reference genotype is trained; the defaults build the search's network."""

    data: str = "digits"
    data_seed: int = 0  # one split for every seed: the seeds compare trainings, not splits
    seeds: tuple[int, ...] = (0, 1)
    epochs: int = 10
    channels: int = 8
    cells: int = 2
    batch_size: int = 64
    lr: float = 0.003
    fp_preprocess: bool = True
    shortcut: bool = True
    distinct_inputs: bool = True
    fp_twin: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if len(self.seeds) < 1 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds: give distinct seeds, got {list(self.seeds)}")
        if self.epochs < 1:
            raise ValueError(f"epochs: must be >= 1, got {self.epochs}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["seeds"] = list(self.seeds)
        return out


@dataclass(frozen=True)
class StandaloneResult:
    genotype: str
    test: tuple[float, ...]  # 1-bit test accuracy per seed (the score)
    val: tuple[float, ...]  # 1-bit validation accuracy per seed (reference only)
    fp_test: tuple[float, ...] = field(default=())  # the FP twin's, when trained

    @property
    def mean(self) -> float:
        return statistics.fmean(self.test)

    @property
    def spread(self) -> float:
        """Max - min over seeds: this genotype's seed noise."""
        return max(self.test) - min(self.test)

    def to_dict(self) -> dict:
        return {"genotype": self.genotype, "test": list(self.test), "val": list(self.val),
                "fp_test": list(self.fp_test), "mean": self.mean}


def train_standalone(genotype: Genotype, protocol: Protocol = Protocol(), data=None,
                     device: str = "cpu",
                     on_seed: Callable[[int, float], None] = lambda seed, acc: None
                     ) -> StandaloneResult:
    """Train ``genotype`` from scratch once per seed of ``protocol``; test accuracy per seed."""
    from .data import load_data
    from .final import train_genotype

    p = protocol
    data = data if data is not None else load_data(p.data, p.data_seed)
    opts = dict(epochs=p.epochs, channels=p.channels, cells=p.cells, batch_size=p.batch_size,
                lr=p.lr, device=device, fp_preprocess=p.fp_preprocess, shortcut=p.shortcut,
                distinct_inputs=p.distinct_inputs)
    test, val, fp = [], [], []
    for seed in p.seeds:
        res = train_genotype(genotype, data, binary=True, seed=seed, **opts)
        test.append(res.test_acc)
        val.append(res.val_acc)
        on_seed(seed, res.test_acc)
        if p.fp_twin:
            fp.append(train_genotype(genotype, data, binary=False, seed=seed, **opts).test_acc)
    return StandaloneResult(str(genotype), tuple(test), tuple(val), tuple(fp))


def standalone_table(genotypes: Iterable[Genotype], protocol: Protocol = Protocol(),
                     device: str = "cpu",
                     on_result: Callable[[int, StandaloneResult], None] = lambda i, r: None
                     ) -> list[StandaloneResult]:
    """:func:`train_standalone` for each genotype, on one data split loaded once."""
    from .data import load_data

    data = load_data(protocol.data, protocol.data_seed)
    out = []
    for i, g in enumerate(genotypes):
        res = train_standalone(g, protocol, data, device)
        on_result(i, res)
        out.append(res)
    return out
