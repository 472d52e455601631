"""Optional heavy imports with an install hint (optuna's ``try_import`` idea).

cpviz's views need plotly, graphviz and pandas; GIFs need Pillow; PNG export of plotly
figures needs kaleido. Each is imported only when the feature is used, and a missing one
raises a one-line CpnasError that says how to get it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from cpnas.errors import CpnasError

_HINTS = {
    "plotly": "pip install plotly",
    "graphviz": "pip install graphviz",
    "pandas": "pip install pandas",
    "PIL": "pip install pillow",
    "kaleido": "pip install 'kaleido>=1'",
    "pygraphviz": "pip install pygraphviz",
}


def try_import(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise CpnasError naming the feature and the install command."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        hint = _HINTS.get(top, f"pip install {top}")
        raise CpnasError(f"{feature} needs the '{top}' package: {hint}") from None
