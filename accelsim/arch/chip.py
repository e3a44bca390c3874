"""The chip: every layer's tiles, the adder trees that sum partial popcounts across row tiles, the
activation buffers between layers and the links between tiles; area, leakage and per-image energies.

Layers are described by anything with ``n_in, n_out, row_tiles, col_tiles`` (e.g. ``mapping.LayerMap``),
so this stage does not depend on the mapping module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from accelsim.arch.cell import MTJElectrical
from accelsim.arch.readout import Interconnect, htree
from accelsim.arch.tech import TechNode, load_tech
from accelsim.arch.tile import CircuitConfig, TileCost, counter_bits, tile_cost
from accelsim.errors import ConfigError
from accelsim.mapping import column_types


class LayerShape(Protocol):
    """A mapped layer: crossbar rows ``n_in``, columns ``n_out``, and its tile grid. Optional (read
    through ``vectors_per_image`` and ``activations_per_image``; absent means a dense layer):
    ``vectors_per_image`` (patches of a convolution), ``inputs_per_image``, ``outputs_per_image``."""

    n_in: int
    n_out: int
    row_tiles: int
    col_tiles: int


def vectors_per_image(lm: LayerShape) -> int:
    """Input vectors one image presents to the layer's tiles (its patches; 1 for a dense layer)."""
    return int(getattr(lm, "vectors_per_image", 1))


def activations_per_image(lm: LayerShape) -> tuple[int, int]:
    """(activations in, activations out) of the layer per image (n_in, n_out for a dense layer)."""
    return int(getattr(lm, "inputs_per_image", lm.n_in)), int(getattr(lm, "outputs_per_image", lm.n_out))


def pool_ops_per_image(lm: LayerShape) -> int:
    """Pooling comparisons/additions of popcounts per image after the layer (0 without pooling)."""
    return int(getattr(lm, "pool_ops_per_image", 0))


def pool_op_bits(lm: LayerShape) -> int:
    """Width of one pooling operation of the layer (0: the width of its popcount)."""
    return int(getattr(lm, "pool_op_bits", 0))


def adder_levels(row_tiles: int) -> int:
    """Depth of the adder tree summing ``row_tiles`` partial counts (0 for one row tile)."""
    return math.ceil(math.log2(row_tiles)) if row_tiles > 1 else 0


def sensing_phases(lm: LayerShape) -> int:
    """Sensing phases per input vector: 2 (XNOR of +-1 inputs), 1 (unipolar 0/1 first layer)."""
    return int(getattr(lm, "n_phases", 2))


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerCost:
    """One layer's share of the chip and its energy per image (tile sensing excluded: that depends on
    the data, see ``tile.sensing_energy_j``)."""

    index: int
    n_tiles: int
    sum_bits: int  # width of a neuron's full popcount, ceil(log2(n_in + 1))
    n_adders: int  # (row_tiles - 1) x n_out adders of sum_bits in the trees, + n_out threshold compares
    adder_levels: int  # depth of the adder tree, ceil(log2(row_tiles)) (0 for one row tile)
    n_pool_units: int  # sum_bits-wide comparators/adders of the pooling after the layer (n_out, or 0)
    area_adders_m2: float  # adder tree, threshold compares and pooling units
    area_buffer_m2: float  # double-buffered activations out of this layer (input image for layer 0 too)
    leakage_w: float  # adders and buffer
    e_adders_per_image_j: float  # adder tree (row_tiles > 1) and threshold compares, every patch
    e_pool_per_image_j: float  # pooling comparisons/additions of popcounts
    e_buffer_per_image_j: float  # write this layer's outputs, read its inputs
    link_bits_per_image: int  # inputs to every tile + partial sums to the adder tree
    e_link_per_image_j: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ChipCost:
    """Area, leakage and energies of the whole accelerator for one network mapping."""

    tile: TileCost
    tech: TechNode
    layers: tuple[LayerCost, ...]
    tile_pitch_m: float  # edge of a (square) tile
    e_link_per_bit_j: float  # one bit between the buffers and a tile, over the H-tree
    interconnect: Interconnect

    @property
    def area_interconnect_m2(self) -> float:
        return self.interconnect.area_m2

    @property
    def n_tiles(self) -> int:
        return sum(lc.n_tiles for lc in self.layers)

    @property
    def area_tiles_m2(self) -> float:
        return self.n_tiles * self.tile.area_m2

    @property
    def area_cells_m2(self) -> float:
        return self.n_tiles * self.tile.area_cells_m2

    @property
    def area_m2(self) -> float:
        return (self.area_tiles_m2 + sum(lc.area_adders_m2 + lc.area_buffer_m2 for lc in self.layers)
                + self.area_interconnect_m2)

    @property
    def leakage_w(self) -> float:
        return self.n_tiles * self.tile.leakage_w + sum(lc.leakage_w for lc in self.layers)


def chip_cost(layers: Sequence[LayerShape], tile: TileCost, tech: TechNode,
              circuit: CircuitConfig, bus_bits: int = 64) -> ChipCost:
    """Chip cost for ``layers`` mapped on tiles of cost ``tile`` (all tiles alike, weight-stationary).

    Per layer: an adder tree of (row_tiles - 1) x n_out ripple adders of ceil(log2(n_in + 1)) bits plus
    one threshold comparison per neuron (a subtraction, same width); after a pooling layer, one
    comparator (max, popcount width) or counter (average: a count of +1 outputs, ``pool_op_bits`` wide)
    per column, doing ``pool_ops_per_image`` operations per image (the window's line buffer is not
    modelled); a double-buffered SRAM of its outputs (and of the input image for the first layer); an
    H-tree of ``bus_bits`` wires from the buffers to every tile (``readout.htree``) carrying the inputs
    to each of its col_tiles tile columns and the partial sums of every tile, at activity
    ``circuit.activity``: E = a C_wire L VDD^2 per bit over the root-to-tile path. A convolution
    presents ``vectors_per_image``
    patches per image: its adders and buffer reads run once per patch (the buffer is read patch by
    patch, no reuse between overlapping patches); its buffer holds the output map.
    """
    pitch = math.sqrt(tile.area_m2)
    tree = htree(sum(lm.row_tiles * lm.col_tiles for lm in layers), pitch, bus_bits, tech,
                 circuit.activity)
    e_bit = tree.e_per_bit_j
    costs = []
    for i, lm in enumerate(layers):
        vectors = vectors_per_image(lm)
        n_in_image, n_out_image = activations_per_image(lm)
        bits = counter_bits(lm.n_in)
        n_adders = (lm.row_tiles - 1) * lm.n_out + lm.n_out
        pool_ops = pool_ops_per_image(lm)
        n_pool = lm.n_out if pool_ops else 0
        pool_bits = pool_op_bits(lm) or bits
        adder_f2 = (n_adders * bits + n_pool * pool_bits) * tech.full_adder_area_f2
        buffer_bits = 2 * n_out_image + (2 * n_in_image if i == 0 else 0)
        link_bits = vectors * (lm.n_in * lm.col_tiles + lm.row_tiles * lm.n_out * counter_bits(tile.rows))
        costs.append(LayerCost(
            index=i, n_tiles=lm.row_tiles * lm.col_tiles, sum_bits=bits, n_adders=n_adders,
            adder_levels=adder_levels(lm.row_tiles), n_pool_units=n_pool,
            area_adders_m2=adder_f2 * tech.f2_m2,
            area_buffer_m2=buffer_bits * tech.sram_bit_area_f2 * tech.f2_m2,
            leakage_w=adder_f2 * tech.logic_leakage_per_f2_w + buffer_bits * tech.sram_leakage_per_bit_w,
            e_adders_per_image_j=vectors * n_adders * bits * tech.full_adder_energy_j,
            e_pool_per_image_j=pool_ops * pool_bits * tech.full_adder_energy_j,
            e_buffer_per_image_j=(vectors * lm.n_in + n_out_image) * tech.sram_energy_per_bit_j,
            link_bits_per_image=link_bits, e_link_per_image_j=link_bits * e_bit))
    return ChipCost(tile=tile, tech=tech, layers=tuple(costs), tile_pitch_m=pitch, e_link_per_bit_j=e_bit,
                    interconnect=tree)


def build_chip(arch, maps: Sequence[LayerShape]) -> ChipCost:
    """The chip cost of ``arch`` (an ``ArchConfig``) for a network mapped as ``maps``: its technology
    node, one tile design with the configured column mix, and the per-layer periphery."""
    tech = load_tech(arch.tech)
    counts = np.bincount(column_types(arch.tile), minlength=len(arch.tile.columns))
    groups = [(MTJElectrical.from_device(arch.cells[g.cell].mtj_params), int(n))
              for g, n in zip(arch.tile.columns, counts)]
    try:
        tile = tile_cost(arch.tile.rows, groups, tech, arch.circuit, arch.engine_timing,
                         arch.read.readout)
    except ValueError as exc:
        cells = ", ".join(f"{g.cell} ({arch.cells[g.cell].mtj})" for g in arch.tile.columns)
        factor = arch.circuit.write_current_factor
        raise ConfigError(f"the cells {cells} cannot be sized on tech {arch.tech} at "
                          f"circuit.write_current_factor {factor:g}: {exc}") from None
    return chip_cost(maps, tile, tech, arch.circuit, arch.timing.link_bits_per_cycle)
