"""cpnas: the CP-NAS search engine (Child-Parent NAS for 1-bit CNNs)."""

from .errors import ConfigError, CpnasError, DataError, GenotypeError, RunDirError
from .events import Callback, Event, event_from_json
from .genotype import DARTS_V2, PC_DARTS, Genotype, derive_genotype, parse_genotype
from .space import PRIMITIVES, SearchSpace, edge_id, parse_edge_id


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
    "search",
]
__version__ = "0.1.0"
