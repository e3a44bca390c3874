"""Network layers -> crossbar tiles: tile grid per layer, the column (and so cell type) of each neuron,
and the weight <-> MTJ state convention (defined here once).

A layer of n_in inputs and n_out neurons takes ceil(n_in / rows) x ceil(n_out / cols) tiles: row splits
add their partial popcounts digitally, column splits concatenate. A convolution is a crossbar of
n_in = k * k * C rows and one column per filter, presented one patch per output position (im2col).
Neurons may be permuted across columns (the network computes the same function) so the HRS-heaviest
land on the most robust cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelsim.config import ArchConfig, MappingConfig, TileConfig
from accelsim.description import conv_pool_cost
from accelsim.errors import ConfigError
from accelsim.network import ConvShape, Network


def weights_to_states(weights: np.ndarray, mapping: MappingConfig) -> np.ndarray:
    """MTJ states (uint8, 1 = AP/HRS) that store +-1 ``weights`` under the configured convention."""
    plus_one = np.asarray(weights) > 0
    ap = plus_one if mapping.convention == "plus_one_ap" else ~plus_one
    return ap.astype(np.uint8)


def states_to_weight_bits(states: np.ndarray, mapping: MappingConfig) -> np.ndarray:
    """Weight bits (bool, True = +1) read back from MTJ states under the configured convention."""
    ap = np.asarray(states) == 1
    return ap if mapping.convention == "plus_one_ap" else ~ap


def column_types(tile: TileConfig) -> np.ndarray:
    """Column-group index (int, into ``tile.columns``) of each of a tile's ``cols`` columns.

    Groups take consecutive columns in the order listed; the counts are the largest-remainder rounding
    of fraction x cols, so they always add up to cols.
    """
    shares = np.array([g.fraction for g in tile.columns]) * tile.cols
    counts = np.floor(shares).astype(int)
    remainder = tile.cols - counts.sum()
    order = np.argsort(-(shares - counts), kind="stable")
    counts[order[:remainder]] += 1
    return np.repeat(np.arange(len(tile.columns)), counts)


def _used_column_groups(tile: TileConfig, n_out: int, prefer_robust: bool) -> np.ndarray:
    """Column group of each physical column slot a layer of ``n_out`` neurons occupies.

    Full tile-columns use every column. The last, partly used tile leaves columns free: with
    ``prefer_robust`` (HRS sorting on) the layer takes its most robust columns (last group first),
    else its first columns in order.
    """
    types = column_types(tile)
    full, rest = divmod(n_out, tile.cols)
    if prefer_robust:
        partial = np.sort(types[np.argsort(-types, kind="stable")[:rest]])
    else:
        partial = types[:rest]
    return np.concatenate([np.tile(types, full), partial])


def unipolar_popcount(count_on: np.ndarray, n_on: np.ndarray, n_plus: np.ndarray, n_in: int) -> np.ndarray:
    """The XNOR popcount a unipolar (0/1-input) first layer stands for, from what it senses.

    With 0/1 inputs only the rows of the n_on 1-inputs are read, and the neuron counts the cells of
    +1 weights among them (``count_on`` = c, (n_images, n_out)). For weights w and +-1 inputs
    x = 2 b - 1 the XNOR popcount is c + #{b = 0, w = -1} = 2 c - n_on + n_in - n_plus, with n_plus the
    neuron's number of +1 weights as trained: a per-neuron constant the threshold is programmed with,
    which cells that flip later do not change. Fault-free, this equals the bipolar popcount exactly.
    """
    return (2 * count_on.astype(np.int64) - n_on[:, None] + n_in - n_plus[None, :]).astype(np.int32)


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerMap:
    """Where one layer sits: its tile grid and the column group of each (logical) neuron.

    ``vectors_per_image`` input vectors (patches for a convolution, 1 for a dense layer) go through
    the tiles per image; ``inputs_per_image`` / ``outputs_per_image`` are the activations into and out
    of the layer per image (default n_in / n_out, a dense layer).
    """

    index: int
    n_in: int
    n_out: int
    row_tiles: int
    col_tiles: int
    neuron_group: np.ndarray  # int (n_out,): column group of each neuron, index into tile.columns
    neuron_slot: np.ndarray  # int (n_out,): physical column slot (tile_col * cols + column) per neuron
    n_phases: int = 2  # sensing phases per input vector: 2 (XNOR of +-1), 1 (unipolar 0/1 first layer)
    #: int64 (n_out,): +1 weights per neuron as trained, the constant a unipolar layer's thresholds are
    #: programmed with (``unipolar_popcount``); None for a two-phase layer.
    n_plus: np.ndarray | None = None
    vectors_per_image: int = 1
    inputs_per_image: int | None = None
    outputs_per_image: int | None = None
    #: comparisons (max-pool) or additions (average-pool) per image in the layer's pooling, each of
    #: ``pool_op_bits`` bits (0: the width of the layer's popcount)
    pool_ops_per_image: int = 0
    pool_op_bits: int = 0

    def __post_init__(self) -> None:
        if self.inputs_per_image is None:
            object.__setattr__(self, "inputs_per_image", self.n_in)
        if self.outputs_per_image is None:
            object.__setattr__(self, "outputs_per_image", self.n_out)

    @property
    def n_tiles(self) -> int:
        return self.row_tiles * self.col_tiles

    @property
    def adder_levels(self) -> int:
        """Depth of the adder tree that sums the row tiles' partial counts (0 for one row tile)."""
        return math.ceil(math.log2(self.row_tiles)) if self.row_tiles > 1 else 0


def _slots(n_out: int, arch: ArchConfig, hrs: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(column group, slot) of each neuron: with ``mapping.sort_columns_by_hrs`` and the neurons'
    HRS cell counts ``hrs``, the HRS-heaviest take the slots of the most robust column group."""
    slot_group = _used_column_groups(arch.tile, n_out, arch.mapping.sort_columns_by_hrs)
    if arch.mapping.sort_columns_by_hrs and hrs is not None:
        neurons_by_hrs = np.argsort(-hrs, kind="stable")
        slots_by_robustness = np.argsort(-slot_group, kind="stable")
        slot = np.empty(n_out, dtype=np.int64)
        slot[neurons_by_hrs] = slots_by_robustness
    else:
        slot = np.arange(n_out, dtype=np.int64)
    return slot_group[slot], slot


def map_geometry(index: int, n_in: int, n_out: int, arch: ArchConfig, *, hrs: np.ndarray | None = None,
                 vectors_per_image: int = 1, inputs_per_image: int | None = None,
                 outputs_per_image: int | None = None, pool_ops_per_image: int = 0,
                 pool_op_bits: int = 0) -> LayerMap:
    """Place a layer known by its shape only (no weights: cost-only runs of a description).

    ``hrs`` (int (n_out,)): each neuron's HRS cells, when known, for the HRS sorting; without it the
    neurons keep their order (the column groups a layer occupies, and so its cost, are the same).
    Per-neuron arrays only: nothing per cell is allocated.
    """
    tile = arch.tile
    group, slot = _slots(n_out, arch, hrs)
    n_phases = 1 if index == 0 and arch.mapping.input_encoding == "unipolar" else 2
    return LayerMap(index=index, n_in=n_in, n_out=n_out, row_tiles=math.ceil(n_in / tile.rows),
                    col_tiles=math.ceil(n_out / tile.cols), neuron_group=group, neuron_slot=slot,
                    n_phases=n_phases, vectors_per_image=vectors_per_image,
                    inputs_per_image=inputs_per_image, outputs_per_image=outputs_per_image,
                    pool_ops_per_image=pool_ops_per_image, pool_op_bits=pool_op_bits)


def map_layer(index: int, weights: np.ndarray, arch: ArchConfig, conv: ConvShape | None = None) -> LayerMap:
    """Place one layer of +-1 weights (n_out, n_in) on tiles (``conv``: a convolution's geometry).

    With ``mapping.sort_columns_by_hrs`` the neurons are ranked by their number of HRS cells and the
    highest ranks take the slots whose column group comes last in ``tile.columns`` (002's sorting).
    """
    tile = arch.tile
    n_out, n_in = weights.shape
    row_tiles = math.ceil(n_in / tile.rows)
    col_tiles = math.ceil(n_out / tile.cols)
    hrs = (weights_to_states(weights, arch.mapping).sum(axis=1, dtype=np.int64)
           if arch.mapping.sort_columns_by_hrs else None)
    group, slot = _slots(n_out, arch, hrs)
    n_phases = 1 if index == 0 and arch.mapping.input_encoding == "unipolar" else 2
    pool = conv_pool_cost(conv, n_out) if conv is not None else (0, 0, "")
    if n_phases == 1 and conv is not None and conv.zero_padded:
        raise ConfigError("mapping.input_encoding 'unipolar' with a zero-padded first convolution: "
                          "a 0/1 input and an undriven padding row cannot be told apart; use "
                          "'bipolar' or pad_value 'one'")
    return LayerMap(index=index, n_in=n_in, n_out=n_out, row_tiles=row_tiles, col_tiles=col_tiles,
                    neuron_group=group, neuron_slot=slot, n_phases=n_phases,
                    n_plus=(weights == 1).sum(axis=1, dtype=np.int64) if n_phases == 1 else None,
                    vectors_per_image=conv.positions if conv else 1,
                    inputs_per_image=conv.n_inputs if conv else n_in,
                    outputs_per_image=conv.n_outputs(n_out) if conv else n_out,
                    pool_ops_per_image=pool[0], pool_op_bits=pool[1])


def map_network(net: Network, arch: ArchConfig) -> tuple[LayerMap, ...]:
    """Tile placement of every crossbar layer of ``net`` (an off-crossbar front takes no tiles)."""
    return tuple(map_layer(i, layer.weights, arch, getattr(layer, "conv", None))
                 for i, layer in enumerate(net.layers))
