"""MTJ parameters: resistances and critical quantities from geometry and stack (PHYSICS.md section 1)."""

import math

import numpy as np
import pytest

from accelsim.device import (
    MTJ,
    critical_current_a,
    resistance_ohm,
    stray_field_barriers,
    sun_tau_c_s,
    tmr_at_bias,
)
from accelsim.device.mtj import damping_from_tau_d, delta_at_temperature, sun_relative_std, thermal_stability
from accelsim.device.presets import HIRTZLIN_32NM, HIRTZLIN_MS_A_PER_M, MUENCH_DELTA40, MUENCH_DELTA60
from accelsim.errors import ConfigError


def test_hirtzlin_junction_resistances():
    # PHYSICS.md section 1: A = 804 nm^2, R_P = 4.97 kOhm, R_AP = 12.4 kOhm.
    assert HIRTZLIN_32NM.area_m2 == pytest.approx(804e-18, rel=1e-3)
    assert HIRTZLIN_32NM.r_p_ohm == pytest.approx(4.97e3, rel=2e-3)
    assert resistance_ohm("ap", HIRTZLIN_32NM) == pytest.approx(12.4e3, rel=3e-3)


def test_tmr_bias_dependence():
    # PHYSICS.md section 1: TMR0 150 % gives 144 % at 0.1 V, 129 % at 0.2 V, 92 % at 0.4 V.
    got = tmr_at_bias(np.array([0.1, 0.2, 0.4]), 1.5, 0.5)
    assert got == pytest.approx([1.44, 1.29, 0.92], abs=0.006)
    r = resistance_ohm("ap", HIRTZLIN_32NM, np.linspace(0, 1, 11))
    assert np.all(np.diff(r) < 0) and np.all(r > HIRTZLIN_32NM.r_p_ohm)


@pytest.mark.parametrize(
    "mtj, r_p, r_ap",
    [(MUENCH_DELTA40, 2.3e3, 5.1e3), (MUENCH_DELTA60, 2.6e3, 5.9e3)],
)
def test_muench_table1_resistances(mtj, r_p, r_ap):
    # 002 Table I (two significant figures), from radius, RA 6.12 Ohm.um^2 and TMR 123 %.
    assert mtj.r_p_ohm == pytest.approx(r_p, rel=0.03)
    assert mtj.r_ap0_ohm == pytest.approx(r_ap, rel=0.03)


def test_critical_voltage_is_polarity_independent():
    # Slonczewski efficiency + Julliere: Ic0(AP->P) R_AP = Ic0(P->AP) R_P = Vc0 at any bias.
    v = np.array([0.0, 0.2, 0.4])
    ic_p = critical_current_a(HIRTZLIN_32NM, "p_to_ap", v)
    ic_ap = critical_current_a(HIRTZLIN_32NM, "ap_to_p", v)
    assert ic_p * HIRTZLIN_32NM.r_p_ohm == pytest.approx(0.19)
    assert ic_ap * resistance_ohm("ap", HIRTZLIN_32NM, v) == pytest.approx(0.19)
    assert MUENCH_DELTA40.vc_v == pytest.approx(13.6e-6 * MUENCH_DELTA40.r_p_ohm)


def test_sun_thermal_angle_statistics():
    # PHYSICS.md section 3: relative std 0.248 at Delta 40 (k ~ 16.2); tau_c = 5.17 ns for tau_D 2 ns.
    assert sun_relative_std(40.0) == pytest.approx(0.248, abs=1e-3)
    assert 1 / sun_relative_std(40.0) ** 2 == pytest.approx(16.2, abs=0.1)
    assert sun_tau_c_s(2e-9, 40.0) == pytest.approx(1e-9 * (0.5772 + math.log(math.pi**2 * 10)), rel=1e-4)


def test_stray_field_barriers():
    # PHYSICS.md section 5: h = 0.05, Delta0 = 45 -> 40.6 / 49.6, AP -> P 8.1e3 times faster.
    d_ap, d_p = stray_field_barriers(45.0, 0.05)
    assert (d_ap, d_p) == (pytest.approx(40.6, abs=0.05), pytest.approx(49.6, abs=0.05))
    assert math.exp(d_p - d_ap) == pytest.approx(8.1e3, rel=0.01)
    m = MTJ(diameter_m=32e-9, ra_ohm_m2=4e-12, tmr0=1.5, v_c_v=0.19, delta=45, h_stray=0.05, tau_d_s=1e-9)
    assert m.delta_ap_to_p < m.delta < m.delta_p_to_ap


def test_calibrated_tau_d_implies_plausible_damping():
    alpha = damping_from_tau_d(HIRTZLIN_32NM, HIRTZLIN_MS_A_PER_M)
    assert 0.005 < alpha < 0.02
    # Delta = mu0 Ms H_K V / (2 kB T) round trip, and Delta ~ 1/T.
    hk = 2 * 70 * 1.380649e-23 * 300 / (1.25663706212e-6 * HIRTZLIN_MS_A_PER_M * HIRTZLIN_32NM.volume_m3)
    assert thermal_stability(HIRTZLIN_MS_A_PER_M, hk, HIRTZLIN_32NM.volume_m3, 300.0) == pytest.approx(70.0)
    assert delta_at_temperature(60.0, 300.0, 360.0) == pytest.approx(50.0)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"diameter_m": -1e-9}, "diameter must be a positive"),
        ({"v_c_v": 0.0}, "exactly one of"),
        ({"i_c_a": 1e-5}, "exactly one of"),
        ({"h_stray": 1.2}, "h_stray"),
        ({"delta": float("nan")}, "delta must be a positive"),
    ],
)
def test_mtj_rejects_unphysical_parameters(changes, match):
    base = dict(diameter_m=32e-9, ra_ohm_m2=4e-12, tmr0=1.5, v_c_v=0.19, delta=40.0, tau_d_s=1e-9)
    base.update(changes)
    with pytest.raises(ConfigError, match=match):
        MTJ(**base)
