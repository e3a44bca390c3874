"""Numba kernels of the device stage: per-device junction drive and pulse energy, and the lookup of a
tabulated ln WER. Imported only by their wrapper, :mod:`accelsim.device.wer_table`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
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
    m_work,
):
    """Per-device drive ratio i and pulse energy, the arithmetic of ``device_drive`` and
    ``pulse_energy_j`` operation for operation (the same IEEE results).

    P start: I = V_src / (R_P + R_s), i = I R_P,nom / Vc. AP start: V_j = V_src R / (R + R_s) with
    R = R_P (1 + TMR0 / (1 + V_j^2 / V_h^2)) by fixed-point iteration (started from the zero-bias R),
    as many updates for every device as ``energy.divider`` makes for the whole array (it stops when
    the largest update is <= 1e-14 (1 + V_src)); then I = V_src / (R + R_s) and
    i = I R_P,nom (1 + TMR0,nom / (1 + (I R)^2 / V_h^2)) / Vc. Energy V_src I t + C V_src^2.

    Arguments: v_src (V), from_ap (bool), r_p/tmr0/v_c/r_s float64 (n,) (Ohm, 1, V, Ohm), v_half (V),
    r_p_nom (Ohm), tmr0_nom, t_pulse (s), c_line (F), n_iter (int); outputs i_out, e_out float64 (n,)
    (1, J); scratch v_work float64 (n,), m_work int64 (n,).
    """
    n = r_p.size
    if not from_ap:
        for c in range(n):
            current = v_src / (r_p[c] + r_s[c])
            i_out[c] = current * r_p_nom / v_c[c]
            e_out[c] = v_src * current * t_pulse + c_line * v_src * v_src
        return
    tol = 1e-14 * (1.0 + abs(v_src))
    m_max = 0
    for c in range(n):
        r0 = r_p[c] * (1.0 + tmr0[c])
        v = v_src * r0 / (r0 + r_s[c])
        m = 0
        while m < n_iter:
            q = v / v_half
            r = r_p[c] * (1.0 + tmr0[c] / (1.0 + q * q))
            v_new = v_src * r / (r + r_s[c])
            m += 1
            done = abs(v_new - v) <= tol
            v = v_new
            if done:
                break
        v_work[c] = v
        m_work[c] = m
        if m > m_max:
            m_max = m
    for c in range(n):
        v = v_work[c]
        for _ in range(m_work[c], m_max):
            q = v / v_half
            r = r_p[c] * (1.0 + tmr0[c] / (1.0 + q * q))
            v = v_src * r / (r + r_s[c])
        q = v / v_half
        r = r_p[c] * (1.0 + tmr0[c] / (1.0 + q * q))
        current = v_src / (r + r_s[c])
        q = current * r / v_half
        r_nom = r_p_nom * (1.0 + tmr0_nom / (1.0 + q * q))
        i_out[c] = current * r_nom / v_c[c]
        e_out[c] = v_src * current * t_pulse + c_line * v_src * v_src


@njit(cache=True)
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
