"""Write physics: mean switching time, switching-time distribution, WER(V, t) and its inverses.

Two models selectable by name: ``gamma`` (Sun's mean time + gamma-distributed switching time, as in
000/003) and ``fokker_planck`` (Tzoufras' macrospin Fokker-Planck solution, as in 001).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.special import gammainc, gammaincc, gammainccinv

from accelsim.device.fokker_planck import fp_switching_moments, fp_write_error_rate
from accelsim.device.mtj import (
    MTJ,
    DeviceParameterError,
    Polarity,
    as_output,
    stabilising_field,
    sun_relative_std,
    sun_tau_c_s,
)

WriteModelKind = Literal["gamma", "fokker_planck"]
ShapeModel = Literal["constant", "sun_thermal", "fokker_planck"]


@dataclass(frozen=True, kw_only=True, slots=True)
class WriteModel:
    """Which write model to use and its parameters (dimensionless).

    ``gamma`` (default): t_sw ~ Gamma(k, <t>/k), WER = 1 - GammaCDF(t) = gammaincc(k, k t / <t>)
    (Vincent et al., IEEE TED 62(1) 164, 2015, as used in 000 eq. (5) and 003); <t> from Sun's
    model above threshold and Neel-Brown thermal activation below, joined continuously.
    ``fokker_planck``: Tzoufras, AIP Advances 8, 056002 (2018), eq. (11)-(12).
    """

    kind: WriteModelKind = field(default="gamma", metadata={"doc": "'gamma' or 'fokker_planck'"})
    shape_k: float = field(
        default=16.0,
        metadata={
            "doc": "gamma shape k above threshold when shape_model = 'constant'; 16.0 (relative std 0.25) "
            "as suggested by Vincent 2015 and used in 000 (Hirtzlin) at 2 Vc"
        },
    )
    shape_model: ShapeModel = field(
        default="constant",
        metadata={
            "doc": "'constant' (shape_k), 'sun_thermal' (k = 1/relstd^2 of Sun's thermal-angle model, "
            "16.2 at Delta 40) or 'fokker_planck' (moment fit to the FP model, k(V/Vc): 8.3, 10.9, 13.5 "
            "at 1.5, 2, 3 Vc for Delta 40)"
        },
    )
    thermal_beta: float = field(
        default=2.0,
        metadata={
            "doc": "barrier exponent in t = tau0 exp(Delta (1 - i)^beta) below threshold: 2 is exact for "
            "the axisymmetric macrospin, 1 is the compact-model choice (PHYSICS.md section 2)"
        },
    )
    x_thermal_max: float = field(
        default=0.7, metadata={"doc": "i / i_c up to which the thermal formula holds (PHYSICS.md section 2)"}
    )
    x_sun_min: float = field(
        default=1.5, metadata={"doc": "i / i_c from which Sun's formula holds (PHYSICS.md section 2)"}
    )
    n_legendre: int = field(default=0, metadata={"doc": "FP Legendre order; 0 = automatic (fp_order)"})

    def __post_init__(self) -> None:
        if self.kind not in ("gamma", "fokker_planck"):
            raise DeviceParameterError(
                "kind", f"write model kind must be 'gamma' or 'fokker_planck', got {self.kind!r}"
            )
        if self.shape_model not in ("constant", "sun_thermal", "fokker_planck"):
            raise DeviceParameterError(
                "shape_model",
                f"shape_model must be 'constant', 'sun_thermal' or 'fokker_planck', got {self.shape_model!r}",
            )
        if not self.shape_k >= 1.0:
            raise DeviceParameterError("shape_k", f"shape_k must be >= 1, got {self.shape_k!r}")
        if not self.thermal_beta > 0:
            raise DeviceParameterError("thermal_beta", f"thermal_beta must be > 0, got {self.thermal_beta!r}")
        if not 0 < self.x_thermal_max < 1 < self.x_sun_min:
            raise DeviceParameterError(
                "x_thermal_max",
                f"need 0 < x_thermal_max < 1 < x_sun_min, got {self.x_thermal_max!r}, {self.x_sun_min!r}",
            )
        if self.n_legendre < 0:
            raise DeviceParameterError("n_legendre", f"n_legendre must be >= 0, got {self.n_legendre!r}")


GAMMA = WriteModel()
FOKKER_PLANCK = WriteModel(kind="fokker_planck")


def write_model(name: str) -> WriteModel:
    """The default parameters of the write model called ``name`` ('gamma' or 'fokker_planck')."""
    key = name.replace("-", "_")
    if key == "gamma":
        return GAMMA
    if key == "fokker_planck":
        return FOKKER_PLANCK
    raise DeviceParameterError("kind", f"write model must be 'gamma' or 'fokker_planck', got {name!r}")


# --- mean switching time and shape ------------------------------------------------------------
def _regime(i, mtj: MTJ, model: WriteModel, polarity: Polarity, delta):
    """Shared pieces: x = i / i_c, barrier and Sun time of the state left, bridge bounds."""
    h = stabilising_field(mtj, polarity)
    d0 = np.asarray(mtj.delta if delta is None else delta, dtype=float)
    i = np.asarray(i, dtype=float)
    i_c = 1.0 + h
    x = i / i_c
    d_s = d0 * (1.0 + h) ** 2
    tau_c = np.asarray(sun_tau_c_s(mtj.tau_d_s, d_s))
    beta = model.thermal_beta
    x_lo = np.full(np.broadcast(x, d_s).shape, model.x_thermal_max)
    x_hi = model.x_sun_min
    log_lo = math.log(mtj.tau_attempt_s) + d_s * (1.0 - x_lo) ** beta
    log_hi = np.log(tau_c / (i_c * (x_hi - 1.0)))
    # If the thermal time at x_lo is already shorter than Sun's at x_hi (low Delta), move x_lo down
    # to where the two are equal and keep the bridge flat, so that <t> never increases with i.
    low = log_lo < log_hi
    if np.any(low):
        x_eq = 1.0 - ((log_hi - math.log(mtj.tau_attempt_s)) / d_s) ** (1.0 / beta)
        x_lo = np.where(low, x_eq, x_lo)
        log_lo = np.where(low, log_hi, log_lo)
    return x, d_s, tau_c, i_c, x_lo, x_hi, log_lo, log_hi


def mean_switching_time_s(i, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap", delta=None):
    """Mean switching time <t>(i) of the gamma model (s), continuous in the drive ratio i.

    - i / i_c >= x_sun_min: Sun, <t> = tau_c / (i - i_c), tau_c = (tau_D / 2)[gamma_E + ln(pi^2
      Delta_s / 4)] (Sun, PRB 62, 570, 2000; 000 eq. (4): tau0 Vc / (V - Vc)).
    - i / i_c <= x_thermal_max: Neel-Brown with a current-lowered barrier, <t> = tau0
      exp(Delta_s (1 - i / i_c)^beta) (PHYSICS.md section 2).
    - between: ln <t> linear in i (PHYSICS.md section 2).
    The state left has i_c = 1 + h and Delta_s = Delta0 (1 + h)^2, h the stabilising stray field.

    Parameters
    ----------
    i : float or ndarray
        Drive ratio I / Ic0 (= V / Vc0 for the nominal junction).
    mtj : MTJ
    model : WriteModel
    polarity : {"p_to_ap", "ap_to_p"}
    delta : float or ndarray, optional
        Per-device Delta0 overriding ``mtj.delta`` (variability).
    """
    return as_output(_mean_time(_regime(i, mtj, model, polarity, delta), mtj, model))


def _mean_time(regime, mtj: MTJ, model: WriteModel) -> np.ndarray:
    """<t> (s) from the pieces of :func:`_regime` (see :func:`mean_switching_time_s`)."""
    x, d_s, tau_c, i_c, x_lo, x_hi, log_lo, log_hi = regime
    with np.errstate(divide="ignore", invalid="ignore"):
        log_th = math.log(mtj.tau_attempt_s) + d_s * np.maximum(1.0 - x, 0.0) ** model.thermal_beta
        log_sun = np.log(tau_c / (i_c * np.maximum(x - 1.0, 1e-300)))
        frac = (x - x_lo) / (x_hi - x_lo)
        log_br = log_lo + frac * (log_hi - log_lo)
    out = np.where(x <= x_lo, log_th, np.where(x >= x_hi, log_sun, log_br))
    return np.exp(out)


def _fp_shape(x, d_s, mtj: MTJ, polarity: Polarity, model: WriteModel):
    """k = mean^2 / var of the FP switching time, tabulated in i / i_c (>= x_sun_min) and splined."""
    from scipy.interpolate import CubicSpline  # imported where used: a run with another shape skips it

    h = stabilising_field(mtj, polarity)
    d0 = np.asarray(d_s) / (1.0 + h) ** 2
    x = np.asarray(x, dtype=float)
    xs = np.maximum(x, model.x_sun_min)
    pts = np.broadcast_arrays(xs, d0)
    uniq, inv = np.unique(np.stack([p.ravel() for p in pts], axis=1), axis=0, return_inverse=True)
    inv = inv.ravel()
    if len(uniq) <= 24:
        ks = np.array([fp_switching_moments(u[0] * (1 + h), u[1], h, model.n_legendre)[1] for u in uniq])
        return ks[inv].reshape(pts[0].shape)
    grid = np.linspace(uniq[:, 0].min(), uniq[:, 0].max(), 24)
    d_mean = float(np.mean(uniq[:, 1]))
    ks = np.array([fp_switching_moments(g * (1 + h), d_mean, h, model.n_legendre)[1] for g in grid])
    return CubicSpline(grid, ks)(pts[0])


def gamma_shape(i, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap", delta=None):
    """Shape k of the gamma switching-time distribution at drive ratio i (dimensionless).

    Above x_sun_min: ``model.shape_k`` (000: 16), or 1 / relstd^2 of Sun's thermal-angle model, or
    the FP moment fit (PHYSICS.md section 3). Thermal activation is a Poisson process, so k = 1 at
    and below x_thermal_max; ln k is linear in i between (the same bridge as the mean time).
    """
    return as_output(_shape(_regime(i, mtj, model, polarity, delta), mtj, model, polarity))


def _shape(regime, mtj: MTJ, model: WriteModel, polarity: Polarity) -> np.ndarray:
    """k from the pieces of :func:`_regime` (see :func:`gamma_shape`)."""
    x, d_s, _, _, x_lo, x_hi, _, _ = regime
    if model.shape_model == "constant":
        k_hi = np.full(np.shape(d_s), model.shape_k)
    elif model.shape_model == "sun_thermal":
        k_hi = 1.0 / np.asarray(sun_relative_std(d_s)) ** 2
    else:
        k_hi = np.asarray(_fp_shape(np.maximum(x, x_hi), d_s, mtj, polarity, model))
    frac = np.clip((x - x_lo) / (x_hi - x_lo), 0.0, 1.0)
    return np.exp(frac * np.log(k_hi))


# --- probabilities at a drive ratio ----------------------------------------------------------
def _probabilities_at_drive(i, t_s, mtj: MTJ, model: WriteModel, polarity: Polarity, delta, switching: bool):
    t_s = np.asarray(t_s, dtype=float)
    if np.any(t_s < 0):
        raise ValueError("pulse length must be >= 0")
    if model.kind == "fokker_planck":
        if t_s.ndim:
            raise ValueError("the fokker_planck model takes one pulse length per call")
        h = stabilising_field(mtj, polarity)
        d0 = mtj.delta if delta is None else delta
        return fp_write_error_rate(i, float(t_s) / mtj.tau_d_s, d0, h, model.n_legendre, switching=switching)
    return as_output(_gamma_probabilities(i, t_s, mtj, model, polarity, delta, switching))


#: Nodes of the monotone envelope across the bridge, and the most Delta levels it is built for.
_BRIDGE_NODES = 65
_DELTA_LEVELS = 32


def _gamma_raw(i, t_s, mtj: MTJ, model: WriteModel, polarity: Polarity, delta, switching: bool, regime=None):
    """gammaincc(k, k t / <t>) (or gammainc for P_switch), <t> and k from one :func:`_regime` pass."""
    if regime is None:
        regime = _regime(i, mtj, model, polarity, delta)
    t_mean = _mean_time(regime, mtj, model)
    k = _shape(regime, mtj, model, polarity)
    arg = k * np.asarray(t_s, dtype=float) / t_mean
    return gammainc(k, arg) if switching else gammaincc(k, arg)


def _collapse(a: np.ndarray) -> np.ndarray:
    """``a`` as a 0-d array when all its values are equal (one pulse, one Delta: the usual case)."""
    if a.ndim and a.size and a.min() == a.max():
        return np.asarray(a.flat[0])
    return a


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(np.stack([a, b], axis=1), axis=0, return_inverse=True)`` for two 1-D float arrays:
    the same sorted (a, b) pairs and inverse, from 1-D uniques (the row-wise unique sorts void
    records and took seconds per array of a million cells)."""
    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    codes, inv = np.unique(ia.astype(np.int64) * ub.size + ib, return_inverse=True)
    return np.stack([ua[codes // ub.size], ub[codes % ub.size]], axis=1), inv.ravel()


def _gamma_probabilities(i, t_s, mtj: MTJ, model: WriteModel, polarity: Polarity, delta, switching: bool):
    """Gamma-model WER (or P_switch), made non-increasing in the drive across the bridge.

    Going from the exponential (k = 1) to the peaked gamma (k = 16) at a given mean raises the
    probability of *not* switching in pulses shorter than the mean, so the raw interpolation can rise
    with V for short pulses. Across the bridge (x_thermal_max < i / i_c < x_sun_min) the WER is
    therefore the running minimum over i of the raw one (on 65 nodes, linear between), and above the
    bridge the raw WER is capped by the bridge's last value: monotone in V by construction, equal to
    the raw model wherever that is already monotone (all pulses longer than ~<t>, i.e. WER < ~0.5).

    Exact per cell, with no per-cell key search: a pulse or Delta array whose values are all equal
    is used as one scalar, and then the cells go through :func:`_gamma_uniform` in cache-sized
    chunks; <t>, k and the bridge test share one :func:`_regime` pass.
    """
    d0 = mtj.delta if delta is None else delta
    i_in, t_in, d_in = (np.asarray(a, dtype=float) for a in (i, t_s, d0))
    shape = np.broadcast(i_in, t_in, d_in).shape
    t_a, d_a = _collapse(t_in), _collapse(d_in)
    eff = np.broadcast(i_in, t_a, d_a).shape
    i_a = i_in if i_in.shape == eff else np.broadcast_to(i_in, eff).copy()
    if t_a.ndim == 0 and d_a.ndim == 0 and i_a.ndim and model.shape_model != "fokker_planck":
        out = _gamma_uniform(i_a.ravel(), float(t_a), float(d_a), mtj, model, polarity, switching)
    else:
        out = _gamma_general(i_a, t_a, d_a, mtj, model, polarity, switching)
    out = out.reshape(eff)
    return np.broadcast_to(out, shape).copy() if eff != shape else out


#: Cells per pass of :func:`_gamma_uniform` (its temporaries stay in the CPU cache).
_CHUNK = 1 << 14


def _gamma_uniform(
    i, t_s: float, delta: float, mtj: MTJ, model: WriteModel, polarity: Polarity, switching: bool
) -> np.ndarray:
    """:func:`_gamma_probabilities` for 1-D drives ``i`` at one pulse and one Delta, chunk by chunk.

    Every step is elementwise in the cells (the shape k is 'constant' or 'sun_thermal', a function
    of Delta only), so the chunks give the same numbers as one pass over all cells.
    """
    out = np.empty(i.size)
    envelope = None
    for start in range(0, i.size, _CHUNK):
        i_part = i[start : start + _CHUNK]
        regime = _regime(i_part, mtj, model, polarity, delta)
        raw = _gamma_raw(i_part, t_s, mtj, model, polarity, delta, switching, regime)
        x, _, _, i_c, x_lo, x_hi, _, _ = regime
        sel = np.flatnonzero(x > x_lo)
        if sel.size:
            if envelope is None:
                envelope = _bridge_envelope(t_s, delta, mtj, model, polarity, i_c, x_hi)
            raw_wer = (
                _gamma_raw(i_part[sel], t_s, mtj, model, polarity, delta, False) if switching else raw[sel]
            )
            _clip_to_envelope(raw, sel, x[sel], raw_wer, *envelope, x_hi, switching)
        out[start : start + _CHUNK] = raw
    return out


def _gamma_general(i_a, t_a, d_a, mtj: MTJ, model: WriteModel, polarity: Polarity, switching: bool):
    """:func:`_gamma_probabilities` for per-cell pulses or Deltas (or an FP-fitted shape): one
    envelope per (pulse, Delta) key, Delta quantised to ``_DELTA_LEVELS`` levels for the keys."""
    eff = i_a.shape
    if t_a.ndim and t_a.shape != eff:
        t_a = np.broadcast_to(t_a, eff).copy()
    if d_a.ndim and d_a.shape != eff:
        d_a = np.broadcast_to(d_a, eff).copy()
    regime = _regime(i_a, mtj, model, polarity, d_a)
    raw = np.asarray(_gamma_raw(i_a, t_a, mtj, model, polarity, d_a, switching, regime))
    x, _, _, i_c, x_lo, x_hi, _, _ = regime
    need = x > x_lo
    if not np.any(need):
        return raw
    sel_all = np.flatnonzero(need)
    if t_a.ndim == 0 and d_a.ndim == 0:
        keys, groups = [(float(t_a), float(d_a))], [sel_all]
    else:
        t_sel = np.broadcast_to(t_a, eff).ravel()[sel_all]
        d_sel = np.broadcast_to(d_a, eff).ravel()[sel_all]
        if np.unique(d_sel).size > _DELTA_LEVELS:
            levels = np.linspace(d_sel.min(), d_sel.max(), _DELTA_LEVELS)
            d_sel = levels[np.abs(d_sel[:, None] - levels[None, :]).argmin(axis=1)]
        keys, inv = _unique_pairs(t_sel, d_sel)
        order = np.argsort(inv, kind="stable")
        groups = np.split(sel_all[order], np.cumsum(np.bincount(inv, minlength=len(keys)))[:-1])
    out = raw.copy().ravel()
    x_flat = x.ravel()
    for (t_u, d_u), sel in zip(keys, groups):
        if switching:
            d_cells = d_a.ravel()[sel] if d_a.ndim else d_a
            raw_wer = np.asarray(_gamma_raw(i_a.ravel()[sel], t_u, mtj, model, polarity, d_cells, False))
        else:
            raw_wer = out[sel]
        envelope = _bridge_envelope(t_u, d_u, mtj, model, polarity, i_c, x_hi)
        _clip_to_envelope(out, sel, x_flat[sel], raw_wer, *envelope, x_hi, switching)
    return out


def _bridge_envelope(
    t_s, delta, mtj: MTJ, model: WriteModel, polarity: Polarity, i_c: float, x_hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """(nodes in i / i_c, running minimum of the raw WER on them) across the bridge, for one pulse
    and one Delta."""
    x_lo = float(_regime(x_hi, mtj, model, polarity, delta)[4])
    nodes = np.linspace(x_lo, x_hi, _BRIDGE_NODES)
    return nodes, np.minimum.accumulate(_gamma_raw(nodes * i_c, t_s, mtj, model, polarity, delta, False))


def _clip_to_envelope(out, sel, xs, raw_wer, nodes, env, x_hi: float, switching: bool) -> None:
    """Write into ``out[sel]`` the envelope's WER inside the bridge and min(raw, its last value) above
    it, where that differs from the raw value (``raw_wer``: the raw WER of the cells ``sel``)."""
    in_bridge = xs < x_hi
    capped = ~in_bridge & (raw_wer > env[-1])
    wer = np.where(in_bridge, np.interp(xs, nodes, env), np.minimum(raw_wer, env[-1]))
    fix = in_bridge | capped
    out[sel[fix]] = (1.0 - wer[fix]) if switching else wer[fix]


def write_error_rate_at_drive(
    i, t_pulse_s, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap", delta=None
):
    """P(no switch) after a pulse of length ``t_pulse_s`` at drive ratio i = I / Ic0.

    gamma: WER = gammaincc(k, k t / <t>(i)) = 1 - GammaCDF(t; k, <t>/k) (000 eq. (5), 003).
    fokker_planck: eq. (12) of Tzoufras 2018 at tau = t / tau_D.
    Vectorised over ``i`` (and ``delta``); see :func:`write_error_rate` for the voltage form.
    """
    return _probabilities_at_drive(i, t_pulse_s, mtj, model, polarity, delta, switching=False)


def switching_probability_at_drive(
    i, t_pulse_s, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap", delta=None
):
    """P(switch) = 1 - WER, computed directly so that small values keep their accuracy."""
    return _probabilities_at_drive(i, t_pulse_s, mtj, model, polarity, delta, switching=True)


def write_error_rate(v_v, t_pulse_s, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap"):
    """Write error rate of the nominal junction for a junction voltage ``v_v`` and pulse ``t_pulse_s``.

    WER = 1 - GammaCDF(t; k, tau / k), tau = tau0 Vc / (V - Vc) [Sun 2000; gamma model as in
    000_0b68741c33db5fc2.txt], or the Fokker-Planck form (001). The drive ratio is i = V / Vc0 for
    both polarities (:func:`accelsim.device.mtj.critical_current_a`).

    Parameters
    ----------
    v_v : float or ndarray
        Voltage across the junction (V), >= 0. Per-cell arrays are fine.
    t_pulse_s : float
        Pulse length (s).
    mtj : MTJ
    model : WriteModel
    polarity : {"p_to_ap", "ap_to_p"}

    Returns
    -------
    float or ndarray
        Probability in [0, 1], non-increasing in V and t.
    """
    return write_error_rate_at_drive(np.asarray(v_v, dtype=float) / mtj.vc_v, t_pulse_s, mtj, model, polarity)


def switching_probability(
    v_v, t_pulse_s, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap"
):
    """1 - :func:`write_error_rate`, computed directly (accurate for small values, e.g. read disturb)."""
    return switching_probability_at_drive(
        np.asarray(v_v, dtype=float) / mtj.vc_v, t_pulse_s, mtj, model, polarity
    )


# --- inverses --------------------------------------------------------------------------------
def _check_target(wer) -> None:
    w = np.asarray(wer, dtype=float)
    if np.any(~(w > 0)) or np.any(~(w < 1)):
        raise ValueError(f"target WER must be in (0, 1), got {wer!r}")


def pulse_for_wer_s(wer, v_v, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap"):
    """Pulse length (s) at which the nominal junction at voltage ``v_v`` reaches write error rate ``wer``.

    gamma: t = <t>(V) gammainccinv(k, WER) / k (closed form, vectorised); fokker_planck: root of
    ln WER(tau) = ln target in tau (brentq).
    """
    _check_target(wer)
    i = np.asarray(v_v, dtype=float) / mtj.vc_v
    if model.kind == "gamma":
        k = np.asarray(gamma_shape(i, mtj, model, polarity))
        return as_output(
            np.asarray(mean_switching_time_s(i, mtj, model, polarity)) * gammainccinv(k, wer) / k
        )
    wers, volts = np.broadcast_arrays(np.asarray(wer, dtype=float), np.asarray(v_v, dtype=float))
    out = np.array(
        [_fp_pulse(w, v / mtj.vc_v, mtj, model, polarity) for w, v in zip(wers.ravel(), volts.ravel())]
    )
    return as_output(out.reshape(wers.shape))


def _fp_pulse(wer: float, i: float, mtj: MTJ, model: WriteModel, polarity: Polarity) -> float:
    from scipy.optimize import brentq  # here: scipy.optimize takes ~0.3 s to import

    def f(log_t):
        return math.log(
            max(write_error_rate_at_drive(i, math.exp(log_t), mtj, model, polarity), 1e-300)
        ) - math.log(wer)

    lo, hi = math.log(mtj.tau_d_s * 1e-2), math.log(mtj.tau_d_s * 10.0)
    while f(hi) > 0:
        lo, hi = hi, hi + math.log(4.0)
        if hi > math.log(1e6):
            raise ValueError(f"WER {wer:g} not reached at i = {i:.3g} within 1e6 s")
    while f(lo) < 0:
        lo -= math.log(4.0)
    return math.exp(brentq(f, lo, hi, xtol=1e-10, rtol=1e-10))


def drive_for_wer(
    wer: float, t_pulse_s: float, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap"
) -> float:
    """Drive ratio i = I / Ic0 at which a pulse of ``t_pulse_s`` gives write error rate ``wer`` (brentq)."""
    from scipy.optimize import brentq  # here: scipy.optimize takes ~0.3 s to import

    _check_target(wer)
    if not t_pulse_s > 0:
        raise ValueError(f"pulse length must be > 0, got {t_pulse_s!r}")

    def f(i):
        return math.log(
            max(write_error_rate_at_drive(i, t_pulse_s, mtj, model, polarity), 1e-300)
        ) - math.log(wer)

    lo, hi = 1.0, 1.5
    while f(hi) > 0:
        lo, hi = hi, hi * 1.5
        if hi > 1e3:
            raise ValueError(f"WER {wer:g} not reached in {t_pulse_s:g} s below 1000 Vc")
    while f(lo) < 0:
        hi, lo = lo, lo / 1.5
        if lo < 1e-3:
            raise ValueError(f"WER {wer:g} is exceeded even without drive in {t_pulse_s:g} s")
    return brentq(f, lo, hi, xtol=1e-12, rtol=1e-9)


def voltage_for_wer_v(
    wer, t_pulse_s: float, mtj: MTJ, model: WriteModel = GAMMA, polarity: Polarity = "p_to_ap"
):
    """Junction voltage (V) at which a pulse of ``t_pulse_s`` gives WER ``wer`` (nominal junction)."""
    w = np.asarray(wer, dtype=float)
    out = np.array([drive_for_wer(float(x), t_pulse_s, mtj, model, polarity) for x in w.ravel()]) * mtj.vc_v
    return as_output(out.reshape(w.shape))
