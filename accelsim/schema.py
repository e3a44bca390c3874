"""Field declarations shared by every config dataclass: dimensional quantities (unit from the name's
suffix) and dimensionless parameters, each with its doc; the YAML loader in ``config`` reads these.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any

# Field-name suffix -> dimension; the YAML key drops the suffix ("t_pulse_s" <-> "t_pulse: 15 ns").
_SUFFIX = {
    "_ohm_m2": "Ohm.m2", "_m2": "m2", "_s": "s", "_v": "V", "_a": "A", "_ohm": "Ohm", "_j": "J",
    "_w": "W", "_hz": "Hz", "_m": "m", "_f": "F", "_k": "K",
}


def quantity(doc: str, *, allow_zero: bool = False, **kw: Any) -> Any:
    """A dimensional dataclass field; its unit is read from the field name's suffix.

    Physical quantities must be positive; ``allow_zero`` admits 0 (e.g. a zero storage horizon).
    """
    return field(metadata={"doc": doc, "quantity": True, "allow_zero": allow_zero}, **kw)


def param(doc: str, **kw: Any) -> Any:
    """A dimensionless dataclass field (count, ratio, name)."""
    return field(metadata={"doc": doc}, **kw)


def dimension_of(f: dataclasses.Field) -> str | None:
    """The unit dimension of a dataclass field (from metadata or its name's suffix), or None."""
    if "unit" in f.metadata:
        return f.metadata["unit"]
    if not f.metadata.get("quantity"):
        return None
    for suffix, dim in _SUFFIX.items():
        if f.name.endswith(suffix):
            return dim
    raise TypeError(f"quantity field {f.name!r} has no unit suffix")


def yaml_key(f: dataclasses.Field) -> str:
    """The YAML spelling of a field: its name without the unit suffix for dimensional fields."""
    if dimension_of(f) is None:
        return f.name
    for suffix in _SUFFIX:
        if f.name.endswith(suffix):
            return f.name[: -len(suffix)]
    return f.name


class Invalid(ValueError):
    """Raised by a dataclass's ``__post_init__``: ``key`` (relative, dotted) and what is wrong."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
