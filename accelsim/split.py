"""One run's images split over Dask workers (``accelsim run --scheduler``), with results identical to
the run in one process.

Why it is exact: programming, variation and retention draw from streams keyed by (seed, purpose,
repeat, layer), never by image, so every worker programs and ages the same cells; with error-free
reads (``read.model ideal``) an image's predictions depend on the cells and on that image only. Each
worker returns, per repeat and campaign, its images' predictions, and for the first campaign their
sensing activity (cells read by group and state, rows driven); the coordinator concatenates them in
image order and replays the engine over all the images with that activity, so timing and energy are
the one-process run's to the bit.

Why it must run in order otherwise: misreads draw from one stream per repeat consumed campaign by
campaign (image i's draws depend on how many images came before it), and read disturb flips cells
while they are read, so image i sees the cells images 0..i-1 left. With ``read.model device`` the
split is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.arch.chip import build_chip
from accelsim.arch.tile import sensing_energy_j
from accelsim.config import ArchConfig
from accelsim.engine import Engine
from accelsim.errors import UsageError
from accelsim.kernels.xnor import pack_bits
from accelsim.mapping import map_network
from accelsim.network import Network, crossbar_inputs, reference_predict
from accelsim.simulate import TIMELINE_COLUMNS, RepeatState, RunResult, hrs_cells, program_and_infer
from accelsim.table import Table
from accelsim.workload import Workload

#: Why a run with read errors cannot be split (printed by the refusal).
IN_ORDER = ("read.model 'device' draws misreads from one stream per repeat, consumed image after image, "
            "and read disturb flips cells while images are read: image i depends on the images before it, "
            "so the run must go in order in one process (drop --scheduler, or use read.model ideal)")


def check_splittable(arch: ArchConfig) -> None:
    """``UsageError`` unless the run's images can be split over workers exactly (``IN_ORDER``)."""
    if arch.read.model != "ideal":
        raise UsageError(f"--scheduler: cannot split this run's images: {IN_ORDER}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ChunkRepeat:
    """What one worker measured on its images for one repeat."""

    predictions: np.ndarray  # int64 (campaigns, n): per campaign, each image's predicted class
    active_cells: list[np.ndarray]  # per layer, int64 (n, 2, n_groups, 2): first campaign, per image
    active_rows: list[np.ndarray]  # per layer, int64 (n, 2)
    write_j: list[float]  # per layer: the write energy its programming returned
    counters: tuple[int, ...]  # switches, failures, wrong cells (the same on every worker)
    energy_junction_j: float
    flips: list[tuple[int, int]]  # per retention step: (AP -> P, P -> AP), the same on every worker
    hrs: list[int]  # per campaign: HRS cells of the aged layers
    n_reads: int  # cell reads over the repeat's campaigns (this worker's images)


def run_chunk(arch: ArchConfig, net: Network, workload: Workload, seed: int, r: int) -> ChunkRepeat:
    """Repeat ``r`` of the run on ``workload`` (a slice of the run's images), without the engine: the
    same callbacks ``simulate`` gives it, called layer by layer over all the chunk's images."""
    check_splittable(arch)
    maps = map_network(net, arch)
    chip = build_chip(arch, maps)
    x_words = pack_bits(crossbar_inputs(net, workload.x))
    n = len(workload.y)
    rep = RepeatState(arch, net, maps, chip, x_words, seed, r)
    write_j = [rep.program(li)["write"] for li in range(len(maps))]

    def campaign() -> None:
        for li in range(len(maps)):
            rep.sense(li, 0, n)

    campaign()
    cells, rows = [], []
    for c in rep.campaign:
        k = c.rows_per_image
        cells.append(c.active_cells.reshape(n, k, *c.active_cells.shape[1:]).sum(axis=1))
        rows.append(c.active_rows.reshape(n, k, 2).sum(axis=1))
    preds, flips, hrs = [rep.predictions.copy()], [], [hrs_cells(rep.states, rep.n_aged)]
    n_steps = arch.retention.n_steps
    dt_s = arch.retention.horizon_s / n_steps
    if dt_s > 0:
        for _ in range(n_steps):
            rep.age(dt_s)
            flips.append(rep.flips)
            campaign()
            preds.append(rep.predictions.copy())
            hrs.append(hrs_cells(rep.states, rep.n_aged))
    return ChunkRepeat(predictions=np.stack(preds), active_cells=cells, active_rows=rows, write_j=write_j,
                       counters=(rep.n_switches, rep.n_failures, rep.n_wrong),
                       energy_junction_j=rep.energy_junction, flips=flips, hrs=hrs, n_reads=rep.n_reads)


def _chunks(n: int, k: int) -> list[tuple[int, int]]:
    """``k`` contiguous, nearly equal slices of range(n) (fewer if n < k)."""
    k = max(1, min(k, n))
    bounds = [n * i // k for i in range(k + 1)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _slice(workload: Workload, a: int, b: int) -> Workload:
    return Workload(y=workload.y[a:b], name=workload.name,
                    x_pm1=None if workload.x_pm1 is None else workload.x_pm1[a:b],
                    x_real=None if workload.x_real is None else workload.x_real[a:b])


def simulate_split(arch: ArchConfig, net: Network, workload: Workload, *, seed: int = 0, repeats: int = 1,
                   client=None, n_chunks: int | None = None) -> RunResult:
    """``simulate.simulate`` with the images split into ``n_chunks`` slices run by ``client`` (a Dask
    ``distributed.Client``; None: in this process, one slice after another). Identical results."""
    check_splittable(arch)
    n = len(workload.y)
    if client is not None and n_chunks is None:
        n_chunks = max(1, len(client.scheduler_info().get("workers", {})))
    parts = _chunks(n, n_chunks or 1)
    tasks = [(r, a, b) for r in range(repeats) for a, b in parts]
    if client is None:
        done = [run_chunk(arch, net, _slice(workload, a, b), seed, r) for r, a, b in tasks]
    else:
        net_f = client.scatter(net, broadcast=True)
        futures = [client.submit(run_chunk, arch, net_f, _slice(workload, a, b), seed, r, pure=False)
                   for r, a, b in tasks]
        done = client.gather(futures)
    by_repeat = [done[i * len(parts):(i + 1) * len(parts)] for i in range(repeats)]

    maps = map_network(net, arch)
    chip = build_chip(arch, maps)
    tile = chip.tile
    y = workload.y
    n_steps = arch.retention.n_steps
    dt_s = arch.retention.horizon_s / n_steps
    rows, acc_prog, acc_eol, flips_total = [], [], [], []
    totals = dict(switches=0, failures=0, wrong=0, reads=0)
    e_junction = e_program = e_infer = 0.0
    by_activity: dict[str, float] = {}
    report = None
    for r, chunks in enumerate(by_repeat):
        first = chunks[0]
        for c in chunks[1:]:  # what every worker must have seen alike
            if c.counters != first.counters or c.flips != first.flips or c.hrs != first.hrs:
                raise RuntimeError("workers programmed or aged different cells: the split is not exact")
        preds = np.concatenate([c.predictions for c in chunks], axis=1)
        cells = [np.concatenate([c.active_cells[li] for c in chunks]) for li in range(len(maps))]
        act_rows = [np.concatenate([c.active_rows[li] for c in chunks]) for li in range(len(maps))]

        def on_wave(li, start, stop, cells=cells, act_rows=act_rows):
            return {"sense_cells": sensing_energy_j(
                tile, cells[li][start:stop].sum(axis=0),
                int(act_rows[li][start:stop].sum()) * maps[li].col_tiles, 0)}

        engine = Engine.for_chip(maps, arch, chip)
        e_prog, campaign = program_and_infer(engine, lambda li, w=first.write_j: {"write": w[li]}, n,
                                             on_wave)
        e_program += e_prog
        e_infer += sum(campaign.values())
        for k, v in campaign.items():
            by_activity[k] = by_activity.get(k, 0.0) + v / repeats
        acc = float(np.mean(preds[0] == y))
        acc_prog.append(acc)
        rows.append((r, 0, 0.0, acc, 0, 0, 0, first.hrs[0]))
        to_p = to_ap = 0
        if dt_s > 0:
            for step in range(1, n_steps + 1):
                engine.age(dt_s)
                to_p += first.flips[step - 1][0]
                to_ap += first.flips[step - 1][1]
                engine.infer(n)
                acc = float(np.mean(preds[step] == y))
                rows.append((r, step, step * dt_s, acc, to_p + to_ap, to_p, to_ap, first.hrs[step]))
        acc_eol.append(acc)
        flips_total.append(to_p + to_ap)
        totals["switches"] += first.counters[0]
        totals["failures"] += first.counters[1]
        totals["wrong"] += first.counters[2]
        totals["reads"] += sum(c.n_reads for c in chunks)
        e_junction += first.energy_junction_j
        if report is None:
            report = engine.report()
    timeline = Table.of(TIMELINE_COLUMNS, rows)
    return RunResult(
        n_images=n, repeats=repeats, accuracy_ideal=float(np.mean(reference_predict(net, workload.x) == y)),
        accuracy_programmed=np.array(acc_prog), accuracy_end_of_life=np.array(acc_eol),
        n_switches=totals["switches"], n_write_failures=totals["failures"], n_wrong_cells=totals["wrong"],
        n_cells=sum(lm.n_in * lm.n_out for lm in maps), retention_flips=np.array(flips_total),
        n_misreads=0, n_reads=totals["reads"], n_read_disturbs=0,
        energy_program_junction_j=e_junction / repeats, energy_program_j=e_program / repeats,
        energy_inference_j=e_infer / repeats, energy_by_activity_j=by_activity, engine=report, chip=chip,
        timeline_table=timeline, layer_maps=maps, trace=None, off_crossbar=tuple(net.off_crossbar()))
