"""Bidirectional write driver in series with the MTJ: junction voltage and programming energy per bit.

Owns the ``Driver`` dataclass; the energy is what the pulse source delivers over the pulse (junction
plus the driver's series resistance) plus the line capacitance it charges, per polarity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accelsim.device.mtj import (
    MTJ,
    DeviceParameterError,
    Polarity,
    State,
    as_output,
    initial_state,
    tmr_at_bias,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Driver:
    """The bidirectional write driver of 000 Fig. 3 / 003 Fig. 1b, seen from the junction.

    The pulse source of amplitude V_src drives the junction through the on-resistance of the driver
    and access transistors, so the junction sees V_src R / (R + R_s): a higher-resistance device gets
    a larger share of the voltage but less current (PHYSICS.md section 6).
    """

    name: str = field(default="custom", metadata={"doc": "label of the driver"})
    r_series_ohm: float = field(
        metadata={
            "unit": "Ohm",
            "doc": "on-resistance in series with the MTJ (driver + access transistor), >= 0",
            "allow_zero": True,
        }
    )
    c_line_f: float = field(
        default=0.0,
        metadata={
            "unit": "F",
            "doc": "line capacitance charged to V_src and discharged per write, >= 0",
            "allow_zero": True,
        },
    )

    def __post_init__(self) -> None:
        for key, value in {"r_series": self.r_series_ohm, "c_line": self.c_line_f}.items():
            if not (value >= 0 and math.isfinite(value)):
                raise DeviceParameterError(key, f"driver {key} must be >= 0 and finite, got {value!r}")


#: An ideal source (no series resistance, no line): the junction sees the source voltage.
IDEAL_DRIVER = Driver(name="ideal", r_series_ohm=0.0)


#: Most fixed-point updates :func:`divider` makes (it stops earlier once converged).
DIVIDER_ITERATIONS = 50


def divider(
    v_src_v, state: State, r_p_ohm, tmr0, v_half_v: float, r_series_ohm, n_iter: int = DIVIDER_ITERATIONS
):
    """Junction voltage and current of a junction behind a series resistance (vectorised).

    V_j = V_src R(V_j) / (R(V_j) + R_s), I = V_src / (R(V_j) + R_s); R_P is bias-independent and
    R_AP(V) = R_P (1 + TMR0 / (1 + V^2 / V_h^2)), solved by fixed-point iteration (a contraction:
    R_s << R makes the slope small).

    Returns
    -------
    (v_j_v, current_a, r_ohm) : tuple of ndarray
    """
    v_src = np.asarray(v_src_v, dtype=float)
    r_p = np.asarray(r_p_ohm, dtype=float)
    r_s = np.asarray(r_series_ohm, dtype=float)
    if state == "p":
        r = np.broadcast_to(r_p, np.broadcast(v_src, r_p, r_s).shape).astype(float)
        current = v_src / (r + r_s)
        return current * r, current, r
    if state != "ap":
        raise ValueError(f"state must be 'p' or 'ap', got {state!r}")
    r0 = r_p * (1.0 + np.asarray(tmr0, dtype=float))
    v_j = v_src * r0 / (r0 + r_s)
    for _ in range(n_iter):
        r = r_p * (1.0 + tmr_at_bias(v_j, tmr0, v_half_v))
        v_new = v_src * r / (r + r_s)
        done = np.max(np.abs(v_new - v_j)) <= 1e-14 * (1.0 + np.max(np.abs(v_src)))
        v_j = v_new
        if done:
            break
    r = r_p * (1.0 + np.asarray(tmr_at_bias(v_j, tmr0, v_half_v)))
    current = v_src / (r + r_s)
    return current * r, current, r


def junction_voltage_v(v_src_v, mtj: MTJ, driver: Driver, state: State):
    """Voltage across the nominal junction in ``state`` for a source amplitude ``v_src_v`` (V)."""
    v_j, _, _ = divider(v_src_v, state, mtj.r_p_ohm, mtj.tmr0, mtj.v_half_v, driver.r_series_ohm)
    return as_output(v_j)


def source_voltage_v(v_junction_v, mtj: MTJ, driver: Driver, state: State):
    """Source amplitude (V) that puts ``v_junction_v`` across the nominal junction in ``state``.

    V_src = V_j (1 + R_s / R(V_j)) (closed form, the inverse of :func:`junction_voltage_v`).
    """
    v_j = np.asarray(v_junction_v, dtype=float)
    if state == "p":
        r = mtj.r_p_ohm
    elif state == "ap":
        r = mtj.r_p_ohm * (1.0 + tmr_at_bias(v_j, mtj.tmr0, mtj.v_half_v))
    else:
        raise ValueError(f"state must be 'p' or 'ap', got {state!r}")
    return as_output(v_j * (1.0 + driver.r_series_ohm / r))


def pulse_energy_j(v_src_v, current_a, t_pulse_s, c_line_f: float = 0.0):
    """Energy drawn from the pulse source: V_src I t + C_line V_src^2 (J).

    The current is that of the state the write starts from, held over the whole pulse: 003's
    energies scale with the pulse length at fixed amplitude (savings 37/45/53 % track the pulse
    length), which is what a driver that does not sense the switching delivers into the pre-switch
    resistance. The post-switch change of resistance is neglected (see README).
    """
    v = np.asarray(v_src_v, dtype=float)
    return as_output(
        v * np.asarray(current_a, dtype=float) * np.asarray(t_pulse_s, dtype=float) + c_line_f * v * v
    )


def write_energy_j(v_src_v, t_pulse_s, mtj: MTJ, driver: Driver, polarity: Polarity = "p_to_ap"):
    """Programming energy per bit of the nominal cell for one polarity (J).

    E = V_src I t + C_line V_src^2, I = V_src / (R_state + R_s) with R_state that of the state the
    write leaves (R_P for P -> AP, R_AP(V) for AP -> P) (000 Fig. 3, 003 Fig. 1b; PHYSICS.md
    section 6). Worked check: 0.381 V across R_P = 4.97 kOhm for 15 ns is 0.438 pJ in the junction.

    Parameters
    ----------
    v_src_v : float or ndarray
        Source amplitude of the driver (V); see :func:`source_voltage_v` to set a junction voltage.
    t_pulse_s : float or ndarray
        Pulse length (s).
    mtj : MTJ
    driver : Driver
    polarity : {"p_to_ap", "ap_to_p"}
    """
    _, current, _ = divider(
        v_src_v, initial_state(polarity), mtj.r_p_ohm, mtj.tmr0, mtj.v_half_v, driver.r_series_ohm
    )
    return pulse_energy_j(v_src_v, current, t_pulse_s, driver.c_line_f)


def junction_energy_j(v_src_v, t_pulse_s, mtj: MTJ, driver: Driver, polarity: Polarity = "p_to_ap"):
    """The part of :func:`write_energy_j` dissipated in the junction itself, I^2 R t (J)."""
    _, current, r = divider(
        v_src_v, initial_state(polarity), mtj.r_p_ohm, mtj.tmr0, mtj.v_half_v, driver.r_series_ohm
    )
    return as_output(current * current * r * np.asarray(t_pulse_s, dtype=float))
