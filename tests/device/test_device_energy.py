"""Programming energy per bit with the driver in series (000 Fig. 3, 003 Fig. 1b; PHYSICS.md section 6)."""

import numpy as np
import pytest

from accelsim.device import (
    IDEAL_DRIVER,
    Driver,
    junction_energy_j,
    junction_voltage_v,
    pulse_for_wer_s,
    source_voltage_v,
    write_energy_j,
)
from accelsim.device.presets import HIRTZLIN_32NM, LOCATELLI_28NM
from accelsim.errors import ConfigError

VC = HIRTZLIN_32NM.vc_v


def test_worked_check_junction_energy():
    # PHYSICS.md section 6: 0.381 V across R_P = 4.97 kOhm for 15 ns -> 0.438 pJ (76.6 uA).
    e = junction_energy_j(0.381, 15e-9, HIRTZLIN_32NM, IDEAL_DRIVER)
    assert e == pytest.approx(0.438e-12, rel=3e-3)
    assert write_energy_j(0.381, 15e-9, HIRTZLIN_32NM, IDEAL_DRIVER) == pytest.approx(e)


@pytest.mark.parametrize("state", ["p", "ap"])
def test_divider_round_trip(state):
    v_j = np.array([0.1, 0.2, 0.381, 0.6])
    v_src = source_voltage_v(v_j, HIRTZLIN_32NM, LOCATELLI_28NM, state)
    assert np.all(v_src > v_j)
    assert junction_voltage_v(v_src, HIRTZLIN_32NM, LOCATELLI_28NM, state) == pytest.approx(v_j, rel=1e-10)


def test_energy_at_reference_point_within_15_percent_of_003():
    # 003: 0.48 pJ at BER 1e-10, 15 ns, 2.0 Vc (circuit simulation). Model: pulse from the gamma model,
    # junction at 2 Vc in P, source through the 28 nm driver.
    t = pulse_for_wer_s(1e-10, 2 * VC, HIRTZLIN_32NM)
    v_src = source_voltage_v(2 * VC, HIRTZLIN_32NM, LOCATELLI_28NM, "p")
    e = write_energy_j(v_src, t, HIRTZLIN_32NM, LOCATELLI_28NM)
    assert e == pytest.approx(0.48e-12, rel=0.15)
    assert junction_energy_j(v_src, t, HIRTZLIN_32NM, LOCATELLI_28NM) < e


def test_energy_savings_vs_1e10_within_3_points_of_003():
    # 003: -37 %, -45 %, -53 % at BER 1e-4, 1e-3, 1e-2 relative to 1e-10 (pulse shortened at fixed V).
    v_src = source_voltage_v(2 * VC, HIRTZLIN_32NM, LOCATELLI_28NM, "p")
    pulses = pulse_for_wer_s(np.array([1e-10, 1e-4, 1e-3, 1e-2]), 2 * VC, HIRTZLIN_32NM)
    e = write_energy_j(v_src, pulses, HIRTZLIN_32NM, LOCATELLI_28NM)
    savings = 1 - e[1:] / e[0]
    assert savings == pytest.approx([0.37, 0.45, 0.53], abs=0.03)


def test_energy_per_polarity_and_line_capacitance():
    v = 0.42
    e_p = write_energy_j(v, 10e-9, HIRTZLIN_32NM, LOCATELLI_28NM, "p_to_ap")
    e_ap = write_energy_j(v, 10e-9, HIRTZLIN_32NM, LOCATELLI_28NM, "ap_to_p")
    assert e_ap < e_p  # the AP -> P pulse starts in the high-resistance state
    assert write_energy_j(v, 20e-9, HIRTZLIN_32NM, LOCATELLI_28NM) == pytest.approx(2 * e_p)
    with_line = Driver(r_series_ohm=470.0, c_line_f=50e-15)
    assert write_energy_j(v, 10e-9, HIRTZLIN_32NM, with_line) == pytest.approx(e_p + 50e-15 * v * v)
    with pytest.raises(ConfigError, match="r_series"):
        Driver(r_series_ohm=-1.0)
