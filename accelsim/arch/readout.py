"""How a column's count is sensed, and what that costs: the readout scheme (k rows per read, a 1-bit
sense amplifier or a b-bit converter), the converter's area, energy and time, the access transistor a
parallel read needs, row decoders, column multiplexers and the H-tree that joins the tiles to the
buffers. Pure functions of SI parameters; the functional side is ``kernels/adc_readout.py``.

Sources (every constant is in ``arch_configs/tech/*.yaml`` with its citation, or cited here):
- SAR converter: DNN_NeuroSim V1.4 ``SarADC.cpp`` -- power (a b + c) over (b + 1) cycles of 1 ns,
  area (269 + 109 (b - 1)) NMOS + (209 + 73 (b - 1)) PMOS minimum transistors.
- Access transistor for parallel reads: NeuroSim ``SubArray.cpp`` sizes a 1T1R cell's transistor so that
  its linear-region resistance is IR_DROP_TOLERANCE x R_on, with the linear resistance
  LINEAR_REGION_RATIO x the effective switching resistance k V / (I_on' W) (``constant.h``).
- Decoders: an AND of the read-group address and the row's input bit per row, in NAND2 equivalents.
- H-tree: each node joins the centres of the two halves of its region (the recursive H layout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accelsim.arch.tech import TechNode
from accelsim.schema import Invalid, param

IR_DROP_TOLERANCE = 0.25  # NeuroSim constant.h: access resistance <= 0.25 R_on (1T1R sizing)
LINEAR_REGION_RATIO = 0.20  # NeuroSim constant.h: linear-region R = 0.2 x CACTI effective R_on
MIN_GATE_WIDTH_F = 2.0  # NeuroSim constant.h MIN_NMOS_SIZE: a minimum transistor is 2 F wide
FO4_LOAD = 4.0  # a decoder gate drives about four gate inputs (logical effort's fan-out of 4)


def default_adc_bits(rows_per_read: int) -> int:
    """Bits that resolve every partial count 0..k: ceil(log2(k + 1))."""
    return max(1, math.ceil(math.log2(rows_per_read + 1)))


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadoutScheme:
    """k rows of a sensing phase read at once, and the converter resolution when k > 1.

    k = 1: row-serial, one current-mode 1-bit sense amplifier per column decides each cell and a
    counter accumulates (002 Sec. III-A: the count "can be evaluated either serial or in parallel").
    k > 1: the k selected cells' currents add on the bit line and a b-bit converter reads the sum;
    the accumulator adds the partial counts.
    """

    rows_per_read: int = param("rows of a phase activated at once, k >= 1", default=1)
    adc_bits: int | None = param("converter bits when k > 1; null = ceil(log2(k + 1))", default=None)

    def __post_init__(self) -> None:
        if self.rows_per_read < 1:
            raise Invalid("rows_per_read", f"expected an integer >= 1, got {self.rows_per_read}")
        if self.adc_bits is not None:
            if self.rows_per_read == 1:
                raise Invalid("adc_bits", "a row-serial read (rows_per_read 1) uses a 1-bit sense "
                                          "amplifier: no converter bits to set")
            if not 1 <= self.adc_bits <= 16:
                raise Invalid("adc_bits", f"expected 1 <= bits <= 16, got {self.adc_bits}")

    @property
    def parallel(self) -> bool:
        return self.rows_per_read > 1

    @property
    def bits(self) -> int:
        """Converter bits (1 for the row-serial sense amplifier)."""
        if not self.parallel:
            return 1
        return self.adc_bits if self.adc_bits is not None else default_adc_bits(self.rows_per_read)

    def reads_per_phase(self, rows_used: int) -> int:
        """Reads a phase takes on a tile with ``rows_used`` rows: ceil(rows / k)."""
        return -(-rows_used // self.rows_per_read)

    def describe(self) -> str:
        if not self.parallel:
            return "row-serial (k = 1): 1-bit current sense amplifier + counter per column"
        return f"k = {self.rows_per_read} rows per read into a {self.bits}-bit SAR converter per column"


# ---------------------------------------------------------------- converter


def sar_adc_area_m2(bits: int, tech: TechNode) -> float:
    """One SAR converter: (base + per_bit x b) F^2 (NeuroSim SarADC::CalculateUnitArea, tech file)."""
    return (tech.adc_area_base_f2 + tech.adc_area_per_bit_f2 * bits) * tech.f2_m2


def sar_adc_time_s(bits: int, tech: TechNode) -> float:
    """One conversion: (b + 1) SAR cycles (NeuroSim SarADC::CalculateLatency)."""
    return (bits + 1) * tech.adc_cycle_s


def sar_adc_energy_j(bits: int, tech: TechNode) -> float:
    """One conversion: (a b + c) W for (b + 1) cycles (NeuroSim SarADC::GetColumnPower without its
    column-current term, which accelsim charges as cell-read energy)."""
    return (tech.adc_power_per_bit_w * bits + tech.adc_power_base_w) * sar_adc_time_s(bits, tech)


def sar_adc_leakage_w(bits: int, tech: TechNode) -> float:
    """Standby power of one converter, as standard-cell logic of its area."""
    return (tech.adc_area_base_f2 + tech.adc_area_per_bit_f2 * bits) * tech.logic_leakage_per_f2_w


# ---------------------------------------------------------------- access transistor and path


def effective_on_resistance_ohm(w_m: float, tech: TechNode) -> float:
    """CACTI/NVSim effective switching resistance k V_ref / (I_on' W)."""
    return tech.r_on_multiplier * tech.v_ref_v / (tech.i_on_n_a_per_m * w_m)


def access_resistance_ohm(w_m: float, tech: TechNode) -> float:
    """Linear-region (read, small V_DS) resistance of an access transistor of width ``w_m``:
    LINEAR_REGION_RATIO x the effective switching resistance (NeuroSim SubArray.cpp)."""
    return LINEAR_REGION_RATIO * effective_on_resistance_ohm(w_m, tech)


def read_access_width_m(r_on_cell_ohm: float, tech: TechNode) -> float:
    """Width whose read resistance is IR_DROP_TOLERANCE x the cell's R_on (LRS), NeuroSim's 1T1R rule:
    W = LINEAR_REGION_RATIO k V_ref / (I_on' IR_DROP_TOLERANCE R_on)."""
    return LINEAR_REGION_RATIO * tech.r_on_multiplier * tech.v_ref_v / (
        tech.i_on_n_a_per_m * IR_DROP_TOLERANCE * r_on_cell_ohm)


def bitline_resistance_ohm(rows: int, cell_height_m: float, tech: TechNode) -> float:
    """Wire resistance of the average current path down a bit line: half the column (the selected
    block sits anywhere along it with equal chance)."""
    return tech.r_wire_ohm_per_m * rows * cell_height_m / 2.0


# ---------------------------------------------------------------- decoders and multiplexers


def gate_input_capacitance_f(tech: TechNode, pn_ratio: float) -> float:
    """Input capacitance of a minimum gate: NMOS 2 F + PMOS 2 F x pn_ratio of gate."""
    return tech.c_gate_f_per_m * MIN_GATE_WIDTH_F * tech.feature_size_m * (1.0 + pn_ratio)


def address_bits(rows: int, rows_per_read: int) -> int:
    """Address bits that select one of ceil(rows / k) read groups."""
    groups = -(-rows // rows_per_read)
    return math.ceil(math.log2(groups)) if groups > 1 else 0


def decoder_area_m2(rows: int, rows_per_read: int, tech: TechNode) -> float:
    """Row decoder: per row an AND of the group address and its input bit, (A + 1) inputs as A NAND2
    equivalents (at least one: the input gating)."""
    return rows * max(1, address_bits(rows, rows_per_read)) * tech.nand2_area_f2 * tech.f2_m2


def decoder_energy_per_read_j(rows: int, rows_per_read: int, tech: TechNode, pn_ratio: float) -> float:
    """One read-group selection: the old group's and the new group's AND trees switch, (A + 1) gates
    each, every gate driving a fan-out-of-4 load: 2 (A + 1) x 4 C_in VDD^2."""
    a = address_bits(rows, rows_per_read)
    return 2 * (a + 1) * FO4_LOAD * gate_input_capacitance_f(tech, pn_ratio) * tech.vdd_v**2


def column_mux_area_m2(cols: int, n_converters: int, tech: TechNode, transistor_area, pn_ratio: float) -> float:
    """Column multiplexers when converters are shared: a minimum transmission gate per column (NeuroSim
    Mux: one pass gate per column); none when every column has its own converter."""
    if n_converters >= cols:
        return 0.0
    w = MIN_GATE_WIDTH_F * tech.feature_size_m
    return cols * (transistor_area(w, tech) + transistor_area(w * pn_ratio, tech))


# ---------------------------------------------------------------- H-tree


def htree_lengths_m(nx: int, ny: int, pitch_m: float) -> tuple[float, float]:
    """(total wire length, root-to-leaf path) of an H-tree over an nx x ny grid of tiles of ``pitch_m``:
    each node splits its region across the longer side and joins the centres of the two halves (a
    segment half the split side long); regions of one tile are leaves."""
    total = 0.0
    path = 0.0
    # the regions of one level are all alike (up to one tile), so walk the larger half: its path is
    # the longest, and the level's total is the segment times the nodes of that level.
    nodes = 1
    while nx * ny > 1:
        if nx >= ny:
            seg = nx * pitch_m / 2.0
            nx = -(-nx // 2)
        else:
            seg = ny * pitch_m / 2.0
            ny = -(-ny // 2)
        total += nodes * seg
        path += seg
        nodes *= 2
    return total, path


def tile_grid(n_tiles: int) -> tuple[int, int]:
    """A near-square floor plan: nx = ceil(sqrt(N)) columns, ny = ceil(N / nx) rows of tiles."""
    nx = max(1, math.ceil(math.sqrt(n_tiles)))
    return nx, max(1, -(-n_tiles // nx))


@dataclass(frozen=True, kw_only=True, slots=True)
class Interconnect:
    """The chip's H-tree between the activation buffers (at its root) and the tiles."""

    nx: int
    ny: int
    bus_bits: int
    length_m: float  # total length of the tree (one bus)
    path_m: float  # root to a tile
    area_m2: float  # bus_bits wires at the wire pitch along the whole tree
    e_per_bit_j: float  # one bit from the root to a tile (or back): a C_wire path VDD^2


def htree(n_tiles: int, pitch_m: float, bus_bits: int, tech: TechNode, activity: float) -> Interconnect:
    """H-tree of ``bus_bits`` wires over the tiles: area = length x bus_bits x wire pitch (wires in a
    routing channel of their own, as NeuroSim's HTree counts them); energy per bit = a C_wire L VDD^2
    over the root-to-leaf path (no repeaters modelled)."""
    nx, ny = tile_grid(n_tiles)
    length, path = htree_lengths_m(nx, ny, pitch_m)
    # the buffers sit at the edge of the tile array: one tile pitch from them to the tree's root
    length += pitch_m
    path += pitch_m
    return Interconnect(nx=nx, ny=ny, bus_bits=bus_bits, length_m=length, path_m=path,
                        area_m2=length * bus_bits * tech.wire_pitch_m,
                        e_per_bit_j=activity * tech.c_wire_f_per_m * path * tech.vdd_v**2)
