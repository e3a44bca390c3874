import numpy as np
import pytest

from accelsim.arch.cell import MTJElectrical, design_cell, transistor_area_m2
from accelsim.arch.chip import chip_cost
from accelsim.arch.tech import load_tech
from accelsim.arch.tile import CircuitConfig, counter_bits, driver_widths_m, sensing_energy_j, tile_cost
from accelsim.arch.timing import TimingConfig
from accelsim.mapping import LayerMap

WEAK = MTJElectrical(r_p_ohm=2.3e3, r_ap_ohm=5.1e3, i_c_a=13.6e-6)
STRONG = MTJElectrical(r_p_ohm=2.6e3, r_ap_ohm=5.9e3, i_c_a=19.7e-6)


@pytest.fixture(scope="module")
def tech():
    return load_tech("lp40")


def test_counter_bits():
    assert [counter_bits(n) for n in (1, 2, 3, 7, 8, 784, 1023, 1024)] == [1, 2, 2, 3, 4, 10, 10, 11]


def test_tile_cells_sum_per_group(tech):
    circuit, timing = CircuitConfig(), TimingConfig()
    t = tile_cost(16, [(WEAK, 6), (STRONG, 2)], tech, circuit, timing)
    w, s = design_cell(WEAK, tech), design_cell(STRONG, tech)
    assert t.cols == 8 and t.counter_bits == 5
    assert t.area_cells_m2 == pytest.approx(16 * (6 * w.area_m2 + 2 * s.area_m2))
    assert t.leakage_cells_w == pytest.approx(16 * (6 * w.leakage_w + 2 * s.leakage_w))
    assert t.area_m2 == pytest.approx(t.area_cells_m2 + t.area_periphery_m2)
    assert t.area_sense_amps_m2 == pytest.approx(8 * tech.sense_amp_area_f2 * tech.f2_m2)
    assert t.area_counters_m2 == pytest.approx(8 * 5 * (2102 + 2233) * tech.f2_m2)


def test_mixed_tile_lies_between_uniform_tiles(tech):
    c, tm = CircuitConfig(), TimingConfig()
    weak = tile_cost(64, [(WEAK, 64)], tech, c, tm)
    strong = tile_cost(64, [(STRONG, 64)], tech, c, tm)
    mixed = tile_cost(64, [(WEAK, 48), (STRONG, 16)], tech, c, tm)
    for attr in ("area_cells_m2", "leakage_cells_w", "area_write_drivers_m2", "e_wordline_j"):
        assert getattr(weak, attr) < getattr(mixed, attr) < getattr(strong, attr)
    # the cell matrix is linear in the column shares
    assert mixed.area_cells_m2 == pytest.approx(0.75 * weak.area_cells_m2 + 0.25 * strong.area_cells_m2)


def test_shared_drivers_are_sized_for_their_block(tech):
    c = CircuitConfig()
    per_col = tile_cost(8, [(WEAK, 6), (STRONG, 2)], tech, c, TimingConfig())
    shared = tile_cost(8, [(WEAK, 6), (STRONG, 2)], tech, c, TimingConfig(n_write_drivers=2))
    assert shared.n_write_drivers == 2
    # blocks of 4 columns: one all-weak, one with strong columns
    area = 0.0
    for i in (design_cell(WEAK, tech).i_write_a, design_cell(STRONG, tech).i_write_a):
        w_n, w_p = driver_widths_m(i, tech, c.write_driver_drop_v)
        area += 2 * (transistor_area_m2(w_n, tech) + transistor_area_m2(w_p, tech))
    assert shared.area_write_drivers_m2 == pytest.approx(area)
    assert shared.area_write_drivers_m2 < per_col.area_write_drivers_m2


def test_driver_width_rule(tech):
    w_n, w_p = driver_widths_m(40e-6, tech, 0.1)
    assert w_n == pytest.approx(1.99 * 1.0 * 40e-6 / (540.0 * 0.1))
    assert w_p > w_n  # weaker PMOS


def test_sensing_energy_counts(tech):
    t = tile_cost(8, [(WEAK, 3), (STRONG, 1)], tech, CircuitConfig(), TimingConfig())
    n = np.zeros((2, 2, 2), dtype=np.int64)
    n[0, 0, 1] = 5  # phase 1, weak group, AP cells
    n[1, 1, 0] = 2  # phase 2, strong group, P cells
    expected = (3 * t.e_wordline_j + 8 * t.e_column_read_j + 5 * t.groups[0].e_read_hrs_j
                + 2 * t.groups[1].e_read_lrs_j)
    assert sensing_energy_j(t, n, 3, 8) == pytest.approx(expected)
    assert t.groups[0].e_read_lrs_j > t.groups[0].e_read_hrs_j  # more current through P


def test_timing_changes_cell_energies_as_physics_says(tech):
    c = CircuitConfig()
    short = tile_cost(8, [(WEAK, 4)], tech, c, TimingConfig(t_write_pulse_s=5e-9, t_sense_s=5e-9))
    long = tile_cost(8, [(WEAK, 4)], tech, c, TimingConfig(t_write_pulse_s=10e-9, t_sense_s=10e-9))
    g_s, g_l = short.groups[0], long.groups[0]
    assert g_l.e_write_junction_to_p_j == pytest.approx(2 * g_s.e_write_junction_to_p_j)
    assert g_l.e_read_hrs_j == pytest.approx(2 * g_s.e_read_hrs_j)
    line = g_s.e_write_j - tech.vdd_v * g_s.cell.i_write_a * 5e-9  # bit-line charge, pulse independent
    assert g_l.e_write_j == pytest.approx(2 * (g_s.e_write_j - line) + line)


def _lm(n_in, n_out, rows, cols):
    r, c = -(-n_in // rows), -(-n_out // cols)
    return LayerMap(index=0, n_in=n_in, n_out=n_out, row_tiles=r, col_tiles=c,
                    neuron_group=np.zeros(n_out, dtype=np.int64), neuron_slot=np.arange(n_out))


def test_chip_counts(tech):
    circuit = CircuitConfig()
    tile = tile_cost(256, [(STRONG, 256)], tech, circuit, TimingConfig())
    chip = chip_cost([_lm(784, 1024, 256, 256), _lm(1024, 10, 256, 256)], tile, tech, circuit)
    l0, l1 = chip.layers
    assert (l0.n_tiles, l1.n_tiles, chip.n_tiles) == (16, 4, 20)
    assert l0.sum_bits == 10 and l1.sum_bits == 11
    assert l0.n_adders == 3 * 1024 + 1024 and l1.n_adders == 3 * 10 + 10
    assert l0.e_adders_per_image_j == pytest.approx(4096 * 10 * tech.full_adder_energy_j)
    assert l0.link_bits_per_image == 784 * 4 + 4 * 1024 * 9
    assert chip.area_m2 > chip.area_tiles_m2 == pytest.approx(20 * tile.area_m2)
    assert chip.leakage_w > 20 * tile.leakage_w


def test_timing_and_circuit_load_through_the_config_loader():
    from accelsim.config import build_from_mapping
    from accelsim.errors import ConfigError

    t = build_from_mapping(TimingConfig, {"clock": "1 GHz", "t_sense": "3 ns", "n_write_drivers": 8,
                                          "n_sense_amps": None}, "arch.yaml", "timing")
    assert (t.clock_hz, t.sense_cycles, t.drivers(64), t.sense_amps(64)) == (1e9, 3, 8, 64)
    with pytest.raises(ConfigError, match="key 'timing.batch_images'.*>= 1"):
        build_from_mapping(TimingConfig, {"batch_images": 0}, "arch.yaml", "timing")
    with pytest.raises(ConfigError, match="key 'timing.t_write_pulse'.*unit"):
        build_from_mapping(TimingConfig, {"t_write_pulse": 10}, "arch.yaml", "timing")
    c = build_from_mapping(CircuitConfig, {"read_current_ratio": 0.3, "write_driver_drop": "50 mV"},
                           "arch.yaml", "circuit")
    assert c.read_current_ratio == 0.3 and c.write_driver_drop_v == pytest.approx(0.05)
    with pytest.raises(ConfigError, match="key 'circuit.read_current_ratio'"):
        build_from_mapping(CircuitConfig, {"read_current_ratio": 1.2}, "arch.yaml", "circuit")
