"""The crossbar's cells as arrays: programming them, ageing them, and computing with them.

One ``uint8`` state array per layer, neuron-major (n_out x n_in, flattened), 1 = AP/HRS. The tile split
of ``mapping`` decides which cell type each cell is; it does not change the arithmetic (row splits add
partial popcounts exactly), so the functional model works on whole layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.config import ArchConfig, CellType
from accelsim.device.retention import retention_flip_probability
from accelsim.kernels.cells import program_cells, retention_step
from accelsim.kernels.xnor import pack_bits, xnor_popcount
from accelsim.mapping import LayerMap, states_to_weight_bits, weights_to_states
from accelsim.network import Network, class_scores, neuron_output


@dataclass(frozen=True, kw_only=True, slots=True)
class ProgramStats:
    """Outcome of programming one array: cells that had to switch, and the switches that failed."""

    n_cells: int
    n_switches: int
    n_failures: int
    n_wrong: int  # cells whose stored weight differs from the network's after programming


def _cell_types(arch: ArchConfig, lm: LayerMap) -> list[CellType]:
    return [arch.cells[arch.tile.columns[g].cell] for g in range(len(arch.tile.columns))]


def _per_cell(values_per_group: np.ndarray, lm: LayerMap) -> np.ndarray:
    """Broadcast one value per column group to every cell of the layer (neuron-major, flattened)."""
    return np.repeat(values_per_group[lm.neuron_group], lm.n_in)


def initial_states(weights: np.ndarray, arch: ArchConfig, lm: LayerMap,
                   rng: np.random.Generator) -> np.ndarray:
    """Cell states before programming, as the config's ``write.initial_state`` says."""
    n = lm.n_out * lm.n_in
    kind = arch.write.initial_state
    if kind == "complement":
        return 1 - weights_to_states(weights, arch.mapping).ravel()
    if kind == "random":
        return (rng.random(n) < 0.5).astype(np.uint8)
    return np.full(n, 1 if kind == "ap" else 0, dtype=np.uint8)


def program_layer(weights: np.ndarray, previous: np.ndarray, arch: ArchConfig, lm: LayerMap,
                  rng: np.random.Generator) -> tuple[np.ndarray, ProgramStats]:
    """Program one layer's weights over ``previous`` states with the configured write failures."""
    target = weights_to_states(weights, arch.mapping).ravel()
    ber = arch.write.ber
    states, n_switches, n_failures = program_cells(target, previous, ber, ber, rng)
    stats = ProgramStats(n_cells=target.size, n_switches=n_switches, n_failures=n_failures,
                         n_wrong=int(np.count_nonzero(states != target)))
    return states, stats


def retention_probabilities(arch: ArchConfig, lm: LayerMap, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell AP -> P and P -> AP flip probabilities over ``dt_s`` seconds of storage."""
    types = _cell_types(arch, lm)
    to_p = np.array([retention_flip_probability(dt_s, c.delta_ap, c.tau0_s) for c in types])
    to_ap = np.array([0.0 if c.delta_p is None else retention_flip_probability(dt_s, c.delta_p, c.tau0_s)
                      for c in types])
    return _per_cell(to_p, lm), _per_cell(to_ap, lm)


def age_layer(states: np.ndarray, p_to_p: np.ndarray, p_to_ap: np.ndarray,
              rng: np.random.Generator) -> tuple[int, int]:
    """Age one layer's cells in place over one interval; returns (AP -> P, P -> AP) flip counts."""
    return retention_step(states, p_to_p, p_to_ap, rng)


def stored_weight_words(states: np.ndarray, arch: ArchConfig, lm: LayerMap) -> np.ndarray:
    """The weights the cells now hold, bit-packed (n_out, n_words) for the XNOR kernel."""
    bits = states_to_weight_bits(states.reshape(lm.n_out, lm.n_in), arch.mapping)
    return pack_bits(bits)


def infer(net: Network, weight_words: list[np.ndarray], x_words: np.ndarray) -> np.ndarray:
    """Predicted class per image with the stored (possibly faulty) weights.

    ``x_words`` are the bit-packed +-1 inputs; each layer is one XNOR/popcount kernel call followed by
    the folded batch-norm neuron; no floating-point matrix product on this path.
    """
    a_words = x_words
    for layer, w_words in zip(net.hidden, weight_words):
        popcount = xnor_popcount(a_words, w_words, layer.weights.shape[1])
        a_words = pack_bits(neuron_output(popcount, layer))
    popcount = xnor_popcount(a_words, weight_words[-1], net.output.weights.shape[1])
    return np.argmax(class_scores(popcount, net.output), axis=1)
