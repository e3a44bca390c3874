"""Two-phase XNOR/popcount sensing on a tiled crossbar (002_ea6f7b7a5028ee47.txt, Sec. III-A).

Phase 1 activates the rows whose input is +1 and counts the cells in the +1 weight's state; phase 2
activates the rows whose input is -1 and counts the cells in the -1 weight's state (with 002's
convention, +1 = AP/HRS: HRS cells in phase 1, LRS cells in phase 2). Each tile of ``tile_rows`` rows
senses its own partial count; the counts add up to the XNOR popcount when every read is right.

With ``n_phases = 1`` (unipolar 0/1 inputs, bit 1 = input 1) only phase 1 runs: the rows of the 1
inputs are read and the neuron's count is that of phase 1 alone; the rows of 0 inputs are never read.

How it is computed. The row tiles partition the rows, so a neuron's counts summed over its tiles are
counts over all its rows. One AND-popcount per word gives ap1 = #{AP cells on +1 rows}; the other
phase follows from cached per-neuron totals (``PackedStates.n_ap`` = #{AP cells}): ap2 = n_ap - ap1,
p1 = a1 - ap1, p2 = a2 - ap2 with a1, a2 the rows of each phase. The kernels run over blocks of
images x neurons on all threads (numba prange) and vectorise the popcount across neurons, in tiles
of 4 images x 64 neurons that share each loaded weight vector, four words a pass (one accumulator
update per four popcounts).

Per-read errors. Every read of a cell in state s is misread with p_misread_s[j] and, after the
image's phases, flips the cell with p_disturb_s[j], independently of every other read: a Bernoulli
process over a neuron's reads, image after image. The kernels walk it by geometric gaps between
events (cost per event, not per read) with a counter-based generator (splitmix64) keyed by (call
seed, block), so results do not depend on the number of threads. A misread of a counted cell loses
one count, of an uncounted read cell gains one; it is added to the count as it comes (with two
phases, ~20 cycles an event: the ziggurat draw and the read's image and counted-or-not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from accelsim.kernels.xnor import _popcount64, pack_bits
from accelsim.rng import kernel_seed

_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_IMG_BLOCK = 64  # images per block: the neuron block's accumulators and outputs stay in L1
_OUT_BLOCK = 256  # neurons per block: its transposed weights (n_words x 256 words) stay in L1/L2
_TILE_IMG = 4  # images per pass over a weight tile: each loaded weight vector serves all of them
_TILE_OUT = 64  # neurons per tile: constant trip counts, so LLVM vectorises the tile loop
_NO_EVENT = 1 << 62  # a gap beyond any block's reads: no event in this block
_EXACT_RECIPROCAL = 1 << 12  # lengths whose block positions (< _IMG_BLOCK x length) divide exactly by
# a 32-bit reciprocal: _IMG_BLOCK length^2 < 2^32
_PARALLEL_WORDS = 1 << 20  # word popcounts (images x neurons x words, ~0.1 ms) worth a parallel region


# ---------------------------------------------------------------- random numbers


@njit(cache=True, inline="always")
def _mix64(z):
    """splitmix64's output function (Steele, Lea & Flood 2014): a bijective 64-bit mix."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _block_state(seed, block):
    """Initial splitmix64 state of block ``block`` of a call seeded with ``seed``."""
    return _mix64(np.uint64(seed) ^ _mix64(np.uint64(block) + np.uint64(0x9E3779B97F4A7C15)))


@njit(cache=True, inline="always")
def _uniform(st):
    """Advance splitmix64 state ``st``: (new state, a uniform double in (0, 1])."""
    st += np.uint64(0x9E3779B97F4A7C15)
    z = _mix64(st)
    return st, (np.float64(z >> np.uint64(11)) + 1.0) * (1.0 / 9007199254740992.0)


def _ziggurat_tables(n: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Layers of the exponential ziggurat (Marsaglia & Tsang 2000, J. Stat. Softw. 5(8), REXP),
    scaled to 53-bit integers as in numpy's ``standard_exponential``: (ke, we, fe, tail start)."""
    m = 2.0**53
    de = te = 7.697117470131487
    ve = 3.949659822581572e-3
    q = ve / np.exp(-de)
    ke = np.zeros(n, dtype=np.uint64)
    we = np.zeros(n)
    fe = np.zeros(n)
    ke[0] = np.uint64(de / q * m)
    we[0], we[n - 1] = q / m, de / m
    fe[0], fe[n - 1] = 1.0, np.exp(-de)
    for i in range(n - 2, 0, -1):
        de = -np.log(ve / de + np.exp(-de))
        ke[i + 1] = np.uint64(de / te * m)
        te = de
        fe[i] = np.exp(-de)
        we[i] = de / m
    return ke, we, fe, 7.697117470131487


_ZIG_K, _ZIG_W, _ZIG_F, _ZIG_R = _ziggurat_tables()


@njit(cache=True, inline="always")
def _exponential(st):
    """A standard exponential variate by the ziggurat (exact; a log only in the rare slow path).
    Returns (new state, variate)."""
    while True:
        st += np.uint64(0x9E3779B97F4A7C15)
        r = _mix64(st) >> np.uint64(3)
        idx = np.int64(r & np.uint64(0xFF))
        r >>= np.uint64(8)
        x = np.float64(r) * _ZIG_W[idx]
        if r < _ZIG_K[idx]:
            return st, x
        if idx == 0:
            st, u = _uniform(st)
            return st, _ZIG_R - np.log(u)
        st, u = _uniform(st)
        if (_ZIG_F[idx - 1] - _ZIG_F[idx]) * u + _ZIG_F[idx] < np.exp(-x):
            return st, x


@njit(cache=True, inline="always")
def _gap(st, scale):
    """Reads before the next event of a Bernoulli(p) process: floor(E * scale), E ~ Exp(1), scale =
    -1 / log(1 - p), is geometric, P(gap >= k) = exp(k log(1 - p)) = (1 - p)^k; _NO_EVENT for p = 0
    (scale = inf), 0 for p = 1 (scale = 0). Returns (new state, gap)."""
    if scale == np.inf:
        return st, _NO_EVENT
    st, e = _exponential(st)
    g = e * scale
    if g >= _NO_EVENT:
        return st, _NO_EVENT
    return st, np.int64(g)


@njit(cache=True, inline="always")
def _walk(st, gap, length, counted, scale):
    """Events of a Bernoulli process among ``length`` reads whose first ``counted`` are counted, the
    next event ``gap`` reads ahead. Returns (state, gap after these reads, counted events, others)."""
    lost = 0
    gained = 0
    while gap < length:
        if gap < counted:
            lost += 1
        else:
            gained += 1
        st, g = _gap(st, scale)
        gap += 1 + g
    return st, gap - length, lost, gained


# ---------------------------------------------------------------- popcounts


@njit(cache=True, inline="always")
def _and_popcounts(x_words, i, w_t, j0, nb, acc):
    """acc[jj] = popcount(x[i] & w[j0 + jj]) for jj < nb (w transposed: w_t[k, j])."""
    for jj in range(nb):
        acc[jj] = 0
    for k in range(w_t.shape[0]):
        xv = x_words[i, k]
        for jj in range(nb):
            acc[jj] += _popcount64(xv & w_t[k, j0 + jj])


@njit(cache=True)
def _and_popcounts_tile(x_words, i, w_t, j, acc):
    """acc[r * _TILE_OUT + jj] = popcount(x[i + r] & w[j + jj]) for r < _TILE_IMG, jj < _TILE_OUT.

    Register-blocked: each pass loads four words of the weight vectors w_t[k:k + 4, j:j + _TILE_OUT]
    once for the _TILE_IMG images (their 16 words x[i + r, k:k + 4] held in registers, broadcast),
    and adds the four AND-popcounts of each image and neuron before touching acc: one load and one
    store of an accumulator per four popcounts (the loop is bound by the popcount port, not by
    stores). The slices make the loads contiguous (an index j + jj is checked for wrap-around and
    turns into gathers); the constant trip counts let LLVM vectorise across neurons (vpopcntq, and,
    add on 4-word vectors where the CPU has AVX-512 VPOPCNTDQ, scalar popcnt otherwise).
    x_words (n_img, n_words) uint64, w_t (n_words, n_out) uint64 as in ``_sense_blocks``; acc
    (_TILE_IMG * _TILE_OUT,) int64, overwritten."""
    for q in range(_TILE_IMG * _TILE_OUT):
        acc[q] = 0
    n_words = w_t.shape[0]
    k = 0
    while k + 4 <= n_words:
        a0 = x_words[i, k]
        a1 = x_words[i + 1, k]
        a2 = x_words[i + 2, k]
        a3 = x_words[i + 3, k]
        b0 = x_words[i, k + 1]
        b1 = x_words[i + 1, k + 1]
        b2 = x_words[i + 2, k + 1]
        b3 = x_words[i + 3, k + 1]
        c0 = x_words[i, k + 2]
        c1 = x_words[i + 1, k + 2]
        c2 = x_words[i + 2, k + 2]
        c3 = x_words[i + 3, k + 2]
        d0 = x_words[i, k + 3]
        d1 = x_words[i + 1, k + 3]
        d2 = x_words[i + 2, k + 3]
        d3 = x_words[i + 3, k + 3]
        wa = w_t[k, j:j + _TILE_OUT]
        wb = w_t[k + 1, j:j + _TILE_OUT]
        wc = w_t[k + 2, j:j + _TILE_OUT]
        wd = w_t[k + 3, j:j + _TILE_OUT]
        for jj in range(_TILE_OUT):
            u = wa[jj]
            v = wb[jj]
            s = wc[jj]
            t = wd[jj]
            acc[jj] += (_popcount64(a0 & u) + _popcount64(b0 & v)
                        + _popcount64(c0 & s) + _popcount64(d0 & t))
            acc[_TILE_OUT + jj] += (_popcount64(a1 & u) + _popcount64(b1 & v)
                                    + _popcount64(c1 & s) + _popcount64(d1 & t))
            acc[2 * _TILE_OUT + jj] += (_popcount64(a2 & u) + _popcount64(b2 & v)
                                        + _popcount64(c2 & s) + _popcount64(d2 & t))
            acc[3 * _TILE_OUT + jj] += (_popcount64(a3 & u) + _popcount64(b3 & v)
                                        + _popcount64(c3 & s) + _popcount64(d3 & t))
        k += 4
    while k < n_words:
        a0 = x_words[i, k]
        a1 = x_words[i + 1, k]
        a2 = x_words[i + 2, k]
        a3 = x_words[i + 3, k]
        wa = w_t[k, j:j + _TILE_OUT]
        for jj in range(_TILE_OUT):
            u = wa[jj]
            acc[jj] += _popcount64(a0 & u)
            acc[_TILE_OUT + jj] += _popcount64(a1 & u)
            acc[2 * _TILE_OUT + jj] += _popcount64(a2 & u)
            acc[3 * _TILE_OUT + jj] += _popcount64(a3 & u)
        k += 1


@njit(cache=True)
def _and_popcounts_narrow(x_words, i, w_t, j, width, acc):
    """``_and_popcounts_tile`` for the last neurons of a block (width < _TILE_OUT): the _TILE_IMG
    images share each loaded weight word; the loop over neurons vectorises with a remainder."""
    for r in range(_TILE_IMG):
        for jj in range(width):
            acc[r * _TILE_OUT + jj] = 0
    for k in range(w_t.shape[0]):
        a0 = x_words[i, k]
        a1 = x_words[i + 1, k]
        a2 = x_words[i + 2, k]
        a3 = x_words[i + 3, k]
        wr = w_t[k, j:j + width]
        r0 = acc[0:width]
        r1 = acc[_TILE_OUT:_TILE_OUT + width]
        r2 = acc[2 * _TILE_OUT:2 * _TILE_OUT + width]
        r3 = acc[3 * _TILE_OUT:3 * _TILE_OUT + width]
        for jj in range(width):
            u = wr[jj]
            r0[jj] += _popcount64(a0 & u)
            r1[jj] += _popcount64(a1 & u)
            r2[jj] += _popcount64(a2 & u)
            r3[jj] += _popcount64(a3 & u)


@njit(cache=True)
def _and_popcounts_row(x_words, i, w_t, j, width, acc):
    """acc[jj] = popcount(x[i] & w[j + jj]) for jj < width: the tiles' remainders, one image a pass
    (the weight row is a slice, so the loop vectorises without a gather)."""
    for jj in range(width):
        acc[jj] = 0
    for k in range(w_t.shape[0]):
        xv = x_words[i, k]
        wr = w_t[k, j:j + width]
        for jj in range(width):
            acc[jj] += _popcount64(xv & wr[jj])


@njit(cache=True)
def _emit(acc, n_rows, i, j, width, jb, a1, a2, n_ap, counted_ap_phase1, n_phases, group, out_pop,
          g1):
    """Counts of images i..i + n_rows - 1 x neurons j..j + width - 1 from their AP cells read in
    phase 1 (acc, rows _TILE_OUT apart) into out_pop; their sums per column group added to g1.
    ``_count`` written as count = s ap1 + base[image] + t n_ap[neuron] (s, t fixed by the mode), a
    loop without branches."""
    nap = n_ap[j:j + width]  # slices: contiguous loads where j + jj would be gathered
    grp = group[j:j + width]
    if n_phases == 2:
        s, t = (2, -1) if counted_ap_phase1 else (-2, 1)
    else:
        s, t = (1, 0) if counted_ap_phase1 else (-1, 0)
    for r in range(n_rows):
        ii = r + i
        if n_phases == 2:
            base = a2[ii] if counted_ap_phase1 else a1[ii]
        else:
            base = 0 if counted_ap_phase1 else a1[ii]
        row = acc[r * _TILE_OUT:r * _TILE_OUT + width]
        out = out_pop[ii, j:j + width]
        for jj in range(width):
            out[jj] = s * row[jj] + base + t * nap[jj]
        if g1.shape[2] == 1:
            gsum = 0
            for jj in range(width):
                gsum += row[jj]
            g1[ii, jb, 0] += gsum
            continue
        for g in range(g1.shape[2]):  # a branch-free reduction per column group
            gsum = 0
            for jj in range(width):
                gsum += row[jj] * (grp[jj] == g)
            g1[ii, jb, g] += gsum


@njit(cache=True, inline="always")
def _count(ap1, a1, a2, n_ap, n_phases, counted_ap_phase1):
    """Sensed count from ap1 without read errors: AP in phase 1 + P in phase 2, or the converse."""
    if n_phases == 1:
        return ap1 if counted_ap_phase1 else a1 - ap1
    if counted_ap_phase1:
        return ap1 + a2 - (n_ap - ap1)
    return (n_ap - ap1) + a1 - ap1


@njit(cache=True)
def _rows_read(x_words, valid, n_phases, a1, a2):
    """a1[i] = rows read in phase 1 (+1 inputs), a2[i] in phase 2 (0 with one phase)."""
    n_in = 0
    for k in range(valid.size):
        n_in += _popcount64(valid[k])
    for i in range(x_words.shape[0]):
        c = 0
        for k in range(valid.size):
            c += _popcount64(x_words[i, k] & valid[k])
        a1[i] = c
        a2[i] = n_in - c if n_phases == 2 else 0


# ---------------------------------------------------------------- kernels


@njit(cache=True, parallel=True)
def _sense_blocks(x_words, w_t, n_ap, a1, a2, n_in, counted_ap_phase1, n_phases, group, sc_mis_p,
                  sc_mis_ap, stochastic, seed, out_pop, g1, misreads):
    """Sensing without read disturb (cells do not change): blocks of images x neurons in parallel.

    x_words (n_img, n_words) uint64 inputs (bit 1 = +1, padding 0); w_t (n_words, n_out) uint64 cell
    states transposed (bit 1 = AP, padding 0); n_ap (n_out,) int64 AP cells per neuron; a1, a2
    (n_img,) int64 rows read per phase; group (n_out,) int64 column groups; sc_mis_p, sc_mis_ap
    (n_out,) float64 gap scales (``_gap_scale``) of the misreads of a P / AP cell read. Outputs:
    out_pop (n_img, n_out) int32 sensed counts; g1 (n_img, n_out_blocks, n_groups) int64, the AP
    cells read in phase 1 per image, neuron block and group; misreads (n_img_blocks, n_out_blocks)
    int64. Misreads (when ``stochastic``) use the block's own stream keyed by (seed, block).
    """
    n_blocks = -(-x_words.shape[0] // _IMG_BLOCK) * -(-w_t.shape[1] // _OUT_BLOCK)
    for blk in prange(n_blocks):
        _sense_block(blk, x_words, w_t, n_ap, a1, a2, n_in, counted_ap_phase1, n_phases, group,
                     sc_mis_p, sc_mis_ap, stochastic, seed, out_pop, g1, misreads)


@njit(cache=True)
def _sense_blocks_serial(x_words, w_t, n_ap, a1, a2, n_in, counted_ap_phase1, n_phases, group,
                         sc_mis_p, sc_mis_ap, stochastic, seed, out_pop, g1, misreads):
    """``_sense_blocks`` on one thread, for batches too small to pay for a parallel region."""
    n_blocks = -(-x_words.shape[0] // _IMG_BLOCK) * -(-w_t.shape[1] // _OUT_BLOCK)
    for blk in range(n_blocks):
        _sense_block(blk, x_words, w_t, n_ap, a1, a2, n_in, counted_ap_phase1, n_phases, group,
                     sc_mis_p, sc_mis_ap, stochastic, seed, out_pop, g1, misreads)


@njit(cache=True, inline="always")
def block_bounds(blk, n_img, n_out):
    """Block ``blk`` of the images x neurons grid (neuron blocks fastest): (image block, neuron block,
    first image, end of its images, first neuron, its number of neurons)."""
    n_jb = -(-n_out // _OUT_BLOCK)
    ib = blk // n_jb
    jb = blk % n_jb
    i0 = ib * _IMG_BLOCK
    j0 = jb * _OUT_BLOCK
    return ib, jb, i0, min(i0 + _IMG_BLOCK, n_img), j0, min(_OUT_BLOCK, n_out - j0)


@njit(cache=True)
def _sense_block(blk, x_words, w_t, n_ap, a1, a2, n_in, counted_ap_phase1, n_phases, group,
                 sc_mis_p, sc_mis_ap, stochastic, seed, out_pop, g1, misreads):
    """Block ``blk`` (image block blk // n_out_blocks, neuron block blk % n_out_blocks); a function
    of its own so that the parallel driver stays small (numba's parfor passes compile slowly)."""
    ib, jb, i0, i1, j0, nb = block_bounds(blk, x_words.shape[0], w_t.shape[1])
    for i in range(i0, i1):
        for g in range(g1.shape[2]):
            g1[i, jb, g] = 0
    # Tiles of _TILE_IMG images x _TILE_OUT neurons, each weight tile (n_words x _TILE_OUT words)
    # staying in L1 while the block's images pass over it; the images and neurons left over go one
    # image at a time (one call site per kernel: LLVM inlines each into every caller).
    acc = np.empty(_TILE_IMG * _TILE_OUT, dtype=np.int64)
    for j in range(j0, j0 + nb, _TILE_OUT):
        width = min(_TILE_OUT, j0 + nb - j)
        i = i0
        while i < i1:
            if i + _TILE_IMG <= i1:
                if width == _TILE_OUT:
                    _and_popcounts_tile(x_words, i, w_t, j, acc)
                else:
                    _and_popcounts_narrow(x_words, i, w_t, j, width, acc)
                n_rows = _TILE_IMG
            else:
                _and_popcounts_row(x_words, i, w_t, j, width, acc)
                n_rows = 1
            _emit(acc, n_rows, i, j, width, jb, a1, a2, n_ap, counted_ap_phase1, n_phases, group,
                  out_pop, g1)
            i += n_rows
    if not stochastic:
        return
    # Misreads, neuron by neuron over the block's images, from the block's own stream, added to
    # out_pop as they come; done[ii] keeps what image i0 + ii's count of the neuron got so far, so
    # that its error-free count (whence ap1) stays known. Only the neurons with a misread touch it.
    st = _block_state(seed, blk)
    total = 0
    done = np.zeros(_IMG_BLOCK, dtype=np.int64)
    for jj in range(nb):
        j = j0 + jj
        if n_phases == 2:
            # Every image reads all n_ap[j] AP and n_in - n_ap[j] P cells: walk each state's
            # events over the block's reads, without a branch per image.
            st, n_ap_ev = _events_two_phase(st, out_pop, a1, a2, i0, i1, j, n_ap[j], n_in, True,
                                            counted_ap_phase1, sc_mis_ap[j], done)
            st, n_p_ev = _events_two_phase(st, out_pop, a1, a2, i0, i1, j, n_ap[j], n_in, False,
                                           counted_ap_phase1, sc_mis_p[j], done)
            if n_ap_ev + n_p_ev:
                total += n_ap_ev + n_p_ev
                for ii in range(_IMG_BLOCK):
                    done[ii] = 0
        else:
            st, gap_ap = _gap(st, sc_mis_ap[j])
            st, gap_p = _gap(st, sc_mis_p[j])
            if gap_ap == _NO_EVENT and gap_p == _NO_EVENT:
                continue
            for i in range(i0, i1):
                ap1 = _ap1(out_pop[i, j], a1[i], a2[i], n_ap[j], n_phases, counted_ap_phase1)
                ap2, p1, p2 = _split(ap1, a1[i], a2[i], n_ap[j], n_phases)
                st, d, n_ev, gap_ap, gap_p = _misread(st, ap1, ap2, p1, p2, counted_ap_phase1,
                                                      gap_ap, gap_p, sc_mis_p[j], sc_mis_ap[j])
                out_pop[i, j] += d
                total += n_ev
    misreads[ib, jb] = total


@njit(cache=True, inline="always")
def _events_two_phase(st, counts, a1, a2, i0, i1, j, n_ap, n_in, ap_state, counted_ap_phase1,
                      scale, done):
    """Misreads of neuron j's cells in one state (AP if ``ap_state``) over images i0..i1 - 1 of a
    two-phase pass: each image reads all L of them (L = n_ap or n_in - n_ap), the counted ones first;
    an event at read q of the block is read q % L of image q // L. counts[i, j] holds the error-free
    count plus done[i - i0]; each misread adds +1 (an uncounted read) or -1 (a counted one) to
    both. Returns (state, misreads)."""
    if scale == np.inf:
        return st, 0
    length = n_ap if ap_state else n_in - n_ap
    end = (i1 - i0) * length
    # q // length as (q * mult) >> 32 with mult = ceil(2^32 / length): exact for q < 2^32 / length
    # (the error q (mult length - 2^32) / 2^32 < q / 2^32 stays below 1 / length), which holds for
    # every q < end when length < _EXACT_RECIPROCAL; float division otherwise (rounding corrected)
    mult = ((1 << 32) + length - 1) // max(length, 1)
    inv_length = 1.0 / max(length, 1)
    st, q = _gap(st, scale)
    n_ev = 0
    while q < end:
        if length < _EXACT_RECIPROCAL:
            ii = (q * mult) >> 32
            r = q - ii * length
        else:
            ii = np.int64(np.float64(q) * inv_length)
            r = q - ii * length
            if r < 0:
                ii -= 1
                r += length
            elif r >= length:
                ii += 1
                r -= length
        i = i0 + ii
        ap1 = _ap1(counts[i, j] - done[ii], a1[i], a2[i], n_ap, 2, counted_ap_phase1)
        if ap_state:
            c = ap1 if counted_ap_phase1 else n_ap - ap1
        else:
            c = a2[i] - (n_ap - ap1) if counted_ap_phase1 else a1[i] - ap1
        step = 1 - 2 * np.int64(r < c)
        counts[i, j] += step
        done[ii] += step
        n_ev += 1
        st, g = _gap(st, scale)
        q += 1 + g
    return st, n_ev


@njit(cache=True, inline="always")
def _ap1(count, a1, a2, n_ap, n_phases, counted_ap_phase1):
    """ap1 back from an error-free count (the inverse of ``_count``; the halved sums are even, so a
    shift divides them exactly)."""
    count = np.int64(count)
    if n_phases == 1:
        return count if counted_ap_phase1 else a1 - count
    if counted_ap_phase1:
        return (count - a2 + n_ap) >> 1
    return (n_ap + a1 - count) >> 1


@njit(cache=True, inline="always")
def _split(ap1, a1, a2, n_ap, n_phases):
    """(ap2, p1, p2): the other cells read per phase and state, given ap1 (phase 2 reads every row
    phase 1 does not, so its AP cells are the neuron's AP cells less those of phase 1)."""
    ap2 = n_ap - ap1 if n_phases == 2 else 0
    return ap2, a1 - ap1, a2 - ap2


@njit(cache=True, inline="always")
def _misread(st, ap1, ap2, p1, p2, counted_ap_phase1, gap_ap, gap_p, sc_mis_p, sc_mis_ap):
    """One image's misreads of one neuron: AP reads (ap1 + ap2), P reads (p1 + p2), counted ones
    first. Returns (state, count change, misreads, next gap of AP reads, next gap of P reads)."""
    if counted_ap_phase1:
        c_ap, c_p = ap1, p2
    else:
        c_ap, c_p = ap2, p1
    st, gap_ap, lost_ap, gained_ap = _walk(st, gap_ap, ap1 + ap2, c_ap, sc_mis_ap)
    st, gap_p, lost_p, gained_p = _walk(st, gap_p, p1 + p2, c_p, sc_mis_p)
    lost = lost_ap + lost_p
    gained = gained_ap + gained_p
    return st, gained - lost, lost + gained, gap_ap, gap_p


@njit(cache=True, inline="always")
def _nth_read_cell(x_words, i, w_t, j, valid, n_phases, ap_state, nth):
    """Position (64 x word + bit, not the row) of the ``nth`` (from 0) cell of neuron j read by
    image i in state AP (``ap_state``) or P."""
    for k in range(valid.size):
        read = valid[k] if n_phases == 2 else x_words[i, k] & valid[k]
        cand = read & (w_t[k, j] if ap_state else ~w_t[k, j])
        c = _popcount64(cand)
        if nth >= c:
            nth -= c
            continue
        while True:
            low = cand & (~cand + _ONE)
            if nth == 0:
                b = 0
                while low != _ONE:
                    low >>= _ONE
                    b += 1
                return 64 * k + b
            nth -= 1
            cand ^= low
    return -1


@njit(cache=True, parallel=True)
def _sense_disturb(x_words, w_t, n_ap, a1, a2, valid, counted_ap_phase1, n_phases, group, sc_mis_p,
                   sc_mis_ap, sc_dis_p, sc_dis_ap, stochastic, seed, out_pop, g1, g2, misreads, flips,
                   flipped):
    """Sensing with read disturb: every image's reads may flip cells the next images read, so each
    block of neurons runs through the images in order (neurons are independent, run in parallel).

    As ``_sense_blocks``, plus sc_dis_p, sc_dis_ap (n_out,) float64 gap scales of the disturbs of a P / AP
    cell read; w_t and n_ap are updated in place; g2 (n_img, n_out_blocks, n_groups) int64 as g1
    for the AP cells read in phase 2 (n_ap changes); flips (n_out_blocks,) int64 cells flipped;
    flipped (n_out,) bool marks the neurons with a flipped cell. One stream per neuron block keyed
    by (seed, block).
    """
    n_jb = -(-w_t.shape[1] // _OUT_BLOCK)
    for jb in prange(n_jb):
        _disturb_block(jb, x_words, w_t, n_ap, a1, a2, valid, counted_ap_phase1, n_phases, group,
                       sc_mis_p, sc_mis_ap, sc_dis_p, sc_dis_ap, stochastic, seed, out_pop, g1, g2,
                       misreads, flips, flipped)


@njit(cache=True)
def _disturb_block(jb, x_words, w_t, n_ap, a1, a2, valid, counted_ap_phase1, n_phases, group,
                   sc_mis_p, sc_mis_ap, sc_dis_p, sc_dis_ap, stochastic, seed, out_pop, g1, g2,
                   misreads, flips, flipped):
    """Neuron block ``jb`` of ``_sense_disturb`` through every image in order."""
    n_img = x_words.shape[0]
    n_out = w_t.shape[1]
    n_ib = -(-n_img // _IMG_BLOCK)
    j0 = jb * _OUT_BLOCK
    nb = min(_OUT_BLOCK, n_out - j0)
    acc = np.empty(_OUT_BLOCK, dtype=np.int64)
    ap1_blk = np.empty((_IMG_BLOCK, _OUT_BLOCK), dtype=np.int64)
    st = _block_state(seed, jb)
    gaps = np.empty((_OUT_BLOCK, 4), dtype=np.int64)  # misread AP, P; disturb AP, P
    for jj in range(nb):
        j = j0 + jj
        st, gaps[jj, 0] = _gap(st, sc_mis_ap[j] if stochastic else np.inf)
        st, gaps[jj, 1] = _gap(st, sc_mis_p[j] if stochastic else np.inf)
        st, gaps[jj, 2] = _gap(st, sc_dis_ap[j])
        st, gaps[jj, 3] = _gap(st, sc_dis_p[j])
    rows = np.empty(64, dtype=np.int64)  # cells one image flips in one neuron, grown on need
    n_flips = 0
    total = 0
    for ib in range(n_ib):
        i0 = ib * _IMG_BLOCK
        i1 = min(i0 + _IMG_BLOCK, n_img)
        for i in range(i0, i1):
            _and_popcounts(x_words, i, w_t, j0, nb, acc)
            for jj in range(nb):
                ap1_blk[i - i0, jj] = acc[jj]
        for jj in range(nb):
            j = j0 + jj
            grp = group[j]
            for i in range(i0, i1):
                ap1 = ap1_blk[i - i0, jj]
                count = _count(ap1, a1[i], a2[i], n_ap[j], n_phases, counted_ap_phase1)
                ap2, p1, p2 = _split(ap1, a1[i], a2[i], n_ap[j], n_phases)
                g1[i, jb, grp] += ap1
                g2[i, jb, grp] += ap2
                if stochastic:
                    st, delta, n_events, g_ap, g_p = _misread(
                        st, ap1, ap2, p1, p2, counted_ap_phase1, gaps[jj, 0], gaps[jj, 1],
                        sc_mis_p[j], sc_mis_ap[j])
                    gaps[jj, 0] = g_ap
                    gaps[jj, 1] = g_p
                    count += delta
                    total += n_events
                out_pop[i, j] = count
                # Disturb: events among this image's AP reads, then its P reads (pre-flip states).
                n_new = 0
                for ap_state in (True, False):
                    col = 2 if ap_state else 3
                    length = ap1 + ap2 if ap_state else p1 + p2
                    sc_dis = sc_dis_ap[j] if ap_state else sc_dis_p[j]
                    g = gaps[jj, col]
                    while g < length:
                        if n_new == rows.size:
                            grown = np.empty(2 * rows.size, dtype=np.int64)
                            grown[:n_new] = rows[:n_new]
                            rows = grown
                        r = _nth_read_cell(x_words, i, w_t, j, valid, n_phases, ap_state, g)
                        rows[n_new] = r if ap_state else -1 - r
                        n_new += 1
                        st, dg = _gap(st, sc_dis)
                        g += 1 + dg
                    gaps[jj, col] = g - length
                for f in range(n_new):
                    to_p = rows[f] >= 0
                    r = rows[f] if to_p else -1 - rows[f]
                    k = r // 64
                    bit = _ONE << np.uint64(r % 64)
                    w_t[k, j] ^= bit
                    step = -1 if to_p else 1
                    n_ap[j] += step
                    for i2 in range(i + 1, i1):  # later images of the block saw the old cell
                        if x_words[i2, k] & bit:
                            ap1_blk[i2 - i0, jj] += step
                if n_new:
                    flipped[j] = True
                    n_flips += n_new
    flips[jb] = n_flips
    misreads[0, jb] = total


@njit(cache=True)
def _apply_flips(x_words, word, mask, cell_j, new_state, group, n_phases, counted_ap_phase1, pop,
                 act):
    """Error-free counts and activity after cells (neuron cell_j[f], bit mask[f] of word word[f])
    changed to new_state[f] (1 = AP), for every image: a changed cell moves its neuron's count by
    +-1 for the images that read it and its activity from one state to the other. Image by image
    (its counts stay in cache). pop (n_img, n_out) int32 and act (n_img, 2, n_groups, 2) int64 are
    updated in place."""
    c1 = 1 if counted_ap_phase1 else 0  # the state phase 1 counts; phase 2 counts the other
    for i in range(x_words.shape[0]):
        for f in range(cell_j.size):
            new = new_state[f]
            old = 1 - new
            if (x_words[i, word[f]] & mask[f]) != _ZERO:
                phase = 0
                counted_state = c1
            elif n_phases == 2:
                phase = 1
                counted_state = 1 - c1
            else:
                continue  # one phase: the rows of 0 inputs are not read
            j = cell_j[f]
            pop[i, j] += np.int32(new == counted_state) - np.int32(old == counted_state)
            act[i, phase, group[j], old] -= 1
            act[i, phase, group[j], new] += 1


def apply_flips(x_words: np.ndarray, popcount: np.ndarray, active_cells: np.ndarray,
                cells: tuple[np.ndarray, np.ndarray], new_state: np.ndarray, *,
                plus_one_ap: bool = True, n_phases: int = 2,
                neuron_group: np.ndarray | None = None) -> None:
    """Update an error-free sensing of ``x_words`` (its ``popcount`` and per-image ``active_cells``,
    as ``SenseResult`` gives them) in place for cells that changed since: ``cells`` = (neurons,
    rows) int arrays, ``new_state`` their states now (uint8, 1 = AP). Equal to sensing again with
    the new states (exact: a changed cell moves one column's count by +-1 for the inputs that read
    it); costs O(images) per changed cell instead of O(images x neurons x words)."""
    j = np.ascontiguousarray(cells[0], dtype=np.int64)
    k = np.ascontiguousarray(cells[1], dtype=np.int64)
    new = np.ascontiguousarray(new_state, dtype=np.int64)
    if not (j.shape == k.shape == new.shape) or j.ndim != 1:
        raise ValueError("cells and new_state must be equal-length 1-d arrays")
    n_out = popcount.shape[1]
    group = (np.zeros(n_out, dtype=np.int64) if neuron_group is None
             else np.ascontiguousarray(neuron_group, dtype=np.int64))
    # pack_bits: row 8 b + t of a word is bit 7 - t of its byte b (packbits is big-endian)
    mask = np.left_shift(np.uint64(1), (8 * ((k % 64) // 8) + 7 - k % 8).astype(np.uint64))
    _apply_flips(np.ascontiguousarray(x_words), k // 64, mask, j, new, group, n_phases, plus_one_ap,
                 popcount, active_cells)


# ---------------------------------------------------------------- packed cell states


def count_dtype(n_in: int) -> np.dtype:
    """The integer type of a layer's sensed counts: int16 when every count (0..n_in, misreads
    included: a read is counted or not) and every threshold bound clipped to the type
    (``network.integer_bounds``) stay apart, i.e. n_in < 32767, else int32. Half the bytes of int32
    for every layer up to 32,766 rows: the counts of a pass are written once and read by the
    thresholds, and their memory traffic was a third of a clean pass."""
    return np.dtype(np.int16) if n_in < np.iinfo(np.int16).max else np.dtype(np.int32)


def valid_mask(n_in: int) -> np.ndarray:
    """(ceil(n_in / 64),) uint64 words with the bits of the n_in real rows set (padding 0)."""
    return pack_bits(np.ones((1, n_in), dtype=np.uint8))[0]


@dataclass(slots=True)
class PackedStates:
    """A layer's cell states as the sensing kernels read them, kept with the states they mirror.

    ``w_t`` (n_words, n_out) uint64 holds neuron j's cells in column j, 64 rows a word (bit 1 = AP,
    padding 0); ``n_ap`` (n_out,) int64 counts each neuron's AP cells, from which the second phase's
    counts follow. Build it once per programmed state; after cells change (retention, a fault),
    ``refresh`` the changed columns. Sensing with read disturb updates it with the states.
    """

    w_t: np.ndarray
    n_ap: np.ndarray
    n_in: int

    @classmethod
    def from_states(cls, states: np.ndarray) -> PackedStates:
        """Pack (n_out, n_in) uint8 states (1 = AP)."""
        states = _check_states(states)
        w_t = np.ascontiguousarray(pack_bits(states).T)
        n_ap = states.sum(axis=1, dtype=np.int64)
        return cls(w_t=w_t, n_ap=n_ap, n_in=states.shape[1])

    def refresh(self, states: np.ndarray, columns: np.ndarray) -> None:
        """Re-pack the neurons ``columns`` (int indices) from ``states`` after their cells changed."""
        states = _check_states(states)
        if states.shape != (self.n_ap.size, self.n_in):
            raise ValueError(f"states {states.shape} do not match the packed layer "
                             f"({self.n_ap.size}, {self.n_in})")
        columns = np.asarray(columns, dtype=np.int64)
        if columns.size == 0:
            return
        sub = states[columns]
        self.w_t[:, columns] = pack_bits(sub).T
        self.n_ap[columns] = sub.sum(axis=1, dtype=np.int64)


def _check_states(states: np.ndarray) -> np.ndarray:
    states = np.asarray(states)
    if states.ndim != 2 or states.dtype != np.uint8:
        raise TypeError("states must be a (n_out, n_in) uint8 array")
    return states


# ---------------------------------------------------------------- public wrapper


@dataclass(frozen=True, kw_only=True, slots=True)
class SenseResult:
    """What one layer's sensing of a batch produced."""

    popcount: np.ndarray  # (n_images, n_out) count_dtype(n_in): sensed count, all row tiles and phases
    n_active_cells: np.ndarray  # (2, n_groups, 2) int64: activated cells per phase, column group, state
    n_active_rows: np.ndarray  # (2,) int64: activated rows per phase over the batch (one tile column)
    n_misreads: int  # cell reads that came out wrong
    n_disturbed: int  # cells flipped by read disturb (already applied to ``states``)
    disturbed_columns: np.ndarray  # (k,) int64: the neurons with a cell flipped by read disturb
    active_cells: np.ndarray  # (n_images, 2, n_groups, 2) int64: n_active_cells image by image
    active_rows: np.ndarray  # (n_images, 2) int64: n_active_rows image by image


def tile_masks(n_in: int, tile_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row sets of the row tiles as packed words, and each tile's word range [lo, hi)."""
    n_tiles = -(-n_in // tile_rows)
    rows = np.arange(n_in)
    member = (rows[None, :] // tile_rows) == np.arange(n_tiles)[:, None]
    masks = pack_bits(member)
    lo = (np.arange(n_tiles) * tile_rows) // 64
    hi = (np.minimum((np.arange(n_tiles) + 1) * tile_rows, n_in) - 1) // 64 + 1
    return masks, lo.astype(np.int64), hi.astype(np.int64)


def _per_neuron(value, n_out: int, group: np.ndarray, name: str) -> np.ndarray:
    if isinstance(value, (int, float)) and value == 0:  # the usual error-free read: nothing to check
        return np.zeros(n_out)
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        out = np.full(n_out, float(a))
    elif a.shape == (n_out,):
        out = a.copy()
    elif a.ndim == 1 and group.size and a.size > group.max():
        out = a[group]
    else:
        raise ValueError(f"{name}: expected a scalar, one value per column group or per neuron, "
                         f"got shape {a.shape}")
    if np.any(~np.isfinite(out)) or np.any(out < 0) or np.any(out > 1):
        raise ValueError(f"{name}: probabilities must lie in [0, 1]")
    return np.ascontiguousarray(out)


def _gap_scale(p: np.ndarray) -> np.ndarray:
    """-1 / log(1 - p), the scale from exponential to geometric gaps: inf for p = 0 (no events), 0 for
    p = 1 (every read)."""
    with np.errstate(divide="ignore"):
        return -1.0 / np.log1p(-p)


def sense_two_phase(x_words: np.ndarray, states: np.ndarray, tile_rows: int, *,
                    plus_one_ap: bool = True, n_phases: int = 2,
                    neuron_group: np.ndarray | None = None, n_groups: int = 1,
                    p_misread_p=0.0, p_misread_ap=0.0, p_disturb_p=0.0, p_disturb_ap=0.0,
                    rng: np.random.Generator | None = None,
                    packed: PackedStates | None = None) -> SenseResult:
    """Two-phase (or phase-1-only) sensing of one layer for a batch of images.

    Parameters
    ----------
    x_words : (n_images, n_words) uint64
        Bit-packed +-1 inputs from ``xnor.pack_bits`` (bit 1 = +1, padding bits 0).
    states : (n_out, n_in) uint8
        Cell states, 1 = AP/HRS, one row per neuron (column of the crossbar). Updated in place where
        read disturb flips cells.
    tile_rows : int
        Rows per tile: the layer's inputs split into ceil(n_in / tile_rows) row tiles.
    plus_one_ap : bool
        The weight convention: +1 stored as AP (002), so phase 1 counts AP cells; else phase 1 counts P.
    n_phases : int
        2: XNOR sensing of +-1 inputs. 1: unipolar 0/1 inputs (bit 1 = input 1); only phase 1 runs and
        the count is the number of +1-state cells on the rows of the 1 inputs.
    neuron_group, n_groups
        Column group (cell type) of each neuron, for the activity counts and per-group probabilities.
    p_misread_p, p_misread_ap : float or array
        Probability that one read of a P (AP) cell comes out as the other state (PHYSICS.md section 7);
        a scalar, one per column group, or one per neuron.
    p_disturb_p, p_disturb_ap : float or array
        Probability that one read flips a P (AP) cell (read disturb; the read polarity decides which
        state is at risk, PHYSICS.md section 7). Applied after each image's reads.
    rng : numpy Generator
        Source of the kernel's seed; required when any probability is non-zero.
    packed : PackedStates, optional
        ``states`` already packed (a cache kept across calls while the cells do not change); packed
        here when absent. Read disturb updates it together with ``states``.

    Returns
    -------
    SenseResult
        With all probabilities zero and two phases the popcount equals ``xnor.xnor_popcount`` exactly,
        for any tiling; with one phase it equals #{k : x_k = 1 and w_k = +1}. Results do not depend
        on the number of threads.
    """
    states = _check_states(states)
    n_out, n_in = states.shape
    if x_words.dtype != np.uint64 or x_words.ndim != 2 or x_words.shape[1] != -(-n_in // 64):
        raise ValueError(f"x_words must be (n_images, {-(-n_in // 64)}) uint64 for {n_in} inputs")
    if tile_rows < 1:
        raise ValueError(f"tile_rows must be >= 1, got {tile_rows}")
    if n_phases not in (1, 2):
        raise ValueError(f"n_phases must be 1 or 2, got {n_phases}")
    group = (np.zeros(n_out, dtype=np.int64) if neuron_group is None
             else np.ascontiguousarray(neuron_group, dtype=np.int64))
    if group.shape != (n_out,) or (n_out and (group.min() < 0 or group.max() >= n_groups)):
        raise ValueError(f"neuron_group must be ({n_out},) ints in [0, {n_groups})")
    p_mis_p = _per_neuron(p_misread_p, n_out, group, "p_misread_p")
    p_mis_ap = _per_neuron(p_misread_ap, n_out, group, "p_misread_ap")
    p_dis_p = _per_neuron(p_disturb_p, n_out, group, "p_disturb_p")
    p_dis_ap = _per_neuron(p_disturb_ap, n_out, group, "p_disturb_ap")
    stochastic = bool(p_mis_p.any() or p_mis_ap.any())
    disturb = bool(p_dis_p.any() or p_dis_ap.any())
    if (stochastic or disturb) and rng is None:
        raise ValueError("a Generator (rng) is required when misread or disturb probabilities are set")
    seed = kernel_seed(rng) if (stochastic or disturb) else 0
    if packed is None:
        packed = PackedStates.from_states(states)
    elif packed.w_t.shape != (-(-n_in // 64), n_out) or packed.n_in != n_in:
        raise ValueError(f"packed states {packed.w_t.shape} do not match states {states.shape}")

    x = np.ascontiguousarray(x_words)
    n_img = x.shape[0]
    valid = valid_mask(n_in)
    a1 = np.empty(n_img, dtype=np.int64)
    a2 = np.empty(n_img, dtype=np.int64)
    _rows_read(x, valid, n_phases, a1, a2)
    n_ib = -(-n_img // _IMG_BLOCK)
    n_jb = -(-n_out // _OUT_BLOCK)
    pop = np.empty((n_img, n_out), dtype=count_dtype(n_in))
    g1 = np.zeros((n_img, n_jb, n_groups), dtype=np.int64)
    mis = np.zeros((n_ib, n_jb), dtype=np.int64)
    flips = 0
    columns = np.zeros(0, dtype=np.int64)
    if disturb:
        g2 = np.zeros((n_img, n_jb, n_groups), dtype=np.int64)
        per_block = np.zeros(n_jb, dtype=np.int64)
        flipped = np.zeros(n_out, dtype=np.bool_)
        _sense_disturb(x, packed.w_t, packed.n_ap, a1, a2, valid, plus_one_ap, n_phases, group,
                       _gap_scale(p_mis_p), _gap_scale(p_mis_ap), _gap_scale(p_dis_p),
                       _gap_scale(p_dis_ap), stochastic, seed, pop, g1, g2, mis, per_block, flipped)
        flips = int(per_block.sum())
        if flips:
            columns = np.flatnonzero(flipped)
            w = np.ascontiguousarray(packed.w_t[:, columns].T)
            states[columns] = np.unpackbits(w.view(np.uint8).reshape(len(columns), -1), axis=1,
                                            count=n_in)
        rows = np.stack([a1, a2], axis=1)
        act = activity(g1.sum(axis=1), g2.sum(axis=1), rows, group, n_groups, packed.n_ap, n_phases)
        return SenseResult(popcount=pop, n_active_cells=act.sum(axis=0),
                           n_active_rows=rows.sum(axis=0), n_misreads=int(mis.sum()),
                           n_disturbed=flips, disturbed_columns=columns, active_cells=act,
                           active_rows=rows)
    big = n_img * n_out * x.shape[1] >= _PARALLEL_WORDS
    kernel = _sense_blocks if big else _sense_blocks_serial
    if stochastic:
        sc_p, sc_ap = _gap_scale(p_mis_p), _gap_scale(p_mis_ap)
    else:
        sc_p = sc_ap = np.full(n_out, np.inf)
    kernel(x, packed.w_t, packed.n_ap, a1, a2, n_in, plus_one_ap, n_phases, group, sc_p, sc_ap,
           stochastic, seed, pop, g1, mis)
    act = np.empty((n_img, 2, n_groups, 2), dtype=np.int64)
    rows = np.empty((n_img, 2), dtype=np.int64)
    cells = np.zeros((2, n_groups, 2), dtype=np.int64)
    _activity_unchanged(g1, a1, a2, group, packed.n_ap, n_phases, act, rows, cells)
    return SenseResult(popcount=pop, n_active_cells=cells, n_active_rows=rows.sum(axis=0),
                       n_misreads=int(mis.sum()), n_disturbed=0, disturbed_columns=columns,
                       active_cells=act, active_rows=rows)


@njit(cache=True)
def _activity_unchanged(g1, a1, a2, group, n_ap, n_phases, act, rows, cells):
    """``activity`` when the cells did not change during the batch, from the kernel's per-block
    sums: g1 (n_img, n_out_blocks, n_groups) AP cells read in phase 1, a1, a2 (n_img,) rows read
    per phase, group (n_out,) column groups, n_ap (n_out,) AP cells per neuron. Fills act
    (n_img, 2, n_groups, 2), rows (n_img, 2) and adds their sum over images to cells
    (2, n_groups, 2), zeroed by the caller."""
    n_groups = g1.shape[2]
    size = np.zeros(n_groups, dtype=np.int64)  # neurons and AP cells per group
    ap_cells = np.zeros(n_groups, dtype=np.int64)
    for j in range(group.size):
        size[group[j]] += 1
        ap_cells[group[j]] += n_ap[j]
    for i in range(g1.shape[0]):
        rows[i, 0] = a1[i]
        rows[i, 1] = a2[i]
        for g in range(n_groups):
            ap1 = 0
            for b in range(g1.shape[1]):
                ap1 += g1[i, b, g]
            ap2 = ap_cells[g] - ap1 if n_phases == 2 else 0
            act[i, 0, g, 1] = ap1
            act[i, 1, g, 1] = ap2
            act[i, 0, g, 0] = a1[i] * size[g] - ap1
            act[i, 1, g, 0] = a2[i] * size[g] - ap2
            for ph in range(2):
                for state in range(2):
                    cells[ph, g, state] += act[i, ph, g, state]


def activity(ap1: np.ndarray, ap2: np.ndarray | None, rows: np.ndarray, group: np.ndarray,
             n_groups: int, n_ap: np.ndarray, n_phases: int) -> np.ndarray:
    """Activated cells per image (n_img, phase, group, state 1 = AP) from the AP cells read per
    image and group in phase 1 (``ap1``, (n_img, n_groups)) and phase 2 (``ap2``; None when the
    cells did not change: each group's AP cells less ``ap1``) and the rows read per phase (rows,
    (n_img, 2)): a read row activates one cell of each neuron."""
    n_img = rows.shape[0]
    size = np.bincount(group, minlength=n_groups).astype(np.int64)
    if ap2 is None:
        if n_phases == 2:
            ap_cells = np.zeros(n_groups, dtype=np.int64)
            np.add.at(ap_cells, group, n_ap)
            ap2 = ap_cells[None, :] - ap1
        else:
            ap2 = np.zeros_like(ap1)
    act = np.empty((n_img, 2, n_groups, 2), dtype=np.int64)
    act[:, 0, :, 1] = ap1
    act[:, 1, :, 1] = ap2
    act[:, 0, :, 0] = rows[:, 0:1] * size[None, :] - ap1
    act[:, 1, :, 0] = rows[:, 1:2] * size[None, :] - ap2
    return act


__all__ = ["PackedStates", "SenseResult", "activity", "apply_flips", "count_dtype", "sense_two_phase",
           "tile_masks", "valid_mask"]
