"""A crossbar tile: rows x cols 1T-1MTJ cells (each column of one cell type) with its periphery --
word-line drivers, bidirectional write drivers, sense amplifiers and per-column accumulators -- and
its area, leakage and energy per operation. Pure functions of SI parameters.

What the model assumes is written down in ``accelsim/arch/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from accelsim.arch.cell import (
    CellDesign,
    MTJElectrical,
    design_cell,
    read_energy_j,
    transistor_area_m2,
    write_energy_junction_j,
    write_energy_supply_j,
)
from accelsim.arch.readout import (
    ReadoutScheme,
    access_resistance_ohm,
    column_mux_area_m2,
    decoder_area_m2,
    decoder_energy_per_read_j,
    read_access_width_m,
    sar_adc_area_m2,
    sar_adc_energy_j,
    sar_adc_leakage_w,
    sar_adc_time_s,
)
from accelsim.arch.tech import TechNode
from accelsim.arch.timing import TimingConfig
from accelsim.schema import Invalid, param, quantity

FO4 = 4.0  # fan-out of each stage of a driver chain (logical effort; NVSim OPT_F = 4)
PN_RATIO = 2.23  # PMOS/NMOS width ratio of a balanced inverter (NVSim/CACTI pnSizeRatio, LSTP)


@dataclass(frozen=True, kw_only=True, slots=True)
class CircuitConfig:
    """Circuit design choices of the array (as opposed to process constants in ``TechNode``)."""

    write_current_factor: float = param(
        "write current as a multiple of the MTJ's critical current Ic (002 Sec. III-A: 2)", default=2.0)
    read_current_ratio: float = param(
        "read current of a P cell as a fraction of Ic, 0 < ratio < 1 (PHYSICS.md section 7 uses "
        "0.2-0.5; lower means less read disturb and less signal)", default=0.2)
    write_driver_drop_v: float = quantity(
        "voltage each write-driver transistor may drop at the write current; sizes the drivers [V]",
        default=0.1)
    activity: float = param("switching activity of data wires and buses, 0 < a <= 1", default=0.5)

    def __post_init__(self) -> None:
        if not self.write_current_factor > 0:
            raise Invalid("write_current_factor", f"expected > 0, got {self.write_current_factor}")
        if not 0 < self.read_current_ratio < 1:
            raise Invalid("read_current_ratio", f"expected 0 < ratio < 1, got {self.read_current_ratio}")
        if not 0 < self.activity <= 1:
            raise Invalid("activity", f"expected 0 < activity <= 1, got {self.activity}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ColumnGroupCost:
    """One cell type's columns in a tile, with per-cell energies."""

    cell: CellDesign
    n_columns: int
    e_read_hrs_j: float  # one activated AP cell during one sensing phase [J]
    e_read_lrs_j: float  # one activated P cell during one sensing phase [J]
    e_write_j: float  # supply energy of one cell write (either polarity), bit line included [J]
    e_write_junction_to_ap_j: float  # dissipated in the MTJ, P -> AP [J]
    e_write_junction_to_p_j: float  # dissipated in the MTJ, AP -> P [J]


@dataclass(frozen=True, kw_only=True, slots=True)
class TileCost:
    """Area, leakage and per-operation energies of one tile."""

    rows: int
    cols: int
    groups: tuple[ColumnGroupCost, ...]
    n_write_drivers: int
    n_sense_amps: int  # column readout circuits: sense amplifiers (k = 1) or converters (k > 1)
    counter_bits: int  # width of each column's accumulator, ceil(log2(rows + 1))
    readout: ReadoutScheme  # k rows per read, converter bits
    t_read_s: float  # one read: the read pulse (t_sense), plus the conversion when k > 1 [s]
    t_convert_s: float  # the conversion alone (0 for the sense amplifier: inside t_sense) [s]
    r_access_ohm: float  # read (linear-region) resistance of the widest cell's access transistor [Ohm]
    area_cells_m2: float
    area_write_drivers_m2: float
    area_wordline_drivers_m2: float
    area_sense_amps_m2: float  # sense amplifiers or converters
    area_counters_m2: float
    area_decoders_m2: float
    area_column_mux_m2: float
    leakage_cells_w: float
    leakage_write_drivers_w: float
    leakage_wordline_drivers_w: float
    leakage_sense_amps_w: float
    leakage_counters_w: float
    leakage_decoders_w: float
    e_wordline_j: float  # raising one word line of the tile for one sensing phase or write [J]
    e_sense_column_j: float  # one sense decision (k = 1) or conversion (k > 1) of one column [J]
    e_accumulate_column_j: float  # adding one read's result into a column's accumulator [J]
    e_decode_j: float  # selecting one read group of rows (row decoder) [J]

    @property
    def area_array_m2(self) -> float:
        """The cell matrix alone (what 002 calls the array)."""
        return self.area_cells_m2

    @property
    def area_periphery_m2(self) -> float:
        return (self.area_write_drivers_m2 + self.area_wordline_drivers_m2 + self.area_sense_amps_m2
                + self.area_counters_m2 + self.area_decoders_m2 + self.area_column_mux_m2)

    @property
    def area_m2(self) -> float:
        return self.area_cells_m2 + self.area_periphery_m2

    @property
    def leakage_array_w(self) -> float:
        return self.leakage_cells_w

    @property
    def leakage_periphery_w(self) -> float:
        return (self.leakage_write_drivers_w + self.leakage_wordline_drivers_w + self.leakage_sense_amps_w
                + self.leakage_counters_w + self.leakage_decoders_w)

    @property
    def leakage_w(self) -> float:
        return self.leakage_cells_w + self.leakage_periphery_w

    @property
    def e_column_read_j(self) -> float:
        """One column in one read: sense decision or conversion + accumulation [J]."""
        return self.e_sense_column_j + self.e_accumulate_column_j

    def reads_per_phase(self, rows_used: int) -> int:
        """Reads one sensing phase takes with ``rows_used`` rows: ceil(rows / k)."""
        return self.readout.reads_per_phase(rows_used)


def driver_widths_m(i_a: float, tech: TechNode, v_drop_v: float) -> tuple[float, float]:
    """(NMOS, PMOS) widths of a write-driver inverter that passes ``i_a`` dropping at most ``v_drop_v``,
    from the linear on-resistance R_on = k v_ref / (I_on' W) (NVSim/CACTI CalculateOnResistance)."""
    w_n = tech.r_on_multiplier * tech.v_ref_v * i_a / (tech.i_on_n_a_per_m * v_drop_v)
    w_p = tech.r_on_multiplier * tech.v_ref_v * i_a / (tech.i_on_p_a_per_m * v_drop_v)
    return w_n, w_p


def counter_bits(n: int) -> int:
    """Bits that hold any count 0..n."""
    return max(1, math.ceil(math.log2(n + 1)))


def tile_cost(rows: int, groups: Sequence[tuple[MTJElectrical, int]], tech: TechNode,
              circuit: CircuitConfig, timing: TimingConfig,
              readout: ReadoutScheme | None = None) -> TileCost:
    """Cost model of one tile of ``rows`` rows whose columns are ``groups`` = (MTJ, number of columns),
    in column order.

    - Cells: ``cell.design_cell`` per group; area and leakage summed over rows x columns.
    - Word lines: a FO4 inverter chain per row driving the access gates and the wire across the tile
      (capacitance C_WL); energy (4/3) C_WL VDD^2 per activation, chain area (4/3) of its last stage.
    - Write drivers: ``timing.n_write_drivers`` bidirectional drivers (000 Fig. 3: an inverter at each
      end of the column), each serving a contiguous block of columns and sized by ``driver_widths_m``
      for the largest write current in its block; their column multiplexers are not modelled.
    - Readout (``readout``, default row-serial): a phase reads its rows k at a time, ceil(rows / k)
      reads. k = 1: ``timing.n_sense_amps`` current-mode sense amplifiers (NVSim's IV converter), one
      decision per column and read, and a counter that increments (two flip-flop toggles on average:
      a binary counter's toggles per increment, 1 + 1/2 + 1/4 + ... = 2). k > 1: as many b-bit SAR
      converters (``readout.sar_adc_*``), one conversion per column and read, and an add of the
      partial count into the accumulator (one FA + one DFF per accumulator bit). Cells read k at a
      time are sized at least for NeuroSim's IR-drop rule (``readout.read_access_width_m``).
    - Row decoders (``readout.decoder_*``) and, when converters are shared, column multiplexers.
    - Accumulators: per column a ``counter_bits(rows)``-bit register and adder.
    - Cell energies: reads at the bias of ``cell.read_bias_v`` for ``t_sense``; writes VDD I t_pulse plus
      the bit line's C VDD^2.
    """
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    if not groups or any(n < 0 for _, n in groups):
        raise ValueError("need at least one column group with a non-negative count")
    cols = sum(n for _, n in groups)
    if cols < 1:
        raise ValueError("a tile needs at least one column")
    vdd2 = tech.vdd_v**2
    readout = readout or ReadoutScheme()
    cells = [design_cell(m, tech, write_current_factor=circuit.write_current_factor,
                         min_width_m=read_access_width_m(m.r_p_ohm, tech) if readout.parallel else 0.0)
             for m, _ in groups]

    # Bit line (one column): access-transistor drains and the wire along `rows` cells.
    group_costs = []
    for cell, (mtj, n) in zip(cells, groups):
        c_bl = rows * (tech.c_drain_f_per_m * cell.w_access_m + tech.c_wire_f_per_m * cell.height_m)
        group_costs.append(ColumnGroupCost(
            cell=cell, n_columns=n,
            e_read_hrs_j=read_energy_j(mtj, circuit.read_current_ratio, timing.t_sense_s, tech, hrs=True),
            e_read_lrs_j=read_energy_j(mtj, circuit.read_current_ratio, timing.t_sense_s, tech, hrs=False),
            e_write_j=write_energy_supply_j(cell, timing.t_write_pulse_s, tech) + c_bl * vdd2,
            e_write_junction_to_ap_j=write_energy_junction_j(cell, timing.t_write_pulse_s, to_ap=True),
            e_write_junction_to_p_j=write_energy_junction_j(cell, timing.t_write_pulse_s, to_ap=False)))

    area_cells = rows * sum(c.area_m2 * n for c, (_, n) in zip(cells, groups))
    leak_cells = rows * sum(c.leakage_w * n for c, (_, n) in zip(cells, groups))

    # Word line: gates of every access transistor in the row plus the wire across the tile.
    c_wl = sum((tech.c_gate_f_per_m * c.w_access_m + tech.c_wire_f_per_m * c.width_m) * n
               for c, (_, n) in zip(cells, groups))
    w_last = c_wl / (FO4 * tech.c_gate_f_per_m)  # total gate width of the last stage
    w_chain = w_last * FO4 / (FO4 - 1.0)  # geometric chain: last stage + 1/4 + 1/16 + ...
    w_chain_n, w_chain_p = w_chain / (1 + PN_RATIO), w_chain * PN_RATIO / (1 + PN_RATIO)
    area_wl = rows * (transistor_area_m2(w_chain_n, tech) + transistor_area_m2(w_chain_p, tech))
    leak_wl = rows * tech.i_off_a_per_m * max(w_chain_n, w_chain_p) * tech.vdd_v
    e_wl = c_wl * FO4 / (FO4 - 1.0) * vdd2

    # Write drivers: contiguous blocks of columns, each driver sized for its block's largest current.
    n_drv = timing.drivers(cols)
    i_col = [c.i_write_a for c, (_, n) in zip(cells, groups) for _ in range(n)]
    block = math.ceil(cols / n_drv)
    area_drv = leak_drv = 0.0
    for start in range(0, cols, block):
        w_n, w_p = driver_widths_m(max(i_col[start:start + block]), tech, circuit.write_driver_drop_v)
        # two inverters (bit-line end and source-line end)
        area_drv += 2 * (transistor_area_m2(w_n, tech) + transistor_area_m2(w_p, tech))
        leak_drv += 2 * tech.i_off_a_per_m * max(w_n, w_p) * tech.vdd_v

    n_sa = timing.sense_amps(cols)
    bits = counter_bits(rows)
    counter_f2 = cols * bits * (tech.full_adder_area_f2 + tech.dff_area_f2)
    if readout.parallel:
        b = readout.bits
        area_sa = n_sa * sar_adc_area_m2(b, tech)
        leak_sa = n_sa * sar_adc_leakage_w(b, tech)
        e_sense = sar_adc_energy_j(b, tech)
        t_conv = sar_adc_time_s(b, tech)
        e_acc = bits * (tech.full_adder_energy_j + tech.dff_energy_j)
    else:
        area_sa = n_sa * tech.sense_amp_area_f2 * tech.f2_m2
        leak_sa = n_sa * tech.sense_amp_leakage_w
        e_sense = tech.sense_amp_energy_j
        t_conv = 0.0
        e_acc = 2.0 * tech.dff_energy_j
    area_dec = decoder_area_m2(rows, readout.rows_per_read, tech)
    return TileCost(
        rows=rows, cols=cols, groups=tuple(group_costs), n_write_drivers=math.ceil(cols / block),
        n_sense_amps=n_sa, counter_bits=bits, readout=readout,
        t_read_s=timing.t_sense_s + t_conv, t_convert_s=t_conv,
        r_access_ohm=access_resistance_ohm(min(c.w_access_m for c in cells), tech),
        area_cells_m2=area_cells, area_write_drivers_m2=area_drv, area_wordline_drivers_m2=area_wl,
        area_sense_amps_m2=area_sa, area_counters_m2=counter_f2 * tech.f2_m2,
        area_decoders_m2=area_dec,
        area_column_mux_m2=column_mux_area_m2(cols, n_sa, tech, transistor_area_m2, PN_RATIO),
        leakage_cells_w=leak_cells, leakage_write_drivers_w=leak_drv, leakage_wordline_drivers_w=leak_wl,
        leakage_sense_amps_w=leak_sa, leakage_counters_w=counter_f2 * tech.logic_leakage_per_f2_w,
        leakage_decoders_w=area_dec / tech.f2_m2 * tech.logic_leakage_per_f2_w,
        e_wordline_j=e_wl, e_sense_column_j=e_sense, e_accumulate_column_j=e_acc,
        e_decode_j=decoder_energy_per_read_j(rows, readout.rows_per_read, tech, PN_RATIO))


def sensing_energy_j(tile: TileCost, n_active_cells, n_active_rows: int, n_column_reads: int) -> float:
    """Energy of sensing from activity counts.

    ``n_active_cells[phase, group, state]`` (state 0 = P, 1 = AP) activated cells, ``n_active_rows``
    word-line activations, ``n_column_reads`` column decisions or conversions (columns x reads).
    """
    e = n_active_rows * tile.e_wordline_j + n_column_reads * tile.e_column_read_j
    for g, group in enumerate(tile.groups):
        for phase in range(2):
            e += n_active_cells[phase][g][0] * group.e_read_lrs_j
            e += n_active_cells[phase][g][1] * group.e_read_hrs_j
    return float(e)
