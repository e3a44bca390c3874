"""Engine schedules worked out by hand (see the pipeline rules in accelsim/engine.py)."""

import csv
import math
from types import SimpleNamespace as Layer

import pytest

from accelsim.arch.timing import TimingConfig
from accelsim.engine import Engine, OpEnergies, TraceRow
from accelsim.units import seconds_to_cycles

# 1 GHz: sense 3 cycles, pulse 10, adder 1; 8-bit links; 2 write drivers; one image per wave.
HAND = dict(clock_hz=1e9, t_sense_s=3e-9, t_write_pulse_s=10e-9, t_adder_s=1e-9, link_bits_per_cycle=8,
            n_write_drivers=2, batch_images=1)


def two_tile_engine(trace=False, energies=None, **timing):
    """One layer 8 -> 4 on 4 x 4 tiles: two row tiles, one column tile."""
    t = TimingConfig(**{**HAND, **timing})
    return Engine([Layer(n_in=8, n_out=4, row_tiles=2, col_tiles=1)], tile_rows=4, tile_cols=4, timing=t,
                  trace=trace, energies=energies)


def test_single_layer_pipeline_formula():
    # per image: link_in ceil(4/8)=1, sense 2 phases x 3 = 6, link_out ceil(4 x 3 bits / 8) = 2,
    # adder (1 level + 1 - 1) x 1 = 1 -> fill 10, II 6
    for n in (1, 3, 5):
        e = two_tile_engine()
        assert e.infer(n) == 10 + (n - 1) * 6
        rep = e.report()
        assert rep.latency_cycles == 10
        assert rep.cycles_per_inference == pytest.approx((10 + (n - 1) * 6) / n)
        assert rep.throughput_inf_per_s == pytest.approx(n * 1e9 / (10 + (n - 1) * 6))


def test_one_sensing_phase_for_a_unipolar_layer():
    # as above with one phase: sense 1 x 3 = 3 -> fill 1 + 3 + 2 + 1 = 7, II 3 (the sense stage)
    t = TimingConfig(**HAND)
    for n in (1, 4):
        e = Engine([Layer(n_in=8, n_out=4, row_tiles=2, col_tiles=1, n_phases=1)], tile_rows=4,
                   tile_cols=4, timing=t)
        assert e.infer(n) == 7 + (n - 1) * 3


def test_two_layer_pipeline_with_waves_of_two():
    # layer 0: 20 -> 6 on 8 x 4 tiles: 3 row tiles x 2 col tiles; layer 1: 6 -> 3: 1 x 1 tile.
    t = TimingConfig(**{**HAND, "batch_images": 2, "n_sense_amps": 2})
    layers = [Layer(n_in=20, n_out=6, row_tiles=3, col_tiles=2), Layer(n_in=6, n_out=3, row_tiles=1,
                                                                         col_tiles=1)]
    e = Engine(layers, tile_rows=8, tile_cols=4, timing=t)
    b = 2  # images per wave
    bits = math.ceil(math.log2(8 + 1))  # 4-bit partial counts
    stages = [
        math.ceil(b * 8 / 8),  # L0 link_in: 8 rows
        b * 2 * math.ceil(4 / 2) * 3,  # L0 sense: 4 cols on 2 sense amps -> 2 rounds
        math.ceil(b * 4 * bits / 8),  # L0 link_out
        (math.ceil(math.log2(3)) + b - 1) * 1,  # L0 adder: 2 levels
        math.ceil(b * 6 / 8),  # L1 link_in: 6 rows
        b * 2 * math.ceil(3 / 2) * 3,  # L1 sense: 3 cols -> 2 rounds
        math.ceil(b * 3 * bits / 8),  # L1 link_out; single row tile: no adder
    ]
    assert stages == [2, 24, 4, 3, 2, 24, 3]
    n_waves = 4
    assert e.infer(n_waves * b) == sum(stages) + (n_waves - 1) * max(stages)


def test_ragged_last_wave():
    e = two_tile_engine(batch_images=2)
    # waves of 2, 2, 1 images: stage times (1, 12, 3, 2), (1, 12, 3, 2), (1, 6, 2, 1)
    # wave 3 enters sensing when wave 2 leaves it (1 + 12 + 12 = 25), then 6 + 2 + 1
    assert e.infer(5) == 25 + 6 + 2 + 1


def test_programming_cycles_and_parallel_tiles():
    # 10 -> 6 on 4 x 4 tiles: row tiles of 4, 4, 2 rows; column tiles of 4 and 2 columns.
    e = Engine([Layer(n_in=10, n_out=6, row_tiles=3, col_tiles=2)], tile_rows=4, tile_cols=4,
               timing=TimingConfig(**HAND))
    assert e.program_cycles(0, 0, 0) == 4 * 2 * math.ceil(4 / 2) * 10 == 160
    assert e.program_cycles(0, 2, 1) == 2 * 2 * math.ceil(2 / 2) * 10 == 40
    assert e.program() == 160  # all tiles write at once
    assert e.report().time_program_s == pytest.approx(160e-9)


def test_doubling_the_clock_doubles_cycles_not_time():
    slow, fast = two_tile_engine(), two_tile_engine(clock_hz=2e9)
    assert fast.program() == 2 * slow.program()
    assert fast.report().time_program_s == pytest.approx(slow.report().time_program_s)
    assert fast.sense_cycles(0, 0, 1) == 2 * slow.sense_cycles(0, 0, 1)
    # all stage times scale by 2 except the links (bits per cycle fixed): inference gets faster in time
    slow.infer(4)
    fast.infer(4)
    assert fast.report().cycles_inference < 2 * slow.report().cycles_inference
    assert fast.report().throughput_inf_per_s > slow.report().throughput_inf_per_s


def test_halving_the_pulse_halves_programming():
    full, half = two_tile_engine(), two_tile_engine(t_write_pulse_s=5e-9)
    assert half.program() * 2 == full.program()
    # a pulse that is not a whole number of cycles rounds up once per pulse
    odd = two_tile_engine(t_write_pulse_s=2.5e-9)
    assert odd.program() == 4 * 2 * 2 * seconds_to_cycles(2.5e-9, 1e9) == 48


def test_trace_of_two_tiles_three_images(tmp_path):
    e = two_tile_engine(trace=True)
    e.program()
    e.infer(3)
    expected = [
        (0, "L0T0.0", "program", 0), (0, "L0T1.0", "program", 0),
        (160, "L0.link_in", "link_in", 1),
        (161, "L0.link_in", "link_in", 1), (161, "L0T0.0", "sense", 1), (161, "L0T1.0", "sense", 1),
        (162, "L0.link_in", "link_in", 1),
        (167, "L0.link_out", "link_out", 1), (167, "L0T0.0", "sense", 1), (167, "L0T1.0", "sense", 1),
        (169, "L0.adder", "adder", 1),
        (173, "L0.link_out", "link_out", 1), (173, "L0T0.0", "sense", 1), (173, "L0T1.0", "sense", 1),
        (175, "L0.adder", "adder", 1),
        (179, "L0.link_out", "link_out", 1),
        (181, "L0.adder", "adder", 1),
    ]
    got = sorted((r.time_cycle, r.tile, r.activity, r.images) for r in e.trace_rows)
    assert got == sorted(expected)
    path = e.write_trace(tmp_path / "trace.csv")
    with path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time_cycle", "tile", "activity", "images"] and len(rows) == 1 + len(expected)
    assert all(isinstance(r, TraceRow) for r in e.trace_rows)


def test_utilisation_and_energy_events():
    energies = OpEnergies(column_phase_j=1e-13, link_per_bit_j=1e-15, adder_per_image_j=(2e-13,),
                          buffer_per_image_j=(3e-13,), leakage_w=1e-3)
    e = two_tile_engine(energies=energies)
    calls = []

    def on_wave(layer, start, stop):
        calls.append((layer, start, stop))
        return {"cell_read": 1e-12 * (stop - start)}

    e.infer(3, on_wave=on_wave)
    rep = e.report()
    assert calls == [(0, 0, 1), (0, 1, 2), (0, 2, 3)]
    assert rep.utilisation == {"L0T0.0": pytest.approx(18 / 22), "L0T1.0": pytest.approx(18 / 22)}
    en = rep.energy_by_activity_j
    assert en["sense"] == pytest.approx(3 * 2 * 4 * 2 * 1e-13)  # images x phases x cols x tiles
    assert en["link_in"] == pytest.approx(3 * 4 * 2 * 1e-15)  # 4 rows to each of 2 tiles
    assert en["link_out"] == pytest.approx(3 * 4 * 3 * 2 * 1e-15)  # 4 counts of 3 bits from 2 tiles
    assert en["adder"] == pytest.approx(3 * 2e-13)
    assert en["buffer"] == pytest.approx(3 * 3e-13)
    assert en["cell_read"] == pytest.approx(3e-12)
    assert en["leakage"] == pytest.approx(1e-3 * 22e-9)
    assert rep.energy_j == pytest.approx(sum(en.values()))


def test_layers_are_called_in_pipeline_order():
    t = TimingConfig(**HAND)
    e = Engine([Layer(n_in=4, n_out=4, row_tiles=1, col_tiles=1), Layer(n_in=4, n_out=2, row_tiles=1,
                                                                        col_tiles=1)],
               tile_rows=4, tile_cols=4, timing=t)
    calls = []
    e.infer(3, on_wave=lambda layer, a, b: calls.append((layer, a)))
    for a in range(3):
        assert calls.index((0, a)) < calls.index((1, a))
    assert sorted(calls) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


def test_ageing_advances_the_clock_and_calls_back():
    e = two_tile_engine(trace=True)
    e.program()
    seen = []
    cycles = e.age(1e-3, on_age=lambda dt: seen.append(dt) or {"refresh": 0.0})
    assert cycles == 10**6 and seen == [1e-3]
    e.infer(1)
    assert e.trace_rows[2] == TraceRow(160, "chip", "age", 0)
    assert e.trace_rows[3].time_cycle == 160 + 10**6
    assert e.age(10 * 365.25 * 86400) == seconds_to_cycles(10 * 365.25 * 86400, 1e9)  # the one rounding
    with pytest.raises(ValueError):
        e.age(-1.0)


@pytest.mark.parametrize("n_phases", [1, 2])
def test_row_serial_reads_each_row_once_and_parallel_reads_both_phases(n_phases):
    # 8 -> 4 on 4 x 4 tiles, t_sense 3 cycles. Row-serial (k = 1): a tile's 4 rows, each read once
    # per input vector whatever the phases (the row's input selects its phase, 002 Sec. III-A), so
    # 4 x 3 = 12 cycles and 4 sense decisions per column; k = 2: each phase reads both groups of 2
    # rows, 2 phases x 2 x 3 = 12 cycles for bipolar inputs, 6 for a unipolar layer (one phase).
    t = TimingConfig(**HAND)
    layer = Layer(n_in=8, n_out=4, row_tiles=2, col_tiles=1, n_phases=n_phases)
    energies = OpEnergies(column_phase_j=1.0)
    serial = Engine([layer], tile_rows=4, tile_cols=4, timing=t, rows_per_read=1, energies=energies)
    pairs = Engine([layer], tile_rows=4, tile_cols=4, timing=t, rows_per_read=2, energies=energies)
    assert serial.sense_cycles(0, 0, 1) == 4 * 3
    assert pairs.sense_cycles(0, 0, 1) == n_phases * 2 * 3
    serial.infer(1)
    pairs.infer(1)
    # 2 row tiles x 4 columns x (4 reads, or n_phases x 2 reads) of 1 J each
    assert serial.energy["sense"] == pytest.approx(2 * 4 * 4)
    assert pairs.energy["sense"] == pytest.approx(2 * 4 * n_phases * 2)
