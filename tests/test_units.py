import pytest

from accelsim.units import SECONDS_PER_YEAR, parse_quantity, seconds_to_cycles


@pytest.mark.parametrize("text, dim, expected", [
    ("15 ns", "s", 15e-9), ("0.381 V", "V", 0.381), ("27 uA", "A", 27e-6), ("2.3 kOhm", "Ohm", 2300.0),
    ("10 years", "s", 10 * SECONDS_PER_YEAR), ("1 day", "s", 86400.0), ("0.48 pJ", "J", 0.48e-12),
    ("4 Ohm.um^2", "Ohm.m2", 4e-12), ("804 nm^2", "m2", 804e-18), ("1e9 Hz", "Hz", 1e9),
    ("32 nm", "m", 32e-9), ("1.5e-3 s", "s", 1.5e-3), ("-2 ns", "s", -2e-9),
])
def test_parse_quantity(text, dim, expected):
    assert parse_quantity(text, dim) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text, dim, match", [
    ("15", "s", "missing unit"), ("15 nV", "s", "not a unit of s"), ("fast", "s", "expected a number"),
    ("3 um", "m2", "not an area"),
])
def test_parse_quantity_rejects(text, dim, match):
    with pytest.raises(ValueError, match=match):
        parse_quantity(text, dim)


def test_seconds_to_cycles_rounds_up_once():
    assert seconds_to_cycles(15e-9, 1e9) == 15  # float noise does not add a cycle
    assert seconds_to_cycles(15.2e-9, 1e9) == 16
    assert seconds_to_cycles(0.0, 1e9) == 0
    assert seconds_to_cycles(3600.0, 1e9) == 3_600_000_000_000  # long durations lose no cycle
    assert seconds_to_cycles(1e-12, 1e9) == 1
