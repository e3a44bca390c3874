"""One accelsim run: the engine programs the network into the crossbar, runs the test set through it
(two-phase sensing), lets it age over the retention horizon in steps and runs the test set again after
each, for each repeat; accuracy, error counts, timing and energy come out of that one schedule.

Orchestration only: physics is in ``device``, cells and costs in ``arch``, time in ``engine``. Every
random draw comes from the run seed's streams keyed by (repeat, layer), so results do not depend on
the order in which the engine happens to call back.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from accelsim import rng as rngs
from accelsim.arch import crossbar
from accelsim.arch.chip import ChipCost, build_chip
from accelsim.arch.tile import sensing_energy_j
from accelsim.config import ArchConfig
from accelsim.engine import Engine, EngineReport
from accelsim.kernels.adc_readout import sense_parallel
from accelsim.kernels.sensing import PackedStates, SenseResult, apply_flips, sense_two_phase
from accelsim.kernels.xnor import count_ones, pack_bits, pack_thresholded, unpack_bits
from accelsim.mapping import LayerMap, map_network, unipolar_popcount
from accelsim.network import (
    Network,
    class_scores,
    crossbar_inputs,
    doubled_counts,
    integer_bounds,
    layer_activations,
    patches,
    reference_predict,
)
from accelsim.table import Table
from accelsim.workload import Workload

#: The columns of a run's timeline (``RunResult.timeline``), before the run_id the CSV puts first.
TIMELINE_COLUMNS = ("repeat", "step", "time_s", "accuracy", "flips_total", "flips_ap_to_p",
                    "flips_p_to_ap", "hrs_cells")


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
    n_misreads: int  # over all repeats and reads
    n_reads: int  # cell reads over all repeats
    n_read_disturbs: int
    energy_program_junction_j: float  # device model: dissipated in the junctions, mean per repeat
    energy_program_j: float  # engine: programming campaign (drivers, cells, leakage), mean per repeat
    energy_inference_j: float  # engine: first inference campaign, mean per repeat
    energy_by_activity_j: dict[str, float]  # first inference campaign, by activity
    engine: EngineReport  # timing of the first repeat (identical across repeats)
    chip: ChipCost
    timeline_table: Table  # one row per (repeat, step): TIMELINE_COLUMNS
    layer_maps: tuple[LayerMap, ...]
    trace: Engine | None  # the first repeat's engine when a trace was asked for
    off_crossbar: tuple[str, ...] = ()  # what the network computed off the crossbar (Network.off_crossbar)

    @property
    def timeline(self):
        """The timeline as a ``pandas.DataFrame`` (one row per repeat and retention step)."""
        return self.timeline_table.frame()


@dataclass(slots=True)
class _Campaign:
    """One layer's sensing of every image in one campaign, served to the engine wave by wave."""

    x: np.ndarray  # (n_rows, n_words) uint64: the packed input vectors sensed
    popcount: np.ndarray  # (n_rows, n_out) sensing.count_dtype(n_in): sensed counts
    active_cells: np.ndarray  # (n_rows, 2, n_groups, 2) int64: activity per input vector
    active_rows: np.ndarray  # (n_rows, 2) int64
    rows_per_image: int  # input vectors (patches for a convolution) per image
    #: zero-padded layer sensed in one two-phase pass (no read errors): its padded rows were driven in
    #: phase 2 like -1 inputs; (cells (2, n_groups, 2), rows) per image to take off its activity, the
    #: counts being corrected by ``RepeatState._padding_terms``. None: nothing to take off.
    padding_reads: tuple[np.ndarray, int] | None = None


def program_and_infer(engine: Engine, on_layer, n: int, on_wave) -> tuple[float, dict[str, float]]:
    """Program the cells through ``engine`` and run the first inference campaign of ``n`` images:
    (the programming campaign's energy, the inference campaign's energy by activity)."""
    engine.program(on_layer)
    after_program = dict(engine.energy)
    engine.infer(n, on_wave)
    campaign = {k: v - after_program.get(k, 0.0) for k, v in engine.energy.items()}
    return sum(after_program.values()), campaign


def hrs_cells(states: list[np.ndarray], n_aged: int) -> int:
    """AP (HRS) cells in the layers subject to retention."""
    return sum(int(s.sum()) for s in states[:n_aged])


class RepeatState:
    """The callbacks one repeat gives the engine: program, sense a wave, age.

    A campaign's cells change only by read disturb, which the sensing kernel applies image after
    image, so a layer's first wave of a campaign senses every image at once (one kernel call on all
    cores) and later waves take their slice; activity, hence energy, is still counted per wave. Each
    layer keeps its states packed for the kernel, re-packing only the columns that ageing changed.

    Sparse changes (``incremental``, reads without errors): when few cells changed since a layer's
    previous campaign, its counts and activity are that campaign's, moved by +-1 per changed cell
    for the inputs that read it (``sensing.apply_flips``), and only the input vectors that changed
    (the previous layer's activations) are sensed again. Exact: equal to a full pass bit for bit.
    With misreads or read disturb on every campaign is a full pass (each read draws anew).
    """

    def __init__(self, arch: ArchConfig, net: Network, maps: tuple[LayerMap, ...], chip: ChipCost,
                 x_words: np.ndarray, seed: int, r: int, incremental: bool = True) -> None:
        self.arch, self.net, self.maps, self.chip = arch, net, maps, chip
        self.seed, self.r = seed, r
        self.states: list[np.ndarray] = [np.empty(0, np.uint8)] * len(maps)
        self.acts = [x_words] + [np.zeros((len(x_words), -(-lm.outputs_per_image // 64)), np.uint64)
                                 for lm in maps[:-1]]
        self.predictions = np.zeros(len(x_words), dtype=np.int64)
        self.read = crossbar.read_probabilities(arch)
        self.read_rng = rngs.stream(seed, "read", r)
        # k > 1 rows per read with a converter that does not read every count exactly: its readings
        # replace the per-cell misreads (read disturb stays per cell)
        self.adc = crossbar.adc_tables(arch, chip.tile)
        self.n_switches = self.n_failures = self.n_wrong = 0
        self.energy_junction = 0.0
        self.n_misreads = self.n_reads = self.n_disturbed = 0
        aged = maps[:1] if arch.retention.layers == "first" else maps
        self.n_aged = len(aged)
        self.age_rngs = [rngs.stream(seed, "retention", r, lm.index) for lm in aged]
        self.p_flip = None
        self.flips = (0, 0)
        self.packed: list[PackedStates | None] = [None] * len(maps)
        self.mask: list[np.ndarray | None] = [None] * len(maps)  # zero-padded convs' driven rows
        self.pad_rows: list[np.ndarray | None] = [None] * len(maps)  # and their padded rows
        self.campaign: list[_Campaign | None] = [None] * len(maps)
        self.incremental = incremental and not self.read.any and self.adc is None
        self.previous: list[_Campaign | None] = [None] * len(maps)  # the last campaign sensed
        self.snapshot: list[np.ndarray | None] = [None] * len(maps)  # the cells it sensed
        # Cells changed since the snapshot (only ageing changes cells when reads are error-free):
        # a layer that did not flip skips comparing and copying its cells, and one that did compares
        # and copies only the neurons ageing touched (None: all of them, after programming).
        self.dirty = [True] * len(maps)
        self.touched: list[np.ndarray | None] = [None] * len(maps)

    def program(self, li: int) -> dict[str, float]:
        lm, layer = self.maps[li], self.net.layers[li]
        chip_rng = rngs.stream(self.seed, "variation", self.r, lm.index)
        before = crossbar.initial_states(layer.weights, self.arch, lm, chip_rng)
        probs = crossbar.write_probabilities(self.arch, lm, chip_rng)
        self.states[li], stats = crossbar.program_layer(
            layer.weights, before, self.arch, probs, rngs.stream(self.seed, "write", self.r, lm.index))
        self.packed[li] = PackedStates.from_states(self._states2d(li))
        self.campaign[li] = self.previous[li] = None
        self.dirty[li] = True
        self.touched[li] = None
        self.n_switches += stats.n_switches
        self.n_failures += stats.n_failures
        self.n_wrong += stats.n_wrong
        self.energy_junction += stats.energy_j
        # Every cell gets one pulse of its target polarity from the drivers (000 Fig. 3).
        counts = np.bincount(lm.neuron_group, minlength=len(self.chip.tile.groups)) * lm.n_in
        return {"write": float(sum(n * g.e_write_j for n, g in zip(counts, self.chip.tile.groups)))}

    def _states2d(self, li: int) -> np.ndarray:
        lm = self.maps[li]
        return self.states[li].reshape(lm.n_out, lm.n_in)

    def _sense_layer(self, li: int) -> _Campaign:
        """Sense every image through layer ``li`` and set the next layer's inputs (or predictions)."""
        lm, layer = self.maps[li], self.net.layers[li]
        x = self.acts[li]
        n = len(x)
        conv = getattr(layer, "conv", None)
        padded = conv is not None and conv.zero_padded
        if conv is not None:  # im2col on the +-1 maps: one input vector per patch, image by image
            x = pack_bits(patches(unpack_bits(x, conv.n_inputs), conv))  # zero padding: bit 0
        elif self.incremental:
            x = x.copy()  # acts[li] is rewritten by the next campaign; the copy is what was sensed
        c = self._update(li, x) if self.incremental and self.previous[li] is not None else None
        if c is None:
            c = self._full(li, x, len(x) // max(n, 1))
        if padded and not self.read.any:  # one pass, padded rows read as -1 inputs: correct below
            correction, c.padding_reads = self._padding_terms(li, conv)
        if self.incremental:
            self.previous[li] = c
            if self.dirty[li]:
                cols = self.touched[li]
                if cols is None or self.snapshot[li] is None:
                    self.snapshot[li] = self._states2d(li).copy()
                else:
                    cols = np.flatnonzero(cols)
                    self.snapshot[li][cols] = self._states2d(li)[cols]
                self.touched[li] = np.zeros(lm.n_out, dtype=np.bool_)
                self.dirty[li] = False
        self.n_reads += int(c.active_cells.sum())
        if c.padding_reads is not None:
            self.n_reads -= n * int(c.padding_reads[0].sum())
        popcount = c.popcount
        if lm.n_phases == 1:
            n_on = count_ones(x)  # per input vector (patch, for a convolution)
            popcount = unipolar_popcount(popcount, n_on, lm.n_plus, lm.n_in)
        if li + 1 < len(self.maps):
            if conv is None:  # a dense layer: threshold and pack in one pass
                bound = integer_bounds(layer.threshold, layer.flip, popcount.dtype)
                self.acts[li + 1][:] = pack_thresholded(popcount, bound, layer.flip)
            else:
                if padded and c.padding_reads is not None:
                    f = popcount.shape[1]  # 2 e = 2 (count - correction) + n_pad, in one pass
                    twice = popcount.reshape(n, -1, f) * np.int32(2)
                    twice += correction[None]
                    popcount = twice.reshape(n * conv.positions, f)
                elif padded:
                    popcount = doubled_counts(popcount, conv, n)
                self.acts[li + 1][:] = pack_bits(layer_activations(popcount, layer, n))
            self.campaign[li + 1] = None
        else:
            self.predictions[:] = np.argmax(class_scores(popcount, layer), axis=1)
        return c

    def _sense(self, li: int, x: np.ndarray) -> SenseResult:
        conv = getattr(self.net.layers[li], "conv", None)
        if conv is not None and conv.zero_padded and self.read.any:
            return self._sense_padded(li, x, conv)
        lm, rd = self.maps[li], self.read
        if self.adc is not None:
            det, cdf = self.adc
            result = sense_parallel(
                x, self._states2d(li), self.arch.tile.rows, self.arch.read.rows_per_read, det, cdf,
                plus_one_ap=self.arch.mapping.convention == "plus_one_ap", n_phases=lm.n_phases,
                neuron_group=lm.neuron_group, n_groups=len(self.arch.tile.columns),
                p_disturb_p=rd.disturb_p, p_disturb_ap=rd.disturb_ap, rng=self.read_rng,
                packed=self.packed[li])
            self.n_misreads += result.n_misreads
            self.n_disturbed += result.n_disturbed
            return result
        result = sense_two_phase(
            x, self._states2d(li), self.arch.tile.rows,
            plus_one_ap=self.arch.mapping.convention == "plus_one_ap", n_phases=lm.n_phases,
            neuron_group=lm.neuron_group,
            n_groups=len(self.arch.tile.columns), p_misread_p=rd.misread_p, p_misread_ap=rd.misread_ap,
            p_disturb_p=rd.disturb_p, p_disturb_ap=rd.disturb_ap, rng=self.read_rng if rd.any else None,
            packed=self.packed[li])
        self.n_misreads += result.n_misreads
        self.n_disturbed += result.n_disturbed
        return result

    def _pad_rows(self, li: int, conv) -> np.ndarray:
        """(positions, n_in) bool: the zero-padded rows of each patch position (cached)."""
        if self.pad_rows[li] is None:
            self.pad_rows[li] = patches(np.ones((1, conv.n_inputs), np.uint8), conv) == 0
        return self.pad_rows[li]

    def _padding_terms(self, li: int, conv) -> tuple[np.ndarray, tuple[np.ndarray, int]]:
        """What a one-pass sensing of zero-padded patches (padded rows driven in phase 2, as -1
        inputs) adds, from the cells as they are now: each padded row added one count per neuron
        whose cell there holds the state phase 2 counts (P under plus_one_ap), and one read of each
        of its cells. Returns (n_pad - 2 x those counts, int32 (positions, n_out): what turns
        2 x the one-pass count into 2 e), and (cells (2, n_groups, 2), rows) read per image in the
        padded rows, to take off the activity. Exact with error-free reads, whatever the cells hold."""
        pad = self._pad_rows(li, conv)
        states = self._states2d(li)
        counted = 0 if self.arch.mapping.convention == "plus_one_ap" else 1  # phase 2's state
        padf = pad.astype(np.float64)
        extra = padf @ (states == counted).T.astype(np.float64)  # (positions, n_out), exact integers
        n_pad = pad.sum(axis=1)
        correction = (n_pad[:, None] - 2 * extra).astype(np.int32)
        per_row = pad.sum(axis=0).astype(np.float64)  # padded occurrences of each row per image
        ap = (states.astype(np.float64) @ per_row).astype(np.int64)  # per neuron: AP cells read
        total = np.full(states.shape[0], int(n_pad.sum()), dtype=np.int64)
        group = self.maps[li].neuron_group
        n_groups = len(self.arch.tile.columns)
        cells = np.zeros((2, n_groups, 2), dtype=np.int64)
        cells[1, :, 1] = np.bincount(group, weights=ap, minlength=n_groups).astype(np.int64)
        cells[1, :, 0] = np.bincount(group, weights=total - ap, minlength=n_groups).astype(np.int64)
        return correction, (cells, int(n_pad.sum()))

    def _sense_padded(self, li: int, x: np.ndarray, conv) -> SenseResult:
        """Two-phase sensing of patches whose zero-padded rows are driven in neither phase: phase 1
        drives the rows of +1 inputs (the set bits of ``x``; padding is bit 0) and counts the +1
        weight's state, phase 2 the rows of -1 inputs (valid rows whose bit is 0) and counts the
        other state -- each a one-phase sensing of its rows, so a border patch's count is over its
        n_valid driven rows only, and only driven rows are read (misreads, activity, energy).

        Exact as the two phases of each patch; with read disturb the phase-1 reads of every patch
        of the batch come before the phase-2 reads (rather than patch by patch)."""
        lm, rd = self.maps[li], self.read
        if self.mask[li] is None:
            self.mask[li] = pack_bits(patches(np.ones((1, conv.n_inputs), np.uint8), conv))
        mask = self.mask[li]
        reps = len(x) // len(mask)
        minus = ~x & np.tile(mask, (reps, 1))
        ap_first = self.arch.mapping.convention == "plus_one_ap"
        parts = []
        for words, plus_one_ap in ((x, ap_first), (minus, not ap_first)):
            r = sense_two_phase(
                words, self._states2d(li), self.arch.tile.rows, plus_one_ap=plus_one_ap, n_phases=1,
                neuron_group=lm.neuron_group, n_groups=len(self.arch.tile.columns),
                p_misread_p=rd.misread_p, p_misread_ap=rd.misread_ap, p_disturb_p=rd.disturb_p,
                p_disturb_ap=rd.disturb_ap, rng=self.read_rng if rd.any else None,
                packed=self.packed[li])
            self.n_misreads += r.n_misreads
            self.n_disturbed += r.n_disturbed
            parts.append(r)
        one, two = parts
        active = np.stack([one.active_cells[:, 0], two.active_cells[:, 0]], axis=1)
        rows = np.stack([one.active_rows[:, 0], two.active_rows[:, 0]], axis=1)
        return SenseResult(popcount=one.popcount + two.popcount, n_active_cells=active.sum(axis=0),
                           n_active_rows=rows.sum(axis=0), n_misreads=one.n_misreads + two.n_misreads,
                           n_disturbed=one.n_disturbed + two.n_disturbed,
                           disturbed_columns=np.union1d(one.disturbed_columns, two.disturbed_columns),
                           active_cells=active, active_rows=rows)

    def _full(self, li: int, x: np.ndarray, rows_per_image: int) -> _Campaign:
        r = self._sense(li, x)
        return _Campaign(x=x, popcount=r.popcount, active_cells=r.active_cells,
                         active_rows=r.active_rows, rows_per_image=rows_per_image)

    def _update(self, li: int, x: np.ndarray) -> _Campaign | None:
        """The previous campaign moved by the cells and inputs that changed since; None when a full
        pass is cheaper (in word popcounts: a full row per changed input vector, images per changed
        cell)."""
        prev, lm = self.previous[li], self.maps[li]
        states = self._states2d(li)
        if self.dirty[li] and self.touched[li] is None:
            cj, ck = np.nonzero(states != self.snapshot[li])
        elif self.dirty[li]:
            cols = np.flatnonzero(self.touched[li])
            cj, ck = np.nonzero(states[cols] != self.snapshot[li][cols])
            cj = cols[cj]
        else:
            cj = ck = np.empty(0, dtype=np.intp)
        rows = np.flatnonzero(np.any(x != prev.x, axis=1))
        n_rows, n_words = x.shape
        # a changed cell costs ~8 word popcounts per input vector (scalar updates vs vectorised,
        # parallel popcounts; measured on mlp784)
        cost = 8 * len(cj) * n_rows + len(rows) * lm.n_out * n_words
        if 2 * cost > n_rows * lm.n_out * n_words:
            return None
        # in place: the previous campaign is replaced by this one and nothing else holds its arrays
        # (the engine serves waves from self.campaign, cleared when the cells aged)
        pop, act, active_rows = prev.popcount, prev.active_cells, prev.active_rows
        apply_flips(prev.x, pop, act, (cj, ck), states[cj, ck],
                    plus_one_ap=self.arch.mapping.convention == "plus_one_ap", n_phases=lm.n_phases,
                    neuron_group=lm.neuron_group)
        if rows.size:
            r = self._sense(li, x[rows])
            pop[rows], act[rows], active_rows[rows] = r.popcount, r.active_cells, r.active_rows
        return _Campaign(x=x, popcount=pop, active_cells=act, active_rows=active_rows,
                         rows_per_image=prev.rows_per_image)

    def sense(self, li: int, start: int, stop: int) -> dict[str, float]:
        if self.campaign[li] is None:
            self.campaign[li] = self._sense_layer(li)
        c = self.campaign[li]
        lo, hi = start * c.rows_per_image, stop * c.rows_per_image
        cells = c.active_cells[lo:hi].sum(axis=0)
        rows = int(c.active_rows[lo:hi].sum())
        if c.padding_reads is not None:
            cells = cells - (stop - start) * c.padding_reads[0]
            rows -= (stop - start) * c.padding_reads[1]
        rows *= self.maps[li].col_tiles
        return {"sense_cells": sensing_energy_j(self.chip.tile, cells, rows, 0)}

    def age(self, dt_s: float) -> None:
        if self.p_flip is None:
            self.p_flip = [crossbar.group_retention_probabilities(self.arch, lm, dt_s)
                           for lm in self.maps[: self.n_aged]]
        to_p = to_ap = 0
        for li, ((p_to_p, p_to_ap), g) in enumerate(zip(self.p_flip, self.age_rngs)):
            a, b, changed = crossbar.age_layer_columns(self.states[li], self.maps[li], p_to_p,
                                                       p_to_ap, g)
            to_p, to_ap = to_p + a, to_ap + b
            if a or b:
                self.dirty[li] = True
                if self.touched[li] is not None:
                    self.touched[li] |= changed
                self.packed[li].refresh(self._states2d(li), np.flatnonzero(changed))
        self.flips = (to_p, to_ap)
        self.campaign = [None] * len(self.maps)


def simulate(arch: ArchConfig, net: Network, workload: Workload, *, seed: int = 0,
             repeats: int = 1, first_repeat: int = 0, trace: bool = False,
             progress: bool = False, incremental: bool = True) -> RunResult:
    """Run ``net`` on ``arch`` over ``workload``: program, evaluate, age in steps, evaluate.

    Repeats ``first_repeat .. first_repeat + repeats - 1`` are run; repeat r draws from the seed's
    streams keyed by r, so repeat 3 of one run equals ``simulate(..., repeats=1, first_repeat=3)``.
    ``progress`` shows a bar on stderr over the inference campaigns (repeats x steps) when stderr
    is a terminal.
    ``incremental`` re-evaluates a campaign from the previous one where few cells changed (exact,
    see ``RepeatState``); False forces full passes (the same results, for checking).
    """
    if workload.x.shape[1] != net.n_inputs or (workload.x_real is not None) != net.real_input:
        raise ValueError("workload inputs (size, real or +-1) do not match the network")
    maps = map_network(net, arch)
    chip = build_chip(arch, maps)
    x_words = pack_bits(crossbar_inputs(net, workload.x))  # a real front runs here, off-crossbar
    y = workload.y
    n = len(y)
    accuracy_ideal = float(np.mean(reference_predict(net, workload.x) == y))
    n_steps = arch.retention.n_steps
    dt_s = arch.retention.horizon_s / n_steps

    rows, acc_prog, acc_eol, flips_total = [], [], [], []
    totals = dict(switches=0, failures=0, wrong=0, misreads=0, reads=0, disturbed=0)
    e_junction = e_program = e_infer = 0.0
    by_activity: dict[str, float] = {}
    first_engine = report = None
    campaigns = 1 + (n_steps if dt_s > 0 else 0)
    bar = tqdm(total=repeats * campaigns, desc="campaigns", unit="campaign", file=sys.stderr,
               disable=None if progress else True, leave=False)  # None: on a terminal only
    for r in range(first_repeat, first_repeat + repeats):
        rep = RepeatState(arch, net, maps, chip, x_words, seed, r, incremental)
        engine = Engine.for_chip(maps, arch, chip, trace=trace and first_engine is None)
        e_prog, campaign = program_and_infer(engine, rep.program, n, rep.sense)
        bar.update()
        e_program += e_prog
        e_infer += sum(campaign.values())
        for k, v in campaign.items():
            by_activity[k] = by_activity.get(k, 0.0) + v / repeats
        acc = float(np.mean(rep.predictions == y))
        acc_prog.append(acc)
        flips_to_p = flips_to_ap = 0
        rows.append((r, 0, 0.0, acc, 0, 0, 0, hrs_cells(rep.states, rep.n_aged)))
        if dt_s > 0:
            for step in range(1, n_steps + 1):
                engine.age(dt_s, rep.age)
                flips_to_p += rep.flips[0]
                flips_to_ap += rep.flips[1]
                engine.infer(n, rep.sense)
                bar.update()
                acc = float(np.mean(rep.predictions == y))
                rows.append((r, step, step * dt_s, acc, flips_to_p + flips_to_ap, flips_to_p,
                             flips_to_ap, hrs_cells(rep.states, rep.n_aged)))
        acc_eol.append(acc)
        flips_total.append(flips_to_p + flips_to_ap)
        for key, value in (("switches", rep.n_switches), ("failures", rep.n_failures),
                           ("wrong", rep.n_wrong), ("misreads", rep.n_misreads),
                           ("reads", rep.n_reads), ("disturbed", rep.n_disturbed)):
            totals[key] += value
        e_junction += rep.energy_junction
        if first_engine is None:
            first_engine, report = engine, engine.report()

    bar.close()
    timeline = Table.of(TIMELINE_COLUMNS, rows)
    return RunResult(
        n_images=n, repeats=repeats, accuracy_ideal=accuracy_ideal,
        accuracy_programmed=np.array(acc_prog), accuracy_end_of_life=np.array(acc_eol),
        n_switches=totals["switches"], n_write_failures=totals["failures"],
        n_wrong_cells=totals["wrong"], n_cells=sum(lm.n_in * lm.n_out for lm in maps),
        retention_flips=np.array(flips_total), n_misreads=totals["misreads"], n_reads=totals["reads"],
        n_read_disturbs=totals["disturbed"], energy_program_junction_j=e_junction / repeats,
        energy_program_j=e_program / repeats, energy_inference_j=e_infer / repeats,
        energy_by_activity_j=by_activity, engine=report, chip=chip, timeline_table=timeline,
        layer_maps=maps, trace=first_engine if trace else None, off_crossbar=tuple(net.off_crossbar()))
