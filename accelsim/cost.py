"""Cost-only runs: area, leakage, programming and inference energy, latency and throughput of a mapped
network from its geometry and stated activity factors, through the same engine and chip model as a
functional run, without data, cells or a functional pass.

What a functional run measures and a cost-only run assumes (``Activity``):

- Cell reads. Two-phase sensing reads every driven row once per input vector (phase 1 the +1 inputs,
  phase 2 the others), activating that row's cell of every neuron, so the cells read per vector do not
  depend on the data; their energy depends on each cell's state (AP/HRS or P/LRS). With weights (a
  network ``.npz``) each neuron's AP cells are counted, and the cost equals the functional run's
  (fault-free, tested); a description has none, so a fraction ``ap_fraction`` of AP cells is assumed
  (default 0.5: balanced +-1 weights).
- Driven rows. Every row of every patch, except zero-padded taps (exact, from the geometry). A unipolar
  (0/1) first layer reads only the rows of 1 inputs: a fraction ``input_one_fraction`` is assumed.
- Read errors, read disturb, retention: none (no cells are simulated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accelsim.arch.chip import ChipCost, build_chip
from accelsim.arch.tile import sensing_energy_j
from accelsim.config import ArchConfig
from accelsim.description import NetDescription
from accelsim.engine import Engine, EngineReport
from accelsim.errors import UsageError
from accelsim.mapping import LayerMap, map_geometry, map_network, weights_to_states

#: AP (HRS) share of a description's cells when nothing else is known: balanced +-1 weights.
DEFAULT_AP_FRACTION = 0.5
#: Share of 1 inputs assumed for a unipolar (0/1) first layer.
DEFAULT_INPUT_ONE_FRACTION = 0.5
#: Most waves of images a cost-only campaign simulates (the engine's time grows with waves x tiles).
MAX_WAVES = 100_000


@dataclass(frozen=True, kw_only=True, slots=True)
class Activity:
    """The activity factors a cost-only run assumes (see the module docstring).

    ``ap_fraction`` None: from the weights when the network has them, else ``DEFAULT_AP_FRACTION``.
    """

    ap_fraction: float | None = None
    input_one_fraction: float = DEFAULT_INPUT_ONE_FRACTION

    def __post_init__(self) -> None:
        for name in ("ap_fraction", "input_one_fraction"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise UsageError(f"{name.replace('_', '-')} {value}: expected a fraction in [0, 1]")


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerCostReport:
    """One layer's share of a cost-only campaign, per image."""

    index: int
    label: str
    n_tiles: int
    row_tiles: int
    col_tiles: int
    adder_levels: int
    vectors_per_image: int
    rows_read_per_image: int
    ap_fraction: float  # AP cells / cells of the layer, as costed
    cycles_per_image: dict[str, float]  # stage -> cycles one image keeps it busy (sense: busiest tile)
    energy_per_image_j: dict[str, float]  # activity -> J (leakage: the layer's tiles and periphery)

    @property
    def cycles_total(self) -> float:
        return float(sum(self.cycles_per_image.values()))

    @property
    def energy_total_j(self) -> float:
        return float(sum(self.energy_per_image_j.values()))


@dataclass(frozen=True, kw_only=True, slots=True)
class CostResult:
    """What a cost-only run computed."""

    description: NetDescription
    n_images: int
    activity: Activity  # as given
    ap_fraction: float  # over all cells, as costed
    maps: tuple[LayerMap, ...]
    chip: ChipCost
    engine: EngineReport
    energy_program_j: float
    energy_inference_j: float  # the whole campaign of n_images
    energy_by_activity_j: dict[str, float]  # the campaign, by activity
    layers: tuple[LayerCostReport, ...] = field(default_factory=tuple)

    @property
    def n_cells(self) -> int:
        return sum(lm.n_in * lm.n_out for lm in self.maps)

    @property
    def energy_per_inference_j(self) -> float:
        return self.energy_inference_j / self.n_images


def check_images(n_images: int, arch: ArchConfig, option: str = "--images") -> None:
    """``UsageError`` unless ``n_images`` is >= 1 and within ``MAX_WAVES`` waves."""
    batch = arch.engine_timing.batch_images
    if n_images < 1:
        raise UsageError(f"{option} {n_images}: expected an integer >= 1")
    if -(-n_images // batch) > MAX_WAVES:
        raise UsageError(f"{option} {n_images}: at most {MAX_WAVES * batch:,} ({MAX_WAVES:,} waves of "
                         f"{batch}); the timing is steady long before")


def _maps(arch: ArchConfig, desc: NetDescription,
          net) -> tuple[tuple[LayerMap, ...], list[np.ndarray | None]]:
    """The layers' placement and each neuron's AP cells (None where unknown)."""
    if net is not None:
        maps = map_network(net, arch)
        hrs = [weights_to_states(layer.weights, arch.mapping).sum(axis=1, dtype=np.int64)
               for layer in net.layers]
        return maps, hrs
    maps = tuple(map_geometry(g.index, g.n_in, g.n_out, arch, vectors_per_image=g.vectors_per_image,
                              inputs_per_image=g.inputs_per_image, outputs_per_image=g.outputs_per_image,
                              pool_ops_per_image=g.pool_ops_per_image, pool_op_bits=g.pool_op_bits)
                 for g in desc.layers)
    return maps, [None] * len(maps)


def cost_only(arch: ArchConfig, desc: NetDescription, n_images: int, *, activity: Activity = Activity(),
              net=None) -> CostResult:
    """Cost ``desc`` on ``arch`` for an inference campaign of ``n_images`` (``net``: the network the
    description was derived from, whose weights give the AP counts; None for a description file).

    Nothing is allocated per cell: the placement holds per-neuron arrays, the engine counts cycles
    and charges energies per wave of images (``timing.batch_images``) and per patch.
    """
    check_images(n_images, arch)
    maps, hrs = _maps(arch, desc, net)
    if len(maps) != len(desc.layers):
        raise ValueError("the description and the network disagree on the number of layers")
    chip = build_chip(arch, maps)
    tile = chip.tile
    n_groups = len(tile.groups)
    fraction = activity.ap_fraction if activity.ap_fraction is not None else (
        None if net is not None else DEFAULT_AP_FRACTION)

    # Per layer and image: cells read by column group and state (phase 0 holds both phases: the
    # energy of a read depends on the cell's state and type only), word lines raised.
    sense_j, ap_share = [], []
    for lm, g, h in zip(maps, desc.layers, hrs):
        rows = g.rows_read_per_image * (activity.input_one_fraction if lm.n_phases == 1 else 1.0)
        if fraction is not None or h is None:
            ap = np.full(lm.n_out, (fraction if fraction is not None else DEFAULT_AP_FRACTION) * lm.n_in)
        else:
            ap = h.astype(np.float64)
        ap_share.append(float(ap.sum()) / (lm.n_in * lm.n_out))
        cells = np.zeros((2, n_groups, 2))
        if g.row_uses is not None and net is not None and activity.ap_fraction is None:
            # a zero-padded convolution with weights: each row's AP cells times the patches driving it
            states = weights_to_states(net.layers[lm.index].weights, arch.mapping).astype(np.int64)
            ap_read = states @ np.asarray(g.row_uses, dtype=np.int64)
            for k in range(n_groups):
                sel = lm.neuron_group == k
                cells[0, k, 1] = float(ap_read[sel].sum())
                cells[0, k, 0] = float(rows * int(sel.sum()) - ap_read[sel].sum())
        else:
            for k in range(n_groups):
                sel = lm.neuron_group == k
                n_ap = float(ap[sel].sum())
                cells[0, k, 1] = rows / lm.n_in * n_ap
                cells[0, k, 0] = rows / lm.n_in * (lm.n_in * int(sel.sum()) - n_ap)
        sense_j.append(sensing_energy_j(tile, cells, rows * lm.col_tiles, 0))

    def program(li: int) -> dict[str, float]:
        # as simulate.RepeatState.program: one pulse of its target polarity per cell (000 Fig. 3)
        counts = np.bincount(maps[li].neuron_group, minlength=n_groups) * maps[li].n_in
        return {"write": float(sum(n * grp.e_write_j for n, grp in zip(counts, tile.groups)))}

    def sense(li: int, start: int, stop: int) -> dict[str, float]:
        return {"sense_cells": (stop - start) * sense_j[li]}

    engine = Engine.for_chip(maps, arch, chip)
    engine.program(program)
    after_program = dict(engine.energy)
    by_layer_program = {li: dict(v) for li, v in engine.energy_by_layer.items()}
    engine.infer(n_images, sense)
    report = engine.report()
    campaign = {k: v - after_program.get(k, 0.0) for k, v in engine.energy.items()}
    campaign = {k: v for k, v in campaign.items() if v}

    timing = arch.engine_timing
    batch = min(timing.batch_images, n_images)
    leak_j = campaign.get("leakage", 0.0)
    layers = []
    for li, (lm, g, lc) in enumerate(zip(maps, desc.layers, chip.layers)):
        before = by_layer_program.get(li, {})
        energy = {k: (v - before.get(k, 0.0)) / n_images
                  for k, v in report.energy_by_layer_j.get(li, {}).items()}
        energy = {k: v for k, v in energy.items() if v}
        share = (lc.n_tiles * tile.leakage_w + lc.leakage_w) / chip.leakage_w if chip.leakage_w else 0.0
        energy["leakage"] = leak_j * share / n_images
        cycles = {"link_in": engine.link_in_cycles(li, batch) / batch,
                  "sense": max(engine.sense_cycles(li, c, batch) for c in range(lm.col_tiles)) / batch,
                  "link_out": engine.link_out_cycles(li, batch) / batch,
                  "adder": engine.adder_cycles(li, batch) / batch}
        layers.append(LayerCostReport(
            index=li, label=g.label, n_tiles=lm.n_tiles, row_tiles=lm.row_tiles, col_tiles=lm.col_tiles,
            adder_levels=lc.adder_levels, vectors_per_image=lm.vectors_per_image,
            rows_read_per_image=g.rows_read_per_image, ap_fraction=ap_share[li], cycles_per_image=cycles,
            energy_per_image_j=energy))
    n_cells = sum(lm.n_in * lm.n_out for lm in maps)
    overall = sum(a * lm.n_in * lm.n_out for a, lm in zip(ap_share, maps)) / n_cells
    return CostResult(description=desc, n_images=n_images, activity=activity, ap_fraction=overall,
                      maps=maps, chip=chip, engine=report,
                      energy_program_j=float(sum(after_program.values())),
                      energy_inference_j=float(sum(campaign.values())), energy_by_activity_j=campaign,
                      layers=tuple(layers))


def activity_statement(result: CostResult) -> list[str]:
    """The assumptions of a cost-only result, one line each (screen, JSON)."""
    a = result.activity
    if a.ap_fraction is not None:
        ap = f"AP (HRS) cells: {a.ap_fraction:g} of every layer's cells (--ap-fraction)"
    elif result.description.has_weights:
        ap = f"AP (HRS) cells: counted from the weights ({result.ap_fraction:.3f} of all cells)"
    else:
        ap = (f"AP (HRS) cells: {DEFAULT_AP_FRACTION:g} of every layer's cells (no weights: balanced +-1 "
              "assumed; --ap-fraction)")
    lines = ["cost-only: no data, no cells simulated, no functional pass; accuracy not computed",
             "rows driven: every row of every patch once (two-phase sensing), zero-padded taps none",
             ap]
    if result.maps and result.maps[0].n_phases == 1:
        lines.append(f"unipolar first layer: {a.input_one_fraction:g} of its inputs are 1 "
                     "(--input-one-fraction)")
    lines.append("no read errors, read disturb or retention; write energy: one pulse per cell from the "
                 "drivers (junction energy not computed)")
    return lines
