"""Read: read-disturb probability (the write model at the read current) and sense-error probability.

Owns the read-side error models; the sense model compares log-normal resistance distributions with
a reference between the two states, at the read bias (TMR bias dependence).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.special import ndtr

from accelsim.device.mtj import MTJ, State, critical_current_a, tmr_at_bias
from accelsim.device.variability import DeviceArray
from accelsim.device.write import GAMMA, WriteModel, switching_probability_at_drive

SenseScheme = Literal["single", "differential"]


def _polarity_destabilising(state: State):
    if state == "p":
        return "p_to_ap"
    if state == "ap":
        return "ap_to_p"
    raise ValueError(f"state must be 'p' or 'ap', got {state!r}")


def read_disturb_probability(i_read_a, t_read_s, mtj: MTJ, model: WriteModel = GAMMA, state: State = "p"):
    """Probability that a read of current ``i_read_a`` for ``t_read_s`` flips a cell in ``state``.

    Read disturb is an inadvertent write (001 Sec. III-A (e)): the write model at the drive ratio
    i = I_read / Ic0, for the state that the read polarity destabilises (a read current in the
    P -> AP direction can only disturb P cells). Below threshold the gamma model is thermal
    activation, P = 1 - exp(-t / (tau0 exp(Delta (1 - i)^beta))) (PHYSICS.md section 7): Delta 40,
    10 ns, beta 1 gives 1.3e-13 at i = 0.2 and 2.1e-8 at i = 0.5.

    Parameters
    ----------
    i_read_a : float or ndarray
        Read current (A), >= 0.
    t_read_s : float
        Read pulse (s).
    mtj : MTJ
    model : WriteModel
    state : {"p", "ap"}
        State destabilised by the read polarity.
    """
    polarity = _polarity_destabilising(state)
    i = np.asarray(i_read_a, dtype=float) / np.asarray(critical_current_a(mtj, polarity, 0.0))
    return switching_probability_at_drive(i, t_read_s, mtj, model, polarity)


def sense_error_probability(
    mtj: MTJ,
    v_read_v: float,
    sigma_ln_r: float,
    scheme: SenseScheme = "single",
    sigma_offset_ln: float = 0.0,
    sigma_ln_r_ap: float | None = None,
):
    """Sense-error probabilities (P read as AP, AP read as P) from log-normal resistances.

    Single-ended, reference at sqrt(R_P R_AP(V_read)): P = Phi(-ln(1 + TMR(V)) / 2 / sigma_tot);
    differential 2T2R (one P and one AP junction compared): P = Phi(-ln(1 + TMR(V)) / sqrt(2 sigma^2 +
    sigma_off^2)) (PHYSICS.md section 7). The sense-amplifier offset enters as a Gaussian in ln R
    units. TMR 150 %, sigma 10 %, single-ended: 2.3e-6 (at zero bias).

    Parameters
    ----------
    mtj : MTJ
    v_read_v : float
        Read bias across the junction (V); sets TMR(V).
    sigma_ln_r : float
        Device-to-device sigma of ln R (P state; also AP unless ``sigma_ln_r_ap`` is given).
    scheme : {"single", "differential"}
    sigma_offset_ln : float
        Sense-amplifier offset as a sigma in ln R units.
    sigma_ln_r_ap : float, optional
        Sigma of ln R_AP when it differs from the P state's.
    """
    s_p = float(sigma_ln_r)
    s_ap = s_p if sigma_ln_r_ap is None else float(sigma_ln_r_ap)
    margin = float(np.log1p(tmr_at_bias(v_read_v, mtj.tmr0, mtj.v_half_v)))
    if scheme == "single":
        p_p = ndtr(-0.5 * margin / np.hypot(s_p, sigma_offset_ln))
        p_ap = ndtr(-0.5 * margin / np.hypot(s_ap, sigma_offset_ln))
        return float(p_p), float(p_ap)
    if scheme == "differential":
        p = float(ndtr(-margin / np.sqrt(s_p**2 + s_ap**2 + sigma_offset_ln**2)))
        return p, p
    raise ValueError(f"scheme must be 'single' or 'differential', got {scheme!r}")


def sense_reference_ohm(mtj: MTJ, v_read_v: float) -> float:
    """Single-ended sense reference at the geometric mean sqrt(R_P R_AP(V_read)) of the nominal junction."""
    r_ap = mtj.r_p_ohm * (1.0 + tmr_at_bias(v_read_v, mtj.tmr0, mtj.v_half_v))
    return float(np.sqrt(mtj.r_p_ohm * r_ap))


def device_sense_failures(v_read_v: float, devices: DeviceArray, mtj: MTJ, r_ref_ohm: float | None = None):
    """Per-device static sense failures against a single reference: (P read as AP, AP read as P).

    A device whose R_P lies above the reference always reads P as AP (its parameters are frozen),
    so the array's failing fraction estimates :func:`sense_error_probability`.
    """
    ref = sense_reference_ohm(mtj, v_read_v) if r_ref_ohm is None else r_ref_ohm
    r_ap = devices.r_p_ohm * (1.0 + np.asarray(tmr_at_bias(v_read_v, devices.tmr0, mtj.v_half_v)))
    return devices.r_p_ohm > ref, r_ap < ref
