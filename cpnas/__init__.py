"""cpnas: the CP-NAS search engine (Child-Parent NAS for 1-bit CNNs).

Where each part of the method lives (docs/architecture.md has the whole map):

- the child (1-bit) and the parent (full precision): one supernet definition,
  :class:`cpnas.model.SuperNet`, built from :mod:`cpnas.ops` with :mod:`cpnas.binary`'s
  binarized convs for the child; :class:`cpnas.train.CPTrainer` trains them side by side
  with :mod:`cpnas.loss`'s child-parent loss;
- the indicator (Eq. 4.15), zbar and ev (Eq. 4.16), the prune choice and the survivor
  ranking: :mod:`cpnas.scoring` (torch-free; the views call it too);
- the sampler (sampling without replacement, T sweeps) and the pruning rounds:
  :func:`cpnas.loop.run_loop`, Algorithm 9 as named steps;
- the genotype: :func:`cpnas.genotype.derive_genotype` and the DARTS format parser;
- the whole search with events, checkpoints and resume: :func:`cpnas.search`
  (:mod:`cpnas.engine`); the event contract: :mod:`cpnas.events`; the run directory on
  disk (files, checkpoint, log, lock): :mod:`cpnas.runs`.

``import cpnas`` stays light: torch loads on the first use of the search or the config.
"""

from . import scoring
from .errors import ConfigError, CpnasError, DataError, GenotypeError, RunDirError
from .events import Callback, Event, event_from_json
from .genotype import DARTS_V2, PC_DARTS, Genotype, derive_genotype, parse_genotype
from .space import PRIMITIVES, SearchSpace, edge_id, parse_edge_id
from .version import __version__ as __version__


def search(config, subscribers=(), out=None, stop=None):
    """Run a CP-NAS search; see :func:`cpnas.engine.search` (torch loads on first use)."""
    from .engine import search as run

    return run(config, subscribers=subscribers, out=out, stop=stop)


def __getattr__(name: str):
    # torch-heavy parts load on first use, so `import cpnas` stays light for viewers.
    if name == "SearchResult":
        from .engine import SearchResult

        return SearchResult
    if name == "SearchConfig":
        from .config import SearchConfig

        return SearchConfig
    if name in ("load_run", "RunDir"):
        from . import runs

        return getattr(runs, name)
    raise AttributeError(f"module 'cpnas' has no attribute {name!r}")


__all__ = [
    "Callback",
    "ConfigError",
    "CpnasError",
    "DARTS_V2",
    "DataError",
    "Event",
    "Genotype",
    "GenotypeError",
    "PC_DARTS",
    "PRIMITIVES",
    "RunDir",
    "RunDirError",
    "SearchConfig",
    "SearchResult",
    "SearchSpace",
    "derive_genotype",
    "edge_id",
    "event_from_json",
    "parse_edge_id",
    "load_run",
    "parse_genotype",
    "scoring",
    "search",
]
