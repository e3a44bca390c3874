import numpy as np
import pytest
import reference
from scipy import stats

from accelsim.kernels.cells import program_cells, retention_step, retention_step_columns
from accelsim.kernels.xnor import pack_bits, pack_thresholded, xnor_popcount
from accelsim.network import integer_bounds


@pytest.mark.parametrize("n_in", [1, 7, 63, 64, 65, 130])
def test_xnor_popcount_equals_reference(rng, n_in):
    x = np.where(rng.random((9, n_in)) < 0.5, 1, -1)
    w = np.where(rng.random((5, n_in)) < 0.5, 1, -1)
    got = xnor_popcount(pack_bits(x), pack_bits(w), n_in)
    assert np.array_equal(got, reference.xnor_popcount(x, w))


def test_program_equals_reference(rng):
    n = 2000
    target = (rng.random(n) < 0.5).astype(np.uint8)
    previous = (rng.random(n) < 0.5).astype(np.uint8)
    p_ap, p_p = rng.random(n), rng.random(n)
    out, n_switch, n_fail = program_cells(target, previous, p_ap, p_p, np.random.default_rng(5))
    expected = reference.program(target, previous, p_ap, p_p, np.random.default_rng(5).random(n))
    assert np.array_equal(out, expected)
    assert n_switch == np.count_nonzero(target != previous)
    assert n_fail == np.count_nonzero(out != target)


def test_retention_equals_reference(rng):
    n = 2000
    states = (rng.random(n) < 0.5).astype(np.uint8)
    p_to_p, p_to_ap = rng.random(n), rng.random(n) * 0.1
    before = states.copy()
    expected = reference.retention_step(states, p_to_p, p_to_ap, np.random.default_rng(9).random(n))
    to_p, to_ap = retention_step(states, p_to_p, p_to_ap, np.random.default_rng(9))
    assert np.array_equal(states, expected)
    assert to_p == np.count_nonzero((before == 1) & (expected == 0)) > 0
    assert to_ap == np.count_nonzero((before == 0) & (expected == 1)) > 0



def test_retention_by_column_group_equals_reference(rng):
    # per-group probabilities on a neuron-major layer: the same cells flip as the per-cell reference
    n_out, n_in, n_groups = 37, 53, 3
    group = rng.integers(0, n_groups, n_out)
    p_to_p_g, p_to_ap_g = rng.random(n_groups) * 0.5, rng.random(n_groups) * 0.05
    states = (rng.random(n_out * n_in) < 0.5).astype(np.uint8)
    before = states.copy()
    per_cell = np.repeat(group, n_in)
    expected = reference.retention_step(states, p_to_p_g[per_cell], p_to_ap_g[per_cell],
                                        np.random.default_rng(4).random(n_out * n_in))
    to_p, to_ap, changed = retention_step_columns(states, n_in, group, p_to_p_g, p_to_ap_g,
                                                  np.random.default_rng(4))
    assert np.array_equal(states, expected)
    assert to_p == np.count_nonzero((before == 1) & (expected == 0)) > 0
    assert to_ap == np.count_nonzero((before == 0) & (expected == 1)) > 0
    moved = np.any(before.reshape(n_out, n_in) != expected.reshape(n_out, n_in), axis=1)
    assert np.array_equal(changed, moved) and 0 < moved.sum() < n_out


@pytest.mark.parametrize("bad", [np.array([0.1, 1.5]), np.array([np.nan, 0.0]), np.array([0.1])])
def test_retention_by_column_group_refuses_bad_probabilities(bad):
    states = np.zeros(8, dtype=np.uint8)
    with pytest.raises(ValueError):
        retention_step_columns(states, 4, np.array([0, 1]), bad, np.zeros(2), np.random.default_rng(0))


def _binomial_interval(n: int, p: float, alpha: float = 1e-6) -> tuple[int, int]:
    return int(stats.binom.ppf(alpha / 2, n, p)), int(stats.binom.isf(alpha / 2, n, p))


@pytest.mark.parametrize("p", [1e-3, 0.05, 0.5])
def test_write_failures_are_binomial(p):
    """Monte Carlo failure count within the two-sided 1e-6 binomial interval of the probability."""
    n = 200_000
    target = np.ones(n, dtype=np.uint8)
    previous = np.zeros(n, dtype=np.uint8)
    _, n_switch, n_fail = program_cells(target, previous, p, 0.0, np.random.default_rng(11))
    lo, hi = _binomial_interval(n_switch, p)
    assert n_switch == n and lo <= n_fail <= hi


def test_retention_flips_are_binomial_and_directional():
    n = 200_000
    states = np.zeros(n, dtype=np.uint8)
    states[: n // 2] = 1
    to_p, to_ap = retention_step(states, 0.02, 0.0, np.random.default_rng(3))
    lo, hi = _binomial_interval(n // 2, 0.02)
    assert lo <= to_p <= hi and to_ap == 0
    assert int(states.sum()) == n // 2 - to_p


def test_no_failure_at_zero_probability():
    target = np.array([1, 0, 1, 0], dtype=np.uint8)
    out, _, n_fail = program_cells(target, 1 - target, 0.0, 0.0, np.random.default_rng(0))
    assert np.array_equal(out, target) and n_fail == 0


@pytest.mark.parametrize("m", [1, 7, 63, 64, 65, 130])
def test_pack_thresholded_equals_thresholding_then_packing_by_hand(m):
    rng = np.random.default_rng(m)
    count = rng.integers(0, 50, (23, m)).astype(np.int32)
    threshold = rng.uniform(-2, 52, m)
    threshold[::3] = np.round(threshold[::3])  # integer thresholds: equality decides
    flip = rng.random(m) < 0.4
    got = pack_thresholded(count, integer_bounds(threshold, flip, count.dtype), flip)
    fires = np.where(flip, count <= threshold, count >= threshold)
    for i in range(23):  # bit order of pack_bits: np.packbits' bytes read as little-endian words
        for j in range(m):
            word, b = divmod(j, 64)
            bit = 8 * (b // 8) + 7 - b % 8
            assert bool((int(got[i, word]) >> bit) & 1) == bool(fires[i, j])
        pad = range(m % 64, 64) if m % 64 else ()  # padding bits stay 0
        assert not any((int(got[i, -1]) >> (8 * (b // 8) + 7 - b % 8)) & 1 for b in pad)


@pytest.mark.parametrize("bad", [-1e-12, 1.0 + 1e-12, np.nan])
def test_cell_kernels_refuse_probabilities_outside_0_1(bad):
    rng = np.random.default_rng(0)
    states = np.zeros(50, dtype=np.uint8)
    p = np.full(50, 0.5)
    p[17] = bad
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        retention_step(states, p, 0.0, rng)
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        program_cells(np.ones(50, np.uint8), states, p, 0.0, rng)
    assert not states.any()  # nothing aged before the refusal
