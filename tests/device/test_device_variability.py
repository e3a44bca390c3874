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
