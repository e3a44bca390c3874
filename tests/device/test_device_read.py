"""Read errors: sense errors from resistance distributions, read disturb (PHYSICS.md section 7)."""

import math

import numpy as np
import pytest

from accelsim.device import (
    Variability,
    critical_current_a,
    device_sense_failures,
    draw_devices,
    read_disturb_probability,
    sense_error_probability,
    sense_reference_ohm,
)
from accelsim.device.mtj import MTJ
from accelsim.device.presets import HIRTZLIN_32NM, TZOUFRAS_DELTA40


def _mtj(tmr0):
    return MTJ(diameter_m=32e-9, ra_ohm_m2=4e-12, tmr0=tmr0, v_c_v=0.19, delta=40, tau_d_s=2e-9)


@pytest.mark.parametrize("tmr0, expected", [(1.5, 2.3e-6), (1.0, 2.6e-4), (0.5, 2.1e-2)])
def test_single_ended_sense_error_worked_numbers(tmr0, expected):
    p_p, p_ap = sense_error_probability(_mtj(tmr0), 0.0, 0.10)
    assert p_p == pytest.approx(expected, rel=0.05) and p_ap == pytest.approx(p_p)


def test_differential_and_bias_and_offset():
    m = _mtj(1.0)
    single = sense_error_probability(m, 0.0, 0.10)[0]
    diff = sense_error_probability(m, 0.0, 0.10, scheme="differential")[0]
    assert diff == pytest.approx(0.5 * math.erfc(math.log(2) / (math.sqrt(2) * 0.1) / math.sqrt(2)))
    assert diff < single
    assert sense_error_probability(m, 0.3, 0.10)[0] > single  # TMR drops with read bias
    assert sense_error_probability(m, 0.0, 0.10, sigma_offset_ln=0.05)[0] > single


def test_sense_failures_of_drawn_devices_match_analytic(rng):
    sigma = 0.15
    devices = draw_devices(HIRTZLIN_32NM, Variability(sigma_r_p_rel=sigma), 200_000, rng)
    v_read = 0.1
    fail_p, fail_ap = device_sense_failures(v_read, devices, HIRTZLIN_32NM)
    p_p, p_ap = sense_error_probability(HIRTZLIN_32NM, v_read, sigma)
    n = devices.n
    for count, p in ((int(fail_p.sum()), p_p), (int(fail_ap.sum()), p_ap)):
        assert abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1
    assert sense_reference_ohm(HIRTZLIN_32NM, 0.0) == pytest.approx(math.sqrt(4973.6 * 12434.0), rel=1e-4)


def test_read_disturb_grows_with_current_and_time():
    ic = critical_current_a(TZOUFRAS_DELTA40, "p_to_ap")
    i = np.array([0.1, 0.2, 0.3, 0.4, 0.5]) * ic
    p = read_disturb_probability(i, 10e-9, TZOUFRAS_DELTA40)
    assert np.all((p >= 0) & (p <= 1)) and np.all(np.diff(p) > 0)
    assert read_disturb_probability(0.3 * ic, 20e-9, TZOUFRAS_DELTA40) > p[2]
    # the AP state is disturbed by the opposite polarity, with its own (lower) critical current
    assert read_disturb_probability(0.3 * ic, 10e-9, TZOUFRAS_DELTA40, state="ap") > p[2]
