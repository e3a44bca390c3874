"""Endurance: time-dependent dielectric breakdown of the MgO barrier -> write cycles vs voltage.

Owns the ``Endurance`` dataclass (power-law or E-model acceleration, Weibull spread) and the cycles
to breakdown and breakdown probability it gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from accelsim.device.mtj import DeviceParameterError, as_output


@dataclass(frozen=True, kw_only=True, slots=True)
class Endurance:
    """Barrier breakdown model: t_BD(V), cycles N = t_BD / t_pulse, Weibull spread over devices.

    Power law t_BD = t_ref (V / V_ref)^-n (MgO breakdown is charge-fluence driven and the power law
    extrapolates best: Van Beek et al., IRPS 2018; used for STT-MRAM endurance by Kan et al., IEEE
    TED 64(9) 3639, 2017) or E-model t_BD = t_ref exp(-gamma (V - V_ref)) (PHYSICS.md section 9).
    """

    name: str = field(default="custom", metadata={"doc": "label of the endurance model"})
    law: Literal["power", "exponential"] = field(
        default="power", metadata={"doc": "'power' or 'exponential'"}
    )
    v_ref_v: float = field(
        metadata={"unit": "V", "doc": "reference voltage (e.g. the breakdown voltage V_bd), > 0"}
    )
    t_bd_ref_s: float = field(
        metadata={"unit": "s", "doc": "cumulative stress time to breakdown (63 % point) at v_ref, > 0"}
    )
    exponent_n: float = field(
        default=0.0, metadata={"doc": "power-law voltage exponent n (law = 'power'), > 0"}
    )
    gamma_per_v: float = field(
        default=0.0, metadata={"doc": "E-model acceleration gamma in 1/V (law = 'exponential'), > 0"}
    )
    weibull_beta: float = field(
        default=1.0, metadata={"doc": "Weibull slope of the cycles-to-breakdown spread, > 0"}
    )

    def __post_init__(self) -> None:
        if self.law not in ("power", "exponential"):
            raise DeviceParameterError(
                "law", f"endurance law must be 'power' or 'exponential', got {self.law!r}"
            )
        for key, value in {
            "v_ref": self.v_ref_v,
            "t_bd_ref": self.t_bd_ref_s,
            "weibull_beta": self.weibull_beta,
        }.items():
            if not (value > 0 and math.isfinite(value)):
                raise DeviceParameterError(
                    key, f"endurance {key} must be a positive finite number, got {value!r}"
                )
        if self.law == "power" and not self.exponent_n > 0:
            raise DeviceParameterError(
                "exponent_n", f"exponent_n must be > 0 for the power law, got {self.exponent_n!r}"
            )
        if self.law == "exponential" and not self.gamma_per_v > 0:
            raise DeviceParameterError(
                "gamma_per_v", f"gamma_per_v must be > 0 for the E-model, got {self.gamma_per_v!r}"
            )


def time_to_breakdown_s(v_v, endurance: Endurance):
    """Cumulative stress time to breakdown (63 % of devices) at barrier voltage ``v_v`` (s)."""
    v = np.abs(np.asarray(v_v, dtype=float))
    if endurance.law == "power":
        with np.errstate(divide="ignore"):
            return as_output(endurance.t_bd_ref_s * (v / endurance.v_ref_v) ** (-endurance.exponent_n))
    return as_output(endurance.t_bd_ref_s * np.exp(-endurance.gamma_per_v * (v - endurance.v_ref_v)))


def cycles_to_breakdown(v_v, t_pulse_s, endurance: Endurance):
    """Write cycles to breakdown (63 % point): N = t_BD(V) / t_pulse (one pulse of stress per cycle).

    With the power law a 20 % lower voltage multiplies N by 0.8^-n (1e6 for n = 62, 001 Sec. III-A).
    """
    return as_output(np.asarray(time_to_breakdown_s(v_v, endurance)) / np.asarray(t_pulse_s, dtype=float))


def breakdown_probability(n_cycles, v_v, t_pulse_s, endurance: Endurance):
    """Fraction of devices broken after ``n_cycles`` writes: 1 - exp(-(N / N63)^beta) (Weibull)."""
    n63 = np.asarray(cycles_to_breakdown(v_v, t_pulse_s, endurance))
    return as_output(-np.expm1(-((np.asarray(n_cycles, dtype=float) / n63) ** endurance.weibull_beta)))
