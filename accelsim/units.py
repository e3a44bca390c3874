"""Unit strings at the edge ("15 ns", "0.381 V", "27 uA") -> SI floats, and seconds -> clock cycles.

This is the only place where prefixed units are parsed and the only place where time is rounded to cycles.
"""

from __future__ import annotations

import math
import re

from accelsim.errors import ConfigError

# SI prefixes accepted in front of a base unit.
_PREFIX = {
    "": 1.0, "T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "µ": 1e-6,
    "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18,
}

# Base units by dimension name (the dimension names are what dataclass fields declare).
BASE_UNITS = {
    "s": ("s",),
    "V": ("V",),
    "A": ("A",),
    "Ohm": ("Ohm", "ohm", "Ω"),
    "J": ("J",),
    "W": ("W",),
    "Hz": ("Hz",),
    "m": ("m",),
    "m2": ("m^2", "m2"),
    "F": ("F",),
    "K": ("K",),
    "Ohm.m2": ("Ohm.m^2", "Ohm.m2", "ohm.m^2"),
    "A/m": ("A/m",),
}

# Non-SI time spellings users write for retention horizons.
_TIME_WORDS = {
    "min": 60.0, "minute": 60.0, "minutes": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "day": 86400.0, "days": 86400.0, "year": 365.25 * 86400.0, "years": 365.25 * 86400.0,
    "yr": 365.25 * 86400.0,
}

# Area/RA units with a squared prefix: "um^2" = 1e-12 m^2, "Ohm.um^2" = 1e-12 Ohm.m^2.
_SQUARED = re.compile(r"^(?P<pre>Ohm\.|ohm\.)?(?P<p>[TGMkmuµnpfa]?)m\^?2$")

_NUMBER = re.compile(r"^\s*(?P<num>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>\S*)\s*$")

SECONDS_PER_YEAR = 365.25 * 86400.0


def parse_quantity(text: str, dimension: str) -> float:
    """Convert a string such as ``"15 ns"`` to a finite SI float of the given dimension (see
    ``_parse_quantity``; a value that overflows once scaled raises ``ValueError`` too)."""
    value = _parse_quantity(text, dimension)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is too large (not a finite number of {dimension})")
    return value


def _parse_quantity(text: str, dimension: str) -> float:
    """Convert a string such as ``"15 ns"`` to an SI float of the given dimension.

    Parameters
    ----------
    text : str
        A number followed by a unit, e.g. ``"0.381 V"``, ``"27 uA"``, ``"10 years"``, ``"4 Ohm.um^2"``.
    dimension : str
        One of the keys of ``BASE_UNITS`` (``"s"``, ``"V"``, ``"A"``, ``"Ohm"``, ...).

    Raises
    ------
    ValueError
        If the text is not a number with a unit of that dimension (the config loader turns this
        into a ConfigError naming file and key).
    """
    match = _NUMBER.match(text)
    if match is None:
        raise ValueError(f"expected a number with a unit of {dimension}, got {text!r}")
    value = float(match["num"])
    if not math.isfinite(value):
        raise ValueError(f"number {match['num']!r} is too large (not finite)")
    unit = match["unit"]
    if not unit:
        raise ValueError(f"missing unit: write e.g. '{text} {BASE_UNITS[dimension][0]}'")
    if dimension == "s" and unit in _TIME_WORDS:
        return value * _TIME_WORDS[unit]
    if dimension in ("m2", "Ohm.m2"):
        sq = _SQUARED.match(unit)
        if sq and (dimension == "Ohm.m2") == bool(sq["pre"]):
            return value * _PREFIX[sq["p"]] ** 2
        raise ValueError(f"unit {unit!r} is not an area{' x resistance' if dimension == 'Ohm.m2' else ''}")
    for base in BASE_UNITS[dimension]:
        if unit.endswith(base):
            prefix = unit[: -len(base)]
            if prefix in _PREFIX:
                return value * _PREFIX[prefix]
    raise ValueError(f"unit {unit!r} is not a unit of {dimension}")


def seconds_to_cycles(t_s: float, clock_hz: float) -> int:
    """Whole clock cycles needed to cover ``t_s`` seconds (rounded up; at least 1 for t_s > 0).

    A product within 1e-9 (relative) of an integer is that integer, so float noise such as
    15e-9 * 1e9 = 15.000000000000002 does not add a cycle, while long durations keep every cycle.
    """
    if t_s < 0:
        raise ConfigError(f"negative duration {t_s} s")
    cycles = t_s * clock_hz
    nearest = round(cycles)
    if abs(cycles - nearest) <= 1e-9 * max(1.0, abs(cycles)) and nearest >= 1 or cycles == 0:
        return int(nearest)
    return int(math.ceil(cycles))
