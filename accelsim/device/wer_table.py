"""Tabulated write error rates of the gamma model: per-cell WER of many devices from a table of
ln Q(k, u) with a verified error bound, and the per-device programming step built on it.

Above the bridge (i / i_c >= x_sun_min) the gamma model's WER is Q(k, u) = gammaincc(k, u) with one
shape k and u = k t / <t> = (k t i_c / tau_c)(i / i_c - 1), linear in the drive (PHYSICS.md sections
2-3): one table of ln Q over u serves every device of a pulse. The table is a cubic Hermite
interpolant of ln Q on uniform nodes with the exact slope d ln Q / du = -u^(k-1) e^(-u) / (Gamma(k) Q),
refined until its error at every interval midpoint (where the Hermite error term peaks) is below
``LOG_TOL``; :data:`REL_ERROR_BOUND` is the relative WER error the tests hold it to against the exact
path (:func:`accelsim.device.write.write_error_rate_at_drive`). Cells in the bridge or below it, and
models the table does not cover, go through the exact path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincc, gammaln

from accelsim.device.energy import DIVIDER_ITERATIONS, Driver
from accelsim.device.mtj import MTJ, Polarity, initial_state
from accelsim.device.write import (
    GAMMA,
    WriteModel,
    _bridge_envelope,
    _regime,
    _shape,
    write_error_rate_at_drive,
)
from accelsim.kernels.device_write import _drive_energy, _log_table_lookup

#: Largest |ln WER_table - ln WER_exact| allowed at the interval midpoints when a table is built.
LOG_TOL = 1e-10
#: Relative error of a tabulated WER against the exact path that the tests check (WER >= 1e-300):
#: ten times LOG_TOL, for points off the midpoints and the rounding of the drive.
REL_ERROR_BOUND = 1e-9
#: ln of half the smallest subnormal double: Q below this is 0 in double precision.
_LOG_ZERO = math.log(5e-324) - math.log(2.0)
#: Exact Q from gammaincc down to this value; below it, ln Q from the continued fraction.
_Q_DIRECT_MIN = 1e-280
_MAX_INTERVALS = 1 << 18


def log_gamma_q(k: float, u) -> np.ndarray:
    """ln Q(k, u), Q = gammaincc(k, u) the regularised upper incomplete gamma function, for u >= 0.

    ``scipy.special.gammaincc`` where Q >= 1e-280; below (u >> k), Legendre's continued fraction
    Gamma(k, u) = e^-u u^k / (u + 1 - k - 1 (1 - k) / (u + 3 - k - ...)) evaluated by the modified
    Lentz method (Press et al., Numerical Recipes, 3rd ed., section 6.2, ``gcf``), so ln Q stays
    finite where Q underflows.
    """
    u = np.asarray(u, dtype=float)
    q = gammaincc(k, u)
    with np.errstate(divide="ignore"):
        out = np.log(q)
    tail = q < _Q_DIRECT_MIN
    if np.any(tail):
        out = np.array(out, copy=True)
        out[tail] = _log_q_continued_fraction(k, u[tail])
    return out


def _log_q_continued_fraction(k: float, u: np.ndarray) -> np.ndarray:
    """ln Q(k, u) from Legendre's continued fraction (converges fast for u > k + 1)."""
    tiny = 1e-300
    b = u + 1.0 - k
    c = np.full_like(u, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    for j in range(1, 1000):
        an = -j * (j - k)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        step = d * c
        h = h * step
        if np.all(np.abs(step - 1.0) < 4.0 * np.finfo(float).eps):  # converged to rounding
            break
    return -u + k * np.log(u) - gammaln(k) + np.log(h)


def _log_q_slope(k: float, u: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """d ln Q / du = -u^(k-1) e^-u / (Gamma(k) Q), in logs (no underflow)."""
    if k == 1.0:
        return np.full(u.shape, -1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pdf = (k - 1.0) * np.log(u) - u - gammaln(k)
        slope = -np.exp(log_pdf - log_q)
    return np.where(u > 0, slope, 0.0 if k > 1.0 else -np.inf)


@dataclass(frozen=True, kw_only=True, slots=True)
class GammaTailTable:
    """ln Q(k, u) on [u0, u0 + n h] as cubic Hermite pieces; ``coef[j]`` = (c0, c1, c2, c3) of
    c0 + s (c1 + s (c2 + s c3)) on interval j, s in [0, 1]. ``u_zero``: from there Q is 0 in double
    precision. ``max_midpoint_error``: the measured max |ln Q_table - ln Q| over the midpoints."""

    k: float
    u0: float
    h: float
    coef: np.ndarray
    u_zero: float
    max_midpoint_error: float

    def log_q(self, u) -> np.ndarray:
        """The table's ln Q at ``u`` (numpy, for checks; the kernel does the same per cell)."""
        u = np.asarray(u, dtype=float)
        s = (u - self.u0) / self.h
        j = np.clip(np.floor(s), 0, self.coef.shape[0] - 1).astype(np.int64)
        s = s - j
        c = self.coef[j]
        return c[..., 0] + s * (c[..., 1] + s * (c[..., 2] + s * c[..., 3]))


def _u_zero(k: float, u_start: float) -> float:
    """The u beyond which ln Q(k, u) < ln(2.5e-324) (Newton on ln Q from above ``u_start``)."""
    u = max(u_start, k + 1.0)
    for _ in range(200):
        f = float(log_gamma_q(k, np.array([u]))[0])
        if f <= _LOG_ZERO:
            break
        slope = float(_log_q_slope(k, np.array([u]), np.array([f]))[0])
        u = u + max((f - _LOG_ZERO) / -slope, 1.0)
    return u


def gamma_tail_table(k: float, u_lo: float, u_hi: float, log_tol: float = LOG_TOL) -> GammaTailTable | None:
    """Table of ln Q(k, u) covering [u_lo, u_hi] (clipped where Q underflows), refined (halving h
    from 0.5) until its midpoint error is <= ``log_tol``; None if that needs over 2^18 intervals."""
    if not (u_hi >= u_lo >= 0.0):
        raise ValueError(f"need 0 <= u_lo <= u_hi, got {u_lo!r}, {u_hi!r}")
    u_zero = _u_zero(k, u_lo) if float(log_gamma_q(k, np.array([u_hi]))[0]) <= _LOG_ZERO else math.inf
    top = min(u_hi, u_zero)
    h = 0.5
    while True:
        n = max(1, math.ceil((top - u_lo) / h))
        if n > _MAX_INTERVALS:
            return None
        nodes = u_lo + h * np.arange(n + 1)
        f = log_gamma_q(k, nodes)
        d = _log_q_slope(k, nodes, f) * h
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(d))):
            return None
        f0, f1, d0, d1 = f[:-1], f[1:], d[:-1], d[1:]
        d0, d1 = _monotone_slopes(f1 - f0, d0, d1)
        coef = np.stack([f0, d0, 3.0 * (f1 - f0) - 2.0 * d0 - d1, 2.0 * (f0 - f1) + d0 + d1], axis=1)
        mid = coef[:, 0] + 0.5 * (coef[:, 1] + 0.5 * (coef[:, 2] + 0.5 * coef[:, 3]))
        err = float(np.max(np.abs(mid - log_gamma_q(k, nodes[:-1] + 0.5 * h))))
        if err <= log_tol:
            return GammaTailTable(
                k=k, u0=u_lo, h=h, coef=np.ascontiguousarray(coef), u_zero=u_zero, max_midpoint_error=err
            )
        h *= 0.5


def _monotone_slopes(step: np.ndarray, d0: np.ndarray, d1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """End slopes (times h) of each interval scaled so that its cubic is non-increasing like ln Q:
    Fritsch and Carlson's sufficient condition alpha^2 + beta^2 <= 9, alpha = d0 / step, beta = d1 /
    step (SIAM J. Numer. Anal. 17(2) 238, 1980). Only intervals where ln Q is nearly flat (u << k)
    are touched; the midpoint check still bounds their error."""
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha, beta = d0 / step, d1 / step
        norm = np.hypot(alpha, beta)
        scale = np.where((step < 0) & (norm > 3.0), 3.0 / norm, 1.0)
    flat = ~(step < 0)  # ln Q equal at both ends (flat to double precision): a constant piece
    return np.where(flat, 0.0, d0 * scale), np.where(flat, 0.0, d1 * scale)


def _tabulable(t_s, delta, model: WriteModel) -> bool:
    """The table covers one pulse, one Delta and a shape k that is constant above the bridge."""
    if model.kind != "gamma" or model.shape_model not in ("constant", "sun_thermal"):
        return False
    d = np.asarray(delta, dtype=float)
    return np.ndim(t_s) == 0 and (d.ndim == 0 or (d.size > 0 and d.min() == d.max()))


def tabulated_write_error_rate_at_drive(
    i, t_pulse_s, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap", delta=None
):
    """:func:`accelsim.device.write.write_error_rate_at_drive` through a table of ln Q (same arguments).

    Drives above the bridge (i / i_c >= x_sun_min) read the table (relative error <=
    :data:`REL_ERROR_BOUND`, capped by the bridge envelope as the exact model is); the others, and
    calls the table does not cover (per-cell pulses or Deltas, the FP-fitted shape, the
    ``fokker_planck`` model), are evaluated exactly. Returns an array shaped like ``i`` (a float for a
    scalar drive).
    """
    d = mtj.delta if delta is None else delta
    i_arr = np.asarray(i, dtype=float)
    if i_arr.ndim == 0 or not _tabulable(t_pulse_s, d, model) or np.shape(d) not in ((), i_arr.shape):
        return write_error_rate_at_drive(i, t_pulse_s, mtj, model, polarity, delta)
    d0 = float(np.asarray(d, dtype=float).flat[0])
    out = np.empty(i_arr.size)
    _fill_from_table(np.ascontiguousarray(i_arr.ravel()), float(t_pulse_s), d0, mtj, model, polarity, out)
    return out.reshape(i_arr.shape)


def _fill_from_table(
    i: np.ndarray, t_s: float, delta: float, mtj: MTJ, model: WriteModel, polarity: Polarity, out: np.ndarray
) -> None:
    """WER of drives ``i`` (1-D) into ``out``: table above the bridge, exact path for the rest."""
    if t_s < 0:
        raise ValueError("pulse length must be >= 0")
    regime = _regime(1.0, mtj, model, polarity, delta)
    i_c, x_hi = float(regime[3]), float(regime[5])
    # the shape above the bridge, as the exact path computes it there (one value: one Delta)
    k = float(_shape(_regime(2.0 * x_hi * i_c, mtj, model, polarity, delta), mtj, model, polarity))
    scale = k * t_s * i_c / float(regime[2])
    table = None
    x_top = float(i.max()) / i_c if i.size else -math.inf
    if t_s > 0 and x_top >= x_hi:
        # the table spans the drives above the bridge (from x_hi if some cells lie below it)
        x_bottom = max(float(i.min()) / i_c, x_hi)
        table = gamma_tail_table(k, scale * (x_bottom - 1.0), scale * (x_top - 1.0))
    if table is None:
        out[:] = write_error_rate_at_drive(i, t_s, mtj, model, polarity, delta)
        return
    _, env = _bridge_envelope(t_s, delta, mtj, model, polarity, i_c, x_hi)
    n_outside = _log_table_lookup(
        i, i_c, x_hi, scale, table.u0, 1.0 / table.h, table.coef, table.u_zero, 0.0, out
    )
    np.exp(out, out=out)
    np.minimum(out, env[-1], out=out)  # the exact model's cap above the bridge (NaN stays NaN)
    if n_outside:
        rest = np.flatnonzero(np.isnan(out))
        out[rest] = write_error_rate_at_drive(i[rest], t_s, mtj, model, polarity, delta)


def _contiguous(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def tabulated_device_write_error_rate_and_energy_j(
    v_src_v: float,
    t_pulse_s: float,
    devices,
    mtj: MTJ,
    driver: Driver,
    model: WriteModel = GAMMA,
    polarity: Polarity = "p_to_ap",
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`accelsim.device.variability.device_write_error_rate_and_energy_j` (same arguments and
    results) with the drive and energy from one numba pass and the WER from the table.

    The drive and energy equal the exact path's (same operations); the WER is within
    :data:`REL_ERROR_BOUND` of it where the table applies (:func:`tabulated_write_error_rate_at_drive`).
    """
    from_ap = initial_state(polarity) == "ap"
    n = devices.n
    i = np.empty(n)
    energy = np.empty(n)
    _drive_energy(
        float(v_src_v),
        from_ap,
        _contiguous(devices.r_p_ohm),
        _contiguous(devices.tmr0),
        _contiguous(devices.v_c_v),
        _contiguous(devices.r_series_ohm),
        mtj.v_half_v,
        mtj.r_p_ohm,
        mtj.tmr0,
        float(t_pulse_s),
        driver.c_line_f,
        DIVIDER_ITERATIONS,
        i,
        energy,
        np.empty(n if from_ap else 0),
    )
    if not _tabulable(t_pulse_s, devices.delta, model):
        wer = np.asarray(write_error_rate_at_drive(i, t_pulse_s, mtj, model, polarity, delta=devices.delta))
        return wer, energy
    wer = np.empty(n)
    _fill_from_table(i, float(t_pulse_s), float(devices.delta[0]), mtj, model, polarity, wer)
    return wer, energy
