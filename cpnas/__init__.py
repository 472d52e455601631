"""cpnas: the CP-NAS search engine (Child-Parent NAS for 1-bit CNNs)."""

from .errors import ConfigError, CpnasError, DataError, GenotypeError, RunDirError
from .events import Callback, Event, event_from_json
from .genotype import DARTS_V2, PC_DARTS, Genotype, derive_genotype, parse_genotype
from .space import PRIMITIVES, SearchSpace, edge_id, parse_edge_id

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
    "RunDirError",
    "SearchSpace",
    "derive_genotype",
    "edge_id",
    "event_from_json",
    "parse_edge_id",
    "parse_genotype",
]
__version__ = "0.1.0"
