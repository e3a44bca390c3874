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


@njit(cache=True, inline="always")
def _convert(st, det, cdf, stochastic, g, m, n):
    """The converter's reading of n LRS cells among m: (state, reading)."""
    if not stochastic or m == 0:
        return st, det[g, m, n]
    st, u = _uniform(st)
    lo = 0
    hi = m  # cdf[g, m, n, m] == 1: the answer lies in [lo, hi]
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[g, m, n, mid] >= u:
            hi = mid
        else:
            lo = mid + 1
    return st, lo


@njit(cache=True, parallel=True)
def _adc_blocks(x_words, w_t, masks, lo, hi, rows_b, m1b, ap_b, group, n_phases, counted_ap_phase1,
                det, cdf, stochastic, seed, out_pop, g1, wrong):
    n_img = x_words.shape[0]
    n_out = w_t.shape[1]
    n_jb = -(-n_out // _OUT_BLOCK)
    n_blocks = -(-n_img // _IMG_BLOCK) * n_jb
    for blk in prange(n_blocks):
        ib = blk // n_jb
        jb = blk % n_jb
        i0 = ib * _IMG_BLOCK
        i1 = min(i0 + _IMG_BLOCK, n_img)
        j0 = jb * _OUT_BLOCK
        j1 = min(j0 + _OUT_BLOCK, n_out)
        st = _block_state(seed, blk)
        n_wrong = 0
        for i in range(i0, i1):
            for g in range(g1.shape[2]):
                g1[i, jb, g] = 0
        for j in range(j0, j1):
            grp = group[j]
            for i in range(i0, i1):
                count = 0
                ap_total = 0
                for b in range(masks.shape[0]):
                    ap1 = 0
                    for k in range(lo[b], hi[b]):
                        ap1 += _popcount64(x_words[i, k] & w_t[k, j] & masks[b, k])
                    ap_total += ap1
                    m1 = m1b[i, b]
                    p1 = m1 - ap1
                    st, r1 = _convert(st, det, cdf, stochastic, grp, m1, p1)
                    n_wrong += r1 != p1
                    count += (m1 - r1) if counted_ap_phase1 else r1
                    if n_phases == 2:
                        m2 = rows_b[b] - m1
                        p2 = m2 - (ap_b[j, b] - ap1)
                        st, r2 = _convert(st, det, cdf, stochastic, grp, m2, p2)
                        n_wrong += r2 != p2
                        count += r2 if counted_ap_phase1 else (m2 - r2)
                out_pop[i, j] = count
                g1[i, jb, grp] += ap_total
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
    ``n_misreads`` of the result counts the conversions whose reading differs from the true count.
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
    n_jb = -(-n_out // _OUT_BLOCK)
    n_blocks = -(-n_img // _IMG_BLOCK) * n_jb
    pop = np.empty((n_img, n_out), dtype=np.int32)
    g1 = np.zeros((n_img, n_jb, n_groups), dtype=np.int64)
    wrong = np.zeros(n_blocks, dtype=np.int64)
    _adc_blocks(x, packed.w_t, masks, lo, hi, rows_b, m1b, ap_b, group, n_phases, plus_one_ap,
                np.ascontiguousarray(det, dtype=np.int64),
                np.ascontiguousarray(cdf) if stochastic else np.zeros((1, 1, 1, 1)), stochastic, seed,
                pop, g1, wrong)
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
