"""One accelsim run: program the network into the crossbar, age it over the retention horizon, and
measure accuracy and error rates at each step, for each repeat.

Pure orchestration over the crossbar model; every random draw comes from the run seed's streams,
keyed by (repeat, layer), so results do not depend on the order layers are processed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from accelsim import rng as rngs
from accelsim.arch import crossbar
from accelsim.config import ArchConfig
from accelsim.kernels.xnor import pack_bits
from accelsim.mapping import LayerMap, map_network
from accelsim.network import Network, reference_predict
from accelsim.workload import Workload


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult:
    """Everything a run measured; ``report`` turns it into rows."""

    n_images: int
    repeats: int
    accuracy_ideal: float
    accuracy_programmed: np.ndarray  # (repeats,)
    accuracy_end_of_life: np.ndarray  # (repeats,)
    n_switches: int  # over all repeats and layers
    n_write_failures: int
    n_wrong_cells: int
    n_cells: int  # per repeat
    retention_flips: np.ndarray  # (repeats,) total flips over the horizon
    energy_program_j: float  # programming pulses of all cells, mean per repeat
    timeline: pd.DataFrame  # one row per (repeat, step)
    layer_maps: tuple[LayerMap, ...]


def _accuracy(net: Network, arch: ArchConfig, maps: tuple[LayerMap, ...], states: list[np.ndarray],
              x_words: np.ndarray, y: np.ndarray) -> float:
    """Test accuracy of the weights the cells hold now."""
    words = [crossbar.stored_weight_words(s, arch, lm) for s, lm in zip(states, maps)]
    return float(np.mean(crossbar.infer(net, words, x_words) == y))


def _hrs(states: list[np.ndarray], aged: tuple[LayerMap, ...]) -> int:
    """AP (HRS) cells in the layers subject to retention."""
    return sum(int(s.sum()) for s in states[: len(aged)])


def simulate(arch: ArchConfig, net: Network, workload: Workload, *, seed: int = 0,
             repeats: int = 1, first_repeat: int = 0) -> RunResult:
    """Run ``net`` on ``arch`` over ``workload``: program, evaluate, age in steps, evaluate.

    Repeats ``first_repeat .. first_repeat + repeats - 1`` are run; repeat r draws from the seed's
    streams keyed by r, so repeat 3 of one run equals ``simulate(..., repeats=1, first_repeat=3)``.
    """
    if workload.x_pm1.shape[1] != net.n_inputs:
        raise ValueError("workload input size does not match the network")
    maps = map_network(net, arch)
    x_words = pack_bits(workload.x_pm1)
    y = workload.y
    accuracy_ideal = float(np.mean(reference_predict(net, workload.x_pm1) == y))
    n_steps = arch.retention.n_steps
    dt_s = arch.retention.horizon_s / n_steps
    aged = maps[:1] if arch.retention.layers == "first" else maps
    p_flip = [crossbar.retention_probabilities(arch, lm, dt_s) for lm in aged] if dt_s > 0 else None

    acc_prog, acc_eol, flips_total = [], [], []
    n_switches = n_failures = n_wrong = 0
    energy_program = 0.0
    rows = []
    for r in range(first_repeat, first_repeat + repeats):
        states = []
        for lm, layer in zip(maps, net.layers):
            chip_rng = rngs.stream(seed, "variation", r, lm.index)
            before = crossbar.initial_states(layer.weights, arch, lm, chip_rng)
            probs = crossbar.write_probabilities(arch, lm, chip_rng)
            cells, stats = crossbar.program_layer(layer.weights, before, arch, probs,
                                                  rngs.stream(seed, "write", r, lm.index))
            energy_program += stats.energy_j
            states.append(cells)
            n_switches += stats.n_switches
            n_failures += stats.n_failures
            n_wrong += stats.n_wrong

        acc = _accuracy(net, arch, maps, states, x_words, y)
        acc_prog.append(acc)
        flips_to_p = flips_to_ap = 0
        rows.append((r, 0, 0.0, acc, 0, 0, 0, _hrs(states, aged)))
        if p_flip is not None:
            age_rngs = [rngs.stream(seed, "retention", r, lm.index) for lm in aged]
            for step in range(1, n_steps + 1):
                for s, (p_to_p, p_to_ap), g in zip(states, p_flip, age_rngs):
                    to_p, to_ap = crossbar.age_layer(s, p_to_p, p_to_ap, g)
                    flips_to_p += to_p
                    flips_to_ap += to_ap
                acc = _accuracy(net, arch, maps, states, x_words, y)
                rows.append((r, step, step * dt_s, acc, flips_to_p + flips_to_ap, flips_to_p,
                             flips_to_ap, _hrs(states, aged)))
        acc_eol.append(acc)
        flips_total.append(flips_to_p + flips_to_ap)

    timeline = pd.DataFrame(rows, columns=["repeat", "step", "time_s", "accuracy", "flips_total",
                                           "flips_ap_to_p", "flips_p_to_ap", "hrs_cells"])
    return RunResult(
        n_images=len(y), repeats=repeats, accuracy_ideal=accuracy_ideal,
        accuracy_programmed=np.array(acc_prog), accuracy_end_of_life=np.array(acc_eol),
        n_switches=n_switches, n_write_failures=n_failures, n_wrong_cells=n_wrong,
        n_cells=sum(lm.n_in * lm.n_out for lm in maps), retention_flips=np.array(flips_total),
        energy_program_j=energy_program / repeats,
        timeline=timeline, layer_maps=maps)
