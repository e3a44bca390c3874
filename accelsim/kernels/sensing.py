"""Two-phase XNOR/popcount sensing on a tiled crossbar (002_ea6f7b7a5028ee47.txt, Sec. III-A).

Phase 1 activates the rows whose input is +1 and counts the cells in the +1 weight's state; phase 2
activates the rows whose input is -1 and counts the cells in the -1 weight's state (with 002's
convention, +1 = AP/HRS: HRS cells in phase 1, LRS cells in phase 2). Each tile of ``tile_rows`` rows
senses its own partial count; the counts add up to the XNOR popcount when every read is right.
Per-cell misreads and read disturb are drawn with numba's generator from a per-call seed.

With ``n_phases = 1`` (unipolar 0/1 inputs, bit 1 = input 1) only phase 1 runs: the rows of the 1
inputs are read and the neuron's count is that of phase 1 alone; the rows of 0 inputs are never read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from accelsim.kernels.xnor import _popcount64, pack_bits
from accelsim.rng import kernel_seed

_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@njit(cache=True, inline="always")
def _binomial(n, p):
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    return np.random.binomial(n, p)


@njit(cache=True)
def _sense_image(i, x_words, w_words, masks, word_lo, word_hi, counted_ap_phase1, n_phases, group,
                 p_mis_p, p_mis_ap, stochastic, out_pop, act_cells, act_rows):
    """Sense image ``i`` on every tile; returns the number of misread cells.

    out_pop[i, j] = sum over tiles and the n_phases phases of neuron j's sensed counts. Misreads are drawn per
    neuron and state over all its tiles and phases at once: a sum of independent binomials with one p
    is one binomial. act_cells[i, phase, group, state] and act_rows[i, phase] accumulate activity
    (state 1 = AP).
    """
    n_out = w_words.shape[0]
    n_tiles = masks.shape[0]
    misreads = 0
    a1 = 0
    a2 = 0
    for t in range(n_tiles):
        for k in range(word_lo[t], word_hi[t]):
            m = masks[t, k]
            a1 += _popcount64(x_words[i, k] & m)
            if n_phases == 2:
                a2 += _popcount64(~x_words[i, k] & m)
    act_rows[i, 0] += a1
    act_rows[i, 1] += a2
    for j in range(n_out):
        ap1 = 0
        ap2 = 0
        for t in range(n_tiles):
            for k in range(word_lo[t], word_hi[t]):
                m = masks[t, k]
                w = w_words[j, k]
                ap1 += _popcount64(x_words[i, k] & m & w)
                if n_phases == 2:
                    ap2 += _popcount64(~x_words[i, k] & m & w)
        p1 = a1 - ap1
        p2 = a2 - ap2
        g = group[j]
        act_cells[i, 0, g, 1] += ap1
        act_cells[i, 0, g, 0] += p1
        act_cells[i, 1, g, 1] += ap2
        act_cells[i, 1, g, 0] += p2
        # Phase 2 reads nothing with one phase (a2 = ap2 = p2 = 0).
        if counted_ap_phase1:
            c_ap, c_p, n_ap, n_p = ap1, p2, ap2, p1  # counted: AP in phase 1, P in phase 2
        else:
            c_ap, c_p, n_ap, n_p = ap2, p1, ap1, p2  # counted: P in phase 1, AP in phase 2
        count = c_ap + c_p
        if stochastic:
            lost = _binomial(c_ap, p_mis_ap[j]) + _binomial(c_p, p_mis_p[j])
            gained = _binomial(n_ap, p_mis_ap[j]) + _binomial(n_p, p_mis_p[j])
            misreads += lost + gained
            count += gained - lost
        out_pop[i, j] = count
    return misreads


@njit(cache=True)
def _disturb_image(i, x_words, w_words, masks, word_lo, word_hi, n_phases, p_dist_p, p_dist_ap):
    """Read disturb after image ``i``'s phases: every activated cell in state s flips with
    probability p_dist_s[j]; the k flips of a (tile, neuron, phase, state) are a uniform k-subset of
    its activated cells in that state (selection sampling). Flips w_words in place; returns the count."""
    n_out = w_words.shape[0]
    flips = 0
    for t in range(masks.shape[0]):
        for phase in range(n_phases):
            for j in range(n_out):
                for state in range(2):
                    p = p_dist_ap[j] if state == 1 else p_dist_p[j]
                    if p <= 0.0:
                        continue
                    n_s = 0
                    for k in range(word_lo[t], word_hi[t]):
                        act = x_words[i, k] if phase == 0 else ~x_words[i, k]
                        w = w_words[j, k] if state == 1 else ~w_words[j, k]
                        n_s += _popcount64(act & masks[t, k] & w)
                    left = _binomial(n_s, p)
                    if left == 0:
                        continue
                    flips += left
                    pool = n_s
                    for k in range(word_lo[t], word_hi[t]):
                        act = x_words[i, k] if phase == 0 else ~x_words[i, k]
                        w = w_words[j, k] if state == 1 else ~w_words[j, k]
                        cand = act & masks[t, k] & w
                        toggle = _ZERO
                        while cand != _ZERO and left > 0:
                            low = cand & (~cand + _ONE)
                            if np.random.random() * pool < left:
                                toggle |= low
                                left -= 1
                            pool -= 1
                            cand ^= low
                        w_words[j, k] ^= toggle
                        if left == 0:
                            break
    return flips


@njit(cache=True)
def _sense(x_words, w_words, masks, word_lo, word_hi, counted_ap_phase1, n_phases, group, p_mis_p,
           p_mis_ap, p_dist_p, p_dist_ap, stochastic, disturb, seed, out_pop, act_cells, act_rows,
           misreads):
    """Sense every image in order (read disturb changes the cells the next image sees).

    x_words (n_img, n_words) uint64 inputs (bit 1 = +1); w_words (n_out, n_words) uint64 cell states
    (bit 1 = AP), flipped in place by disturb; masks (n_tiles, n_words) uint64 row sets of the tiles;
    word_lo/word_hi (n_tiles,) int64 word ranges; n_phases 2 (XNOR) or 1 (phase 1 only); group
    (n_out,) int64; p_mis_* and p_dist_* (n_out,) float64 per-read misread and disturb probabilities
    of a P / AP cell; numba's generator is seeded
    once with ``seed`` when ``stochastic`` or ``disturb``. Outputs zero-initialised: out_pop
    (n_img, n_out) int32, act_cells (n_img, 2, n_groups, 2) int64, act_rows (n_img, 2) int64,
    misreads (n_img,) int64. Returns the number of disturbed cells.
    """
    if stochastic or disturb:
        np.random.seed(np.uint32(seed & 0xFFFFFFFF))
    flips = 0
    for i in range(x_words.shape[0]):
        misreads[i] = _sense_image(i, x_words, w_words, masks, word_lo, word_hi, counted_ap_phase1,
                                   n_phases, group, p_mis_p, p_mis_ap, stochastic, out_pop, act_cells,
                                   act_rows)
        if disturb:
            flips += _disturb_image(i, x_words, w_words, masks, word_lo, word_hi, n_phases, p_dist_p,
                                    p_dist_ap)
    return flips


@dataclass(frozen=True, kw_only=True, slots=True)
class SenseResult:
    """What one layer's sensing of a batch produced."""

    popcount: np.ndarray  # (n_images, n_out) int32: sensed count, all row tiles and phases
    n_active_cells: np.ndarray  # (2, n_groups, 2) int64: activated cells per phase, column group, state
    n_active_rows: np.ndarray  # (2,) int64: activated rows per phase over the batch (one tile column)
    n_misreads: int  # cell reads that came out wrong
    n_disturbed: int  # cells flipped by read disturb (already applied to ``states``)


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


def sense_two_phase(x_words: np.ndarray, states: np.ndarray, tile_rows: int, *,
                    plus_one_ap: bool = True, n_phases: int = 2,
                    neuron_group: np.ndarray | None = None, n_groups: int = 1,
                    p_misread_p=0.0, p_misread_ap=0.0, p_disturb_p=0.0, p_disturb_ap=0.0,
                    rng: np.random.Generator | None = None) -> SenseResult:
    """Two-phase (or phase-1-only) sensing of one layer for a batch of images.

    Parameters
    ----------
    x_words : (n_images, n_words) uint64
        Bit-packed +-1 inputs from ``xnor.pack_bits`` (bit 1 = +1).
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

    Returns
    -------
    SenseResult
        With all probabilities zero and two phases the popcount equals ``xnor.xnor_popcount`` exactly,
        for any tiling; with one phase it equals #{k : x_k = 1 and w_k = +1}.
    """
    states = np.asarray(states)
    if states.ndim != 2 or states.dtype != np.uint8:
        raise TypeError("states must be a (n_out, n_in) uint8 array")
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

    w_words = pack_bits(states)
    masks, lo, hi = tile_masks(n_in, tile_rows)
    x = np.ascontiguousarray(x_words)
    n_img = x.shape[0]
    pop = np.zeros((n_img, n_out), dtype=np.int32)
    act = np.zeros((n_img, 2, n_groups, 2), dtype=np.int64)
    rows = np.zeros((n_img, 2), dtype=np.int64)
    mis = np.zeros(n_img, dtype=np.int64)
    flips = int(_sense(x, w_words, masks, lo, hi, plus_one_ap, n_phases, group, p_mis_p, p_mis_ap,
                       p_dis_p, p_dis_ap, stochastic, disturb, seed, pop, act, rows, mis))
    if flips:
        as_bytes = w_words.view(np.uint8).reshape(n_out, -1)
        states[:] = np.unpackbits(as_bytes, axis=1, count=n_in)
    return SenseResult(popcount=pop, n_active_cells=act.sum(axis=0), n_active_rows=rows.sum(axis=0),
                       n_misreads=int(mis.sum()), n_disturbed=flips)


__all__ = ["SenseResult", "sense_two_phase", "tile_masks"]
