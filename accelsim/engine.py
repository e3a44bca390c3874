"""Discrete-event timing of the accelerator (SimPy): programming the tiles, inference waves flowing
layer by layer, ageing between campaigns; cycle counts and the energy of each operation as it happens.

Time only: the functional work (kernels on whole batches) is done by callbacks the caller passes,
called at the simulated moment the hardware does it. All durations are whole clock cycles, rounded
once by ``units.seconds_to_cycles`` (through ``TimingConfig``).

Inference pipeline. Images travel in waves of ``timing.batch_images``; a wave is the unit of work of
every stage (with one image per wave the schedule is the per-image pipeline). Per layer, in order:

- ``link_in``:  inputs to the layer's tiles, ceil(B r / link_bits_per_cycle) cycles, r = rows used by
  the fullest tile (each tile has its own link; they run in parallel);
- ``sense``:    every tile of the layer, in parallel, B x P phases x ceil(c / n_sense_amps) rounds x
  ceil(r / k) reads x read_cycles, c = its columns used, r = its rows used, k = rows per read
  (``read.rows_per_read``; the whole tile when the engine is given none), read_cycles = the read
  pulse plus the conversion (``TileCost.t_read_s``; ``timing.sense_cycles`` when given none), P = 2
  (1 for a unipolar first layer); the wave moves on when all its tiles are done;
- ``link_out``: partial counts out, ceil(B c b / link_bits_per_cycle), b = ceil(log2(rows + 1)) bits;
- ``adder``:    only if the layer has row_tiles > 1: a pipelined tree of ceil(log2(row_tiles)) levels,
  (levels + B - 1) x adder_cycles.

The threshold compare after the tree (every layer, every patch) and the pooling of popcounts (a
layer followed by max- or average-pooling) are charged energy when the wave leaves the layer, and no
cycles: one operation per column every few cycles, hidden behind the sensing of the next patches.

A convolution presents V = out_h x out_w patches per image (``vectors_per_image``; 1 for a dense
layer): every B above becomes B x V input vectors, and so do the energies charged per vector.

Each stage (and each tile) serves one wave at a time, first come first served, with unbounded queues
between stages: N equal waves finish at fill + (N - 1) x II, fill = sum of the stage times and II =
the largest stage time.

Programming. Every tile writes its rows one after another through its bidirectional drivers (000
Fig. 3): per row, one pulse per polarity per group of ``n_write_drivers`` columns, i.e.
rows x 2 x ceil(cols / n_write_drivers) x pulse_cycles; tiles program in parallel.

Ageing. Storage between campaigns is powered off: it advances the clock by the storage time and calls
the caller's retention step; no leakage is charged for it.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import simpy

from accelsim.arch.chip import ChipCost, LayerShape, sensing_phases, vectors_per_image
from accelsim.arch.tile import counter_bits
from accelsim.arch.timing import TimingConfig
from accelsim.outputs import OutputSet, atomic_write_text
from accelsim.units import seconds_to_cycles

__all__ = ["Engine", "EngineReport", "OpEnergies", "TimingConfig", "TraceRow", "readout_timing"]

EnergyExtras = Mapping[str, float] | None
WaveCallback = Callable[[int, int, int], EnergyExtras]  # (layer, first image, stop image) -> extra J
LayerCallback = Callable[[int], EnergyExtras]  # (layer) -> extra J
AgeCallback = Callable[[float], EnergyExtras]  # (storage seconds) -> extra J


@dataclass(frozen=True, kw_only=True, slots=True)
class OpEnergies:
    """Energy per operation that the engine charges as it schedules them [J]; see ``from_chip``.

    Data-dependent energies (cell read currents, word lines, cell writes) come back from the callbacks.
    """

    column_phase_j: float = 0.0  # one column's sense decision (or conversion) + accumulation in one read
    decode_j: float = 0.0  # selecting one read group of a tile's rows (row decoder)
    link_per_bit_j: float = 0.0  # one bit over one inter-tile hop
    adder_per_image_j: tuple[float, ...] = ()  # per layer: adder tree + threshold for one image
    pool_per_image_j: tuple[float, ...] = ()  # per layer: pooling of popcounts for one image
    buffer_per_image_j: tuple[float, ...] = ()  # per layer: activation buffer traffic for one image
    leakage_w: float = 0.0  # whole chip, charged while a campaign runs

    @classmethod
    def from_chip(cls, chip: ChipCost) -> OpEnergies:
        return cls(column_phase_j=chip.tile.e_column_read_j, decode_j=chip.tile.e_decode_j,
                   link_per_bit_j=chip.e_link_per_bit_j,
                   adder_per_image_j=tuple(lc.e_adders_per_image_j for lc in chip.layers),
                   pool_per_image_j=tuple(lc.e_pool_per_image_j for lc in chip.layers),
                   buffer_per_image_j=tuple(lc.e_buffer_per_image_j for lc in chip.layers),
                   leakage_w=chip.leakage_w)


def readout_timing(chip: ChipCost, timing: TimingConfig) -> dict[str, int]:
    """The engine's ``rows_per_read`` and ``read_cycles`` for a chip's readout scheme."""
    return {"rows_per_read": chip.tile.readout.rows_per_read,
            "read_cycles": seconds_to_cycles(chip.tile.t_read_s, timing.clock_hz)}


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One activity starting: at ``time_cycle`` (since the engine was built), on ``unit``, for
    ``images`` images (0 for programming and ageing)."""

    time_cycle: int
    tile: str
    activity: str
    images: int


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineReport:
    """Timing of the last programming and the last inference campaign, and all energy so far."""

    cycles_program: int
    time_program_s: float
    n_images: int
    cycles_inference: int  # whole campaign, first wave in to last wave out
    cycles_per_inference: float
    latency_cycles: int  # first wave, in to out
    latency_s: float
    throughput_inf_per_s: float
    utilisation: dict[str, float]  # per tile: busy sensing cycles / campaign cycles
    energy_by_activity_j: dict[str, float]
    #: all energy so far by layer and activity (layer -1: the chip's leakage, not split by layer)
    energy_by_layer_j: dict[int, dict[str, float]] = field(default_factory=dict)

    @property
    def energy_j(self) -> float:
        return float(sum(self.energy_by_activity_j.values()))


@dataclass(slots=True)
class _Wave:
    index: int
    start: int
    stop: int

    @property
    def n(self) -> int:
        return self.stop - self.start


@dataclass(slots=True)
class _Campaign:
    cycles: int = 0
    busy: dict[str, int] = field(default_factory=dict)
    latency: int = 0
    n_images: int = 0


def tile_name(layer: int, r: int, c: int) -> str:
    return f"L{layer}T{r}.{c}"


class Engine:
    """The accelerator's schedule for one mapped network.

    Parameters
    ----------
    layers
        Per layer ``n_in, n_out, row_tiles, col_tiles`` (e.g. ``mapping.map_network``'s LayerMaps).
    tile_rows, tile_cols
        Tile geometry.
    timing
        Clock and operation times.
    energies
        Energy per scheduled operation (``OpEnergies.from_chip``); zeros if omitted.
    trace
        Keep a ``TraceRow`` per activity start (for small runs).
    """

    @classmethod
    def for_chip(cls, layers: Sequence[LayerShape], arch, chip: ChipCost, *, trace: bool = False) -> Engine:
        """The engine of ``arch``'s tiles, clock and readout scheme, charging ``chip``'s energies: how
        every campaign (functional, cost-only, split) builds it."""
        return cls(layers, tile_rows=arch.tile.rows, tile_cols=arch.tile.cols, timing=arch.engine_timing,
                   energies=OpEnergies.from_chip(chip), trace=trace,
                   **readout_timing(chip, arch.engine_timing))

    def __init__(self, layers: Sequence[LayerShape], *, tile_rows: int, tile_cols: int,
                 timing: TimingConfig, energies: OpEnergies | None = None, trace: bool = False,
                 rows_per_read: int | None = None, read_cycles: int | None = None) -> None:
        if tile_rows < 1 or tile_cols < 1:
            raise ValueError("tile_rows and tile_cols must be >= 1")
        if (rows_per_read is not None and rows_per_read < 1) or (read_cycles is not None and read_cycles < 1):
            raise ValueError("rows_per_read and read_cycles must be >= 1")
        self.rows_per_read = rows_per_read if rows_per_read is not None else tile_rows
        self.read_cycles = read_cycles if read_cycles is not None else timing.sense_cycles
        self.layers = tuple(layers)
        self.rows, self.cols = tile_rows, tile_cols
        self.timing = timing
        self.energies = energies or OpEnergies()
        self.trace_rows: list[TraceRow] | None = [] if trace else None
        self.now = 0  # cycles since the engine was built (Python int: exact over years of storage)
        self.energy: dict[str, float] = defaultdict(float)
        self.energy_by_layer: dict[int, dict[str, float]] = {}  # layer (-1: chip) -> activity -> J
        self._program = _Campaign()
        self._infer = _Campaign()

    # --- geometry ---------------------------------------------------------------------------------
    def _rows_used(self, lm: LayerShape, r: int) -> int:
        return min(self.rows, lm.n_in - r * self.rows)

    def _cols_used(self, lm: LayerShape, c: int) -> int:
        return min(self.cols, lm.n_out - c * self.cols)

    def _tiles(self, li: int):
        lm = self.layers[li]
        for r in range(lm.row_tiles):
            for c in range(lm.col_tiles):
                yield r, c, tile_name(li, r, c)

    # --- stage durations (cycles) -----------------------------------------------------------------
    def program_cycles(self, li: int, r: int, c: int) -> int:
        lm = self.layers[li]
        cols = self._cols_used(lm, c)
        return (self._rows_used(lm, r) * 2 * math.ceil(cols / self.timing.drivers(self.cols))
                * self.timing.pulse_cycles)

    def vectors(self, li: int, n: int) -> int:
        """Input vectors of ``n`` images at layer ``li`` (n x patches per image)."""
        return n * vectors_per_image(self.layers[li])

    def reads_per_phase(self, li: int, r: int = 0) -> int:
        """Reads of one sensing phase on row tile ``r`` of layer ``li``: ceil(rows used / k)."""
        return -(-self._rows_used(self.layers[li], r) // self.rows_per_read)

    def read_passes(self, li: int) -> int:
        """Passes of the row reads per input vector: with one row per read (row-serial) each row is
        read once, in the phase its input selects (002 Sec. III-A: the cells can be sensed serially;
        the two phases are what makes reading many rows at once correct), so one pass; with k > 1 rows
        per read, each sensing phase reads every group of k rows (``sensing_phases``)."""
        return 1 if self.rows_per_read == 1 else sensing_phases(self.layers[li])

    def sense_cycles(self, li: int, c: int, n: int, r: int = 0) -> int:
        """Cycles tile (r, c) of layer ``li`` takes to sense ``n`` images."""
        lm = self.layers[li]
        cols = self._cols_used(lm, c)
        return (self.vectors(li, n) * self.read_passes(li)
                * math.ceil(cols / self.timing.sense_amps(self.cols))
                * self.reads_per_phase(li, r) * self.read_cycles)

    def link_in_cycles(self, li: int, n: int) -> int:
        return math.ceil(self.vectors(li, n) * min(self.rows, self.layers[li].n_in)
                         / self.timing.link_bits_per_cycle)

    def link_out_cycles(self, li: int, n: int) -> int:
        cols = min(self.cols, self.layers[li].n_out)
        return math.ceil(self.vectors(li, n) * cols * counter_bits(self.rows)
                         / self.timing.link_bits_per_cycle)

    def adder_cycles(self, li: int, n: int) -> int:
        row_tiles = self.layers[li].row_tiles
        if row_tiles == 1:
            return 0
        return (math.ceil(math.log2(row_tiles)) + self.vectors(li, n) - 1) * self.timing.adder_cycles

    # --- bookkeeping ------------------------------------------------------------------------------
    def _log(self, t: float, unit: str, activity: str, images: int) -> None:
        if self.trace_rows is not None:
            self.trace_rows.append(TraceRow(self.now + int(t), unit, activity, images))

    def _charge(self, activity: str, joules: float, layer: int = -1) -> None:
        if joules:
            self.energy[activity] += joules
            by_activity = self.energy_by_layer.setdefault(layer, {})
            by_activity[activity] = by_activity.get(activity, 0.0) + joules

    def _extras(self, extras: EnergyExtras, layer: int = -1) -> None:
        for activity, joules in (extras or {}).items():
            self._charge(activity, float(joules), layer)

    def _finish_campaign(self, env: simpy.Environment) -> int:
        cycles = int(env.now)
        self._charge("leakage", self.energies.leakage_w * cycles / self.timing.clock_hz)
        self.now += cycles
        return cycles

    # --- programming ------------------------------------------------------------------------------
    def program(self, on_layer: LayerCallback | None = None) -> int:
        """Program every tile; ``on_layer(layer)`` runs when a layer's last tile is done (the caller
        programs the layer's cells there and returns its write energies). Returns the cycles taken."""
        env = simpy.Environment()
        busy: dict[str, int] = {}

        def tile(li: int, r: int, c: int, name: str, done: simpy.Event):
            self._log(env.now, name, "program", 0)
            cycles = self.program_cycles(li, r, c)
            busy[name] = cycles
            yield env.timeout(cycles)
            done.succeed()

        def layer(li: int):
            dones = []
            for r, c, name in self._tiles(li):
                done = env.event()
                env.process(tile(li, r, c, name, done))
                dones.append(done)
            yield simpy.AllOf(env, dones)
            if on_layer is not None:
                self._extras(on_layer(li), li)

        for li in range(len(self.layers)):
            env.process(layer(li))
        env.run()
        self._program = _Campaign(cycles=self._finish_campaign(env), busy=busy)
        return self._program.cycles

    # --- inference --------------------------------------------------------------------------------
    def infer(self, n_images: int, on_wave: WaveCallback | None = None) -> int:
        """Run ``n_images`` through every layer; ``on_wave(layer, start, stop)`` runs when a layer has
        sensed images [start, stop) (the caller computes that layer's outputs there and returns the
        data-dependent energies). Returns the cycles from the first wave in to the last wave out."""
        if n_images < 1:
            raise ValueError(f"n_images must be >= 1, got {n_images}")
        env = simpy.Environment()
        busy: dict[str, int] = defaultdict(int)
        latency: list[int] = []
        e = self.energies
        batch = self.timing.batch_images

        def stage(inbox: simpy.Store, outbox: simpy.Store, unit: str, activity: str,
                  cycles: Callable[[int], int], joules: Callable[[int], float], li: int,
                  after: Callable[[_Wave], None] | None = None):
            while True:
                wave = yield inbox.get()
                self._log(env.now, unit, activity, wave.n)
                yield env.timeout(cycles(wave.n))
                self._charge(activity, joules(wave.n), li)
                if after is not None:
                    after(wave)
                yield outbox.put(wave)

        def tile(li: int, r: int, c: int, name: str, inbox: simpy.Store):
            cols = self._cols_used(self.layers[li], c)
            reads = self.reads_per_phase(li, r)
            while True:
                wave, done = yield inbox.get()
                self._log(env.now, name, "sense", wave.n)
                cycles = self.sense_cycles(li, c, wave.n, r)
                yield env.timeout(cycles)
                busy[name] += cycles
                self._charge("sense", self.vectors(li, wave.n) * self.read_passes(li) * reads
                             * (cols * e.column_phase_j + e.decode_j), li)
                done.succeed()

        def sense_layer(li: int, inbox: simpy.Store, outbox: simpy.Store):
            tiles = []
            for r, c, name in self._tiles(li):
                store = simpy.Store(env)
                env.process(tile(li, r, c, name, store))
                tiles.append(store)
            joins = simpy.Store(env)

            def collect():
                while True:
                    wave, dones = yield joins.get()
                    yield simpy.AllOf(env, dones)
                    if on_wave is not None:
                        self._extras(on_wave(li, wave.start, wave.stop), li)
                    yield outbox.put(wave)

            env.process(collect())
            while True:
                wave = yield inbox.get()
                dones = [env.event() for _ in tiles]
                for store, done in zip(tiles, dones):
                    yield store.put((wave, done))
                yield joins.put((wave, dones))

        first = simpy.Store(env)
        inbox = first
        for li, lm in enumerate(self.layers):
            vec = vectors_per_image(lm)
            bits_in = vec * lm.n_in * lm.col_tiles  # each tile column receives every input vector once
            bits_out = vec * lm.n_out * lm.row_tiles * counter_bits(self.rows)  # a partial count per tile row
            steps = [
                ("link_in", lambda n, li=li: self.link_in_cycles(li, n),
                 lambda n, b=bits_in: n * b * e.link_per_bit_j),
                ("sense", None, None),
                ("link_out", lambda n, li=li: self.link_out_cycles(li, n),
                 lambda n, b=bits_out: n * b * e.link_per_bit_j),
            ]
            if lm.row_tiles > 1:
                steps.append(("adder", lambda n, li=li: self.adder_cycles(li, n),
                              lambda n, li=li: n * _at(e.adder_per_image_j, li)))
            for activity, cycles, joules in steps:
                outbox = simpy.Store(env)
                if activity == "sense":
                    env.process(sense_layer(li, inbox, outbox))
                else:
                    env.process(stage(inbox, outbox, f"L{li}.{activity}", activity, cycles, joules, li))
                inbox = outbox
            out = simpy.Store(env)

            def buffer(src=inbox, dst=out, li=li, tree=lm.row_tiles > 1):
                while True:
                    wave = yield src.get()
                    if not tree:  # the threshold compares of a layer without an adder-tree stage
                        self._charge("adder", wave.n * _at(e.adder_per_image_j, li), li)
                    self._charge("pool", wave.n * _at(e.pool_per_image_j, li), li)
                    self._charge("buffer", wave.n * _at(e.buffer_per_image_j, li), li)
                    yield dst.put(wave)

            env.process(buffer())
            inbox = out
        last = inbox

        def sink(n_waves: int):
            for _ in range(n_waves):
                yield last.get()
                latency.append(int(env.now))  # every wave is queued at cycle 0

        waves = [_Wave(index=k, start=s, stop=min(s + batch, n_images))
                 for k, s in enumerate(range(0, n_images, batch))]
        for wave in waves:
            first.put(wave)
        done = env.process(sink(len(waves)))
        env.run(until=done)
        cycles = self._finish_campaign(env)
        self._infer = _Campaign(cycles=cycles, busy=dict(busy), latency=latency[0], n_images=n_images)
        return cycles

    # --- ageing -----------------------------------------------------------------------------------
    def age(self, storage_s: float, on_age: AgeCallback | None = None) -> int:
        """Storage for ``storage_s`` seconds, powered off; ``on_age(storage_s)`` applies the retention
        kernels. Returns the cycles it spans."""
        if storage_s < 0:
            raise ValueError(f"storage time must be >= 0, got {storage_s}")
        self._log(0, "chip", "age", 0)
        if on_age is not None:
            self._extras(on_age(storage_s))
        cycles = seconds_to_cycles(storage_s, self.timing.clock_hz)
        self.now += cycles
        return cycles

    # --- results ----------------------------------------------------------------------------------
    def report(self) -> EngineReport:
        clock = self.timing.clock_hz
        inf = self._infer
        span = inf.cycles
        util = {}
        for li in range(len(self.layers)):
            for _, _, name in self._tiles(li):
                util[name] = inf.busy.get(name, 0) / span if span else 0.0
        return EngineReport(
            cycles_program=self._program.cycles, time_program_s=self._program.cycles / clock,
            n_images=inf.n_images, cycles_inference=span,
            cycles_per_inference=span / inf.n_images if inf.n_images else 0.0,
            latency_cycles=inf.latency, latency_s=inf.latency / clock,
            throughput_inf_per_s=inf.n_images * clock / span if span else 0.0,
            utilisation=util, energy_by_activity_j=dict(self.energy),
            energy_by_layer_j={li: dict(v) for li, v in sorted(self.energy_by_layer.items())})

    def write_trace(self, path: str | Path, files: OutputSet | None = None) -> Path:
        """Write the trace as CSV: time_cycle, tile, activity, images (atomically; with ``files``,
        staged in that set and written with the rest of it)."""
        if self.trace_rows is None:
            raise ValueError("this engine was built without trace=True")
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(["time_cycle", "tile", "activity", "images"])
        for row in self.trace_rows:
            writer.writerow([row.time_cycle, row.tile, row.activity, row.images])
        if files is not None:
            return files.write_text(path, text.getvalue())
        return atomic_write_text(path, text.getvalue())  # the old file or the new one, never half


def _at(values: tuple[float, ...], i: int) -> float:
    return values[i] if i < len(values) else 0.0
