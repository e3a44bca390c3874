"""Device-to-device variability: per-device parameters drawn once per array, and array averages.

Owns ``Variability`` (the sigmas) and ``DeviceArray`` (the drawn devices); each device's junction
voltage, drive, WER and energy, the array means, and the pulse that meets a target array WER.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from accelsim.device.energy import IDEAL_DRIVER, Driver, divider, pulse_energy_j
from accelsim.device.mtj import MTJ, DeviceParameterError, Polarity, initial_state, tmr_at_bias
from accelsim.device.write import GAMMA, WriteModel, pulse_for_wer_s, write_error_rate_at_drive

ArrayPolarity = Literal["p_to_ap", "ap_to_p", "both"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Variability:
    """Relative device-to-device spreads (dimensionless; 0 switches a spread off).

    Draw order is fixed (R_P, TMR, Vc, Delta, R_series), one standard normal each per device, so a
    spread set to 0 does not change the others' draws.
    """

    name: str = field(default="custom", metadata={"doc": "label of the variability set"})
    sigma_r_p_rel: float = field(
        default=0.0,
        metadata={"doc": "sigma of ln R_P (log-normal R_P); 5 % in 000/003 (after Worledge 2010)"},
    )
    sigma_tmr_rel: float = field(
        default=0.0, metadata={"doc": "relative sigma of TMR0 (normal); 5 % in 000/003"}
    )
    sigma_v_c_rel: float = field(
        default=0.0,
        metadata={
            "doc": "relative sigma of the critical current at fixed Delta (normal), i.e. of Vc0 at nominal "
            "resistance; 4.4 % measured on pMTJ arrays by Worledge et al., IEDM 2010"
        },
    )
    sigma_delta_rel: float = field(
        default=0.0,
        metadata={"doc": "relative sigma of Delta0 (normal); Ic0 follows Delta (Ic0 ~ Delta, macrospin)"},
    )
    sigma_r_series_rel: float = field(
        default=0.0, metadata={"doc": "sigma of ln R_series (log-normal): driver/access transistor mismatch"}
    )

    def __post_init__(self) -> None:
        for name in (
            "sigma_r_p_rel",
            "sigma_tmr_rel",
            "sigma_v_c_rel",
            "sigma_delta_rel",
            "sigma_r_series_rel",
        ):
            value = getattr(self, name)
            if not (0.0 <= value < 0.5):
                raise DeviceParameterError(name, f"{name} must be in [0, 0.5), got {value!r}")

    @property
    def is_zero(self) -> bool:
        """True when every spread is 0 (devices are all nominal)."""
        return not any(
            (
                self.sigma_r_p_rel,
                self.sigma_tmr_rel,
                self.sigma_v_c_rel,
                self.sigma_delta_rel,
                self.sigma_r_series_rel,
            )
        )


NO_VARIABILITY = Variability(name="none")


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceArray:
    """Parameters of ``n`` drawn devices (1-D float arrays of equal length, SI units).

    ``v_c_v`` is each device's critical current times the *nominal* R_P, so that the drive ratio of
    a device is i = I R_state,nominal / v_c_v (:func:`device_drive`).
    """

    r_p_ohm: np.ndarray
    tmr0: np.ndarray
    v_c_v: np.ndarray
    delta: np.ndarray
    r_series_ohm: np.ndarray

    @property
    def n(self) -> int:
        """Number of devices."""
        return int(self.r_p_ohm.size)


def draw_devices(
    mtj: MTJ, variability: Variability, n: int, rng: np.random.Generator, driver: Driver = IDEAL_DRIVER
) -> DeviceArray:
    """Draw ``n`` devices once (they keep their parameters across writes), from ``rng``.

    R_P log-normal around the nominal (sigma of ln R_P), TMR0 and Delta0 normal (clipped at 5 % of
    nominal), critical current normal times Delta_dev / Delta (Ic0 is proportional to Delta in the
    macrospin model, PHYSICS.md section 10), R_series log-normal. Pass a Generator derived from the
    run seed (``accelsim.rng.stream(seed, "variation", ...)``).
    """
    if n < 1:
        raise ValueError(f"need at least one device, got n={n}")
    z = rng.standard_normal((5, n))
    v = variability
    # Each row of z becomes its parameter in place (no temporaries of n devices); a spread of 0
    # gives the nominal value exactly, as nominal * exp(0 z) and nominal * max(1 + 0 z, 0.05) do.
    r_p = _log_normal(z[0], v.sigma_r_p_rel, mtj.r_p_ohm)
    tmr0 = _clipped_normal(z[1], v.sigma_tmr_rel, mtj.tmr0)
    v_c = _clipped_normal(z[2], v.sigma_v_c_rel, mtj.vc_v)
    delta = _clipped_normal(z[3], v.sigma_delta_rel, mtj.delta)
    if v.sigma_delta_rel:
        v_c *= delta / mtj.delta
    r_series = _log_normal(z[4], v.sigma_r_series_rel, driver.r_series_ohm)
    return DeviceArray(r_p_ohm=r_p, tmr0=tmr0, v_c_v=v_c, delta=delta, r_series_ohm=r_series)


def _log_normal(z: np.ndarray, sigma: float, nominal: float) -> np.ndarray:
    """nominal exp(sigma z), written over the standard normals ``z``."""
    if not sigma:
        return np.full(z.size, nominal)
    z *= sigma
    np.exp(z, out=z)
    z *= nominal
    return z


def _clipped_normal(z: np.ndarray, sigma: float, nominal: float) -> np.ndarray:
    """nominal max(1 + sigma z, 0.05), written over the standard normals ``z``."""
    if not sigma:
        return np.full(z.size, nominal)
    z *= sigma
    z += 1.0
    np.maximum(z, 0.05, out=z)
    z *= nominal
    return z


def nominal_devices(mtj: MTJ, n: int = 1, driver: Driver = IDEAL_DRIVER) -> DeviceArray:
    """``n`` copies of the nominal device (no variability)."""
    return draw_devices(mtj, NO_VARIABILITY, n, np.random.default_rng(0), driver)


def device_drive(v_src_v: float, devices: DeviceArray, mtj: MTJ, polarity: Polarity):
    """Per-device (drive ratio i, junction voltage V, current A) for a source amplitude ``v_src_v``.

    The junction sees V_src R / (R + R_s) (:func:`accelsim.device.energy.divider`); the drive ratio
    is i = I / Ic0 with Ic0(P -> AP) = Vc_dev / R_P,nom and Ic0(AP -> P) = Vc_dev / R_AP,nom(V): the
    spin-torque efficiency ratio is set by the stack's nominal polarisation, so a device whose R
    (or TMR) is high gets less current and less drive (current-driven switching).
    """
    state = initial_state(polarity)
    v_j, current, _ = divider(
        v_src_v, state, devices.r_p_ohm, devices.tmr0, mtj.v_half_v, devices.r_series_ohm
    )
    if state == "p":
        r_nom = mtj.r_p_ohm
    else:
        r_nom = mtj.r_p_ohm * (1.0 + tmr_at_bias(v_j, mtj.tmr0, mtj.v_half_v))
    return current * r_nom / devices.v_c_v, v_j, current


def _polarities(polarity: ArrayPolarity) -> tuple[Polarity, ...]:
    if polarity == "both":
        return ("p_to_ap", "ap_to_p")
    if polarity in ("p_to_ap", "ap_to_p"):
        return (polarity,)
    raise ValueError(f"polarity must be 'p_to_ap', 'ap_to_p' or 'both', got {polarity!r}")


def _mean_over_polarities(per_device, polarity: ArrayPolarity) -> float:
    """Mean over devices of ``per_device(p)``, averaged over the polarities ``polarity`` names."""
    return float(np.mean([np.mean(per_device(p)) for p in _polarities(polarity)]))


def device_write_error_rate(
    v_src_v: float,
    t_pulse_s: float,
    devices: DeviceArray,
    mtj: MTJ,
    model: WriteModel = GAMMA,
    polarity: Polarity = "p_to_ap",
) -> np.ndarray:
    """Per-device write error rate (shape (n,)) for source amplitude ``v_src_v`` and pulse ``t_pulse_s``.

    These are the per-cell flip probabilities of a programming step (the cells are the devices).
    """
    i, _, _ = device_drive(v_src_v, devices, mtj, polarity)
    return np.asarray(write_error_rate_at_drive(i, t_pulse_s, mtj, model, polarity, delta=devices.delta))


def device_write_error_rate_and_energy_j(
    v_src_v: float,
    t_pulse_s: float,
    devices: DeviceArray,
    mtj: MTJ,
    driver: Driver,
    model: WriteModel = GAMMA,
    polarity: Polarity = "p_to_ap",
) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`device_write_error_rate`, :func:`device_write_energy_j`) from one drive computation.

    A programming step needs both for every cell; the junction drive (a fixed-point solve for AP
    cells) is computed once. ``driver`` must be the one the devices were drawn with.
    """
    i, _, current = device_drive(v_src_v, devices, mtj, polarity)
    wer = np.asarray(write_error_rate_at_drive(i, t_pulse_s, mtj, model, polarity, delta=devices.delta))
    return wer, np.asarray(pulse_energy_j(v_src_v, current, t_pulse_s, driver.c_line_f))


def array_write_error_rate(
    v_src_v: float,
    t_pulse_s: float,
    devices: DeviceArray,
    mtj: MTJ,
    model: WriteModel = GAMMA,
    polarity: ArrayPolarity = "p_to_ap",
) -> float:
    """Mean WER over the devices (and over both polarities for ``"both"``): the array's bit error rate.

    Failure counts of an array are binomial with this mean (Arai et al., AIP Advances 2024).
    """
    return _mean_over_polarities(
        lambda p: device_write_error_rate(v_src_v, t_pulse_s, devices, mtj, model, p), polarity
    )


def device_write_energy_j(
    v_src_v: float, t_pulse_s, devices: DeviceArray, mtj: MTJ, driver: Driver, polarity: Polarity = "p_to_ap"
) -> np.ndarray:
    """Per-device programming energy V_src I t + C_line V_src^2 (J), shape (n,)."""
    _, _, current = device_drive(v_src_v, devices, mtj, polarity)
    return np.asarray(pulse_energy_j(v_src_v, current, t_pulse_s, driver.c_line_f))


def array_write_energy_j(
    v_src_v: float,
    t_pulse_s,
    devices: DeviceArray,
    mtj: MTJ,
    driver: Driver,
    polarity: ArrayPolarity = "p_to_ap",
) -> float:
    """Mean programming energy per bit over the devices (and polarities for ``"both"``) (J)."""
    return _mean_over_polarities(
        lambda p: device_write_energy_j(v_src_v, t_pulse_s, devices, mtj, driver, p), polarity
    )


def pulse_for_array_wer_s(
    wer: float,
    v_src_v: float,
    devices: DeviceArray,
    mtj: MTJ,
    model: WriteModel = GAMMA,
    polarity: ArrayPolarity = "p_to_ap",
) -> float:
    """Pulse length (s) at which the array's mean WER equals ``wer`` (brentq in ln t).

    With variability the weakest devices dominate the mean at low WER, so the pulse comes out longer
    than the nominal one, and more so the lower the target (003: 15 -> 20.5 ns at 1e-10).
    """
    from scipy.optimize import brentq  # here: scipy.optimize takes ~0.3 s to import

    if not 0 < wer < 1:
        raise ValueError(f"target WER must be in (0, 1), got {wer!r}")
    log_target = math.log(wer)

    def f(log_t: float) -> float:
        m = array_write_error_rate(v_src_v, math.exp(log_t), devices, mtj, model, polarity)
        return math.log(max(m, 1e-300)) - log_target

    first = _polarities(polarity)[0]
    i_dev, _, _ = device_drive(v_src_v, devices, mtj, first)
    t0 = float(pulse_for_wer_s(wer, float(np.median(i_dev)) * mtj.vc_v, mtj, model, first))
    lo, hi = math.log(t0) - 0.5, math.log(t0) + 0.5
    while f(hi) > 0:
        lo, hi = hi, hi + 0.7
        if hi > math.log(1e3):
            raise ValueError(f"array WER {wer:g} not reached within 1000 s")
    while f(lo) < 0:
        hi, lo = lo, lo - 0.7
    return math.exp(brentq(f, lo, hi, xtol=1e-9, rtol=1e-9))
