"""The 1T-1MTJ cell: access-transistor width for a write current, cell area and leakage, and the energy
of one write and one read of a cell. Pure functions of SI parameters (MTJ electrical data + TechNode).

Sizing follows PHYSICS.md section 8: the transistor must deliver the write current in its weaker,
source-degenerated direction, where the MTJ's IR drop lowers V_GS.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.optimize import brentq

from accelsim.arch.tech import TechNode
from accelsim.device.mtj import MTJ, critical_current_a
from accelsim.schema import Invalid, quantity


@dataclass(frozen=True, kw_only=True, slots=True)
class MTJElectrical:
    """What the cell model needs to know about an MTJ: its resistances and critical current.

    Values are zero-bias resistances; ``v_half_tmr_v`` switches on the bias dependence
    TMR(V) = TMR0 / (1 + V^2 / V_h^2) (PHYSICS.md section 1; Zhang/Zhao compact model,
    IEEE TED 59(3) 819, 2012).
    """

    r_p_ohm: float = quantity("parallel (LRS) resistance at zero bias [Ohm]")
    r_ap_ohm: float = quantity("antiparallel (HRS) resistance at zero bias [Ohm]")
    i_c_a: float = quantity("critical switching current Ic [A]")
    v_half_tmr_v: float | None = quantity(
        "bias V_h at which the TMR has halved [V]; null = bias-independent resistances", default=None)

    def __post_init__(self) -> None:
        if not self.r_ap_ohm > self.r_p_ohm:
            raise Invalid("r_ap", f"R_AP {self.r_ap_ohm:g} Ohm must exceed R_P {self.r_p_ohm:g} Ohm")

    @classmethod
    def from_device(cls, mtj: MTJ) -> MTJElectrical:
        """The electrical view of an ``accelsim.device`` MTJ: R_P, zero-bias R_AP, the P -> AP critical
        current (the one 002's Table I quotes) and its TMR bias dependence."""
        return cls(r_p_ohm=mtj.r_p_ohm, r_ap_ohm=mtj.r_ap0_ohm,
                   i_c_a=float(critical_current_a(mtj, "p_to_ap")), v_half_tmr_v=mtj.v_half_v)

    @property
    def tmr0(self) -> float:
        """Zero-bias tunnel magnetoresistance (R_AP - R_P) / R_P."""
        return self.r_ap_ohm / self.r_p_ohm - 1.0


def r_ap_at_current_ohm(mtj: MTJElectrical, i_a: float) -> float:
    """R_AP while a current ``i_a`` flows: the self-consistent root of
    R = R_P (1 + TMR0 / (1 + (I R / V_h)^2))  (PHYSICS.md section 1). Zero-bias R_AP if V_h is None."""
    if mtj.v_half_tmr_v is None or i_a == 0.0:
        return mtj.r_ap_ohm
    vh = mtj.v_half_tmr_v

    def residual(r: float) -> float:
        return r - mtj.r_p_ohm * (1.0 + mtj.tmr0 / (1.0 + (i_a * r / vh) ** 2))

    # residual is increasing in R, negative at R_P and non-negative at the zero-bias R_AP.
    return brentq(residual, mtj.r_p_ohm, mtj.r_ap_ohm, xtol=1e-9, rtol=1e-12)


def _overdrive_shape(v_ov: float, v_dsat: float) -> float:
    """Velocity-saturated saturation current vs gate overdrive, up to a constant:
    I_D ~ V_ov^2 / (V_ov + E_c L) (Sodini, Ko, Moll, IEEE TED 31(10) 1386, 1984; E_c L = NVSim's vdsat)."""
    return v_ov * v_ov / (v_ov + v_dsat)


def drain_current_a(w_m: float, v_gs_v: float, tech: TechNode) -> float:
    """NMOS saturation current of width ``w_m`` at gate-source voltage ``v_gs_v``:
    I = W I_on' f(V_GS - V_T) / f(V_ref - V_T), f(x) = x^2 / (x + v_dsat), anchored to the MASTAR on-current
    at V_GS = V_ref; 0 below threshold."""
    v_ov = v_gs_v - tech.vth_v
    if v_ov <= 0:
        return 0.0
    ref = _overdrive_shape(tech.v_ref_v - tech.vth_v, tech.v_dsat_v)
    return w_m * tech.i_on_n_a_per_m * _overdrive_shape(v_ov, tech.v_dsat_v) / ref


def access_width_m(i_write_a: float, r_source_ohm: float, tech: TechNode) -> float:
    """Smallest access-transistor width that passes ``i_write_a`` with the MTJ at its source.

    The word line and the driven end of the cell sit at VDD; the MTJ (``r_source_ohm``) between the
    source and the grounded line raises the source to I R, so V_GS = V_DS = VDD - I R (saturation).
    W = I / I_D'(V_GS). The other polarity (MTJ at the drain, V_GS = VDD) needs less.

    Raises
    ------
    ValueError
        If I R leaves no gate overdrive: no width can deliver the current at this supply.
    """
    if i_write_a <= 0 or r_source_ohm < 0:
        raise ValueError(f"need a positive write current and resistance, got {i_write_a}, {r_source_ohm}")
    v_gs = tech.vdd_v - i_write_a * r_source_ohm
    per_metre = drain_current_a(1.0, v_gs, tech)
    if per_metre <= 0:
        raise ValueError(
            f"write current {i_write_a * 1e6:.3g} uA through {r_source_ohm:.4g} Ohm drops "
            f"{i_write_a * r_source_ohm:.3g} V: no gate overdrive left at VDD {tech.vdd_v:g} V, "
            f"Vth {tech.vth_v:g} V")
    return i_write_a / per_metre


def transistor_area_m2(w_m: float, tech: TechNode) -> float:
    """Layout area of one transistor with its contacts, NVSim's 1T rule 3 (W/F + 1) F^2."""
    return 3.0 * (w_m / tech.feature_size_m + 1.0) * tech.f2_m2


@dataclass(frozen=True, kw_only=True, slots=True)
class CellDesign:
    """A sized 1T-1MTJ cell."""

    mtj: MTJElectrical
    i_write_a: float  # write current the cell is sized for [A]
    r_ap_write_ohm: float  # R_AP while the write current flows [Ohm]
    w_access_m: float  # access transistor width [m]
    area_m2: float  # 3 (W/F + 1) F^2 [m^2]
    width_m: float  # along the word line, (W/F + 1) F [m]
    height_m: float  # along the bit line, 3 F [m]
    leakage_w: float  # I_off' W VDD [W]


def design_cell(mtj: MTJElectrical, tech: TechNode, *, write_current_factor: float = 2.0,
                min_width_m: float = 0.0) -> CellDesign:
    """Size a cell for a write current ``write_current_factor`` x Ic (002 uses 2 x Ic), and at least
    ``min_width_m`` wide (a parallel read's IR-drop rule, ``readout.read_access_width_m``).

    Width from ``access_width_m`` with the MTJ in AP (the larger resistance, at the write bias),
    area by NVSim's 1T1R rule 3 (W/F + 1) F^2 with L = F, leakage I_off' W VDD (PHYSICS.md section 8).
    """
    if write_current_factor <= 0:
        raise ValueError(f"write_current_factor must be positive, got {write_current_factor}")
    i_write = write_current_factor * mtj.i_c_a
    r_ap = r_ap_at_current_ohm(mtj, i_write)
    w = max(access_width_m(i_write, r_ap, tech), min_width_m)
    f = tech.feature_size_m
    return CellDesign(mtj=mtj, i_write_a=i_write, r_ap_write_ohm=r_ap, w_access_m=w,
                      area_m2=transistor_area_m2(w, tech), width_m=(w / f + 1.0) * f, height_m=3.0 * f,
                      leakage_w=tech.i_off_a_per_m * w * tech.vdd_v)


def write_energy_supply_j(cell: CellDesign, t_pulse_s: float, tech: TechNode) -> float:
    """Energy drawn from the supply by one write pulse: VDD I t (driver, access transistor and MTJ;
    PHYSICS.md section 6). The same for both polarities at the same current."""
    return tech.vdd_v * cell.i_write_a * t_pulse_s


def write_energy_junction_j(cell: CellDesign, t_pulse_s: float, *, to_ap: bool) -> float:
    """Energy dissipated in the junction by one write pulse, I^2 R t, with R the state the cell starts
    in: R_P for P -> AP, R_AP (at the write bias) for AP -> P (PHYSICS.md section 6)."""
    r = cell.mtj.r_p_ohm if to_ap else cell.r_ap_write_ohm
    return cell.i_write_a**2 * r * t_pulse_s


def read_bias_v(mtj: MTJElectrical, read_current_ratio: float) -> float:
    """Read voltage across a cell that makes the P (larger) read current ``read_current_ratio`` x Ic,
    so that read disturb stays at the i_read of PHYSICS.md section 7."""
    if not 0 < read_current_ratio < 1:
        raise ValueError(f"read_current_ratio must be in (0, 1), got {read_current_ratio}")
    return read_current_ratio * mtj.i_c_a * mtj.r_p_ohm


def read_energy_j(mtj: MTJElectrical, read_current_ratio: float, t_sense_s: float, tech: TechNode,
                  *, hrs: bool) -> float:
    """Supply energy of one activated cell during one sensing phase: VDD x (V_read / R_state) x t_sense."""
    r = mtj.r_ap_ohm if hrs else mtj.r_p_ohm
    return tech.vdd_v * read_bias_v(mtj, read_current_ratio) / r * t_sense_s

