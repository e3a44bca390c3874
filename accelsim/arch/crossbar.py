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
from accelsim.kernels.cells import program_cells, retention_step, retention_step_columns
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
    energy_j: float  # energy of all the programming pulses of the layer


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


@dataclass(frozen=True, kw_only=True, slots=True)
class WriteProbabilities:
    """Per-cell write failure probabilities (float64, flattened layer) and per-cell pulse energies.

    ``energy_from_p_j`` / ``energy_from_ap_j``: energy of the cell's programming pulse when the cell
    starts in P (resp. AP); every cell receives its pulse (no read-before-write, 000 Fig. 3).
    """

    p_fail_to_ap: np.ndarray | float
    p_fail_to_p: np.ndarray | float
    energy_from_p_j: np.ndarray | float
    energy_from_ap_j: np.ndarray | float


def write_probabilities(arch: ArchConfig, lm: LayerMap, rng: np.random.Generator) -> WriteProbabilities:
    """Failure probability and energy of each cell's write under the configured write model.

    Device models draw each cell's device parameters once from ``rng`` (the run's ``variation``
    stream), compute its junction drive through the driver for each polarity, and its write error
    rate for the pulse: ``accelsim.device.wer_table`` (the gamma model's WER from a table of
    ln gammaincc within 1e-9 relative of the exact per-cell path, energies identical to it; other
    models exactly). ``constant_ber`` gives one probability for all cells and no energy model (0 J).
    """
    w = arch.write
    if w.model == "constant_ber":
        return WriteProbabilities(p_fail_to_ap=w.ber, p_fail_to_p=w.ber, energy_from_p_j=0.0,
                                  energy_from_ap_j=0.0)
    from accelsim import device
    from accelsim.device.wer_table import tabulated_device_write_error_rate_and_energy_j
    from accelsim.device.write import write_model

    model = write_model(w.model)
    driver = device.driver_preset(w.driver)
    variability = device.variability_preset(w.variability)
    # (n_out, n_in) views: a group's cells are whole rows (its neurons), written a row block at a time
    out = {k: np.zeros((lm.n_out, lm.n_in)) for k in ("to_ap", "to_p", "e_p", "e_ap")}
    for g, cell in enumerate(_cell_types(arch, lm)):
        neurons = lm.neuron_group == g
        n_cells = int(np.count_nonzero(neurons)) * lm.n_in  # neuron-major, in order
        if n_cells == 0:
            continue
        mtj = cell.mtj_params
        v_src = w.v_write_v if w.v_write_v is not None else float(
            device.source_voltage_v(w.overdrive * mtj.vc_v, mtj, driver, "p"))
        devices = device.draw_devices(mtj, variability, n_cells, rng, driver)
        for p_key, e_key, polarity in (("to_ap", "e_p", "p_to_ap"), ("to_p", "e_ap", "ap_to_p")):
            wer, energy = tabulated_device_write_error_rate_and_energy_j(
                v_src, w.t_pulse_s, devices, mtj, driver, model, polarity)
            out[p_key][neurons] = wer.reshape(-1, lm.n_in)
            out[e_key][neurons] = energy.reshape(-1, lm.n_in)
    return WriteProbabilities(p_fail_to_ap=out["to_ap"].ravel(), p_fail_to_p=out["to_p"].ravel(),
                              energy_from_p_j=out["e_p"].ravel(), energy_from_ap_j=out["e_ap"].ravel())


def program_layer(weights: np.ndarray, previous: np.ndarray, arch: ArchConfig,
                  probs: WriteProbabilities,
                  rng: np.random.Generator) -> tuple[np.ndarray, ProgramStats]:
    """Program one layer's weights over ``previous`` states with per-cell write failures."""
    target = weights_to_states(weights, arch.mapping).ravel()
    states, n_switches, n_failures = program_cells(target, previous, probs.p_fail_to_ap,
                                                   probs.p_fail_to_p, rng)
    energy = np.where(previous == 1, probs.energy_from_ap_j, probs.energy_from_p_j)
    stats = ProgramStats(n_cells=target.size, n_switches=n_switches, n_failures=n_failures,
                         n_wrong=int(np.count_nonzero(states != target)),
                         energy_j=float(np.sum(np.broadcast_to(energy, target.shape))))
    return states, stats


def group_retention_probabilities(arch: ArchConfig, lm: LayerMap,
                                  dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """AP -> P and P -> AP flip probabilities over ``dt_s`` seconds of storage, one per column group
    of the layer (its cell types), (n_groups,) each."""
    types = _cell_types(arch, lm)
    to_p = np.array([retention_flip_probability(dt_s, c.retention_delta_ap, c.retention_tau0_s)
                     for c in types])
    to_ap = np.array([0.0 if c.retention_delta_p is None
                      else retention_flip_probability(dt_s, c.retention_delta_p, c.retention_tau0_s)
                      for c in types])
    return to_p, to_ap


def retention_probabilities(arch: ArchConfig, lm: LayerMap, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell AP -> P and P -> AP flip probabilities over ``dt_s`` seconds of storage."""
    to_p, to_ap = group_retention_probabilities(arch, lm, dt_s)
    return _per_cell(to_p, lm), _per_cell(to_ap, lm)


def age_layer(states: np.ndarray, p_to_p: np.ndarray, p_to_ap: np.ndarray,
              rng: np.random.Generator) -> tuple[int, int]:
    """Age one layer's cells in place over one interval; returns (AP -> P, P -> AP) flip counts."""
    return retention_step(states, p_to_p, p_to_ap, rng)


def age_layer_columns(states: np.ndarray, lm: LayerMap, p_to_p: np.ndarray, p_to_ap: np.ndarray,
                      rng: np.random.Generator) -> tuple[int, int, np.ndarray]:
    """``age_layer`` with the probabilities of ``group_retention_probabilities`` (one per column
    group; the same draws and the same cells flipped as the per-cell form). Returns (AP -> P flips,
    P -> AP flips, (n_out,) bool: the neurons with a flipped cell)."""
    return retention_step_columns(states, lm.n_in, lm.neuron_group, p_to_p, p_to_ap, rng)


def stored_weight_words(states: np.ndarray, arch: ArchConfig, lm: LayerMap) -> np.ndarray:
    """The weights the cells now hold, bit-packed (n_out, n_words) for the XNOR kernel."""
    bits = states_to_weight_bits(states.reshape(lm.n_out, lm.n_in), arch.mapping)
    return pack_bits(bits)


def infer(net: Network, weight_words: list[np.ndarray], x_words: np.ndarray) -> np.ndarray:
    """Predicted class per image with the stored (possibly faulty) weights.

    ``x_words`` are the bit-packed +-1 inputs; each layer is one XNOR/popcount kernel call followed by
    the folded batch-norm neuron; no floating-point matrix product on this path.
    """
    if net.format_version != 1:
        raise ValueError("crossbar.infer takes dense binarized networks only; simulate runs the others")
    a_words = x_words
    for layer, w_words in zip(net.hidden, weight_words):
        popcount = xnor_popcount(a_words, w_words, layer.weights.shape[1])
        a_words = pack_bits(neuron_output(popcount, layer))
    popcount = xnor_popcount(a_words, weight_words[-1], net.output.weights.shape[1])
    return np.argmax(class_scores(popcount, net.output), axis=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadProbabilities:
    """Per-read error probabilities, one per column group (float64 arrays)."""

    misread_p: np.ndarray
    misread_ap: np.ndarray
    disturb_p: np.ndarray
    disturb_ap: np.ndarray

    @property
    def any(self) -> bool:
        return bool(np.any(self.misread_p) or np.any(self.misread_ap) or np.any(self.disturb_p)
                    or np.any(self.disturb_ap))


def read_probabilities(arch: ArchConfig) -> ReadProbabilities:
    """Sense-error and read-disturb probabilities of one read, per column group.

    ``read.model: device``: misreads from log-normal resistances (sigma of ln R_P from
    ``write.variability``) against the sense reference at the read bias that makes the P read
    current ``circuit.read_current_ratio`` x Ic (PHYSICS.md section 7); read disturb of the state
    ``read.disturbs`` from the gamma write model at that current for ``timing.t_sense``.
    """
    n = len(arch.tile.columns)
    zeros = np.zeros(n)
    if arch.read.model == "ideal":
        return ReadProbabilities(misread_p=zeros, misread_ap=zeros, disturb_p=zeros, disturb_ap=zeros)
    from accelsim import device

    sigma = device.variability_preset(arch.write.variability).sigma_r_p_rel
    ratio = arch.circuit.read_current_ratio
    out = {k: np.zeros(n) for k in ("mp", "map", "dp", "dap")}
    for g, group in enumerate(arch.tile.columns):
        mtj = arch.cells[group.cell].mtj_params
        i_c = float(device.critical_current_a(mtj, "p_to_ap"))
        v_read = ratio * i_c * mtj.r_p_ohm
        if sigma > 0 or arch.read.sigma_offset_ln > 0:
            out["mp"][g], out["map"][g] = device.sense_error_probability(
                mtj, v_read, sigma, arch.read.scheme, arch.read.sigma_offset_ln)
        i_read = ratio * i_c if arch.read.disturbs == "p" else v_read / mtj.r_ap0_ohm
        p = float(device.read_disturb_probability(i_read, arch.timing.t_sense_s, mtj,
                                                  state=arch.read.disturbs))
        out["dp" if arch.read.disturbs == "p" else "dap"][g] = p
    return ReadProbabilities(misread_p=out["mp"], misread_ap=out["map"], disturb_p=out["dp"],
                             disturb_ap=out["dap"])


def adc_tables(arch: ArchConfig, tile) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The converters' readings for a parallel readout (``read.rows_per_read`` > 1), per column group:
    (det (n_groups, k+1, k+1), cdf (n_groups, k+1, k+1, k+1) or None), see
    ``readout.conversion_table``; None when the readout is row-serial or reads every count exactly
    (then the per-cell sensing path gives the same counts).

    Path per group: R_P and R_AP at the read bias that makes a P read current
    ``circuit.read_current_ratio`` x Ic (as ``read_probabilities``), the access transistor of the sized
    cell (``tile``, a ``TileCost``), half the bit line. With ``read.model: device`` the junctions spread
    with ``write.variability``'s sigma of ln R, the column adds Johnson and shot noise over 1 / (2 t_sense)
    and the converter an offset of ``read.sigma_offset_ln`` (in ln of one LRS cell's current); with
    ``ideal`` only the converter's levels (quantisation, clipping) remain.
    """
    from accelsim.arch.readout import (
        ColumnPath,
        access_resistance_ohm,
        bitline_resistance_ohm,
        conversion_table,
    )
    from accelsim.arch.tech import load_tech

    scheme = arch.read.readout
    if not scheme.parallel:
        return None
    from accelsim import device
    from accelsim.device.mtj import tmr_at_bias

    tech = load_tech(arch.tech)
    k, bits = scheme.rows_per_read, scheme.bits
    noisy = arch.read.model == "device"
    sigma = device.variability_preset(arch.write.variability).sigma_r_p_rel if noisy else 0.0
    dets, cdfs = [], []
    for g, group in enumerate(arch.tile.columns):
        mtj = arch.cells[group.cell].mtj_params
        i_c = float(device.critical_current_a(mtj, "p_to_ap"))
        v_read = arch.circuit.read_current_ratio * i_c * mtj.r_p_ohm
        cell = tile.groups[g].cell
        path = ColumnPath(
            r_p_ohm=mtj.r_p_ohm,
            r_ap_ohm=mtj.r_p_ohm * (1.0 + float(tmr_at_bias(v_read, mtj.tmr0, mtj.v_half_v))),
            sigma_ln_r=sigma, r_access_ohm=access_resistance_ohm(cell.w_access_m, tech),
            r_bitline_ohm=bitline_resistance_ohm(arch.tile.rows, cell.height_m, tech), v_read_v=v_read,
            sigma_offset_ln=arch.read.sigma_offset_ln if noisy else 0.0,
            noise_bandwidth_hz=1.0 / (2.0 * arch.timing.t_sense_s) if noisy else 0.0)
        det, cdf = conversion_table(path, k, bits)
        dets.append(det)
        cdfs.append(cdf)
    det = np.stack(dets)
    if all(c is None for c in cdfs):
        exact = np.broadcast_to(np.minimum(np.arange(k + 1)[None, :], np.arange(k + 1)[:, None]),
                                det.shape[1:])
        lower = np.arange(k + 1)[None, :] <= np.arange(k + 1)[:, None]  # n <= m: the entries used
        if all(np.array_equal(d[lower], exact[lower]) for d in dets):
            return None
        return det, None
    return det, np.stack(cdfs)
