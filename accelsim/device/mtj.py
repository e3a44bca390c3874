"""The MTJ as parameters: geometry and stack -> R_P, R_AP(V), critical voltage/current, barriers.

Owns the ``MTJ`` dataclass and the pure functions of it that every other device model uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from accelsim.errors import ConfigError
from accelsim.schema import Invalid

State = Literal["p", "ap"]
Polarity = Literal["p_to_ap", "ap_to_p"]

#: Boltzmann constant, J/K (CODATA 2018, exact).
K_B_J_PER_K = 1.380649e-23
#: Vacuum permeability, T.m/A (CODATA 2018).
MU0_T_M_PER_A = 1.25663706212e-6
#: Gyromagnetic ratio of the electron, rad/(s.T) (CODATA 2018).
GAMMA_E_RAD_PER_S_T = 1.76085963023e11
#: Euler-Mascheroni constant (enters Sun's mean switching time through the thermal initial angle).
EULER_GAMMA = 0.5772156649015329


def as_output(x):
    """Return a Python float for a 0-d result and the array otherwise (scalar in, scalar out)."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


class DeviceParameterError(ConfigError, Invalid):
    """A device parameter out of its physical range.

    A ``ConfigError`` for callers in Python, and an ``accelsim.schema.Invalid`` carrying the YAML
    key (relative, e.g. ``"diameter"``) so that the config loader names the file and dotted key.
    """

    def __init__(self, key: str, message: str) -> None:
        Invalid.__init__(self, key, message)


def _unit(unit: str, doc: str, allow_zero: bool = False) -> dict:
    return {"unit": unit, "doc": doc, "allow_zero": allow_zero}


@dataclass(frozen=True, kw_only=True, slots=True)
class MTJ:
    """A perpendicular MTJ described by its geometry and stack (SI units).

    Give the critical switching voltage ``v_c_v`` or the critical current ``i_c_a`` (P -> AP), not
    both; the other follows from ``R_P``. The critical *voltage* is the same for both polarities
    (see :func:`critical_current_a`). Presets citing their sources are in ``accelsim.device.presets``.
    """

    name: str = field(default="custom", metadata={"doc": "label of the cell type"})
    diameter_m: float = field(metadata=_unit("m", "junction diameter, > 0"))
    ra_ohm_m2: float = field(metadata=_unit("Ohm.m2", "resistance-area product of the P state, > 0"))
    tmr0: float = field(metadata={"doc": "zero-bias TMR ratio (R_AP - R_P) / R_P, 1.5 = 150 %, > 0"})
    v_half_v: float = field(
        default=0.5,
        metadata=_unit(
            "V",
            "bias at which the TMR halves, TMR(V) = TMR0 / (1 + V^2 / V_h^2); default 0.5 V "
            "(Zhang, Zhao et al., IEEE TED 59(3) 819, 2012)",
        ),
    )
    v_c_v: float = field(
        default=0.0, metadata=_unit("V", "critical switching voltage Vc0; 0 = derive from i_c_a", True)
    )
    i_c_a: float = field(
        default=0.0, metadata=_unit("A", "critical current Ic0 (P -> AP); 0 = derive from v_c_v", True)
    )
    delta: float = field(
        metadata={"doc": "thermal stability factor Delta0 = E_b / (kB T) at zero stray field, > 0"}
    )
    h_stray: float = field(
        default=0.0,
        metadata={
            "doc": "stray field over anisotropy field, H_s / H_K, |h| < 1; > 0 favours P, i.e. AP -> P is "
            "the dominant retention failure (Hofmann 2014, Tsunoda 2014, cited by 002)"
        },
    )
    tau_d_s: float = field(
        metadata=_unit(
            "s",
            "macrospin characteristic time tau_D = (1 + alpha^2) / (alpha gamma mu0 H_K); sets Sun's "
            "precessional time and the Fokker-Planck time unit (Tzoufras 2018)",
        )
    )
    tau_attempt_s: float = field(
        default=1e-9,
        metadata=_unit(
            "s", "Neel-Brown attempt time tau0 of thermal activation; 1 ns as in 002 (Muench) and 001"
        ),
    )
    thickness_free_m: float = field(
        default=0.0,
        metadata=_unit("m", "free-layer thickness (only for volume-derived quantities); 0 = unknown", True),
    )
    temperature_k: float = field(default=300.0, metadata=_unit("K", "temperature at which delta is given"))
    p_to_ap_retention: bool = field(
        default=True,
        metadata={
            "doc": "whether P -> AP thermal flips are simulated; 002 neglects them (False reproduces 002)"
        },
    )

    def __post_init__(self) -> None:
        positive = {
            "diameter": self.diameter_m,
            "ra": self.ra_ohm_m2,
            "tmr0": self.tmr0,
            "v_half": self.v_half_v,
            "delta": self.delta,
            "tau_d": self.tau_d_s,
            "tau_attempt": self.tau_attempt_s,
            "temperature": self.temperature_k,
        }
        for key, value in positive.items():
            if not (value > 0 and math.isfinite(value)):
                raise DeviceParameterError(key, f"MTJ {key} must be a positive finite number, got {value!r}")
        for key, value in {
            "v_c": self.v_c_v,
            "i_c": self.i_c_a,
            "thickness_free": self.thickness_free_m,
        }.items():
            if not (value >= 0 and math.isfinite(value)):
                raise DeviceParameterError(key, f"MTJ {key} must be >= 0 and finite, got {value!r}")
        if (self.v_c_v > 0) == (self.i_c_a > 0):
            raise DeviceParameterError(
                "v_c",
                f"give exactly one of the MTJ's v_c and i_c (got v_c={self.v_c_v!r} V, i_c={self.i_c_a!r} A)",
            )
        if not abs(self.h_stray) < 1:
            raise DeviceParameterError("h_stray", f"MTJ h_stray must satisfy |h| < 1, got {self.h_stray!r}")

    # --- derived quantities -------------------------------------------------------------------
    @property
    def area_m2(self) -> float:
        """Junction area pi d^2 / 4 (m^2)."""
        return junction_area_m2(self.diameter_m)

    @property
    def r_p_ohm(self) -> float:
        """Parallel-state resistance RA / A (Ohm)."""
        return self.ra_ohm_m2 / self.area_m2

    @property
    def r_ap0_ohm(self) -> float:
        """Zero-bias antiparallel resistance R_P (1 + TMR0) (Ohm)."""
        return self.r_p_ohm * (1.0 + self.tmr0)

    @property
    def vc_v(self) -> float:
        """Critical switching voltage Vc0 (V), polarity-independent (see :func:`critical_current_a`)."""
        return self.v_c_v if self.v_c_v > 0 else self.i_c_a * self.r_p_ohm

    @property
    def delta_ap_to_p(self) -> float:
        """Effective barrier for leaving AP (AP -> P): Delta0 (1 - h)^2 (PHYSICS.md section 5)."""
        return self.delta * (1.0 - self.h_stray) ** 2

    @property
    def delta_p_to_ap(self) -> float:
        """Effective barrier for leaving P (P -> AP): Delta0 (1 + h)^2 (PHYSICS.md section 5)."""
        return self.delta * (1.0 + self.h_stray) ** 2

    @property
    def volume_m3(self) -> float:
        """Free-layer volume pi d^2 t_FL / 4 (m^3); 0 when the thickness is unknown."""
        return self.area_m2 * self.thickness_free_m


def junction_area_m2(diameter_m):
    """Area of a circular junction, A = pi d^2 / 4 (m^2)."""
    return as_output(np.pi * np.asarray(diameter_m, dtype=float) ** 2 / 4.0)


def tmr_at_bias(v_v, tmr0, v_half_v):
    """Bias-dependent TMR, TMR(V) = TMR0 / (1 + V^2 / V_h^2).

    Source: the STT-MTJ compact model of Zhang, Zhao et al., IEEE TED 59(3), 819 (2012) (PHYSICS.md
    section 1). TMR0 150 % gives 144 % at 0.1 V, 129 % at 0.2 V and 92 % at 0.4 V for V_h = 0.5 V.

    Parameters
    ----------
    v_v : float or ndarray
        Voltage across the junction (V); the sign does not matter.
    tmr0 : float or ndarray
        Zero-bias TMR ratio.
    v_half_v : float
        Half-TMR bias V_h (V).
    """
    v = np.asarray(v_v, dtype=float)
    return as_output(np.asarray(tmr0, dtype=float) / (1.0 + (v / v_half_v) ** 2))


def resistance_ohm(state: State, mtj: MTJ, v_v=0.0):
    """Junction resistance in ``state`` ("p" or "ap") at bias ``v_v`` (Ohm).

    R_P = RA / A (bias-independent); R_AP(V) = R_P (1 + TMR(V)) (PHYSICS.md section 1).
    """
    if state == "p":
        return as_output(np.full(np.shape(v_v), mtj.r_p_ohm))
    if state == "ap":
        return as_output(mtj.r_p_ohm * (1.0 + np.asarray(tmr_at_bias(v_v, mtj.tmr0, mtj.v_half_v))))
    raise ValueError(f"state must be 'p' or 'ap', got {state!r}")


def initial_state(polarity: Polarity) -> State:
    """The state a write of ``polarity`` starts from ("p_to_ap" -> "p")."""
    if polarity == "p_to_ap":
        return "p"
    if polarity == "ap_to_p":
        return "ap"
    raise ValueError(f"polarity must be 'p_to_ap' or 'ap_to_p', got {polarity!r}")


def critical_current_a(mtj: MTJ, polarity: Polarity, v_v=0.0):
    """Critical current Ic0 of a write of ``polarity`` at junction bias ``v_v`` (A).

    The spin-transfer efficiency of an MTJ is g = P / (2 (1 + P^2 cos theta)) (Slonczewski, PRB 71,
    024411, 2005); with Julliere's TMR = 2P^2 / (1 - P^2) the ratio g_AP / g_P = 1 + TMR, so
    Ic0(AP -> P) = Ic0(P -> AP) / (1 + TMR(V)) and the critical *voltage* Ic0 R is the same for both
    polarities: Vc0 = Ic0(P -> AP) R_P. The drive ratio is therefore i = V / Vc0 for both polarities.
    """
    if polarity == "p_to_ap":
        return as_output(np.full(np.shape(v_v), mtj.vc_v / mtj.r_p_ohm))
    if polarity == "ap_to_p":
        return as_output(mtj.vc_v / np.asarray(resistance_ohm("ap", mtj, v_v)))
    raise ValueError(f"polarity must be 'p_to_ap' or 'ap_to_p', got {polarity!r}")


def stabilising_field(mtj: MTJ, polarity: Polarity) -> float:
    """Normalised stray field along the state being left: +h for P -> AP, -h for AP -> P."""
    return mtj.h_stray if initial_state(polarity) == "p" else -mtj.h_stray


def sun_tau_c_s(tau_d_s, delta):
    """Sun's precessional time constant with a thermal initial angle (s).

    tau_c = (tau_D / 2) [gamma_E + ln(pi^2 Delta / 4)], so that the mean switching time above
    threshold is tau_c / (i - 1) (Sun, PRB 62, 570, 2000; PHYSICS.md section 2). This is the
    ``tau0`` of eq. (4) of 000 (Hirtzlin) with V / Vc = i.
    """
    return as_output(
        0.5 * np.asarray(tau_d_s, dtype=float) * (EULER_GAMMA + np.log(np.pi**2 * np.asarray(delta) / 4.0))
    )


def sun_relative_std(delta):
    """Relative standard deviation of Sun's switching time with a Boltzmann initial angle.

    t_sw = (tau_D / (2 (i - 1))) [ln(pi^2 Delta / 4) - ln X], X ~ Exp(1) (theta0^2 Delta), so the
    std is (tau_D / (2 (i - 1))) pi / sqrt(6) and the relative std pi / sqrt(6) / (gamma_E +
    ln(pi^2 Delta / 4)): 0.248 at Delta 40 (k = 16.2), independent of V (PHYSICS.md section 3).
    """
    return as_output(
        (np.pi / np.sqrt(6.0)) / (EULER_GAMMA + np.log(np.pi**2 * np.asarray(delta, dtype=float) / 4.0))
    )


def anisotropy_field_a_per_m(mtj: MTJ, ms_a_per_m: float) -> float:
    """Anisotropy field H_K from Delta = mu0 Ms H_K Vol / (2 kB T) (A/m) (PHYSICS.md section 5).

    Needs the free-layer thickness (``mtj.thickness_free_m``) and the saturation magnetisation.
    """
    if ms_a_per_m <= 0 or mtj.thickness_free_m <= 0:
        raise ConfigError(f"MTJ {mtj.name!r}: Ms and thickness_free are needed for the anisotropy field")
    return 2.0 * mtj.delta * K_B_J_PER_K * mtj.temperature_k / (MU0_T_M_PER_A * ms_a_per_m * mtj.volume_m3)


def damping_from_tau_d(mtj: MTJ, ms_a_per_m: float) -> float:
    """Gilbert damping alpha implied by tau_D = (1 + alpha^2) / (alpha gamma mu0 H_K) (small-alpha root).

    A consistency check on a calibrated tau_D: it should fall in the 0.005-0.02 range of CoFeB/MgO.
    """
    x = GAMMA_E_RAD_PER_S_T * MU0_T_M_PER_A * anisotropy_field_a_per_m(mtj, ms_a_per_m) * mtj.tau_d_s
    # alpha^2 - x alpha + 1 = 0 -> small root
    return (x - math.sqrt(x * x - 4.0)) / 2.0


def thermal_stability(ms_a_per_m: float, hk_a_per_m: float, volume_m3: float, temperature_k: float) -> float:
    """Delta = mu0 Ms H_K Vol / (2 kB T) (Neel; PHYSICS.md section 5), dimensionless."""
    return MU0_T_M_PER_A * ms_a_per_m * hk_a_per_m * volume_m3 / (2.0 * K_B_J_PER_K * temperature_k)


def delta_at_temperature(delta, temperature_ref_k: float, temperature_k):
    """Minimal temperature model Delta(T) = Delta(T_ref) T_ref / T (PHYSICS.md section 5).

    It ignores the temperature dependence of Ms and H_K, which lowers Delta faster in real stacks.
    """
    return as_output(
        np.asarray(delta, dtype=float) * temperature_ref_k / np.asarray(temperature_k, dtype=float)
    )


def stray_field_barriers(delta0, h_stray):
    """(Delta_AP, Delta_P) = (Delta0 (1 - h)^2, Delta0 (1 + h)^2) for a stray field h favouring P.

    AP -> P is exp(4 Delta0 h) times faster than P -> AP: h = 0.05 and Delta0 = 45 give Delta_AP =
    40.6 and Delta_P = 49.6, a factor 8.1e3 (PHYSICS.md section 5; Hofmann 2014, Tsunoda 2014).
    """
    d = np.asarray(delta0, dtype=float)
    return as_output(d * (1.0 - h_stray) ** 2), as_output(d * (1.0 + h_stray) ** 2)
