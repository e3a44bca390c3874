"""Per-cell stochastic kernels: programming with write failures, and retention flips over time.

A cell state is uint8: 1 = AP (high resistance, HRS), 0 = P (low resistance, LRS). Random numbers are
drawn by the wrappers from the run's named generators and passed in, so results are fixed by the seed
and independent of how the cells are tiled.
"""

from __future__ import annotations

import numpy as np
from numba import njit

AP = np.uint8(1)
P = np.uint8(0)


@njit(cache=True)
def _program(target, previous, p_fail_to_ap, p_fail_to_p, step, uniforms, out):
    """out[k] = target[k] unless the cell had to switch and the write failed (u < p_fail).

    A cell already in its target state is reinforced by the write and cannot fail. Arrays 1-D of one
    length: target/previous/out uint8 (1 = AP), uniforms float64 in [0, 1); p_fail_* float64
    probabilities, cell k's at [k * step] (step 1: one per cell, step 0: one for all cells). Returns
    the number of failed switches.
    """
    failures = 0
    for k in range(target.size):
        if previous[k] == target[k]:
            out[k] = target[k]
        else:
            p = p_fail_to_ap[k * step] if target[k] == 1 else p_fail_to_p[k * step]
            if uniforms[k] < p:
                out[k] = previous[k]
                failures += 1
            else:
                out[k] = target[k]
    return failures


@njit(cache=True)
def _retention_step(states, p_ap_to_p, p_p_to_ap, uniforms):
    """Flip AP cells with probability p_ap_to_p[k] and P cells with p_p_to_ap[k], in place.

    Arrays 1-D of one length (states uint8, probabilities and uniforms float64). Returns the number
    of cells flipped AP -> P and P -> AP as a pair.
    """
    to_p = 0
    to_ap = 0
    for k in range(states.size):
        if states[k] == 1:
            if uniforms[k] < p_ap_to_p[k]:
                states[k] = 0
                to_p += 1
        elif uniforms[k] < p_p_to_ap[k]:
            states[k] = 1
            to_ap += 1
    return to_p, to_ap


@njit(cache=True)
def _retention_step_columns(states, n_in, neuron_group, p_ap_to_p, p_p_to_ap, uniforms, changed):
    """``_retention_step`` on a neuron-major layer (cell k is row k % n_in of neuron k // n_in) whose
    probabilities are one per column group (p[neuron_group[j]] for every cell of neuron j): the same
    comparisons of the same uniforms, without per-cell probability arrays. Branch-free per cell, so
    LLVM vectorises the row loop. changed (n_out,) bool is set for the neurons with a flipped cell.
    Returns the number of cells flipped AP -> P and P -> AP as a pair."""
    to_p = 0
    to_ap = 0
    for j in range(neuron_group.size):
        g = neuron_group[j]
        pa = p_ap_to_p[g]
        pp = p_p_to_ap[g]
        base = j * n_in
        n_to_p = 0
        n_to_ap = 0
        for r in range(n_in):
            s = states[base + r]
            u = uniforms[base + r]
            down = (s == 1) & (u < pa)
            up = (s == 0) & (u < pp)
            n_to_p += down
            n_to_ap += up
            states[base + r] = s ^ np.uint8(down | up)
        changed[j] = (n_to_p + n_to_ap) > 0
        to_p += n_to_p
        to_ap += n_to_ap
    return to_p, to_ap


@njit(cache=True)
def _all_probabilities(a):
    """True iff every a[k] (1-D float64) lies in [0, 1] (NaN does not): one branch-free pass, which
    LLVM vectorises (about twice as fast as numpy's min and max)."""
    bad = 0
    for k in range(a.size):
        v = a[k]
        bad += (v < 0.0) | (v > 1.0) | (v != v)
    return bad == 0


def _flat_f64(a: np.ndarray, n: int, name: str) -> np.ndarray:
    a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=np.float64), (n,)))
    if not _all_probabilities(a):
        raise ValueError(f"{name} must be probabilities in [0, 1]")
    return a


def program_cells(target: np.ndarray, previous: np.ndarray, p_fail_to_ap, p_fail_to_p,
                  rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """Write ``target`` states over ``previous`` ones with per-cell failure probabilities.

    Parameters
    ----------
    target, previous : uint8 arrays of one shape (1 = AP, 0 = P).
    p_fail_to_ap, p_fail_to_p : per-cell (same shape) or scalar probability that a P -> AP
        (resp. AP -> P) switch fails, leaving the cell in its old state.
    rng : the run's ``write`` stream.

    Returns
    -------
    states : uint8 array of target's shape, the programmed cells.
    n_switches : cells that had to switch.
    n_failures : switches that failed.
    """
    target = np.ascontiguousarray(target, dtype=np.uint8).ravel()
    previous = np.ascontiguousarray(previous, dtype=np.uint8).ravel()
    if target.shape != previous.shape:
        raise ValueError("target and previous states differ in size")
    n = target.size
    out = np.empty(n, dtype=np.uint8)
    uniforms = rng.random(n)
    # one rate for all cells (constant_ber): no per-cell arrays, the kernel reads element 0 (step 0)
    step = 0 if np.ndim(p_fail_to_ap) == 0 and np.ndim(p_fail_to_p) == 0 else 1
    m = n if step else 1
    p_ap, p_p = _flat_f64(p_fail_to_ap, m, "p_fail_to_ap"), _flat_f64(p_fail_to_p, m, "p_fail_to_p")
    failures = _program(target, previous, p_ap, p_p, step, uniforms, out)
    return out, int(np.count_nonzero(target != previous)), int(failures)


def retention_step(states: np.ndarray, p_ap_to_p, p_p_to_ap, rng: np.random.Generator) -> tuple[int, int]:
    """Age ``states`` (1-D uint8, modified in place) by one interval with per-cell flip probabilities.

    Returns the numbers of AP -> P and P -> AP flips. ``rng`` is the run's ``retention`` stream.
    """
    if states.dtype != np.uint8 or states.ndim != 1 or not states.flags.c_contiguous:
        raise TypeError("retention_step ages a contiguous 1-D uint8 state array in place")
    n = states.size
    uniforms = rng.random(n)
    to_p, to_ap = _retention_step(states, _flat_f64(p_ap_to_p, n, "p_ap_to_p"),
                                  _flat_f64(p_p_to_ap, n, "p_p_to_ap"), uniforms)
    return int(to_p), int(to_ap)


def retention_step_columns(states: np.ndarray, n_in: int, neuron_group: np.ndarray, p_ap_to_p,
                           p_p_to_ap, rng: np.random.Generator) -> tuple[int, int, np.ndarray]:
    """``retention_step`` for a layer whose flip probabilities are one per column group.

    ``states`` (n_out * n_in,) uint8 is neuron-major (modified in place); ``neuron_group`` (n_out,)
    ints give each neuron's group and ``p_ap_to_p``, ``p_p_to_ap`` (n_groups,) its probabilities.
    Draws the same uniforms as ``retention_step`` (one per cell, in cell order), so the cells end the
    same as with the per-cell probabilities broadcast from the groups. Returns (AP -> P flips,
    P -> AP flips, (n_out,) bool: neurons with a flipped cell).
    """
    if states.dtype != np.uint8 or states.ndim != 1 or not states.flags.c_contiguous:
        raise TypeError("retention_step_columns ages a contiguous 1-D uint8 state array in place")
    group = np.ascontiguousarray(neuron_group, dtype=np.int64)
    if group.ndim != 1 or states.size != group.size * n_in:
        raise ValueError(f"{states.size} cells are not {group.size} neurons x {n_in} rows")
    to_p_g = np.ascontiguousarray(p_ap_to_p, dtype=np.float64).ravel()
    to_ap_g = np.ascontiguousarray(p_p_to_ap, dtype=np.float64).ravel()
    for name, p in (("p_ap_to_p", to_p_g), ("p_p_to_ap", to_ap_g)):
        if not _all_probabilities(p):
            raise ValueError(f"{name} must be probabilities in [0, 1]")
        if group.size and (group.min() < 0 or group.max() >= p.size):
            raise ValueError(f"{name} has {p.size} groups; neuron_group refers to group {group.max()}")
    changed = np.zeros(group.size, dtype=np.bool_)
    uniforms = rng.random(states.size)
    to_p, to_ap = _retention_step_columns(states, n_in, group, to_p_g, to_ap_g, uniforms, changed)
    return int(to_p), int(to_ap), changed
