"""User-facing errors: each carries a one-line message, and the CLI exits 2 on them."""

from __future__ import annotations


class CpnasError(Exception):
    """Bad input from the user (config, genotype, log, data, path).

    The message is one line that says what is wrong and, where it helps, what to do.
    The CLI prints it as ``error: <message>`` and exits with code 2.
    """

    exit_code = 2

    def __str__(self) -> str:
        # One line, whatever user text the message quotes (a key, a path, a log line).
        return super().__str__().replace("\r", "\\r").replace("\n", "\\n")


class ConfigError(CpnasError):
    """A config key has a bad value. The message names the key."""


class GenotypeError(CpnasError):
    """Text that is not a DARTS genotype."""


class RunDirError(CpnasError):
    """A run directory, event log, checkpoint or genotype file that cannot be used."""


class DataError(CpnasError):
    """A dataset that cannot be found or read."""


class PeerLostError(CpnasError):
    """Under torchrun, another rank died: this one cannot go on alone (resume: the same command)."""


class NonFiniteError(CpnasError):
    """A loss or score that is NaN or infinite (a learning rate too high, NaN in the data)."""
