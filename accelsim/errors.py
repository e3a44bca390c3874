"""Deliberate errors of accelsim: bad input found at the edge (config, network, data, CLI), and outputs
that cannot be written.

Every message says where (file, key, layer), what was found and what was expected; the CLI prints
it on one line and exits with status 2.
"""


class AccelsimError(Exception):
    """Base class of every error accelsim raises on purpose.

    Its text is one line whatever it quotes: control characters (a newline in a YAML key or a file
    name) are written as escapes.
    """

    def __str__(self) -> str:
        text = super().__str__()
        if text.isprintable():
            return text
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ConfigError(AccelsimError):
    """An architecture or sweep YAML file (or a --set override) is invalid."""


class NetworkError(AccelsimError):
    """A network .npz file is missing, malformed or inconsistent."""


class DataError(AccelsimError):
    """A data set is missing, malformed or does not fit the network."""


class UsageError(AccelsimError):
    """A command-line option is invalid."""


class OutputError(AccelsimError):
    """An output file could not be written (disk full, permissions, a missing directory, ...)."""


class ClusterError(AccelsimError):
    """A Dask cluster could not be reached, was lost, or runs other software versions than the client."""
