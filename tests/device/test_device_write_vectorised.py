"""The gamma write model over many cells at once equals the same model evaluated one cell at a time.

The per-cell path (a scalar drive per call, the obviously correct reference) is what a programming
step would compute cell by cell; the array path evaluates all cells at once, in cache-sized chunks
when the pulse and Delta are shared, and must give the same probabilities.
"""

import numpy as np
import pytest

from accelsim.device import MTJ, WriteModel, switching_probability_at_drive, write_error_rate_at_drive
from accelsim.device import write as write_module
from accelsim.device.presets import HIRTZLIN_32NM, MUENCH_DELTA40

# A junction with a stray field (i_c = 1 +- h, Delta_s != Delta) and a low-Delta one whose bridge
# starts below x_thermal_max (the thermal time already meets Sun's there: the flat-bridge branch).
STRAY = MTJ(diameter_m=32e-9, ra_ohm_m2=4e-12, tmr0=1.5, v_c_v=0.19, delta=45.0, tau_d_s=1.5e-9, h_stray=0.05)
LOW_DELTA = MTJ(diameter_m=32e-9, ra_ohm_m2=4e-12, tmr0=1.5, v_c_v=0.19, delta=15.0, tau_d_s=1.5e-9)
MODELS = [WriteModel(), WriteModel(shape_model="sun_thermal", thermal_beta=1.0)]


def per_cell(i, t_s, mtj, model, polarity, delta, switching):
    """The reference: one scalar call per cell."""
    f = switching_probability_at_drive if switching else write_error_rate_at_drive
    t = np.broadcast_to(t_s, i.shape)
    d = np.broadcast_to(mtj.delta if delta is None else delta, i.shape)
    return np.array([f(float(a), float(b), mtj, model, polarity, delta=float(c)) for a, b, c in zip(i, t, d)])


def drives(n, seed):
    """Drives over the thermal range, the bridge and Sun's range, plus the bridge ends exactly."""
    gen = np.random.default_rng(seed)
    return np.concatenate([gen.uniform(0.0, 3.5, n - 4), [0.7, 1.5, 0.7 * 1.05, 1.5 * 0.95]])


@pytest.mark.parametrize("mtj", [HIRTZLIN_32NM, MUENCH_DELTA40, STRAY, LOW_DELTA], ids=lambda m: m.name)
@pytest.mark.parametrize("model", MODELS, ids=["constant_k", "sun_thermal_beta1"])
@pytest.mark.parametrize("polarity", ["p_to_ap", "ap_to_p"])
def test_shared_pulse_and_delta_equal_the_per_cell_model(mtj, model, polarity, monkeypatch):
    monkeypatch.setattr(write_module, "_CHUNK", 37)  # several chunks, the last one partial
    i = drives(121, 1)
    for t_s in (2e-9, 15e-9):
        for switching in (False, True):
            f = switching_probability_at_drive if switching else write_error_rate_at_drive
            # one Delta given as a scalar, as an array of equal values (drawn devices), or implied
            for delta in (None, np.full(i.size, mtj.delta)):
                got = f(i, t_s, mtj, model, polarity, delta=delta)
                want = per_cell(i, t_s, mtj, model, polarity, delta, switching)
                np.testing.assert_allclose(got, want, rtol=1e-7, atol=0.0)
                assert np.all((got >= 0) & (got <= 1))


@pytest.mark.parametrize("polarity", ["p_to_ap", "ap_to_p"])
def test_per_cell_pulses_and_deltas_equal_the_per_cell_model(polarity):
    # Few distinct (pulse, Delta) pairs: each gets its own bridge envelope, as a single cell would.
    gen = np.random.default_rng(2)
    i = drives(240, 3)
    t = gen.choice([3e-9, 9e-9, 15e-9], i.size)
    delta = gen.choice([38.0, 40.0, 44.0], i.size)
    for switching in (False, True):
        f = switching_probability_at_drive if switching else write_error_rate_at_drive
        got = f(i, t, MUENCH_DELTA40, WriteModel(), polarity, delta=delta)
        want = per_cell(i, t, MUENCH_DELTA40, WriteModel(), polarity, delta, switching)
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=0.0)


def test_chunks_do_not_change_the_numbers(monkeypatch):
    i = drives(5000, 4)
    whole = write_error_rate_at_drive(i, 15e-9, MUENCH_DELTA40)
    monkeypatch.setattr(write_module, "_CHUNK", 1000)
    chunked = write_error_rate_at_drive(i, 15e-9, MUENCH_DELTA40)
    np.testing.assert_allclose(chunked, whole, rtol=1e-7, atol=0.0)


def test_shapes_follow_broadcasting():
    # a scalar drive against an array of equal Deltas gives one value per device, and scalars a float
    wer = write_error_rate_at_drive(2.0, 15e-9, MUENCH_DELTA40, delta=np.full(4, 40.0))
    assert wer.shape == (4,) and np.all(wer == wer[0])
    assert wer[0] == pytest.approx(write_error_rate_at_drive(2.0, 15e-9, MUENCH_DELTA40), rel=1e-7)
    assert isinstance(write_error_rate_at_drive(2.0, 15e-9, MUENCH_DELTA40), float)
    grid = write_error_rate_at_drive(np.array([[1.8], [2.2]]), np.array([10e-9, 15e-9, 20e-9]), HIRTZLIN_32NM)
    assert grid.shape == (2, 3)
    assert np.all(np.diff(grid, axis=0) < 0) and np.all(np.diff(grid, axis=1) < 0)
