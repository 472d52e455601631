"""A genotype read from a file: the run's ``genotype.json``, a text file holding one
``Genotype(...)``, or one assignment of a repository's genotypes file (read with :mod:`ast`,
never imported). Below the run directory and the resolver, which both read through it."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import GenotypeError
from ..genotype import Genotype, parse_genotype
from ..genotype_text import call_fields, genotype_assignments, name_list
from ..limits import MAX_FILE_BYTES
from ..reading import NotReadable, loads, read_regular_text


def read_genotype_file(path: Path, name: str | None = None) -> Genotype:
    """A genotype from a file: ``genotype.json`` ({"genotype": "Genotype(...)"}), a text
    file holding one ``Genotype(...)``, or, with ``name``, one assignment of a genotypes
    file (a ``.py`` file always needs the name)."""
    text = _read_text(path)
    if name is not None or path.suffix == ".py":
        found = genotype_assignments(text, str(path))
        if name is None or name not in found:
            listed = name_list(list(found))
            head = f"{path}: name a genotype as {path}:NAME" if name is None else f"{path}: no genotype {name!r}"
            raise GenotypeError(f"{head} (genotypes found: {listed})")
        return _with_path(path, lambda: Genotype(**call_fields(found[name])))
    if text.lstrip().startswith("{"):
        try:
            data = loads(text)
        except json.JSONDecodeError as exc:
            raise GenotypeError(f"{path}: not a genotype file (not JSON: {exc.msg} at line {exc.lineno})") from None
        except ValueError as exc:  # {"genotype": [[[...]]]} 40,000 deep
            raise GenotypeError(f"{path}: not a genotype file (JSON {exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("genotype"), str):
            raise GenotypeError(f'{path}: not a genotype file (expected {{"genotype": "Genotype(...)"}})')
        text = data["genotype"]
    return _with_path(path, lambda: parse_genotype(text))


def _read_text(path: Path) -> str:
    try:
        return read_regular_text(path, MAX_FILE_BYTES)  # no device, FIFO or socket
    except NotReadable as exc:
        raise GenotypeError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise GenotypeError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GenotypeError(f"{path}: cannot read ({exc.__class__.__name__})") from None


def _with_path(path: Path, build):
    try:
        return build()
    except GenotypeError as exc:
        raise GenotypeError(f"{path}: not a genotype: {exc}") from None


__all__ = ["read_genotype_file"]
