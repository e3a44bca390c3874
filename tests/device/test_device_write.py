"""Write models: gamma switching time (000/003) and Fokker-Planck (001); invariants, worked numbers,
inverses and a Monte Carlo check of the switching-time distribution."""

import math

import numpy as np
import pytest
from scipy.special import gammaincc, gammainccinv

from accelsim.device import (
    GAMMA,
    MTJ,
    WriteModel,
    critical_current_a,
    drive_for_wer,
    gamma_shape,
    mean_switching_time_s,
    pulse_for_wer_s,
    read_disturb_probability,
    switching_probability,
    voltage_for_wer_v,
    write_error_rate,
    write_error_rate_at_drive,
    write_model,
)
from accelsim.device.presets import HIRTZLIN_32NM, TZOUFRAS_DELTA40
from accelsim.errors import ConfigError

VC = HIRTZLIN_32NM.vc_v


def binomial_ok(count: int, n: int, p: float, z: float = 5.0) -> bool:
    """|count - n p| within z binomial standard deviations (+1 for the discreteness)."""
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p)) + 1


FP_FAST = WriteModel(kind="fokker_planck", n_legendre=96)  # enough for WER >= 1e-6 at i <= 3


@pytest.mark.parametrize(
    "model, n_v, pulses",
    [(GAMMA, 4001, (0.3e-9, 2e-9, 10e-9, 100e-9)), (FP_FAST, 13, (4e-9,))],
    ids=["gamma", "fokker_planck"],
)
def test_wer_is_a_probability_monotone_in_voltage_and_time(model, n_v, pulses):
    mtj = TZOUFRAS_DELTA40
    v = np.linspace(0.0, 3.0, n_v) * mtj.vc_v
    for t in pulses:
        wer = write_error_rate(v, t, mtj, model)
        assert np.all((wer >= 0) & (wer <= 1))
        assert np.all(np.diff(wer) <= 1e-12)
        p = switching_probability(v, t, mtj, model)
        assert p + wer == pytest.approx(np.ones_like(v), abs=1e-9)
    ts = np.array([1e-9, 3e-9, 10e-9, 30e-9])
    wer_t = [write_error_rate(2 * mtj.vc_v, t, mtj, model) for t in ts]
    assert np.all(np.diff(wer_t) < 0)


def test_gamma_calibration_worked_check():
    # PHYSICS.md section 3: k = 16 at 2 Vc, BER 1e-10 at 15 ns -> <t>(2 Vc) = 4.31 ns, and the
    # pulse relative to BER 1e-10 is 0.765, 0.633, 0.560, 0.480, 0.382 at 1e-6 ... 1e-1.
    assert mean_switching_time_s(2.0, HIRTZLIN_32NM) == pytest.approx(4.31e-9, rel=2e-3)
    t10 = pulse_for_wer_s(1e-10, 2 * VC, HIRTZLIN_32NM)
    assert t10 == pytest.approx(15e-9, rel=2e-3)
    rel = pulse_for_wer_s(np.array([1e-6, 1e-4, 1e-3, 1e-2, 1e-1]), 2 * VC, HIRTZLIN_32NM) / t10
    assert rel == pytest.approx([0.765, 0.633, 0.560, 0.480, 0.382], abs=1.5e-3)
    # ... and BER 1e-2, 1e-4, 1e-6, 1e-8 at 7.2, 9.5, 11.5, 13.3 ns.
    ber = write_error_rate(2 * VC, np.array([7.2, 9.5, 11.5, 13.3])[:, None] * 1e-9, HIRTZLIN_32NM)
    assert np.log10(ber.ravel()) == pytest.approx([-2, -4, -6, -8], abs=0.08)


def test_gamma_shape_bridges_to_exponential_below_threshold():
    # ln k is linear in i between x_thermal_max = 0.7 (k = 1) and x_sun_min = 1.5 (k = 16), h = 0:
    # k(1.0) = 16^(0.3/0.8) = 2 sqrt(2), k(1.1) = 16^(0.4/0.8) = 4 (Delta 70 leaves x_lo at 0.7).
    i = np.array([0.2, 0.7, 1.0, 1.1, 1.5, 2.0, 3.0])
    k = gamma_shape(i, HIRTZLIN_32NM)
    assert k == pytest.approx([1, 1, 2 * math.sqrt(2), 4, 16, 16, 16], rel=1e-7)
    # Sun thermal-angle shape depends on Delta only: 16.2 at Delta 40.
    k_sun = gamma_shape(2.0, TZOUFRAS_DELTA40, WriteModel(shape_model="sun_thermal"))
    assert k_sun == pytest.approx(16.2, abs=0.1)


def test_gamma_shape_from_fokker_planck_moments():
    # PHYSICS.md section 3: moment fit to Fokker-Planck, k = 8.3, 10.9, 13.5 at 1.5, 2, 3 Vc.
    k = gamma_shape(np.array([1.5, 2.0, 3.0]), TZOUFRAS_DELTA40, WriteModel(shape_model="fokker_planck"))
    assert k == pytest.approx([8.3, 10.9, 13.5], abs=0.06)


@pytest.mark.parametrize("delta", [15.0, 40.0, 70.0])
def test_mean_switching_time_continuous_and_monotone(delta):
    mtj = MTJ(diameter_m=32e-9, ra_ohm_m2=4e-12, tmr0=1.5, v_c_v=0.19, delta=delta, tau_d_s=1.5e-9)
    i = np.linspace(0.0, 4.0, 4001)
    t = mean_switching_time_s(i, mtj)
    assert np.all(np.diff(t) <= 0)
    assert np.max(np.abs(np.diff(np.log(t)))) < 0.2  # no jump at the bridge ends (step 1e-3 in i)
    # Sun above x_sun_min: tau_c / (i - 1)
    assert t[3000] == pytest.approx(mean_switching_time_s(2.0, mtj) / 2.0, rel=1e-9)


def test_read_disturb_beta1_worked_numbers():
    # PHYSICS.md section 7: Delta 40, t_read 10 ns, beta 1: 1.3e-13 (i 0.2), 2.6e-11 (0.33), 2.1e-8 (0.5).
    ic = critical_current_a(TZOUFRAS_DELTA40, "p_to_ap")
    p = read_disturb_probability(
        np.array([0.2, 1 / 3, 0.5]) * ic, 10e-9, TZOUFRAS_DELTA40, WriteModel(thermal_beta=1)
    )
    assert p == pytest.approx([1.3e-13, 2.6e-11, 2.1e-8], rel=0.04)
    p2 = read_disturb_probability(np.array([0.2, 1 / 3, 0.5]) * ic, 10e-9, TZOUFRAS_DELTA40)
    # beta = 2 is 3-4 orders of magnitude more pessimistic (PHYSICS.md lists 1.0e-10, 2.0e-7, 3.0e-4;
    # the formula with tau0 = 1 ns gives 7.6e-11, 1.9e-7, 4.5e-4).
    assert p2 == pytest.approx([7.6e-11, 1.9e-7, 4.54e-4], rel=0.02)
    assert np.all(np.diff(p2) > 0)


def test_inverse_functions_round_trip_gamma():
    for wer in (1e-10, 1e-4, 1e-2, 0.3):
        t = pulse_for_wer_s(wer, 2.2 * VC, HIRTZLIN_32NM)
        assert write_error_rate(2.2 * VC, t, HIRTZLIN_32NM) == pytest.approx(wer, rel=1e-6)
        v = voltage_for_wer_v(wer, 12e-9, HIRTZLIN_32NM)
        assert write_error_rate(v, 12e-9, HIRTZLIN_32NM) == pytest.approx(wer, rel=1e-6)
    # Both polarities at 2 Vc (no stray field: i_c = 1, Delta_s = Delta), from the formulas by hand:
    # <t> = tau_c / (2 - 1), tau_c = (tau_D / 2)(gamma_E + ln(pi^2 Delta / 4)); WER = Q(16, 16 t / <t>).
    m = HIRTZLIN_32NM
    tau_c = 0.5 * m.tau_d_s * (0.5772156649015329 + math.log(math.pi**2 * m.delta / 4.0))
    by_hand = gammaincc(16.0, 16.0 * 10e-9 / tau_c)
    for polarity in ("p_to_ap", "ap_to_p"):
        assert write_error_rate(2 * VC, 10e-9, m, polarity=polarity) == pytest.approx(by_hand, rel=1e-9)


def test_inverse_functions_round_trip_fokker_planck():
    mtj = TZOUFRAS_DELTA40
    t = pulse_for_wer_s(1e-3, 2.0 * mtj.vc_v, mtj, FP_FAST)
    assert write_error_rate(2.0 * mtj.vc_v, t, mtj, FP_FAST) == pytest.approx(1e-3, rel=1e-6)
    i = drive_for_wer(1e-2, 10e-9, mtj, FP_FAST)
    assert write_error_rate_at_drive(i, 10e-9, mtj, FP_FAST) == pytest.approx(1e-2, rel=1e-6)
    assert i == pytest.approx(1.7625, abs=2e-3)  # PHYSICS.md section 4 table


def test_gamma_switching_times_monte_carlo(rng):
    # Draw switching times from Gamma(k, <t>/k) and count those longer than the pulse.
    n = 200_000
    i = 1.8
    k = gamma_shape(i, HIRTZLIN_32NM)
    t_mean = mean_switching_time_s(i, HIRTZLIN_32NM)
    t_sw = rng.gamma(k, t_mean / k, size=n)
    for t in (5e-9, 8e-9, 11e-9):
        p = write_error_rate(i * VC, t, HIRTZLIN_32NM)
        assert binomial_ok(int(np.sum(t_sw > t)), n, p)
    # the 1e-10 pulse: no draw out of 2e5 should exceed it (expected 2e-5)
    assert np.sum(t_sw > pulse_for_wer_s(1e-10, i * VC, HIRTZLIN_32NM)) == 0
    assert gammainccinv(16, 1e-10) / 16 == pytest.approx(3.484, abs=1e-3)


def test_write_model_by_name_and_validation():
    assert write_model("fokker-planck").kind == "fokker_planck"
    assert write_model("gamma") is GAMMA
    with pytest.raises(ConfigError, match="gamma"):
        write_model("sun")
    with pytest.raises(ConfigError, match="x_thermal_max"):
        WriteModel(x_thermal_max=1.2)
    with pytest.raises(ConfigError, match="shape_k"):
        WriteModel(shape_k=0.5)


@pytest.mark.parametrize("n", [1, 7, 5000])
def test_unique_pairs_equals_numpy_row_unique(n):
    from accelsim.device.write import _unique_pairs

    gen = np.random.default_rng(n)
    for a, b in (
        (np.full(n, 15e-9), gen.normal(40.0, 1.0, n)),
        (gen.choice([1e-9, 2e-9], n), gen.choice(np.linspace(39.0, 41.0, 32), n)),
    ):
        keys, inv = np.unique(np.stack([a, b], axis=1), axis=0, return_inverse=True)
        got_keys, got_inv = _unique_pairs(a, b)
        np.testing.assert_array_equal(got_keys, keys)
        np.testing.assert_array_equal(got_inv, inv.ravel())
