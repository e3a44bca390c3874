"""The sensing kernel's fast paths: packed states with cached AP counts, thread-count independence,
and per-read error statistics against the read-by-read reference (tests/reference.py)."""

import math

import numba
import numpy as np
import pytest
import reference
from scipy import stats

from accelsim.kernels import sensing
from accelsim.kernels.sensing import PackedStates, _exponential, _gap, sense_two_phase
from accelsim.kernels.xnor import pack_bits, xnor_popcount


def _case(rng, n_img, n_in, n_out, p_plus=0.4):
    x = np.where(rng.random((n_img, n_in)) < 0.5, 1, -1).astype(np.int8)
    w = np.where(rng.random((n_out, n_in)) < p_plus, 1, -1).astype(np.int8)
    return x, (w > 0).astype(np.uint8)


def _result_tuple(r, states):
    return (r.popcount.copy(), r.n_active_cells.copy(), r.n_active_rows.copy(), r.n_misreads,
            r.n_disturbed, states.copy())


# ---------------------------------------------------------------- packed states, cached complement


@pytest.mark.parametrize("n_phases", [1, 2])
@pytest.mark.parametrize("plus_one_ap", [True, False])
def test_error_free_sensing_equals_reference(rng, n_phases, plus_one_ap):
    """Counts and activity as the reference counts them read by read; 300 images span several
    image blocks of the kernel."""
    x, states = _case(rng, 300, 97, 70)
    pop, act, rows, _, _ = reference.sense(x[:40], states.copy(), plus_one_ap=plus_one_ap,
                                            n_phases=n_phases)
    r = sense_two_phase(pack_bits(x), states, 50, plus_one_ap=plus_one_ap, n_phases=n_phases)
    np.testing.assert_array_equal(r.popcount[:40], pop)
    sub = sense_two_phase(pack_bits(x[:40]), states, 50, plus_one_ap=plus_one_ap, n_phases=n_phases)
    np.testing.assert_array_equal(sub.n_active_cells[:, 0, :], act)
    np.testing.assert_array_equal(sub.n_active_rows, rows)
    if n_phases == 2:
        w = np.where(states == 1, 1, -1) if plus_one_ap else np.where(states == 1, -1, 1)
        np.testing.assert_array_equal(r.popcount, xnor_popcount(pack_bits(x), pack_bits(w), 97))


def test_packed_states_cache_n_ap_and_refresh_only_changed_columns(rng):
    x, states = _case(rng, 20, 130, 300)
    packed = PackedStates.from_states(states)
    np.testing.assert_array_equal(packed.n_ap, states.sum(axis=1))
    cols = np.array([0, 17, 255, 256, 299])
    states[cols, rng.integers(0, 130, cols.size)] ^= 1
    stale = sense_two_phase(pack_bits(x), states, 64, packed=packed)
    packed.refresh(states, cols)
    fresh = PackedStates.from_states(states)
    np.testing.assert_array_equal(packed.w_t, fresh.w_t)
    np.testing.assert_array_equal(packed.n_ap, fresh.n_ap)
    r = sense_two_phase(pack_bits(x), states, 64, packed=packed)
    np.testing.assert_array_equal(r.popcount, sense_two_phase(pack_bits(x), states, 64).popcount)
    # the stale cache sensed the old cells: only the changed columns differ
    changed = np.flatnonzero(np.any(stale.popcount != r.popcount, axis=0))
    assert set(changed) <= set(cols) and len(changed) > 0
    with pytest.raises(ValueError, match="match"):
        sense_two_phase(pack_bits(x), states[:10], 64, packed=packed)


def test_disturb_updates_the_packed_cache_with_the_states(rng):
    x, states = _case(rng, 30, 100, 300)
    before = states.copy()
    packed = PackedStates.from_states(states)
    r = sense_two_phase(pack_bits(x), states, 64, p_disturb_ap=0.001, rng=rng,
                        packed=packed)
    assert r.n_disturbed == int((states != before).sum()) > 0
    fresh = PackedStates.from_states(states)
    np.testing.assert_array_equal(packed.w_t, fresh.w_t)
    np.testing.assert_array_equal(packed.n_ap, fresh.n_ap)
    np.testing.assert_array_equal(r.disturbed_columns, np.flatnonzero(np.any(states != before, axis=1)))
    assert r.disturbed_columns.size < 300


# ---------------------------------------------------------------- thread-count independence


@pytest.mark.parametrize("n_phases", [1, 2])
@pytest.mark.parametrize("disturb", [False, True])
@pytest.mark.parametrize("parallel_from", [0, 1 << 62])
def test_results_do_not_depend_on_the_thread_count(monkeypatch, n_phases, disturb, parallel_from):
    """1, 2, then 1 thread again; the parallel kernel and (parallel_from huge) its serial twin."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread available")
    monkeypatch.setattr(sensing, "_PARALLEL_WORDS", parallel_from)
    rng = np.random.default_rng(3)
    x, states = _case(rng, 333, 200, 600)  # several image and neuron blocks
    kwargs = dict(n_phases=n_phases, p_misread_p=0.003, p_misread_ap=0.01,
                  p_disturb_ap=0.002 if disturb else 0.0, p_disturb_p=0.001 if disturb else 0.0)
    results = []
    old = numba.get_num_threads()
    try:
        for threads in (1, 2, 1):
            numba.set_num_threads(threads)
            s = states.copy()
            r = sense_two_phase(pack_bits(x), s, 64, rng=np.random.default_rng(5), **kwargs)
            results.append(_result_tuple(r, s))
    finally:
        numba.set_num_threads(old)
    assert results[0][3] > 0 and (results[0][4] > 0 or not disturb)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
    if not disturb:  # the serial twin and the parallel kernel draw alike
        monkeypatch.setattr(sensing, "_PARALLEL_WORDS", (1 << 62) - parallel_from)
        s = states.copy()
        r = sense_two_phase(pack_bits(x), s, 64, rng=np.random.default_rng(5), **kwargs)
        for a, b in zip(results[0], _result_tuple(r, s)):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- per-read statistics


def test_exponential_and_geometric_gaps_have_their_distributions():
    @numba.njit
    def draw(n, scale):
        st = np.uint64(12345)
        e = np.empty(n)
        g = np.empty(n, dtype=np.int64)
        for k in range(n):
            st, e[k] = _exponential(st)
        for k in range(n):
            st, g[k] = _gap(st, scale)
        return e, g

    n, p = 200_000, 0.3
    e, g = draw(n, -1.0 / math.log1p(-p))
    assert stats.kstest(e, "expon").pvalue > 1e-4
    ks = np.arange(12)
    observed = np.array([np.sum(g == k) for k in ks] + [np.sum(g >= 12)])
    expected = n * np.append(p * (1 - p) ** ks, (1 - p) ** 12)
    assert stats.chisquare(observed, expected).pvalue > 1e-4
    _, zero = draw(10, 0.0)  # p = 1: every read is an event
    assert not zero.any()


@pytest.mark.parametrize("n_phases", [1, 2])
@pytest.mark.parametrize("plus_one_ap", [True, False])
def test_per_image_misread_counts_match_the_reference_distribution(n_phases, plus_one_ap):
    """Same inputs for every image, so each image's count change is i.i.d.: its distribution
    (lost ~ Bin(counted reads, p_s), gained ~ Bin(other reads, p_s) per state) against the
    read-by-read reference's, two-sample, for one neuron of each cell mix."""
    rng = np.random.default_rng(11)
    n_in, n_out = 120, 3
    x1, states = _case(rng, 1, n_in, n_out)
    p_p, p_ap = 0.02, 0.07
    kw = dict(plus_one_ap=plus_one_ap, n_phases=n_phases, p_misread_p=p_p, p_misread_ap=p_ap)
    exact = sense_two_phase(pack_bits(x1), states, 64, plus_one_ap=plus_one_ap,
                            n_phases=n_phases).popcount[0]
    x = np.repeat(x1, 4000, axis=0)
    fast = sense_two_phase(pack_bits(x), states, 64, rng=np.random.default_rng(2), **kw).popcount
    slow, _, _, _, _ = reference.sense(x[:1500], states.copy(), rng=np.random.default_rng(4), **kw)
    for j in range(n_out):
        assert stats.ks_2samp(fast[:, j] - exact[j], slow[:, j] - exact[j]).pvalue > 1e-4
        # and the exact mean: p (uncounted - counted reads) per state
        pop, act, _, _, _ = reference.sense(x1, states[j:j + 1].copy(), plus_one_ap=plus_one_ap,
                                            n_phases=n_phases)
        read = n_in if n_phases == 2 else int((x1 == 1).sum())
        n_ap_read = int(act[:, 1].sum())
        c = int(pop[0, 0])
        counted_ap = int(act[0, 1]) if plus_one_ap else int(act[1, 1])
        counted_p = c - counted_ap
        mean = p_ap * (n_ap_read - 2 * counted_ap) + p_p * (read - n_ap_read - 2 * counted_p)
        var = p_ap * (1 - p_ap) * n_ap_read + p_p * (1 - p_p) * (read - n_ap_read)
        d = fast[:, j] - exact[j]
        assert abs(d.mean() - mean) < 5 * math.sqrt(var / d.size)


def test_partial_disturb_matches_the_reference_distribution():
    """Flips per image of a read-disturbed layer (AP cells at 0.02, P at 0.005 per read) against the
    reference, over independent short runs; and the cells that flipped are the read ones."""
    n_in, n_out, n_img, runs = 40, 5, 4, 300
    rng = np.random.default_rng(17)
    x, states = _case(rng, n_img, n_in, n_out, p_plus=0.5)
    kw = dict(n_phases=1, p_disturb_ap=0.02, p_disturb_p=0.005, p_misread_ap=0.01)
    fast, slow = [], []
    for k in range(runs):
        s = states.copy()
        r = sense_two_phase(pack_bits(x), s, 16, rng=np.random.default_rng(100 + k), **kw)
        fast.append((r.n_disturbed, int(r.popcount.sum()), r.n_misreads))
        assert not np.any(s[:, ~np.any(x == 1, axis=0)] != states[:, ~np.any(x == 1, axis=0)])
        s = states.copy()
        pop, _, _, mis, flips = reference.sense(x, s, rng=np.random.default_rng(900 + k), **kw)
        slow.append((flips, int(pop.sum()), mis))
    fast, slow = np.array(fast), np.array(slow)
    for col in range(3):
        assert stats.mannwhitneyu(fast[:, col], slow[:, col]).pvalue > 1e-4


# ---------------------------------------------------------------- sparse changes


@pytest.mark.parametrize("n_phases", [1, 2])
@pytest.mark.parametrize("plus_one_ap", [True, False])
def test_applying_changed_cells_equals_sensing_again(n_phases, plus_one_ap):
    """Random fault patterns (a few cells to many, some flipped twice back): the updated counts and
    per-image activity equal a fresh sensing with the new states, bit for bit."""
    from accelsim.kernels.sensing import apply_flips

    rng = np.random.default_rng(23)
    x, states = _case(rng, 150, 130, 40)
    xw = pack_bits(x)
    group = rng.integers(0, 3, 40)
    kw = dict(plus_one_ap=plus_one_ap, n_phases=n_phases, neuron_group=group)
    for n_flips in (1, 7, 300, 3000):
        base = sense_two_phase(xw, states, 64, n_groups=3, **kw)
        pop, act = base.popcount.copy(), base.active_cells.copy()
        before = states.copy()
        j, k = rng.integers(0, 40, n_flips), rng.integers(0, 130, n_flips)
        states[j, k] ^= 1
        cj, ck = np.nonzero(states != before)
        apply_flips(xw, pop, act, (cj, ck), states[cj, ck], **kw)
        fresh = sense_two_phase(xw, states, 64, n_groups=3, **kw)
        np.testing.assert_array_equal(pop, fresh.popcount)
        np.testing.assert_array_equal(act, fresh.active_cells)
        assert n_flips < 10 or not np.array_equal(pop, base.popcount)


# ---------------------------------------------------------------- register-blocked tiles


@pytest.mark.parametrize("n_phases", [1, 2])
@pytest.mark.parametrize("plus_one_ap", [True, False])
def test_tiles_and_their_remainders_equal_the_reference(monkeypatch, n_phases, plus_one_ap):
    """The 4-image x 64-neuron tiles and what is left of them: 85 images (a full image block, then
    five tiles' worth and 1 single image), 333 neurons (a full neuron block, then one tile and 13
    neurons of a narrow tile), 130 inputs (3 words, the last mostly padding), three column groups
    mixed within tiles. Images 56..84 (block 0's last tile, all of block 1's paths) against the read-by-read
    reference group by group; every image's XNOR popcount against the reference's; the parallel
    kernel gives the serial one's results."""
    rng = np.random.default_rng(29)
    x, states = _case(rng, 85, 130, 333)
    group = rng.integers(0, 3, 333)
    kw = dict(plus_one_ap=plus_one_ap, n_phases=n_phases)
    monkeypatch.setattr(sensing, "_PARALLEL_WORDS", 1 << 62)
    r = sense_two_phase(pack_bits(x), states, 50, neuron_group=group, n_groups=3, **kw)
    lo = 56
    for g in range(3):
        cols = np.flatnonzero(group == g)
        pop, act, rows, _, _ = reference.sense(x[lo:], states[cols].copy(), **kw)
        np.testing.assert_array_equal(r.popcount[lo:, cols], pop)
        np.testing.assert_array_equal(r.active_cells[lo:, :, g, :].sum(axis=0), act)
        np.testing.assert_array_equal(r.active_rows[lo:].sum(axis=0), rows)
    if n_phases == 2:
        w = np.where(states == 1, 1, -1) if plus_one_ap else np.where(states == 1, -1, 1)
        np.testing.assert_array_equal(r.popcount, reference.xnor_popcount(x, w))
    monkeypatch.setattr(sensing, "_PARALLEL_WORDS", 0)
    par = sense_two_phase(pack_bits(x), states, 50, neuron_group=group, n_groups=3, **kw)
    np.testing.assert_array_equal(par.popcount, r.popcount)
    np.testing.assert_array_equal(par.active_cells, r.active_cells)


def _plain_counts(x, states, plus_one_ap, n_phases):
    """Counts and activity by integer matrix products of the unpacked bits: (n_img, n_out) counts
    and (n_img, 2, n_groups=1, 2) activated cells per phase and state (1 = AP)."""
    plus = (x > 0).astype(np.int64)
    minus = (1 - plus) if n_phases == 2 else np.zeros_like(plus)
    ap = states.astype(np.int64)
    counted1, counted2 = (ap, 1 - ap) if plus_one_ap else (1 - ap, ap)
    count = plus @ counted1.T + minus @ counted2.T
    act = np.zeros((len(x), 2, 1, 2), dtype=np.int64)
    for phase, rows in enumerate((plus, minus)):
        act[:, phase, 0, 1] = (rows @ ap.T).sum(axis=1)
        act[:, phase, 0, 0] = (rows @ (1 - ap).T).sum(axis=1)
    return count, act


@pytest.mark.parametrize("n_phases", [1, 2])
@pytest.mark.parametrize("plus_one_ap", [True, False])
@pytest.mark.parametrize("n_img, n_in, n_out", [
    (1, 300, 70),     # one image (no full tile), 5 words: one four-word pass and one more word
    (7, 512, 130),    # one tile of 4 images and 3 single images, 8 words (two four-word passes)
    (70, 785, 257),   # 13 words (three passes and a 13th word of one input), one neuron past a block
    (9, 64, 64),      # a single word: the one-word loop alone
])
def test_register_blocked_tiles_equal_plain_integer_products(monkeypatch, n_phases, plus_one_ap,
                                                             n_img, n_in, n_out):
    """The tile kernels (four words a pass with a remainder, full and narrow tiles, single images)
    against integer matrix products of the unpacked bits, serial and parallel, on 1 and 2 threads."""
    rng = np.random.default_rng(n_in + n_out)
    x, states = _case(rng, n_img, n_in, n_out)
    count, act = _plain_counts(x, states, plus_one_ap, n_phases)
    kw = dict(plus_one_ap=plus_one_ap, n_phases=n_phases)
    old = numba.get_num_threads()
    try:
        for parallel_from, threads in ((1 << 62, 1), (0, 1), (0, min(2, numba.config.NUMBA_NUM_THREADS))):
            monkeypatch.setattr(sensing, "_PARALLEL_WORDS", parallel_from)
            numba.set_num_threads(threads)
            r = sense_two_phase(pack_bits(x), states, 128, **kw)
            np.testing.assert_array_equal(r.popcount, count)
            np.testing.assert_array_equal(r.active_cells, act)
            np.testing.assert_array_equal(r.n_active_cells, act.sum(axis=0))
    finally:
        numba.set_num_threads(old)


def test_misread_image_index_by_reciprocal_is_exact():
    """The misread walk finds a read's image as (q * ceil(2^32 / L)) >> 32 for every L below
    sensing._EXACT_RECIPROCAL: equal to q // L at the positions where it could first fail (the
    last read of each image and the first of the next), up to the block's end."""
    lengths = np.arange(1, sensing._EXACT_RECIPROCAL, dtype=np.int64)
    k = np.arange(1, sensing._IMG_BLOCK + 1, dtype=np.int64)
    q = (k[None, :] * lengths[:, None])[..., None] + np.array([-1, 0])  # (L, k, 2)
    q = np.minimum(q, sensing._IMG_BLOCK * lengths[:, None, None] - 1)
    mult = ((1 << 32) + lengths - 1) // lengths
    got = (q * mult[:, None, None]) >> 32
    np.testing.assert_array_equal(got, q // lengths[:, None, None])


@pytest.mark.parametrize("n_in, dtype", [(32766, np.int16), (32767, np.int32)])
def test_counts_take_the_smallest_type_that_holds_them(n_in, dtype):
    # counts reach n_in (every read counted); at and past int16's largest value they are int32
    assert sensing.count_dtype(n_in) == dtype
    x = np.ones((3, n_in), dtype=np.int8)
    x[1, : n_in // 3] = -1
    states = np.zeros((2, n_in), dtype=np.uint8)
    states[0] = 1  # all +1 weights (AP under plus_one_ap): image 0 counts every row
    res = sense_two_phase(pack_bits(x), states, 1024)
    assert res.popcount.dtype == dtype
    expected = [[n_in, 0], [n_in - n_in // 3, n_in // 3], [n_in, 0]]
    assert res.popcount.tolist() == expected


def test_unipolar_counts_widen_before_doubling():
    # 2 c overflows int16 for c > 16383: the XNOR popcount must come out of wider arithmetic
    from accelsim.mapping import unipolar_popcount

    count_on = np.array([[20000, 3]], dtype=np.int16)
    n_on, n_plus, n_in = np.array([25000]), np.array([21000, 10]), 30000
    got = unipolar_popcount(count_on, n_on, n_plus, n_in)
    assert got.tolist() == [[2 * 20000 - 25000 + 30000 - 21000, 2 * 3 - 25000 + 30000 - 10]]
