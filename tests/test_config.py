import pytest
from conftest import ROOT, TINY_ARCH, write_yaml

from accelsim.config import load_arch
from accelsim.errors import ConfigError


def test_shipped_configs_load_with_si_units():
    arch = load_arch(ROOT / "arch_configs" / "mixed_retention.yaml")
    assert arch.cells["delta40"].delta_ap == 40
    assert arch.cells["delta60"].tau0_s == pytest.approx(1e-9)
    assert arch.retention.horizon_s == pytest.approx(10 * 365.25 * 86400)
    assert [g.fraction for g in arch.tile.columns] == [0.9, 0.1]
    base = load_arch(ROOT / "arch_configs" / "baseline_delta60.yaml")
    assert set(base.cells) == {"delta60"}


def test_overrides_go_through_the_loader(tiny_arch_path):
    arch = load_arch(tiny_arch_path, ["tile.rows=16", "retention.horizon=1 day", "write.ber=0.01"])
    assert arch.tile.rows == 16
    assert arch.retention.horizon_s == 86400.0
    assert arch.write.ber == 0.01
    arch = load_arch(tiny_arch_path, ["tile.columns.0.fraction=0.5", "tile.columns.1.fraction=0.5"])
    assert arch.tile.columns[0].fraction == 0.5
    with pytest.raises(ConfigError, match=r"key 'tile.rowz': unknown key \(did you mean 'rows'\?\)"):
        load_arch(tiny_arch_path, ["tile.rowz=16"])
    with pytest.raises(ConfigError, match="key 'tile.rows': expected an integer"):
        load_arch(tiny_arch_path, ["tile.rows=many"])


@pytest.mark.parametrize("old, new, match", [
    ("  rows: 7", "  rows: 7\n  color: blue", r"tiny.yaml: key 'tile.color': unknown key"),
    ("  rows: 7\n", "", r"key 'tile.rows': missing required key"),
    ("  rows: 7", "  rows: seven", r"key 'tile.rows': expected an integer, got 'seven'"),
    ("  rows: 7", "  rows: 0", r"key 'tile.rows': value 0 out of range: expected 1 <= rows <= 65536"),
    ("tau0: 1 ns\n  strong", "tau0: -1 ns\n  strong", r"key 'cells.weak.tau0': expected a positive"),
    ("tau0: 1 ns\n  strong", "tau0: 1\n  strong", r"key 'cells.weak.tau0': expected a quantity with a unit"),
    ("tau0: 1 ns\n  strong", "tau0: 1 nV\n  strong", r"key 'cells.weak.tau0': unit 'nV' is not a unit of s"),
    ("horizon: 10 years", "horizon: -1 years", r"key 'retention.horizon': expected a non-negative"),
    ("ber: 0.0", "ber: 1.5", r"key 'write.ber': value 1.5 out of range"),
    ("model: constant_ber", "model: magic", r"key 'write.model': expected one of constant_ber"),
    ("fraction: 0.4", "fraction: 0.3", r"key 'tile.columns': fractions sum to 0.9, expected 1"),
    ("cell: strong", "cell: medium", r"key 'tile.columns.1.cell': unknown cell type 'medium'"),
    ("delta_ap: 60", "delta_ap: 600", r"key 'cells.strong.delta_ap': value 600 out of range"),
    ("  sort_columns_by_hrs: true", "  sort_columns_by_hrs: 1", r"expected true or false"),
    ("mtj: muench-delta40", "mtj: nosuch", r"key 'cells.weak.mtj': unknown MTJ preset 'nosuch'"),
    ("  t_pulse: 15 ns\n", "", r"key 'write.t_pulse': missing required key"),
    ("  t_pulse: 15 ns", "  t_pulse: -15 ns", r"key 'write.t_pulse': expected a positive quantity"),
    ("model: constant_ber", "model: gamma", r"key 'write.overdrive': give exactly one of"),
    ("model: constant_ber", "model: gamma\n  overdrive: 2.0\n  v_write: 0.4 V", r"exactly one of"),
    ("model: constant_ber", "model: gamma\n  overdrive: 1.5",
     r"key 'circuit.write_current_factor': 2 differs from write.overdrive 1.5"),
    ("name: tiny", "name: tiny\ntech: n7", r"key 'tech':"),
    ("name: tiny", "name: tiny\ntiming:\n  t_write_pulse: 5 ns",
     r"key 'timing.t_write_pulse': set the write pulse once"),
    ("name: tiny", "name: tiny\nread:\n  model: perfect", r"key 'read.model': expected one of ideal, device"),
])
def test_config_errors_name_file_and_key(tmp_path, old, new, match):
    assert old in TINY_ARCH
    path = write_yaml(tmp_path, TINY_ARCH.replace(old, new, 1), "tiny.yaml")
    with pytest.raises(ConfigError, match=match):
        load_arch(path)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: no such file"):
        load_arch(tmp_path / "nope.yaml")
    bad = write_yaml(tmp_path, "name: x\ntile: [1, 2\n", "bad.yaml")
    with pytest.raises(ConfigError, match=r"bad.yaml: malformed YAML at line \d+"):
        load_arch(bad)
    scalar = write_yaml(tmp_path, "just text\n", "scalar.yaml")
    with pytest.raises(ConfigError, match="expected a YAML mapping"):
        load_arch(scalar)
