"""The tabulated WER of the gamma model against the exact path (scipy's gammaincc per cell).

The reference is :func:`accelsim.device.write.write_error_rate_at_drive` (and, for a programming
step, :func:`accelsim.device.variability.device_write_error_rate_and_energy_j`), evaluated cell by
cell with ``scipy.special.gammaincc``; ln Q in the underflow range is checked against mpmath.
The bound: relative WER error <= REL_ERROR_BOUND (1e-9) wherever the exact WER is >= 1e-300.
"""

import math

import numpy as np
import pytest

from accelsim.device import MTJ, WriteModel, write_error_rate_at_drive
from accelsim.device.energy import IDEAL_DRIVER, Driver, source_voltage_v
from accelsim.device.presets import HIRTZLIN_32NM, LOCATELLI_28NM, MUENCH_DELTA40, MUENCH_DELTA60
from accelsim.device.variability import Variability, device_write_error_rate_and_energy_j, draw_devices
from accelsim.device.wer_table import (
    LOG_TOL,
    REL_ERROR_BOUND,
    gamma_tail_table,
    log_gamma_q,
    tabulated_device_write_error_rate_and_energy_j,
    tabulated_write_error_rate_at_drive,
)

STRAY = MTJ(diameter_m=32e-9, ra_ohm_m2=4e-12, tmr0=1.5, v_c_v=0.19, delta=45.0, tau_d_s=1.5e-9, h_stray=0.05)
LOW_DELTA = MTJ(diameter_m=32e-9, ra_ohm_m2=4e-12, tmr0=1.5, v_c_v=0.19, delta=15.0, tau_d_s=1.5e-9)
MODELS = {
    "constant_k16": WriteModel(),
    "sun_thermal_beta1": WriteModel(shape_model="sun_thermal", thermal_beta=1.0),
    "exponential_k1": WriteModel(shape_k=1.0),
}


def assert_within_bound(fast, exact):
    """Relative error <= REL_ERROR_BOUND where the exact WER is >= 1e-300; both tiny below."""
    fast, exact = np.asarray(fast), np.asarray(exact)
    assert np.all((fast >= 0) & (fast <= 1))
    big = exact >= 1e-300
    np.testing.assert_allclose(fast[big], exact[big], rtol=REL_ERROR_BOUND, atol=0.0)
    assert np.all(fast[~big] <= 1e-290)


def drives(n, seed):
    """Thermal range, bridge, Sun's range and far above it, plus the bridge ends."""
    gen = np.random.default_rng(seed)
    return np.concatenate(
        [gen.uniform(0.0, 3.5, n), gen.uniform(1.45, 1.6, n // 4), gen.uniform(3.5, 25.0, n // 4), [0.7, 1.5]]
    )


@pytest.mark.parametrize("k", [1.0, 2.5, 16.0, 60.0])
def test_log_q_matches_mpmath_down_into_the_underflow_range(k):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    u = np.array([0.5, k, 3 * k + 10, 300.0, 700.0, 760.0, 900.0])
    want = [float(mpmath.log(mpmath.gammainc(k, x, mpmath.inf, regularized=True))) for x in u]
    # an absolute error of ln Q is the relative error of Q: held to the bound the WER is held to
    np.testing.assert_allclose(log_gamma_q(k, u), want, rtol=0.0, atol=REL_ERROR_BOUND)


@pytest.mark.parametrize("k", [1.0, 2.5, 16.0, 16.2, 60.0])
@pytest.mark.parametrize("span", [(0.0, 30.0), (20.0, 90.0), (100.0, 760.0)])
def test_table_meets_its_bound_between_the_nodes(k, span):
    table = gamma_tail_table(k, *span)
    assert table.max_midpoint_error <= LOG_TOL
    u = np.random.default_rng(int(k * 10) + int(span[0])).uniform(*span, 20000)
    exact = log_gamma_q(k, u)
    finite = exact > math.log(1e-300)
    assert np.max(np.abs(table.log_q(u)[finite] - exact[finite])) <= REL_ERROR_BOUND
    grid = np.linspace(*span, 200001)
    assert np.all(np.diff(table.log_q(grid)) <= 0.0)  # non-increasing like ln Q


@pytest.mark.parametrize("mtj", [HIRTZLIN_32NM, MUENCH_DELTA40, STRAY, LOW_DELTA], ids=lambda m: m.name)
@pytest.mark.parametrize("model", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("polarity", ["p_to_ap", "ap_to_p"])
def test_tabulated_wer_within_bound_of_the_exact_model(mtj, model, polarity):
    i = drives(2000, 1)
    for t_s in (0.3e-9, 15e-9, 1e-6):
        exact = write_error_rate_at_drive(i, t_s, mtj, model, polarity)
        fast = tabulated_write_error_rate_at_drive(i, t_s, mtj, model, polarity)
        assert_within_bound(fast, exact)
        # one Delta per device (drawn devices without a Delta spread) takes the table too
        same = tabulated_write_error_rate_at_drive(
            i, t_s, mtj, model, polarity, delta=np.full(i.size, mtj.delta)
        )
        np.testing.assert_array_equal(same, fast)


def test_wer_near_one_and_below_the_smallest_double():
    mtj, model = MUENCH_DELTA40, WriteModel()
    # A 1 ps pulse of the exponential model: WER = exp(-u), u ~ 1e-4, within 1e-3 of 1.
    i = np.linspace(1.5, 4.0, 101)
    exact = write_error_rate_at_drive(i, 1e-12, mtj, WriteModel(shape_k=1.0))
    assert 1 - 1e-3 < exact.min() and exact.max() < 1 and np.all(np.diff(exact) < 0)
    assert_within_bound(tabulated_write_error_rate_at_drive(i, 1e-12, mtj, WriteModel(shape_k=1.0)), exact)
    # With k = 16 so short a pulse leaves Q(16, u) above the bridge's last value: all cells take it.
    i = np.linspace(20.0, 30.0, 101)
    exact = write_error_rate_at_drive(i, 0.05e-9, mtj, model)
    assert np.all(exact == exact[0]) and 0.99 < exact[0] < 1
    np.testing.assert_array_equal(tabulated_write_error_rate_at_drive(i, 0.05e-9, mtj, model), exact)
    i = np.linspace(12.0, 20.0, 2001)  # strong drive: WER from ~1e-200 down past 1e-324 (0)
    exact = write_error_rate_at_drive(i, 15e-9, mtj, model)
    fast = tabulated_write_error_rate_at_drive(i, 15e-9, mtj, model)
    assert exact.max() > 1e-250 and exact.min() == 0.0
    assert_within_bound(fast, exact)
    assert fast[-1] == 0.0
    # no pulse: nothing switches
    np.testing.assert_array_equal(tabulated_write_error_rate_at_drive(i, 0.0, mtj, model), 1.0)


def test_monotone_in_drive_and_pulse():
    mtj = MUENCH_DELTA60
    i = np.linspace(0.0, 4.0, 200001)
    for t_s in (0.3e-9, 2e-9, 15e-9, 100e-9):
        for model in MODELS.values():
            wer = tabulated_write_error_rate_at_drive(i, t_s, mtj, model)
            assert np.all(np.diff(wer) <= 0.0)
    # each pulse has its own table: monotone in the pulse up to the tables' error
    pulses = np.geomspace(1e-9, 100e-9, 60)
    i = np.linspace(1.5, 4.0, 501)
    wers = np.array([tabulated_write_error_rate_at_drive(i, t, mtj) for t in pulses])
    assert np.all(wers[1:] <= wers[:-1] * (1 + 2 * REL_ERROR_BOUND))


def test_models_the_table_does_not_cover_keep_their_own_path():
    i = np.linspace(0.5, 3.0, 7)
    cases = [
        (WriteModel(kind="fokker_planck", n_legendre=64), None),  # Tzoufras' solution
        (WriteModel(shape_model="fokker_planck", n_legendre=64), None),  # FP-fitted k varies with i
        (WriteModel(), np.linspace(38.0, 42.0, i.size)),  # a Delta per device
    ]
    for model, delta in cases:
        want = write_error_rate_at_drive(i, 10e-9, MUENCH_DELTA40, model, delta=delta)
        got = tabulated_write_error_rate_at_drive(i, 10e-9, MUENCH_DELTA40, model, delta=delta)
        np.testing.assert_array_equal(got, want)
    assert tabulated_write_error_rate_at_drive(2.0, 15e-9, MUENCH_DELTA40) == write_error_rate_at_drive(
        2.0, 15e-9, MUENCH_DELTA40
    )


# Wide spreads put devices in the bridge and the thermal range (exact fallback), the series
# resistance and its spread make the AP junction voltage a fixed-point solve per device.
WIDE = Variability(sigma_r_p_rel=0.1, sigma_tmr_rel=0.1, sigma_v_c_rel=0.2, sigma_r_series_rel=0.2)
LOCATELLI = Variability(sigma_r_p_rel=0.05, sigma_tmr_rel=0.05, sigma_v_c_rel=0.044)


@pytest.mark.parametrize("variability", [LOCATELLI, WIDE], ids=["locatelli", "wide"])
@pytest.mark.parametrize("driver", [IDEAL_DRIVER, LOCATELLI_28NM, Driver(r_series_ohm=2e3, c_line_f=5e-15)])
@pytest.mark.parametrize("polarity", ["p_to_ap", "ap_to_p"])
def test_programming_step_equals_the_exact_path(variability, driver, polarity):
    mtj = MUENCH_DELTA40
    devices = draw_devices(mtj, variability, 20000, np.random.default_rng(5), driver)
    v_src = float(source_voltage_v(2.0 * mtj.vc_v, mtj, driver, "p"))
    for t_s in (5e-9, 15e-9):
        wer, energy = device_write_error_rate_and_energy_j(
            v_src, t_s, devices, mtj, driver, WriteModel(), polarity
        )
        fast_wer, fast_energy = tabulated_device_write_error_rate_and_energy_j(
            v_src, t_s, devices, mtj, driver, WriteModel(), polarity
        )
        np.testing.assert_allclose(fast_energy, energy, rtol=1e-7, atol=0.0)
        assert_within_bound(fast_wer, wer)


def test_programming_step_with_a_delta_spread_uses_the_exact_wer():
    mtj = MUENCH_DELTA40
    devices = draw_devices(mtj, Variability(sigma_delta_rel=0.05), 500, np.random.default_rng(6))
    v_src = 2.0 * mtj.vc_v
    want = device_write_error_rate_and_energy_j(v_src, 15e-9, devices, mtj, IDEAL_DRIVER)
    got = tabulated_device_write_error_rate_and_energy_j(v_src, 15e-9, devices, mtj, IDEAL_DRIVER)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-7, atol=0.0)
