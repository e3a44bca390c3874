"""Retention (002 eq. (2); PHYSICS.md section 5): worked numbers, inverses, asymmetry, Monte Carlo."""

import math

import numpy as np
import pytest

from accelsim.device import (
    MTJ,
    delta_for_retention,
    retention_flip_probability,
    retention_time_s,
    state_barrier,
    state_flip_probability,
)
from accelsim.device.presets import MUENCH_DELTA40
from accelsim.units import SECONDS_PER_YEAR

DAY = 86400.0


def test_worked_table():
    times = np.array([1.0, DAY, SECONDS_PER_YEAR, 10 * SECONDS_PER_YEAR])
    expected = {
        40: [4.3e-9, 3.7e-4, 0.125, 0.74],
        45: [2.9e-11, 2.5e-6, 9.0e-4, 9.0e-3],
        50: [1.9e-13, 1.7e-8, 6.1e-6, 6.1e-5],
        60: [8.8e-18, 7.6e-13, 2.8e-10, 2.8e-9],
    }
    for delta, row in expected.items():
        assert retention_flip_probability(times, delta, 1e-9) == pytest.approx(row, rel=0.03)


def test_inverses():
    ten_years = 10 * SECONDS_PER_YEAR
    assert delta_for_retention(ten_years, 1e-9) == pytest.approx(61.0, abs=0.05)
    assert delta_for_retention(ten_years, 1e-6) == pytest.approx(54.1, abs=0.05)
    t = retention_time_s(1e-3, 45.0)
    assert retention_flip_probability(t, 45.0) == pytest.approx(1e-3, rel=1e-9)


def test_steps_compose_to_the_horizon():
    # 002 ages in 10 steps over 10 years; the process is memoryless, so survival multiplies.
    step = retention_flip_probability(SECONDS_PER_YEAR, 42.0)
    total = retention_flip_probability(10 * SECONDS_PER_YEAR, 42.0)
    assert 1 - (1 - step) ** 10 == pytest.approx(total, rel=1e-12)
    assert np.all(np.diff(retention_flip_probability(np.logspace(0, 9, 10), 40.0)) > 0)
    assert np.all(np.diff(retention_flip_probability(DAY, np.array([30, 40, 50, 60.0]))) < 0)


def test_asymmetric_barriers():
    m = MTJ(diameter_m=40e-9, ra_ohm_m2=5e-12, tmr0=1.2, v_c_v=0.2, delta=45.0, h_stray=0.05, tau_d_s=1e-9)
    p_ap = state_flip_probability(DAY, m, "ap")
    p_p = state_flip_probability(DAY, m, "p")
    assert p_ap / p_p == pytest.approx(math.exp(4 * 45 * 0.05), rel=0.01)  # 8.1e3 (PHYSICS.md)
    # 002 neglects P -> AP
    assert state_barrier(MUENCH_DELTA40, "p") == math.inf
    assert state_flip_probability(SECONDS_PER_YEAR, MUENCH_DELTA40, "p") == 0.0
    assert state_flip_probability(SECONDS_PER_YEAR, MUENCH_DELTA40, "ap") == pytest.approx(0.125, rel=0.03)


def test_monte_carlo_escape_times(rng):
    # Thermal escape is a Poisson process: draw exponential escape times with the Arrhenius rate.
    n = 400_000
    delta = 40.0
    escape = rng.exponential(1e-9 * math.exp(delta), n)
    for t in (DAY, 30 * DAY, SECONDS_PER_YEAR):
        p = retention_flip_probability(t, delta)
        count = int(np.sum(escape < t))
        assert abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p)) + 1


def test_rejects_negative_time():
    with pytest.raises(ValueError, match=">= 0"):
        retention_flip_probability(-1.0, 40.0)
