"""CMOS technology node: the transistor, wire and standard-cell constants the cost model is built on.

Loaded from ``arch_configs/tech/*.yaml`` (every constant cites its source there) with
``config.load_yaml_as(TechNode, path)``; per-width currents follow NVSim's MASTAR tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accelsim.schema import Invalid, param, quantity

TECH_DIR = Path(__file__).resolve().parents[2] / "arch_configs" / "tech"


@dataclass(frozen=True, kw_only=True, slots=True)
class TechNode:
    """A CMOS node and flavour (e.g. 40 nm low power) as the cost model sees it.

    Per-width quantities are given per micrometre of transistor width (``*_per_um_*``), the way
    NVSim's ``Technology.cpp`` (MASTAR 5) tabulates them; the properties ``*_a_per_m`` give SI.
    """

    name: str = param("short name, e.g. `lp40`")
    description: str = param("one line: node, flavour, where the numbers come from", default="")
    feature_size_m: float = quantity("feature size F (drawn gate length) [m]")
    vdd_v: float = quantity("supply of the array periphery: word lines and write drivers [V]")
    v_ref_v: float = quantity("supply at which the on-currents below are tabulated (MASTAR VDD) [V]")
    vth_v: float = quantity("NMOS saturation threshold voltage [V]")
    v_dsat_v: float = quantity(
        "velocity-saturation voltage E_c L = L v_sat / mu_eff of the drain-current model [V]")
    i_on_n_per_um_a: float = quantity("NMOS saturation on-current per um of width at V_GS = V_DS = v_ref [A]")
    i_on_p_per_um_a: float = quantity("PMOS saturation on-current per um of width at v_ref [A]")
    i_off_per_um_a: float = quantity("sub-threshold off-current per um of width (NMOS = PMOS) [A]")
    r_on_multiplier: float = param(
        "effective-resistance multiplier of a switching transistor, R_on = k v_ref / (I_on' W) (CACTI)")
    c_gate_per_um_f: float = quantity("gate capacitance per um of width (ideal + overlap + fringe) [F]")
    c_drain_per_um_f: float = quantity("drain junction capacitance per um of width [F]")
    c_wire_per_um_f: float = quantity("local/intermediate wire capacitance per um of length [F]")
    sense_amp_area_f2: float = param("area of one current-mode sense amplifier, in F^2")
    sense_amp_energy_j: float = quantity("dynamic energy of one current-mode sensing [J]")
    sense_amp_leakage_w: float = quantity("standby power of one sense amplifier [W]")
    full_adder_area_f2: float = param("area of a one-bit full-adder standard cell, in F^2")
    dff_area_f2: float = param("area of a D flip-flop standard cell, in F^2")
    full_adder_energy_j: float = quantity("energy of one full-adder bit operation [J]")
    dff_energy_j: float = quantity("energy of clocking one flip-flop bit [J]")
    logic_leakage_per_f2_w: float = quantity(
        "standby power per F^2 of standard-cell logic (adders, counters, registers) [W]")
    sram_bit_area_f2: float = param("area of a 6T SRAM bit cell (buffers), in F^2")
    sram_energy_per_bit_j: float = quantity("energy to read or write one bit of an SRAM buffer [J]")
    sram_leakage_per_bit_w: float = quantity("standby power of one SRAM bit [W]")
    adc_power_per_bit_w: float = quantity(
        "SAR converter power per output bit while converting (NeuroSim SarADC fit: (a b + c)) [W]")
    adc_power_base_w: float = quantity("SAR converter power independent of the bits, c [W]")
    adc_cycle_s: float = quantity("one SAR cycle; a b-bit conversion takes b + 1 of them [s]")
    adc_area_base_f2: float = param("SAR converter area independent of the bits, in F^2")
    adc_area_per_bit_f2: float = param("SAR converter area per output bit, in F^2")
    r_wire_per_um_ohm: float = quantity("resistance per um of a minimum-width local wire [Ohm]")
    wire_pitch_m: float = quantity("pitch (width + space) of a minimum local/intermediate wire [m]")
    nand2_area_f2: float = param("area of a two-input NAND standard cell (decoders), in F^2")

    def __post_init__(self) -> None:
        if self.vth_v >= self.v_ref_v:
            raise Invalid("vth", f"threshold {self.vth_v:g} V is not below v_ref {self.v_ref_v:g} V")
        if self.vth_v >= self.vdd_v:
            raise Invalid("vth", f"threshold {self.vth_v:g} V is not below vdd {self.vdd_v:g} V")
        for name in ("sense_amp_area_f2", "full_adder_area_f2", "dff_area_f2", "sram_bit_area_f2",
                     "r_on_multiplier", "adc_area_base_f2", "adc_area_per_bit_f2", "nand2_area_f2"):
            if not getattr(self, name) > 0:
                raise Invalid(name, f"expected a positive number, got {getattr(self, name)!r}")

    @property
    def f2_m2(self) -> float:
        """One F^2 in m^2."""
        return self.feature_size_m**2

    @property
    def i_on_n_a_per_m(self) -> float:
        """NMOS on-current per metre of width [A/m] (numerically equal to uA/um)."""
        return self.i_on_n_per_um_a / 1e-6

    @property
    def i_on_p_a_per_m(self) -> float:
        """PMOS on-current per metre of width [A/m]."""
        return self.i_on_p_per_um_a / 1e-6

    @property
    def i_off_a_per_m(self) -> float:
        """Off-current per metre of width [A/m]."""
        return self.i_off_per_um_a / 1e-6

    @property
    def c_gate_f_per_m(self) -> float:
        return self.c_gate_per_um_f / 1e-6

    @property
    def c_drain_f_per_m(self) -> float:
        return self.c_drain_per_um_f / 1e-6

    @property
    def c_wire_f_per_m(self) -> float:
        return self.c_wire_per_um_f / 1e-6

    @property
    def r_wire_ohm_per_m(self) -> float:
        return self.r_wire_per_um_ohm / 1e-6


def load_tech(name_or_path: str | Path) -> TechNode:
    """A technology file: a path, or the name of a shipped one (``lp40``, ``n28``)."""
    from accelsim.config import load_yaml_as  # the loader sits left of arch; imported late

    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = TECH_DIR / f"{name_or_path}.yaml"
    return load_yaml_as(TechNode, path)
