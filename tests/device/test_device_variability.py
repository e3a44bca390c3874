"""Device-to-device variability: frozen draws, array means, and the longer pulse it needs (003)."""

import math

import numpy as np
import pytest

from accelsim.device import (
    NO_VARIABILITY,
    Variability,
    array_write_energy_j,
    array_write_error_rate,
    device_drive,
    device_write_energy_j,
    device_write_error_rate,
    draw_devices,
    gamma_shape,
    mean_switching_time_s,
    pulse_for_array_wer_s,
    pulse_for_wer_s,
    source_voltage_v,
    write_energy_j,
    write_error_rate,
)
from accelsim.device.presets import HIRTZLIN_32NM, LOCATELLI_28NM, LOCATELLI_2018
from accelsim.device.variability import device_write_error_rate_and_energy_j
from accelsim.errors import ConfigError
from accelsim.rng import stream

MTJ = HIRTZLIN_32NM
DRV = LOCATELLI_28NM
V_SRC = source_voltage_v(2 * MTJ.vc_v, MTJ, DRV, "p")


def test_draws_are_frozen_by_the_seed():
    a = draw_devices(MTJ, LOCATELLI_2018, 1000, stream(7, "variation"), DRV)
    b = draw_devices(MTJ, LOCATELLI_2018, 1000, stream(7, "variation"), DRV)
    c = draw_devices(MTJ, LOCATELLI_2018, 1000, stream(8, "variation"), DRV)
    assert np.array_equal(a.r_p_ohm, b.r_p_ohm) and np.array_equal(a.v_c_v, b.v_c_v)
    assert not np.array_equal(a.r_p_ohm, c.r_p_ohm)
    # switching a spread off does not change the others' draws
    no_vc = Variability(sigma_r_p_rel=0.05, sigma_tmr_rel=0.05)
    d = draw_devices(MTJ, no_vc, 1000, stream(7, "variation"), DRV)
    assert np.array_equal(a.r_p_ohm, d.r_p_ohm) and np.all(d.v_c_v == MTJ.vc_v)
    assert np.std(np.log(a.r_p_ohm)) == pytest.approx(0.05, rel=0.1)


@pytest.mark.parametrize(
    "spreads", [(0.05, 0.05, 0.044, 0.0, 0.0), (0.3, 0.0, 0.1, 0.08, 0.2), (0.0, 0.45, 0.0, 0.45, 0.0)]
)
def test_draws_follow_the_documented_distributions(spreads):
    # The standard normals z[0..4] (R_P, TMR, Vc, Delta, R_series) of the run's stream, transformed
    # as the docstring says; the clips at 5 % of nominal are reached with the 45 % spreads.
    v = Variability(
        sigma_r_p_rel=spreads[0],
        sigma_tmr_rel=spreads[1],
        sigma_v_c_rel=spreads[2],
        sigma_delta_rel=spreads[3],
        sigma_r_series_rel=spreads[4],
    )
    got = draw_devices(MTJ, v, 3000, stream(5, "variation"), DRV)
    z = stream(5, "variation").standard_normal((5, 3000))
    delta = MTJ.delta * np.maximum(1.0 + v.sigma_delta_rel * z[3], 0.05)
    want = {
        "r_p_ohm": MTJ.r_p_ohm * np.exp(v.sigma_r_p_rel * z[0]),
        "tmr0": MTJ.tmr0 * np.maximum(1.0 + v.sigma_tmr_rel * z[1], 0.05),
        "v_c_v": MTJ.vc_v * np.maximum(1.0 + v.sigma_v_c_rel * z[2], 0.05) * delta / MTJ.delta,
        "delta": delta,
        "r_series_ohm": DRV.r_series_ohm * np.exp(v.sigma_r_series_rel * z[4]),
    }
    for name, value in want.items():
        np.testing.assert_allclose(getattr(got, name), value, rtol=1e-7, atol=0.0, err_msg=name)
    assert got.n == 3000


def test_wer_and_energy_from_one_drive_equal_the_separate_functions(rng):
    devices = draw_devices(MTJ, LOCATELLI_2018, 500, rng, DRV)
    for polarity in ("p_to_ap", "ap_to_p"):
        wer, energy = device_write_error_rate_and_energy_j(V_SRC, 9e-9, devices, MTJ, DRV, polarity=polarity)
        np.testing.assert_allclose(
            wer, device_write_error_rate(V_SRC, 9e-9, devices, MTJ, polarity=polarity), rtol=1e-7, atol=0.0
        )
        np.testing.assert_allclose(
            energy, device_write_energy_j(V_SRC, 9e-9, devices, MTJ, DRV, polarity), rtol=1e-7, atol=0.0
        )
        assert wer.shape == energy.shape == (500,) and np.all(energy > 0)


def test_no_variability_reproduces_the_nominal_device(rng):
    devices = draw_devices(MTJ, NO_VARIABILITY, 10, rng, DRV)
    i, v_j, _ = device_drive(V_SRC, devices, MTJ, "p_to_ap")
    assert i == pytest.approx(np.full(10, 2.0)) and v_j == pytest.approx(np.full(10, 2 * MTJ.vc_v))
    t = 12e-9
    assert array_write_error_rate(V_SRC, t, devices, MTJ) == pytest.approx(
        write_error_rate(2 * MTJ.vc_v, t, MTJ)
    )
    assert array_write_energy_j(V_SRC, t, devices, MTJ, DRV) == pytest.approx(
        write_energy_j(V_SRC, t, MTJ, DRV)
    )


def test_high_resistance_devices_get_less_drive(rng):
    devices = draw_devices(MTJ, Variability(sigma_r_p_rel=0.05), 2000, rng, DRV)
    i, v_j, _ = device_drive(V_SRC, devices, MTJ, "p_to_ap")
    order = np.argsort(devices.r_p_ohm)
    assert np.all(np.diff(i[order]) < 0) and np.all(np.diff(v_j[order]) > 0)


def test_variability_lengthens_the_pulse_more_at_low_ber():
    # 003: 15.0 -> 20.5 ns at BER 1e-10 (+36.8 % energy), +17.6 % at 1e-4. Done-when: +25..50 %.
    devices = draw_devices(MTJ, LOCATELLI_2018, 100_000, stream(0, "variation"), DRV)
    penalty = {}
    for ber in (1e-10, 1e-4):
        t0 = pulse_for_wer_s(ber, 2 * MTJ.vc_v, MTJ)
        t_var = pulse_for_array_wer_s(ber, V_SRC, devices, MTJ)
        assert array_write_error_rate(V_SRC, t_var, devices, MTJ) == pytest.approx(ber, rel=1e-6)
        penalty[ber] = t_var / t0 - 1
    assert 0.25 <= penalty[1e-10] <= 0.50
    assert 0.05 < penalty[1e-4] < penalty[1e-10]


def test_array_failures_are_binomial_with_the_device_mean_wer():
    # Monte Carlo of the physical process: each device draws its own gamma switching time.
    devices = draw_devices(MTJ, LOCATELLI_2018, 300_000, stream(3, "variation"), DRV)
    i, _, _ = device_drive(V_SRC, devices, MTJ, "p_to_ap")
    k = gamma_shape(i, MTJ)
    t_mean = mean_switching_time_s(i, MTJ)
    t_sw = stream(3, "write").gamma(k, t_mean / k)
    for t in (6e-9, 8e-9, 10e-9):
        p = np.mean(device_write_error_rate(V_SRC, t, devices, MTJ))
        count = int(np.sum(t_sw > t))
        assert abs(count - devices.n * p) <= 5 * math.sqrt(devices.n * p * (1 - p)) + 1


def test_variability_rejects_bad_sigmas():
    with pytest.raises(ConfigError, match="sigma_r_p_rel"):
        Variability(sigma_r_p_rel=-0.1)
