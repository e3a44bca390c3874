"""Parallel-read sensing: each sensing phase reads its rows k at a time, and a column converter turns
the k cells' summed current into a partial count (``read.rows_per_read`` > 1; accelsim/arch/README.md).

The rows of a tile form read groups of k consecutive rows (group b = rows b k .. b k + k - 1 of the
layer, never across a row tile when k divides the tile's rows); in a phase the rows of the group whose
input selects that phase are on together. For each image, neuron, phase and group the kernel counts
the m cells read and the n LRS (P) cells among them, and the converter returns a reading r of n drawn
from ``readout.conversion_table`` (cdf[m, n, c] = P(r <= c)), or its deterministic reading when there
is no spread and no noise. The count adds m - r (phase 1 counts AP with +1 = AP) or r (phase 2).

Random numbers: one splitmix64 stream per block of images x neurons keyed by (call seed, block), the
same counter-based generator as ``sensing.py``: results do not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from accelsim.kernels.sensing import (
    _IMG_BLOCK,
    _OUT_BLOCK,
    PackedStates,
    SenseResult,
    _block_state,
    _check_states,
    _rows_read,
    _uniform,
    activity,
    block_bounds,
    sense_two_phase,
    valid_mask,
)
from accelsim.kernels.xnor import _popcount64, pack_bits
from accelsim.rng import kernel_seed


def group_masks(n_in: int, k: int, tile_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read groups of k rows within each row tile: (masks (n_groups, n_words) uint64, word range lo,
    hi (n_groups,) int64, rows per group (n_groups,) int64)."""
    rows = np.arange(n_in)
    tile = rows // tile_rows
    group_in_tile = (rows % tile_rows) // k
    per_tile = -(-tile_rows // k)
    gid = tile * per_tile + group_in_tile
    _, gid = np.unique(gid, return_inverse=True)
    n_groups = int(gid.max()) + 1 if n_in else 0
    member = gid[None, :] == np.arange(n_groups)[:, None]
    masks = pack_bits(member)
    first = np.array([rows[gid == g].min() for g in range(n_groups)], dtype=np.int64)
    last = np.array([rows[gid == g].max() for g in range(n_groups)], dtype=np.int64)
    return masks, first // 64, last // 64 + 1, np.bincount(gid, minlength=n_groups).astype(np.int64)


@njit(cache=True)
def _block_popcounts(words, masks, lo, hi, out):
    """out[i, b] = popcount(words[i] & masks[b]) over the block's word range."""
    for i in range(words.shape[0]):
        for b in range(masks.shape[0]):
            c = 0
            for k in range(lo[b], hi[b]):
                c += _popcount64(words[i, k] & masks[b, k])
            out[i, b] = c


GUIDE = 256  # buckets of the inverse-CDF guide table: a reading takes a lookup and a short walk


def guide_table(cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(guide, certain) for ``cdf`` (..., k+1): guide[..., q] = the smallest c with cdf[..., c] >= q /
    GUIDE (where the inverse-CDF walk starts for a uniform in bucket q); certain[...] marks the entries
    whose reading takes one value with probability 1 (no draw needed)."""
    q = np.arange(GUIDE) / GUIDE
    guide = np.empty(cdf.shape[:-1] + (GUIDE,), dtype=np.int16)
    flat_cdf = cdf.reshape(-1, cdf.shape[-1])
    flat = guide.reshape(-1, GUIDE)
    for r in range(flat_cdf.shape[0]):
        flat[r] = np.searchsorted(flat_cdf[r], q, side="left")
    first = np.argmax(cdf >= 1.0, axis=-1)  # the first count with P(reading <= c) = 1
    below = np.take_along_axis(cdf, np.maximum(first - 1, 0)[..., None], axis=-1)[..., 0]
    certain = (first == 0) | (below <= 0.0)
    return guide, certain


@njit(cache=True, inline="always")
def _draw(st, cdf, guide, g, m, n):
    """A reading of n LRS cells among m from its CDF: (state, reading), by the guide table."""
    st, u = _uniform(st)
    q = np.int64(u * GUIDE)
    if q >= GUIDE:
        q = GUIDE - 1
    c = np.int64(guide[g, m, n, q])
    while cdf[g, m, n, c] < u:
        c += 1
    return st, c


@njit(cache=True, parallel=True)
def _adc_blocks(x_words, w_t, masks, lo, hi, rows_b, m1b, ap_bt, group, n_phases, counted_ap_phase1,
                det, cdf, guide, certain, stochastic, seed, out_pop, g1, wrong):
    """Blocks of images x neurons in parallel. For each image and read group, the AP cells read in
    phase 1 for all the block's neurons at once (x & mask against each weight word, vectorised across
    neurons), then every neuron's two conversions. ap_bt (n_groups_rows, n_out): AP cells per read
    group and neuron."""
    n_img = x_words.shape[0]
    n_out = w_t.shape[1]
    n_jb = -(-n_out // _OUT_BLOCK)
    n_blocks = -(-n_img // _IMG_BLOCK) * n_jb
    for blk in prange(n_blocks):
        ib, jb, i0, i1, j0, nb = block_bounds(blk, n_img, n_out)
        st = _block_state(seed, blk)
        n_wrong = 0
        acc = np.zeros(_OUT_BLOCK, dtype=np.int64)
        cnt = np.zeros(_OUT_BLOCK, dtype=np.int64)
        tot = np.zeros(_OUT_BLOCK, dtype=np.int64)
        grp = group[j0:j0 + nb]
        for i in range(i0, i1):
            for jj in range(nb):
                cnt[jj] = 0
                tot[jj] = 0
            for b in range(masks.shape[0]):
                for jj in range(nb):
                    acc[jj] = 0
                for k in range(lo[b], hi[b]):
                    xm = x_words[i, k] & masks[b, k]
                    wr = w_t[k, j0:j0 + nb]
                    for jj in range(nb):
                        acc[jj] += _popcount64(xm & wr[jj])
                m1 = m1b[i, b]
                m2 = rows_b[b] - m1 if n_phases == 2 else 0
                apb = ap_bt[b, j0:j0 + nb]
                # phase 1 adds m1 - r1 (AP counted) or r1; phase 2 adds r2 or m2 - r2
                base = m1 if counted_ap_phase1 else m2
                s1 = -1 if counted_ap_phase1 else 1
                for jj in range(nb):
                    tot[jj] += acc[jj]
                if not stochastic and n_phases == 2:
                    for jj in range(nb):  # the common case: table lookups only, no branches
                        g = grp[jj]
                        p1 = m1 - acc[jj]
                        p2 = m2 - apb[jj] + acc[jj]
                        r1 = det[g, m1, p1]
                        r2 = det[g, m2, p2]
                        n_wrong += abs(r1 - p1) + abs(r2 - p2)
                        cnt[jj] += base + s1 * (r1 - r2)
                    continue
                for jj in range(nb):
                    g = grp[jj]
                    ap1 = acc[jj]
                    p1 = m1 - ap1
                    if stochastic and not certain[g, m1, p1]:
                        st, r1 = _draw(st, cdf, guide, g, m1, p1)
                    else:
                        r1 = det[g, m1, p1]
                    n_wrong += abs(r1 - p1)
                    r2 = 0
                    if n_phases == 2:
                        p2 = m2 - (apb[jj] - ap1)
                        if stochastic and not certain[g, m2, p2]:
                            st, r2 = _draw(st, cdf, guide, g, m2, p2)
                        else:
                            r2 = det[g, m2, p2]
                        n_wrong += abs(r2 - p2)
                    cnt[jj] += base + s1 * (r1 - r2)
            for jj in range(nb):
                out_pop[i, j0 + jj] = cnt[jj]
            for g in range(g1.shape[2]):
                gsum = 0
                for jj in range(nb):
                    gsum += tot[jj] * (grp[jj] == g)
                g1[i, jb, g] = gsum
        wrong[blk] = n_wrong


def sense_parallel(x_words: np.ndarray, states: np.ndarray, tile_rows: int, rows_per_read: int,
                   det: np.ndarray, cdf: np.ndarray | None, *, plus_one_ap: bool = True,
                   n_phases: int = 2, neuron_group: np.ndarray | None = None, n_groups: int = 1,
                   p_disturb_p=0.0, p_disturb_ap=0.0, rng: np.random.Generator | None = None,
                   packed: PackedStates | None = None) -> SenseResult:
    """Two-phase (or phase-1) sensing of one layer with k = ``rows_per_read`` rows per read and a
    converter per column whose readings follow ``det`` ((n_groups, k+1, k+1) int64) or, with spread or
    noise, ``cdf`` ((n_groups, k+1, k+1, k+1), see ``readout.conversion_table``).

    Read disturb (per cell, as in ``sensing.sense_two_phase``) is applied after the batch's reads: the
    converter reads the cells as they were when the batch began (disturb rates are ~1e-10 per read).
    ``n_misreads`` of the result is the sum over conversions of |reading - true count|: the cells
    miscounted, so that misreads / cell reads compares with the per-cell path's read error rate.
    With ``det`` the identity and no ``cdf`` the popcount equals ``xnor.xnor_popcount``.
    """
    states = _check_states(states)
    n_out, n_in = states.shape
    k = int(rows_per_read)
    if det.ndim != 3 or det.shape[1:] != (k + 1, k + 1) or det.shape[0] < n_groups:
        raise ValueError(f"det must be (n_groups, {k + 1}, {k + 1})")
    stochastic = cdf is not None
    if stochastic and cdf.shape != det.shape + (k + 1,):
        raise ValueError(f"cdf must be (n_groups, {k + 1}, {k + 1}, {k + 1})")
    group = (np.zeros(n_out, dtype=np.int64) if neuron_group is None
             else np.ascontiguousarray(neuron_group, dtype=np.int64))
    if packed is None:
        packed = PackedStates.from_states(states)
    disturb = bool(np.any(np.asarray(p_disturb_p) > 0) or np.any(np.asarray(p_disturb_ap) > 0))
    if (stochastic or disturb) and rng is None:
        raise ValueError("a Generator (rng) is required with spread, noise or read disturb")
    seed = kernel_seed(rng) if stochastic else 0
    x = np.ascontiguousarray(x_words)
    n_img = x.shape[0]
    masks, lo, hi, rows_b = group_masks(n_in, k, tile_rows)
    m1b = np.empty((n_img, masks.shape[0]), dtype=np.int64)
    _block_popcounts(x, masks, lo, hi, m1b)
    ap_b = np.empty((n_out, masks.shape[0]), dtype=np.int64)
    _block_popcounts(np.ascontiguousarray(packed.w_t.T), masks, lo, hi, ap_b)
    if stochastic:
        guide, certain = guide_table(cdf)
    else:
        guide, certain = np.zeros((1, 1, 1, 1), dtype=np.int16), np.ones((1, 1, 1), dtype=np.bool_)
    n_jb = -(-n_out // _OUT_BLOCK)
    n_blocks = -(-n_img // _IMG_BLOCK) * n_jb
    pop = np.empty((n_img, n_out), dtype=np.int32)
    g1 = np.zeros((n_img, n_jb, n_groups), dtype=np.int64)
    wrong = np.zeros(n_blocks, dtype=np.int64)
    _adc_blocks(x, packed.w_t, masks, lo, hi, rows_b, m1b, np.ascontiguousarray(ap_b.T), group,
                n_phases, plus_one_ap, np.ascontiguousarray(det, dtype=np.int64),
                np.ascontiguousarray(cdf) if stochastic else np.zeros((1, 1, 1, 1)), guide, certain,
                stochastic, seed, pop, g1, wrong)
    if disturb:
        # the per-cell disturbs of these reads, applied to the cells (and packed) after the batch
        res = sense_two_phase(x, states, tile_rows, plus_one_ap=plus_one_ap, n_phases=n_phases,
                              neuron_group=group, n_groups=n_groups, p_disturb_p=p_disturb_p,
                              p_disturb_ap=p_disturb_ap, rng=rng, packed=packed)
        return SenseResult(popcount=pop, n_active_cells=res.n_active_cells,
                           n_active_rows=res.n_active_rows, n_misreads=int(wrong.sum()),
                           n_disturbed=res.n_disturbed, disturbed_columns=res.disturbed_columns,
                           active_cells=res.active_cells, active_rows=res.active_rows)
    valid = valid_mask(n_in)
    a1 = np.empty(n_img, dtype=np.int64)
    a2 = np.empty(n_img, dtype=np.int64)
    _rows_read(x, valid, n_phases, a1, a2)
    rows = np.stack([a1, a2], axis=1)
    act = activity(g1.sum(axis=1), None, rows, group, n_groups, packed.n_ap, n_phases)
    return SenseResult(popcount=pop, n_active_cells=act.sum(axis=0), n_active_rows=rows.sum(axis=0),
                       n_misreads=int(wrong.sum()), n_disturbed=0,
                       disturbed_columns=np.zeros(0, dtype=np.int64), active_cells=act, active_rows=rows)


__all__ = ["group_masks", "sense_parallel"]
