"""Retention: Neel-Arrhenius thermal flips of idle cells, asymmetric between AP -> P and P -> AP.

Owns the flip probability over a time step, its inverses (Delta for a target, time to a
probability) and the per-state barriers of an MTJ.
"""

from __future__ import annotations

import numpy as np

from accelsim.device.mtj import MTJ, State, as_output


def retention_flip_probability(dt_s, delta, tau0_s=1e-9):
    """P_flip(dt) = 1 - exp(-(dt / tau0) exp(-Delta)) (Neel-Arrhenius; 002 eq. (2)).

    Computed as -expm1(...) so that 1e-18 stays 1e-18. Vectorised: the engine calls it with a time
    step and per-cell arrays of Delta. Delta 40 over one year gives 0.125; Delta 60 over ten years
    2.8e-9 (PHYSICS.md section 5). The process is memoryless, so applying it step by step (002's
    10 steps over 10 years) gives the same total as one step.

    Parameters
    ----------
    dt_s : float or ndarray
        Time the cell sits idle (s), >= 0.
    delta : float or ndarray
        Barrier of the state the cell is in (Delta_AP for AP -> P, Delta_P for P -> AP).
    tau0_s : float or ndarray
        Attempt time (s); 1 ns in 002.
    """
    dt = np.asarray(dt_s, dtype=float)
    if np.any(dt < 0):
        raise ValueError("retention time step must be >= 0")
    rate = np.exp(-np.asarray(delta, dtype=float)) / np.asarray(tau0_s, dtype=float)
    return as_output(-np.expm1(-dt * rate))


def state_barrier(mtj: MTJ, state: State) -> float:
    """Effective barrier of ``state`` for retention: Delta0 (1 -/+ h)^2 for AP / P (PHYSICS.md section 5).

    Returns +inf for P when ``mtj.p_to_ap_retention`` is False (002 neglects P -> AP).
    """
    if state == "ap":
        return mtj.delta_ap_to_p
    if state == "p":
        return mtj.delta_p_to_ap if mtj.p_to_ap_retention else float("inf")
    raise ValueError(f"state must be 'p' or 'ap', got {state!r}")


def state_flip_probability(dt_s, mtj: MTJ, state: State, delta=None):
    """Probability that a cell idle in ``state`` flips within ``dt_s``.

    ``delta`` optionally gives per-cell Delta0 (the stray-field factor is applied on top).
    """
    barrier = state_barrier(mtj, state)
    if delta is not None and np.isfinite(barrier):
        barrier = np.asarray(delta, dtype=float) * (barrier / mtj.delta)
    return retention_flip_probability(dt_s, barrier, mtj.tau_attempt_s)


def delta_for_retention(t_s, p_flip, tau0_s=1e-9):
    """Barrier Delta at which P_flip(t) equals ``p_flip``: Delta = ln(t / (tau0 (-ln(1 - p)))).

    Ten years at 1e-9 needs Delta 61.0; at 1e-6, 54.1 (PHYSICS.md section 5).
    """
    p = np.asarray(p_flip, dtype=float)
    return as_output(np.log(np.asarray(t_s, dtype=float) / (np.asarray(tau0_s) * -np.log1p(-p))))


def retention_time_s(p_flip, delta, tau0_s=1e-9):
    """Time (s) after which a cell with barrier Delta has flipped with probability ``p_flip``."""
    p = np.asarray(p_flip, dtype=float)
    return as_output(np.asarray(tau0_s) * np.exp(np.asarray(delta, dtype=float)) * -np.log1p(-p))
