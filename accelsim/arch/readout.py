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


def column_mux_area_m2(cols: int, n_converters: int, tech: TechNode, transistor_area,
                       pn_ratio: float) -> float:
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
        path += seg / 2.0  # from the middle of the node's segment to the centre of a half
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


# ---------------------------------------------------------------- what a parallel read resolves

K_BOLTZMANN = 1.380649e-23  # J/K, SI 2019 exact
Q_ELECTRON = 1.602176634e-19  # C, SI 2019 exact
T_READ_K = 300.0  # read temperature, the 300 K of the MASTAR tables the tech files use


@dataclass(frozen=True, kw_only=True, slots=True)
class ColumnPath:
    """One column group's read path for a parallel read: the junctions at the read bias, their
    spread, the access transistor and the bit line, and the converter's noise."""

    r_p_ohm: float  # R_P at the read bias
    r_ap_ohm: float  # R_AP at the read bias (TMR(V))
    sigma_ln_r: float  # device-to-device sigma of ln R (0: no spread)
    r_access_ohm: float
    r_bitline_ohm: float
    v_read_v: float
    sigma_offset_ln: float = 0.0  # converter offset, in ln of one LRS cell's current
    noise_bandwidth_hz: float = 0.0  # 0: no thermal/shot noise


def conductance_moments(r_ohm: float, sigma_ln: float, r_access_ohm: float) -> tuple[float, float]:
    """Mean and variance of G = 1 / (R e^(sigma z) + R_access), z ~ N(0, 1), by 64-point
    Gauss-Hermite quadrature (exact moments of the log-normal junction in series with its transistor)."""
    import numpy as np

    if sigma_ln == 0:
        return 1.0 / (r_ohm + r_access_ohm), 0.0
    x, w = np.polynomial.hermite_e.hermegauss(64)
    w = w / w.sum()
    g = 1.0 / (r_ohm * np.exp(sigma_ln * x) + r_access_ohm)
    mean = float(np.sum(w * g))
    return mean, float(np.sum(w * (g - mean) ** 2))


def conversion_table(path: ColumnPath, k: int, bits: int):
    """What the converter returns for a read of m cells (0..k) of which n are LRS (P).

    Returns (det, cdf): det (k+1, k+1) int64, the reading without spread or noise; cdf (k+1, k+1, k+1)
    float64 or None when there is neither, cdf[m, n, c] = P(reading <= c).

    Model: the m cells conduct G_i = 1 / (R_i + R_access) in parallel (log-normal R_i, their sum
    normal with the exact per-cell moments: ``conductance_moments``) through the bit line R_bl:
    I = V / (R_bl + 1 / S). The converter subtracts the all-HRS current of the m rows read and has
    2^bits uniform levels over 0..k LRS cells' worth (unit steps when 2^bits - 1 >= k); its references
    sit at the nominal currents of the level boundaries through the same path (replica columns), so
    the nominal transfer, IR drop included, reads every count exactly; clipping at both ends. The
    reading (a level) is turned into a count of LRS cells, rounded and clamped to 0..m. Noise in
    current: the spread of S through dI/dS = V / (1 + R_bl S)^2, Johnson and shot noise of the
    column over the bandwidth, and the converter offset.
    """
    import numpy as np
    from scipy.special import ndtr

    levels = 2**bits
    step = 1.0 if levels - 1 >= k else k / (levels - 1)
    n_levels = k + 1 if step == 1.0 else levels
    m = np.arange(k + 1)[:, None]
    n = np.arange(k + 1)[None, :]
    level_value = np.arange(n_levels) * step
    # deterministic reading: the level nearest to n (ties up), clipped
    nearest = np.clip(np.floor(n / step + 0.5), 0, n_levels - 1)
    det = np.minimum(np.rint(nearest * step), m).astype(np.int64)
    det = np.broadcast_to(det, (k + 1, k + 1)).copy()
    g_p0 = 1.0 / (path.r_p_ohm + path.r_access_ohm)
    g_ap0 = 1.0 / (path.r_ap_ohm + path.r_access_ohm)
    mu_p, var_p = conductance_moments(path.r_p_ohm, path.sigma_ln_r, path.r_access_ohm)
    mu_ap, var_ap = conductance_moments(path.r_ap_ohm, path.sigma_ln_r, path.r_access_ohm)
    noisy = var_p > 0 or path.sigma_offset_ln > 0 or path.noise_bandwidth_hz > 0
    if not noisy:
        return det, None

    def current(s):
        return path.v_read_v * s / (1.0 + path.r_bitline_ohm * s)

    s_mean = n * mu_p + (m - n) * mu_ap  # (k+1, k+1)
    s_var = n * var_p + (m - n) * var_ap
    i_mean = current(s_mean)
    slope = path.v_read_v / (1.0 + path.r_bitline_ohm * s_mean) ** 2
    i_cell = path.v_read_v * g_p0
    noise2 = (4 * K_BOLTZMANN * T_READ_K * s_mean / (1.0 + path.r_bitline_ohm * s_mean)
              + 2 * Q_ELECTRON * i_mean) * path.noise_bandwidth_hz
    sigma_i = np.sqrt(slope**2 * s_var + noise2 + (path.sigma_offset_ln * i_cell) ** 2)
    # references: nominal currents at the boundaries between levels, for each m
    bounds = (level_value[:-1] + level_value[1:]) / 2.0  # (n_levels - 1,)
    s_ref = bounds[None, :] * g_p0 + (m - bounds[None, :]) * g_ap0  # (k+1, n_levels-1)
    # (a boundary below all-HRS has s_ref < 0 only when m = 0, which reads 0 anyway)
    i_ref = path.v_read_v * s_ref / (1.0 + path.r_bitline_ohm * np.maximum(s_ref, 0.0))
    # P(level <= l) = P(I < ref_l) for l < n_levels - 1, 1 for the last level
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (i_ref[:, None, :] - i_mean[:, :, None]) / sigma_i[:, :, None]
    p_below = np.where(sigma_i[:, :, None] > 0, ndtr(z), (i_mean[:, :, None] < i_ref[:, None, :]) * 1.0)
    level_cdf = np.concatenate([p_below, np.ones((k + 1, k + 1, 1))], axis=2)  # (m, n, level)
    # level -> count: rint(l step), clamped to m; the CDF over counts c takes the largest level
    # whose count is <= c
    count_of_level = np.rint(level_value)  # (n_levels,)
    cdf = np.empty((k + 1, k + 1, k + 1))
    for c in range(k + 1):
        top = np.searchsorted(count_of_level, c, side="right") - 1  # last level with count <= c
        cdf[:, :, c] = level_cdf[:, :, top] if top >= 0 else 0.0
    # clamp to m: every reading above m reads m (so m = 0 reads 0); entries n > m are unused
    cdf = np.where(np.arange(k + 1)[:, None, None] <= np.arange(k + 1)[None, None, :], 1.0, cdf)
    return det, cdf
