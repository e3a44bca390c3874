"""Tzoufras' Fokker-Planck macrospin switching model: Legendre expansion, eq. (11) and (12).

Owns the pentadiagonal matrix, its initial condition and the write-error / switching probabilities
(and switching-time moments) it gives; vectorised over drive arrays by interpolation on a grid.
"""

from __future__ import annotations

import ctypes
import glob
import math
import os
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import scipy
from scipy.special import eval_legendre

#: Probabilities are clamped to at least this before taking logs (double precision floor is ~1e-13).
_TINY = 1e-300


@lru_cache(maxsize=1)
def _scipy_openblas():
    """(get, set) of the thread count of the OpenBLAS bundled with scipy, or None if not found."""
    root = os.path.join(os.path.dirname(scipy.__file__), os.pardir, "scipy.libs")
    for path in sorted(glob.glob(os.path.join(root, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            get = getattr(lib, f"{prefix}_get_num_threads", None)
            put = getattr(lib, f"{prefix}_set_num_threads", None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


@contextmanager
def _single_thread_blas():
    """Run the small (~150 x 150) matrix exponentials on one BLAS thread, then restore the count.

    Threaded OpenBLAS on matrices this small is 4x slower on an idle 2-core machine and ~90x slower
    when other processes load it (oversubscription). This is what threadpoolctl does; a no-op when
    the library is not found.
    """
    handles = _scipy_openblas()
    if handles is None:
        yield
        return
    get, put = handles
    old = get()
    put(1)
    try:
        yield
    finally:
        put(old)


def fp_order(delta: float, i: float, h: float = 0.0) -> int:
    """Legendre order N that resolves WER down to ~1e-10 (checked against N + 40 in the tests).

    The distribution is pinned at z = +-1 with width ~ 1 / (2 Delta (1 + |i - h|)); Legendre series
    resolve it with N ~ 8 sqrt(2 Delta (1 + |i - h|)) terms (120 at least, rounded up to 8).
    """
    n = max(120.0, 8.0 * math.sqrt(2.0 * delta * (1.0 + abs(i - h))))
    return int(8 * math.ceil(n / 8.0))


def fp_matrix(i: float, h: float, delta: float, n_legendre: int) -> np.ndarray:
    """The matrix A of eq. (11) of Tzoufras, AIP Advances 8, 056002 (2018): dr/dtau = A r.

    Column n (PHYSICS.md section 4; entries outside 0..N dropped):
    A[n-2,n] = -n(n-1)(n-2)/((2n-1)(2n+1)), A[n-1,n] = (i-h) n(n-1)/(2n+1),
    A[n,n] = -n(n+1)[1/(2 Delta) - 1/((2n-1)(2n+3))], A[n+1,n] = -(i-h)(n+1)(n+2)/(2n+1),
    A[n+2,n] = (n+1)(n+2)(n+3)/((2n+1)(2n+3)).

    Parameters
    ----------
    i : float
        Drive ratio I / Ic0 (> 0 pushes the free layer out of z = +1).
    h : float
        Normalised field along the initial state (H / H_K).
    delta : float
        Thermal stability factor.
    n_legendre : int
        Highest Legendre order N (the matrix is (N+1) x (N+1)).
    """
    n = np.arange(n_legendre + 1, dtype=float)
    g = i - h
    a = np.zeros((n_legendre + 1, n_legendre + 1))
    idx = np.arange(n_legendre + 1)
    a[idx, idx] = -n * (n + 1) * (1.0 / (2.0 * delta) - 1.0 / ((2 * n - 1) * (2 * n + 3)))
    m = idx[1:]
    nm = n[1:]
    a[m - 1, m] = g * nm * (nm - 1) / (2 * nm + 1)
    m = idx[2:]
    nm = n[2:]
    a[m - 2, m] = -nm * (nm - 1) * (nm - 2) / ((2 * nm - 1) * (2 * nm + 1))
    m = idx[:-1]
    nm = n[:-1]
    a[m + 1, m] = -g * (nm + 1) * (nm + 2) / (2 * nm + 1)
    m = idx[:-2]
    nm = n[:-2]
    a[m + 2, m] = (nm + 1) * (nm + 2) * (nm + 3) / ((2 * nm + 1) * (2 * nm + 3))
    return a


@lru_cache(maxsize=64)
def _initial_coefficients(delta: float, n_legendre: int) -> np.ndarray:
    x, w = np.polynomial.legendre.leggauss(max(400, 2 * n_legendre))
    z = 0.5 * (x + 1.0)
    w = 0.5 * w
    f = np.exp(delta * (z * z - 1.0))  # rho0 ~ exp(Delta z^2) on z > 0, scaled by exp(-Delta)
    norm = 2.0 * np.pi * np.sum(w * f)
    p = np.array([eval_legendre(k, z) for k in range(n_legendre + 1)])
    r0 = (2.0 * np.arange(n_legendre + 1) + 1.0) / 2.0 * (p @ (w * f)) / norm
    r0.setflags(write=False)
    return r0


def fp_initial_coefficients(delta: float, n_legendre: int) -> np.ndarray:
    """Legendre coefficients r(0) of the equilibrium rho0 ~ exp(Delta z^2) on z > 0, 0 on z < 0.

    Normalised so that 2 pi integral(rho) dz = 1 (Tzoufras 2018, PHYSICS.md section 4).
    """
    return _initial_coefficients(float(delta), int(n_legendre))


@lru_cache(maxsize=16)
def _half_integrals(n_legendre: int) -> np.ndarray:
    p0 = np.array([eval_legendre(k, 0.0) for k in range(n_legendre + 2)])
    s = np.empty(n_legendre + 1)
    s[0] = 1.0
    k = np.arange(1, n_legendre + 1)
    s[1:] = (p0[k - 1] - p0[k + 1]) / (2 * k + 1)
    s.setflags(write=False)
    return s


def fp_half_integrals(n_legendre: int) -> np.ndarray:
    """s_n = integral_0^1 P_n(x) dx (s_0 = 1, s_1 = 1/2, 0 for even n >= 2), eq. (12) of Tzoufras."""
    return _half_integrals(int(n_legendre))


def fp_probabilities(i: float, tau, delta: float, h: float = 0.0, n_legendre: int = 0):
    """(WER, P_switch) after a pulse of normalised length tau = t / tau_D at drive ratio i.

    WER(tau) = 2 pi sum_n s_n r_n(tau) (mass left in z > 0, eq. (12) of Tzoufras 2018) and
    P_switch = 2 pi sum_n (-1)^n s_n r_n(tau) (mass in z < 0), each computed directly so that the
    small one keeps its relative accuracy; r(tau) = expm(A tau) r(0) (eq. (11)). Valid down to
    ~1e-13 in double precision; results are clamped to [0, 1].

    Parameters
    ----------
    i : float
        Drive ratio I / Ic0.
    tau : float or ndarray
        Pulse length(s) in units of tau_D, >= 0.
    delta : float
        Thermal stability factor of the state being left.
    h : float
        Normalised field along the initial state.
    n_legendre : int
        Legendre order; 0 picks :func:`fp_order`.
    """
    from scipy.linalg import expm  # imported where used: gamma-model runs skip scipy.linalg

    n = n_legendre or fp_order(delta, i, h)
    a = fp_matrix(float(i), float(h), float(delta), n)
    r0 = fp_initial_coefficients(delta, n)
    s = fp_half_integrals(n)
    s_minus = s * (-1.0) ** np.arange(n + 1)
    taus = np.atleast_1d(np.asarray(tau, dtype=float))
    wer = np.empty(taus.shape)
    psw = np.empty(taus.shape)
    with _single_thread_blas():
        for k, t in enumerate(taus):
            r = expm(a * t) @ r0 if t > 0 else r0
            wer[k] = 2.0 * np.pi * (s @ r)
            psw[k] = 2.0 * np.pi * (s_minus @ r)
    wer = np.clip(wer, 0.0, 1.0)
    psw = np.clip(psw, 0.0, 1.0)
    if np.ndim(tau) == 0:
        return float(wer[0]), float(psw[0])
    return wer, psw


def fp_switching_moments(i: float, delta: float, h: float = 0.0, n_legendre: int = 0):
    """Mean switching time (in tau_D) and gamma shape k = mean^2 / variance from the FP model.

    With row 0 of A zero (r_0 conserved) the other coefficients obey dr'/dtau = A' r' + a0 r_0,
    whose fixed point is r'_inf = -A'^-1 a0 r_0; then integral_0^inf (WER - WER_inf) dtau =
    -2 pi s' A'^-1 (r'(0) - r'_inf) and the second moment is 2 x 2 pi s' A'^-2 (r'(0) - r'_inf).
    Delta 40, tau_D 2 ns: 53.5 ns at i = 0.8, 17.4 ns at i = 1, 4.08 ns at i = 2 (PHYSICS.md
    section 2); k = 8.3, 10.9, 13.5 at i = 1.5, 2, 3 (section 3).
    """
    from scipy.linalg import solve  # imported where used: gamma-model runs skip scipy.linalg

    n = n_legendre or fp_order(delta, i, h)
    a = fp_matrix(float(i), float(h), float(delta), n)
    r = fp_initial_coefficients(delta, n)
    s = fp_half_integrals(n)
    ap = a[1:, 1:]
    with _single_thread_blas():
        r_inf = -solve(ap, a[1:, 0] * r[0])
        d = r[1:] - r_inf
        x1 = solve(ap, d)
        x2 = solve(ap, x1)
    m1 = -2.0 * np.pi * (s[1:] @ x1)
    m2 = 2.0 * 2.0 * np.pi * (s[1:] @ x2)
    return float(m1), float(m1 * m1 / (m2 - m1 * m1))


def _log_pair(i, tau, delta, h, n_legendre):
    w, p = fp_probabilities(i, tau, delta, h, n_legendre)
    return math.log(max(w, _TINY)), math.log(max(p, _TINY))


def fp_write_error_rate(
    i, tau: float, delta, h: float = 0.0, n_legendre: int = 0, *, n_grid: int = 48, switching: bool = False
):
    """Vectorised FP write error rate (or switching probability) over arrays of i (and Delta).

    Distinct values up to ``n_grid`` are computed exactly; beyond that, log WER and log P_switch are
    tabulated on ``n_grid`` points spanning the drive range (and 7 points spanning Delta where it
    varies) and interpolated with cubic splines (relative error < 1e-3 in the tests).

    Parameters
    ----------
    i : float or ndarray
        Drive ratios.
    tau : float
        Pulse length in units of tau_D.
    delta : float or ndarray
        Thermal stability factor(s), broadcast against ``i``.
    h : float
        Normalised field along the initial state.
    n_legendre : int
        Legendre order (0: automatic per point).
    switching : bool
        Return P_switch = 1 - WER instead of WER.
    """
    from scipy.interpolate import CubicSpline, RegularGridInterpolator  # ~0.3 s: imported where used

    i_arr, d_arr = np.broadcast_arrays(np.asarray(i, dtype=float), np.asarray(delta, dtype=float))
    flat_i = i_arr.ravel()
    flat_d = d_arr.ravel()
    pairs, inverse = np.unique(np.stack([flat_i, flat_d], axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if len(pairs) <= n_grid:
        logs = np.array([_log_pair(pi, tau, pd, h, n_legendre) for pi, pd in pairs])
        lw, lp = logs[inverse, 0], logs[inverse, 1]
    else:
        i_lo, i_hi = flat_i.min(), flat_i.max()
        grid_i = np.linspace(i_lo, i_hi, n_grid)
        d_lo, d_hi = flat_d.min(), flat_d.max()
        if d_hi - d_lo <= 1e-12 * d_hi:
            logs = np.array([_log_pair(gi, tau, d_lo, h, n_legendre) for gi in grid_i])
            lw = CubicSpline(grid_i, logs[:, 0])(flat_i)
            lp = CubicSpline(grid_i, logs[:, 1])(flat_i)
        else:
            grid_d = np.linspace(d_lo, d_hi, 7)
            logs = np.array([[_log_pair(gi, tau, gd, h, n_legendre) for gd in grid_d] for gi in grid_i])
            pts = np.stack([flat_i, flat_d], axis=1)
            lw = RegularGridInterpolator((grid_i, grid_d), logs[:, :, 0], method="cubic")(pts)
            lp = RegularGridInterpolator((grid_i, grid_d), logs[:, :, 1], method="cubic")(pts)
    wer = np.where(lw <= lp, np.exp(np.minimum(lw, 0.0)), -np.expm1(np.minimum(lp, 0.0)))
    psw = np.where(lp < lw, np.exp(np.minimum(lp, 0.0)), -np.expm1(np.minimum(lw, 0.0)))
    out = (psw if switching else wer).reshape(i_arr.shape)
    out = np.clip(out, 0.0, 1.0)
    return float(out) if out.ndim == 0 else out
