"""Two-phase sensing kernel against a slow per-cell reference and the XNOR kernel."""

import numpy as np
import pytest

from accelsim.kernels.sensing import sense_two_phase, tile_masks
from accelsim.kernels.xnor import pack_bits, xnor_popcount


def reference_sense(x_pm1, states, tile_rows, *, plus_one_ap=True, misread=False, disturb_ap=False,
                    n_phases=2):
    """Per-cell two-phase sensing. ``misread``: every read comes out as the other state (p = 1);
    ``disturb_ap``: every read AP cell flips to P after the image (p = 1); ``n_phases`` 1: only the
    rows of +1 inputs are read. Returns (popcount, activity [phase, state], rows [phase]) and updates
    ``states``."""
    n_img, n_in = x_pm1.shape
    n_out = states.shape[0]
    pop = np.zeros((n_img, n_out), dtype=np.int64)
    act = np.zeros((2, 2), dtype=np.int64)
    rows = np.zeros(2, dtype=np.int64)
    counted = (1, 0) if plus_one_ap else (0, 1)  # state counted in phase 1, phase 2
    for i in range(n_img):
        for start in range(0, n_in, tile_rows):
            for phase, sign in enumerate((1, -1)[:n_phases]):
                active = [k for k in range(start, min(start + tile_rows, n_in)) if x_pm1[i, k] == sign]
                rows[phase] += len(active)
                for j in range(n_out):
                    for k in active:
                        s = int(states[j, k])
                        act[phase, s] += 1
                        read = 1 - s if misread else s
                        pop[i, j] += read == counted[phase]
        if disturb_ap:
            read_rows = np.ones(n_in, bool) if n_phases == 2 else x_pm1[i] == 1
            states[:, read_rows] = np.where(states[:, read_rows] == 1, 0, states[:, read_rows])
    return pop, act, rows


def _case(rng, n_img, n_in, n_out):
    x = np.where(rng.random((n_img, n_in)) < 0.5, 1, -1).astype(np.int8)
    w = np.where(rng.random((n_out, n_in)) < 0.4, 1, -1).astype(np.int8)
    return x, w


@pytest.mark.parametrize("tile_rows", [1, 7, 63, 64, 65, 100, 150, 1000])
@pytest.mark.parametrize("plus_one_ap", [True, False])
def test_error_free_sensing_equals_xnor_for_any_tiling(rng, tile_rows, plus_one_ap):
    x, w = _case(rng, 9, 150, 11)
    states = ((w > 0) == plus_one_ap).astype(np.uint8)
    xw = pack_bits(x)
    r = sense_two_phase(xw, states, tile_rows, plus_one_ap=plus_one_ap)
    np.testing.assert_array_equal(r.popcount, xnor_popcount(xw, pack_bits(w), 150))
    assert r.n_misreads == 0 and r.n_disturbed == 0


@pytest.mark.parametrize("tile_rows", [5, 64, 130])
def test_activity_counts_match_reference(rng, tile_rows):
    x, w = _case(rng, 6, 130, 7)
    states = (w > 0).astype(np.uint8)
    pop, act, rows = reference_sense(x, states.copy(), tile_rows)
    r = sense_two_phase(pack_bits(x), states, tile_rows)
    np.testing.assert_array_equal(r.popcount, pop)
    np.testing.assert_array_equal(r.n_active_cells[:, 0, :], act)
    np.testing.assert_array_equal(r.n_active_rows, rows)
    assert r.n_active_rows.sum() == 6 * 130  # every row is active in exactly one phase


def test_activity_is_split_by_column_group(rng):
    x, w = _case(rng, 4, 70, 6)
    states = (w > 0).astype(np.uint8)
    group = np.array([0, 1, 0, 1, 1, 0])
    r = sense_two_phase(pack_bits(x), states, 32, neuron_group=group, n_groups=2)
    for g in range(2):
        sub = sense_two_phase(pack_bits(x), np.ascontiguousarray(states[group == g]), 32)
        np.testing.assert_array_equal(r.n_active_cells[:, g, :], sub.n_active_cells[:, 0, :])


@pytest.mark.parametrize("plus_one_ap", [True, False])
def test_certain_misreads_match_reference(rng, plus_one_ap):
    x, w = _case(rng, 5, 90, 8)
    states = ((w > 0) == plus_one_ap).astype(np.uint8)
    pop, _, _ = reference_sense(x, states.copy(), 40, plus_one_ap=plus_one_ap, misread=True)
    r = sense_two_phase(pack_bits(x), states, 40, plus_one_ap=plus_one_ap, p_misread_p=1.0,
                        p_misread_ap=1.0, rng=rng)
    np.testing.assert_array_equal(r.popcount, pop)
    assert r.n_misreads == 5 * 90 * 8


def test_certain_disturb_matches_reference_and_updates_states(rng):
    x, w = _case(rng, 4, 100, 6)
    states = (w > 0).astype(np.uint8)
    ref_states = states.copy()
    pop, _, _ = reference_sense(x, ref_states, 30, disturb_ap=True)
    n_ap = int(states.sum())
    r = sense_two_phase(pack_bits(x), states, 30, p_disturb_ap=1.0, rng=rng)
    np.testing.assert_array_equal(r.popcount, pop)
    np.testing.assert_array_equal(states, ref_states)
    assert r.n_disturbed == n_ap


def test_partial_disturb_flips_only_ap_cells_and_reports_them(rng):
    x, w = _case(rng, 3, 200, 20)
    states = (w > 0).astype(np.uint8)
    before = states.copy()
    r = sense_two_phase(pack_bits(x), states, 64, p_disturb_ap=0.3, rng=rng)
    assert np.all(states <= before)  # AP -> P only
    assert int(before.sum() - states.sum()) == r.n_disturbed > 0
    # first image sees every AP cell once: flips ~ Binomial(n_ap, 0.3), then fewer AP cells remain
    assert r.n_disturbed <= before.sum()


def test_misread_statistics_within_binomial_bounds():
    rng = np.random.default_rng(7)
    x, w = _case(rng, 200, 128, 16)
    states = (w > 0).astype(np.uint8)
    xw = pack_bits(x)
    exact = xnor_popcount(xw, pack_bits(w), 128)
    p = 0.01
    r = sense_two_phase(xw, states, 50, p_misread_p=p, p_misread_ap=p, rng=rng)
    n_reads = 200 * 128 * 16
    assert abs(r.n_misreads - p * n_reads) < 5 * np.sqrt(n_reads * p * (1 - p))
    # E[observed - exact] = p (non-matching - matching) per neuron and image
    bias = (r.popcount - exact).astype(float)
    expected = p * ((128 - exact) - exact)
    assert abs(bias.mean() - expected.mean()) < 5 * np.sqrt(p * 128 / bias.size)


def test_same_seed_same_result_and_p_zero_needs_no_rng(rng):
    x, w = _case(rng, 30, 100, 9)
    states = (w > 0).astype(np.uint8)
    a = sense_two_phase(pack_bits(x), states, 33, p_misread_ap=0.05, rng=np.random.default_rng(3))
    b = sense_two_phase(pack_bits(x), states, 33, p_misread_ap=0.05, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.popcount, b.popcount)
    with pytest.raises(ValueError, match="Generator"):
        sense_two_phase(pack_bits(x), states, 33, p_misread_ap=0.05)


def test_validation(rng):
    x, w = _case(rng, 2, 70, 3)
    states = (w > 0).astype(np.uint8)
    with pytest.raises(TypeError, match="uint8"):
        sense_two_phase(pack_bits(x), states.astype(np.int64), 8)
    with pytest.raises(ValueError, match="x_words"):
        sense_two_phase(pack_bits(x)[:, :1], states, 8)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sense_two_phase(pack_bits(x), states, 8, p_misread_p=1.5, rng=rng)
    with pytest.raises(ValueError, match="neuron_group"):
        sense_two_phase(pack_bits(x), states, 8, neuron_group=np.array([0, 1, 2]), n_groups=2)


def test_tile_masks_partition_the_rows():
    masks, lo, hi = tile_masks(150, 40)
    assert masks.shape[0] == 4
    ones = [sum(bin(int(v)).count("1") for v in row) for row in masks]
    assert ones == [40, 40, 40, 30]
    assert list(lo) == [0, 0, 1, 1] and list(hi) == [1, 2, 2, 3]


@pytest.mark.parametrize("plus_one_ap", [True, False])
@pytest.mark.parametrize("tile_rows", [7, 64, 130])
def test_one_phase_reads_only_the_rows_of_one_inputs(rng, plus_one_ap, tile_rows):
    x, w = _case(rng, 5, 130, 6)
    states = ((w > 0) == plus_one_ap).astype(np.uint8)
    pop, act, rows = reference_sense(x, states.copy(), tile_rows, plus_one_ap=plus_one_ap, n_phases=1)
    r = sense_two_phase(pack_bits(x), states, tile_rows, plus_one_ap=plus_one_ap, n_phases=1)
    np.testing.assert_array_equal(r.popcount, pop)
    # c = #{x = 1 and w = +1}, whatever the convention
    np.testing.assert_array_equal(r.popcount, (x == 1).astype(int) @ (w == 1).T.astype(int))
    np.testing.assert_array_equal(r.n_active_cells[:, 0, :], act)
    np.testing.assert_array_equal(r.n_active_rows, [(x == 1).sum(), 0])


def test_one_phase_misreads_and_disturb_touch_only_read_rows(rng):
    x, w = _case(rng, 4, 70, 5)
    states = (w > 0).astype(np.uint8)
    ref_states = states.copy()
    pop, _, _ = reference_sense(x, ref_states, 70, misread=True, disturb_ap=True, n_phases=1)
    r = sense_two_phase(pack_bits(x), states, 70, n_phases=1, p_misread_p=1.0, p_misread_ap=1.0,
                        p_disturb_ap=1.0, rng=rng)
    np.testing.assert_array_equal(r.popcount, pop)
    np.testing.assert_array_equal(states, ref_states)  # AP cells on never-read rows keep their state
    assert r.n_misreads == 5 * (x == 1).sum()


def test_unipolar_count_stands_for_the_xnor_popcount(rng):
    from accelsim.mapping import unipolar_popcount

    x, w = _case(rng, 8, 150, 9)
    states = (w > 0).astype(np.uint8)
    xw = pack_bits(x)
    r = sense_two_phase(xw, states, 64, n_phases=1)
    equiv = unipolar_popcount(r.popcount, (x == 1).sum(axis=1), (w == 1).sum(axis=1), 150)
    np.testing.assert_array_equal(equiv, xnor_popcount(xw, pack_bits(w), 150))
