"""Numba kernels of the device stage (programming): per-device junction drive and pulse energy, and
the lookup of a tabulated ln WER. Imported only by their wrapper, :mod:`accelsim.device.wer_table`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Devices per block of the AP fixed-point solve (the block's arrays stay in the L1 cache).
_BLOCK = 512


@njit(cache=True, error_model="numpy")
def _drive_energy(
    v_src,
    from_ap,
    r_p,
    tmr0,
    v_c,
    r_s,
    v_half,
    r_p_nom,
    tmr0_nom,
    t_pulse,
    c_line,
    n_iter,
    i_out,
    e_out,
    v_work,
):
    """Per-device drive ratio i and pulse energy, the arithmetic of ``device_drive`` and
    ``pulse_energy_j`` operation for operation (the same IEEE results).

    P start: I = V_src / (R_P + R_s), i = I R_P,nom / Vc. AP start: V_j = V_src R / (R + R_s) with
    R = R_P (1 + TMR0 / (1 + V_j^2 / V_h^2)) by fixed-point iteration (started from the zero-bias R),
    with as many updates for every device as ``energy.divider`` makes for the whole array: it stops
    after the first update that moves no device by more than 1e-14 (1 + V_src) (at most n_iter).
    Here each block of devices iterates until its own devices are still, then the blocks that
    stopped earlier catch up to the largest count. Then I = V_src / (R + R_s) and
    i = I R_P,nom (1 + TMR0,nom / (1 + (I R)^2 / V_h^2)) / Vc. Energy V_src I t + C V_src^2.

    Arguments: v_src (V), from_ap (bool), r_p/tmr0/v_c/r_s float64 (n,) (Ohm, 1, V, Ohm), v_half (V),
    r_p_nom (Ohm), tmr0_nom, t_pulse (s), c_line (F), n_iter (int); outputs i_out, e_out float64 (n,)
    (1, J); scratch v_work float64 (n,) (AP only; may be empty for P).
    """
    n = r_p.size
    if not from_ap:
        for c in range(n):
            current = v_src / (r_p[c] + r_s[c])
            i_out[c] = current * r_p_nom / v_c[c]
            e_out[c] = v_src * current * t_pulse + c_line * v_src * v_src
        return
    tol = 1e-14 * (1.0 + abs(v_src))
    for c in range(n):
        r0 = r_p[c] * (1.0 + tmr0[c])
        v_work[c] = v_src * r0 / (r0 + r_s[c])
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    updates = np.zeros(n_blocks, dtype=np.int64)
    for b in range(n_blocks):
        blk = slice(b * _BLOCK, min((b + 1) * _BLOCK, n))
        updates[b] = _fixed_point(v_src, r_p[blk], tmr0[blk], r_s[blk], v_half, v_work[blk], tol, n_iter)
    m_max = updates.max() if n_blocks else 0
    for b in range(n_blocks):
        if updates[b] < m_max:
            blk = slice(b * _BLOCK, min((b + 1) * _BLOCK, n))
            _fixed_point(v_src, r_p[blk], tmr0[blk], r_s[blk], v_half, v_work[blk], -1.0, m_max - updates[b])
    for c in range(n):
        q = v_work[c] / v_half
        r = r_p[c] * (1.0 + tmr0[c] / (1.0 + q * q))
        current = v_src / (r + r_s[c])
        q = current * r / v_half
        r_nom = r_p_nom * (1.0 + tmr0_nom / (1.0 + q * q))
        i_out[c] = current * r_nom / v_c[c]
        e_out[c] = v_src * current * t_pulse + c_line * v_src * v_src


@njit(cache=True, error_model="numpy")
def _fixed_point(v_src, r_p, tmr0, r_s, v_half, v, tol, n_iter):
    """Update the junction voltages ``v`` (float64 (m,), V) in place, V <- V_src R(V) / (R(V) + R_s),
    until an update moves none by more than ``tol`` (that update included; never for tol < 0) or
    after n_iter updates; returns the number of updates made."""
    for m in range(1, n_iter + 1):
        moving = 0
        for c in range(v.size):
            q = v[c] / v_half
            r = r_p[c] * (1.0 + tmr0[c] / (1.0 + q * q))
            v_new = v_src * r / (r + r_s[c])
            moving += abs(v_new - v[c]) > tol
            v[c] = v_new
        if moving == 0:
            return m
    return n_iter


@njit(cache=True, error_model="numpy")
def _log_table_lookup(i, i_c, x_min, scale, u0, inv_h, coef, u_zero, log_cap, out):
    """ln WER of each drive from a cubic Hermite table of ln WER over u = scale (i / i_c - 1).

    Interval j covers [u0 + j h, u0 + (j + 1) h]; on it ln WER = c0 + s (c1 + s (c2 + s c3)),
    s = (u - u0) / h - j; the result is min(ln WER, log_cap); -inf for u >= u_zero (WER below the
    smallest double); NaN where i / i_c < x_min (outside the table's regime: the caller evaluates
    those). The caller takes exp (numpy's is vectorised). Returns the number of NaN cells.

    Arguments: i float64 (n,) drive ratios; i_c, x_min, scale, u0, inv_h (1 / h), u_zero, log_cap
    float64 scalars; coef float64 (n_intervals, 4); out float64 (n,).
    """
    last = coef.shape[0] - 1
    n_outside = 0
    for c in range(i.size):
        x = i[c] / i_c
        if not x >= x_min:
            out[c] = np.nan
            n_outside += 1
            continue
        u = scale * (x - 1.0)
        if u >= u_zero:
            out[c] = -np.inf
            continue
        s = (u - u0) * inv_h
        j = int(s) if s > 0.0 else 0
        if j > last:
            j = last
        s -= j
        f = coef[j, 0] + s * (coef[j, 1] + s * (coef[j, 2] + s * coef[j, 3]))
        out[c] = f if f < log_cap else log_cap
    return n_outside
