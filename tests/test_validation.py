"""One validation layer at every edge (config YAML and --set, network .npz, data files, sweep specs):
each bad input is refused before any simulation with one AccelsimError line naming where and what,
and random corruptions of valid inputs give a loaded object or an AccelsimError, never anything else.
"""

from __future__ import annotations

import gzip
import io
import math
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, TINY_ARCH, make_tiny_network, write_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelsim import limits
from accelsim.arch.chip import build_chip
from accelsim.arch.tech import TechNode, load_tech
from accelsim.cli import main
from accelsim.config import load_arch, load_yaml_as
from accelsim.data import Dataset, load_dataset, load_idx, save_binarized, save_idx
from accelsim.device.mtj import MTJ
from accelsim.errors import AccelsimError, ConfigError, DataError, NetworkError, UsageError
from accelsim.mapping import map_network
from accelsim.network import load_network, network_arrays, save_network
from accelsim.sweeps import expand, load_spec, point_arch
from accelsim.workload import bundled_workload, load_workload

GAMMA = TINY_ARCH.replace("  model: constant_ber\n  ber: 0.0\n", "  model: gamma\n  overdrive: 2.0\n")


@pytest.fixture
def small_memory(monkeypatch):
    """A memory limit of 1 MB, so that size refusals can be tested on small files."""
    monkeypatch.setenv(limits.MEMORY_ENV, "1 MB")


def test_error_text_is_one_line_whatever_it_quotes():
    assert str(ConfigError("f.yaml: key 'a\nb': unknown key")) == "f.yaml: key 'a\\nb': unknown key"
    assert str(DataError("caf\u00e9\r\t")) == "caf\u00e9\\r\\t"


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# ------------------------------------------------------------------- keys a model does not read


@pytest.mark.parametrize("overrides, match", [
    (["write.ber=0.5"], r"key 'write.ber' \(set by an override\) has no effect with write.model gamma.*"
                        r"only by write.model constant_ber"),
    (["read.scheme=differential"],
     r"key 'read.scheme' .* read.model ideal: it is read only by read.model device"),
    (["read.sigma_offset_ln=0.2"], r"key 'read.sigma_offset_ln'"),
    (["read.disturbs=ap"], r"key 'read.disturbs'"),
    (["write.model=constant_ber", "write.driver=ideal"], r"key 'write.driver' .* device write models"),
    (["write.model=constant_ber", "write.overdrive=2.0"], r"key 'write.overdrive'"),
    ([("write", {"model": "gamma", "overdrive": 2.0, "ber": 0.1, "t_pulse": "5 ns"})], r"key 'write.ber'"),
])
def test_an_override_a_model_does_not_read_is_refused(tmp_path, overrides, match):
    path = write_yaml(tmp_path, GAMMA, "gamma.yaml")
    with pytest.raises(ConfigError, match=match) as exc:
        load_arch(path, overrides)
    assert _one_line(exc).startswith(str(path))


def test_keys_of_the_chosen_model_and_base_files_switched_by_an_override_load(tmp_path):
    gamma = write_yaml(tmp_path, GAMMA, "gamma.yaml")
    assert load_arch(gamma, ["write.model=constant_ber", "write.ber=0.1"]).write.ber == 0.1
    arch = load_arch(gamma, ["read.model=device", "read.scheme=differential"])
    assert arch.read.scheme == "differential"
    # write.variability is read by the device read model too, under a constant BER
    const = write_yaml(tmp_path, TINY_ARCH, "const.yaml")
    arch = load_arch(const, ["read.model=device", "write.variability=locatelli2018"])
    assert arch.write.variability == "locatelli2018"
    # the file's ber belongs to the file's own model; the override chose another one
    assert load_arch(const, ["write.model=gamma", "write.overdrive=2.0"]).write.model == "gamma"
    # defaults are not "given": the gamma file has no ber, and its default does not trip the check
    assert load_arch(gamma).write.ber == 0.0


def test_a_file_giving_a_key_its_own_model_does_not_read_is_refused(tmp_path):
    path = write_yaml(tmp_path, GAMMA.replace("  overdrive: 2.0\n", "  overdrive: 2.0\n  ber: 0.3\n"))
    with pytest.raises(ConfigError, match=r"key 'write.ber' \(given\) has no effect with write.model gamma"):
        load_arch(path)


def test_example_sweep_varies_a_key_its_model_reads():
    spec = load_spec(ROOT / "arch_configs" / "sweeps" / "example.yaml")
    archs = [point_arch(spec, p) for p in expand(spec)]
    assert {a.write.model for a in archs} == {"constant_ber"}
    assert sorted({a.write.ber for a in archs}) == [1e-4, 1e-2]


def test_shipped_configs_and_specs_still_load():
    for path in sorted((ROOT / "arch_configs").glob("*.yaml")):
        load_arch(path)
    for path in sorted((ROOT / "arch_configs" / "tech").glob("*.yaml")):
        load_tech(path)
    for path in sorted((ROOT / "arch_configs" / "mtj").glob("*.yaml")):
        load_yaml_as(MTJ, path)
    specs = sorted((ROOT / "arch_configs" / "sweeps").glob("*.yaml"))
    assert len(specs) >= 9
    for path in specs:
        load_spec(path)


# ------------------------------------------------------------------------------------- YAML files


@pytest.mark.parametrize("text, match", [
    (TINY_ARCH.replace("  rows: 7\n", "  rows: 7\n  rows: 9\n"),
     r"tiny.yaml: malformed YAML at line 13: duplicate key 'rows' \(first at line 12\)"),
    (TINY_ARCH + "name: other\n", r"duplicate key 'name' \(first at line 1\)"),
    (TINY_ARCH.replace("    tau0: 1 ns\n  strong", "    tau0: 1 ns\n    tau0: 2 ns\n  strong"),
     r"duplicate key 'tau0'"),
    ("- name: tiny\n- rows: 7\n", r"expected a YAML mapping at the top level, found a list"),
    ("42\n", r"expected a YAML mapping at the top level, found a int"),
    ("", r"expected a YAML mapping at the top level, found empty"),
    ("name: tiny\ntile:\n\trows: 7\n", r"malformed YAML at line 3"),
    (TINY_ARCH.replace("tau0: 1 ns\n  strong", "tau0: 1e999 ns\n  strong"),
     r"key 'cells.weak.tau0': number '1e999' is too large"),
    (TINY_ARCH.replace("fraction: 0.6", "fraction: .nan"),
     r"key 'tile.columns.0.fraction': expected a finite"),
    (TINY_ARCH.replace("delta_ap: 60", "delta_ap: .inf"), r"key 'cells.strong.delta_ap': expected a finite"),
    (TINY_ARCH.replace("delta_ap: 60", "delta_ap: NaN"), r"key 'cells.strong.delta_ap': expected a number"),
    (TINY_ARCH.replace("  rows: 7", "  rows: 1000000000"), r"key 'tile.rows': value 1000000000 out of range"),
    (TINY_ARCH.replace("  cols: 5", "  cols: 1000000000"), r"key 'tile.cols': .* out of range"),
    (TINY_ARCH.replace("  rows: 7", "  rows: 1.0e9"), r"key 'tile.rows': expected an integer"),
    (TINY_ARCH.replace("  n_steps: 3", "  n_steps: 100000000"), r"key 'retention.n_steps': .* out of range"),
    (TINY_ARCH.replace("  n_steps: 3", "  n_steps: 1e8"), r"key 'retention.n_steps': expected an integer"),
    (TINY_ARCH.replace("t_pulse: 15 ns", "t_pulse: 15 s"), r"key 'write.t_pulse': .* at most 1 ms"),
    (TINY_ARCH.replace("horizon: 10 years", "horizon: 1e9 years"), r"key 'retention.horizon': .* million"),
])
def test_malformed_yaml_is_one_line(tmp_path, text, match):
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as exc:
        load_arch(path)
    assert _one_line(exc).startswith(str(path))


def test_non_utf8_and_huge_yaml_are_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(TINY_ARCH.replace("name: tiny", "name: tiny\ndescription: caf\xe9").encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.yaml: not UTF-8 text \(byte 0xe9 at line 2\)"):
        load_arch(path)
    big = tmp_path / "big.yaml"
    big.write_text(TINY_ARCH + "#" * (5 * 2**20) + "\n")
    with pytest.raises(ConfigError, match=r"big.yaml: .* bytes, more than a configuration file"):
        load_arch(big)


def test_a_value_of_nested_yaml_aliases_is_quoted_short(tmp_path):
    """Nine levels of nine aliases (387 million leaves if expanded) are named in one short line."""
    levels = ["&l0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    description = f"name: tiny\ndescription: [{', '.join(levels)}]"
    path = write_yaml(tmp_path, TINY_ARCH.replace("name: tiny", description))
    with pytest.raises(ConfigError, match=r"key 'description': expected a string, got \[\[.*\.\.\.") as exc:
        load_arch(path)
    assert len(str(exc.value)) < 400
    maps = ["&m0 {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1, h: 1, i: 1}"]
    maps += [f"&m{i} {{{', '.join(f'{k}: *m{i - 1}' for k in 'abcdefghi')}}}" for i in range(1, 9)]
    nested = ", ".join(f"m{i}: {m}" for i, m in enumerate(maps))
    path = write_yaml(tmp_path, TINY_ARCH.replace("name: tiny", f"name: tiny\nwrite_: {{{nested}}}"))
    with pytest.raises(ConfigError, match=r"key 'write_': unknown key \(did you mean 'write'\?\)"):
        load_arch(path, [("read", {"model": {"x": "*"}})])


SECTIONS = ("cells", "cells.weak", "tile", "tile.columns", "tile.columns.0", "mapping", "write", "read",
            "retention", "circuit", "timing", "tech", "name", "tile.rows", "write.t_pulse", "cells.weak.mtj")


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("value", [[1, 2], 7, "text", None, True, {"x": 1}, 1.5])
def test_wrong_types_in_every_section_are_one_line(tmp_path, section, value):
    path = write_yaml(tmp_path, TINY_ARCH, "tiny.yaml")
    try:
        load_arch(path, [(section, value)])
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


def test_duplicate_keys_are_refused_in_every_yaml_the_package_reads(tmp_path):
    tech = (ROOT / "arch_configs" / "tech" / "lp40.yaml").read_text()
    first = tech.splitlines()[0] if not tech.startswith("#") else next(
        line for line in tech.splitlines() if line and not line.startswith("#"))
    dup = tmp_path / "tech.yaml"
    dup.write_text(tech + "\n" + first + "\n")
    with pytest.raises(ConfigError, match=r"tech.yaml: malformed YAML at line \d+: duplicate key"):
        load_yaml_as(TechNode, dup)
    with pytest.raises(ConfigError, match=r"key 'tech': .*duplicate key"):
        load_arch(write_yaml(tmp_path, TINY_ARCH.replace("name: tiny", f"name: tiny\ntech: {dup}")))
    mtj = (ROOT / "arch_configs" / "mtj" / "muench-delta40.yaml").read_text()
    key_line = next(line for line in mtj.splitlines() if line and not line.startswith("#"))
    (tmp_path / "mtj.yaml").write_text(mtj + "\n" + key_line + "\n")
    with pytest.raises(ConfigError, match="duplicate key"):
        load_yaml_as(MTJ, tmp_path / "mtj.yaml")
    spec = _spec(tmp_path, "grid:\n  tile.rows: [4]\ngrid:\n  tile.cols: [4]\n")
    with pytest.raises(ConfigError, match=r"spec.yaml: malformed YAML at line \d+: duplicate key 'grid'"):
        load_spec(spec)
    absurd = tmp_path / "absurd.yaml"
    absurd.write_text(tech.replace("feature_size: 40 nm", "feature_size: 40 m"))
    with pytest.raises(ConfigError, match=r"absurd.yaml: key 'feature_size': value '40 m' out of range"):
        load_yaml_as(TechNode, absurd)
    # merge keys (<<) are not duplicates
    merged = write_yaml(tmp_path, TINY_ARCH.replace("  weak:\n", "  weak: &w\n").replace(
        "  strong:\n    mtj: muench-delta60\n    delta_ap: 60\n    tau0: 1 ns\n",
        "  strong:\n    <<: *w\n    mtj: muench-delta60\n    delta_ap: 60\n"), "merged.yaml")
    assert load_arch(merged).cells["strong"].delta_ap == 60


# ------------------------------------------------------------------------------------- sweep specs


def _spec(tmp_path: Path, body: str, name: str = "spec.yaml", net: Path | None = None) -> Path:
    arch = write_yaml(tmp_path, TINY_ARCH, "tiny.yaml")
    if net is None:
        net = tmp_path / "tiny.npz"
        if not net.exists():
            save_network(net, make_tiny_network(np.random.default_rng(0)))
    return write_yaml(tmp_path, f"name: s\narch: {arch}\nnet: {net}\n{body}", name)


@pytest.mark.parametrize("body, match", [
    ("grid: {}\n", r"key 'grid': empty \(\{\}\): give at least one axis"),
    ("zip: {}\n", r"key 'zip': empty"),
    ("grid:\n", r"key 'grid': empty \(None\)"),
    ("grid:\n  tile.rows: []\n", r"key 'grid.tile.rows': expected a non-empty list"),
    ("data: 5\n", r"key 'data': expected a path, got 5"),
    ("repeats: 2.5\n", r"key 'repeats': expected an integer"),
    ("seeds: [-1]\n", r"key 'seeds'"),
    ("seeds: [18446744073709551616]\n", r"key 'seeds': expected a non-empty list of integers from 0 to"),
    ("set: [1]\n", r"key 'set': expected a mapping"),
    ("grid:\n  write.model: [gamma]\n  write.overdrive: [2.0]\n  write.ber: [0.1]\n",
     r"point 0 .*key 'write.ber' \(set by an override\) has no effect with write.model gamma"),
])
def test_bad_specs_are_refused(tmp_path, body, match):
    with pytest.raises(ConfigError, match=match) as exc:
        load_spec(_spec(tmp_path, body))
    _one_line(exc)


def test_a_device_sweep_drawing_too_many_devices_is_refused(tmp_path):
    gamma = TINY_ARCH.replace("model: constant_ber\n  ber: 0.0", "model: gamma")
    arch = write_yaml(tmp_path, gamma, "tiny.yaml")
    path = write_yaml(tmp_path, f"name: d\nmeasure: device\narch: {arch}\n"
                                "device:\n  quantities: [write]\n  devices: 1000000000000\n", "d.yaml")
    with pytest.raises(ConfigError, match=r"d.yaml: key 'device.devices': 1,000,000,000,000 devices needs "
                                          r"about .* above the memory limit"):
        load_spec(path)


@pytest.mark.parametrize("name", ["../../x", "a/b", "/tmp/x", "x y", "", "café", 5, ["a"]])
def test_spec_names_must_be_plain(tmp_path, name):
    path = _spec(tmp_path, "")
    flow = yaml.safe_dump(name, default_flow_style=True).splitlines()[0]
    path.write_text(path.read_text().replace("name: s", f"name: {flow}"))
    with pytest.raises(ConfigError, match=r"key 'name': .* use letters, digits and _ \. \+ - only"):
        load_spec(path)


def test_spec_name_of_plain_characters_loads(tmp_path):
    path = _spec(tmp_path, "")
    path.write_text(path.read_text().replace("name: s", "name: run-1.5+x_y"))
    assert load_spec(path).name == "run-1.5+x_y"


# ------------------------------------------------------------------------------ sizes and limits


def test_run_estimate_refuses_huge_repeats_and_steps(monkeypatch):
    arch = load_arch(ROOT / "arch_configs" / "mixed_retention.yaml")
    net = load_network(ROOT / "workloads" / "mlp784.npz")
    limits.check_run(arch, net, 2000, repeats=5)  # the reproductions' size passes
    with pytest.raises(UsageError, match=r"1000000 repeat\(s\) x 11 evaluation\(s\) x 2000 image\(s\) .* "
                                         r"takes at least .* above the time limit of 1 day "
                                         r".*ACCELSIM_MAX_TIME"):
        limits.check_run(arch, net, 2000, repeats=1_000_000)
    steps = load_arch(ROOT / "arch_configs" / "mixed_retention.yaml", ["retention.n_steps=1000000"])
    with pytest.raises(UsageError, match="above the time limit"):
        limits.check_run(steps, net, 10000, repeats=1)
    monkeypatch.setenv(limits.TIME_ENV, "1000 years")
    limits.check_run(arch, net, 2000, repeats=1_000_000)  # the user raised the limit
    monkeypatch.setenv(limits.MEMORY_ENV, "100 MB")
    with pytest.raises(UsageError,
                       match=r"needs about .* above the memory limit of 100.0 MB .*ACCELSIM_MAX_MEMORY"):
        limits.check_run(arch, net, 2000, repeats=1)
    monkeypatch.setenv(limits.MEMORY_ENV, "lots")
    with pytest.raises(UsageError, match=r"ACCELSIM_MAX_MEMORY='lots': expected a positive size"):
        limits.max_memory_bytes()
    monkeypatch.setenv(limits.TIME_ENV, "soon")
    with pytest.raises(UsageError, match=r"ACCELSIM_MAX_TIME='soon'"):
        limits.max_time_s()


def test_sizes_parse():
    assert limits.parse_size("64 GB", "X") == 64e9
    assert limits.parse_size("512MiB", "X") == 512 * 2**20
    assert limits.parse_size("1e9", "X") == 1e9
    for bad in ("-1 GB", "0", "1 GQ", ""):
        with pytest.raises(UsageError):
            limits.parse_size(bad, "X")


def test_a_sweep_point_above_the_limits_is_refused_before_it_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(limits.TIME_ENV, "1 ns")
    with pytest.raises(ConfigError, match=r"spec.yaml: point 0: .* above the time limit"):
        load_spec(_spec(tmp_path, "repeats: 3\n"))


def _npz_with_header(path: Path, key: str, shape: tuple, dtype: str, data: bytes, **others) -> None:
    """An .npz whose member ``key`` has an .npy header declaring (shape, dtype) followed by ``data``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{key}.npy", header.getvalue() + data)
        for name, arr in others.items():
            buf = io.BytesIO()
            np.save(buf, arr)
            z.writestr(f"{name}.npy", buf.getvalue())


def test_npz_headers_are_checked_before_any_array_is_allocated(tmp_path, small_memory):
    # 4 GB declared, a few bytes held: refused from the header alone, whatever the memory limit
    lying = tmp_path / "lying.npz"
    _npz_with_header(lying, "layer0_weights", (65536, 65536), "|i1", b"\x01" * 16,
                     format_version=np.int64(1))
    with pytest.raises(NetworkError, match=r"lying.npz: 'layer0_weights' declares shape \(65536, 65536\) "
                                           r"of int8 \(4.3 GB\) but holds 16 B of data"):
        load_network(lying)
    # an honest 4 MB array above a 1 MB limit: refused before it is read
    honest = tmp_path / "honest.npz"
    _npz_with_header(honest, "layer0_weights", (2048, 2048), "|i1", b"\x01" * 2048 * 2048)
    with pytest.raises(NetworkError, match=r"honest.npz: its arrays needs about 8.4 MB, above the memory "
                                           r"limit of 1.0 MB"):
        load_network(honest)
    data = tmp_path / "data.npz"
    _npz_with_header(data, "x_packed", (2**20, 98), "|u1", b"")
    with pytest.raises(DataError, match=r"data.npz: 'x_packed' declares shape"):
        load_dataset(data)


def test_idx_headers_are_checked_before_the_data_is_read(tmp_path, small_memory):
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 60000, 28, 28)
    (tmp_path / "t-images-idx3-ubyte").write_bytes(header + b"\0" * 100)
    with pytest.raises(DataError, match=r"truncated IDX data: 100 bytes for shape \(60000, 28, 28\)"):
        load_idx(tmp_path / "t-images-idx3-ubyte")
    huge = bytes([0, 0, 0x0E, 2]) + struct.pack(">II", 2**31, 2**31)
    (tmp_path / "h-images-idx3-ubyte.gz").write_bytes(gzip.compress(huge + b"\0" * 1000))
    with pytest.raises(DataError, match=r"IDX array of shape \(2147483648, 2147483648\) .* memory limit"):
        load_idx(tmp_path / "h-images-idx3-ubyte.gz")
    # a well-formed set whose loaded images would not fit: refused before the file is read
    folder = tmp_path / "big"
    _idx_pair(folder, np.zeros(200, dtype=np.uint8), n_features=784)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: images needs about 2.2 MB, above the "
                                        r"memory limit of 1.0 MB"):
        load_dataset(folder)
    # a gzip bomb behind a small header: the trailing bytes are found without inflating them all
    small = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 4)
    (tmp_path / "b-labels-idx1-ubyte.gz").write_bytes(gzip.compress(small + b"\1" * 4 + b"\0" * 2**24))
    with pytest.raises(DataError, match=r"65536 or more bytes after the IDX data"):
        load_idx(tmp_path / "b-labels-idx1-ubyte.gz")


# --------------------------------------------------------------------------------------- networks


def _arrays(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.update(format_version=np.float64(1.7)), r"format_version 1.7 \(float64\): this accelsim "
                                                         r"reads the integer versions 1, 2"),
    (lambda d: d.update(format_version=np.float64(1.0)), r"format_version 1.0 \(float64\)"),
    (lambda d: d.update(format_version=np.str_("1")), r"format_version '1'"),
    (lambda d: d.update(format_version=np.array([1, 2])), r"format_version an array of shape \(2,\)"),
    (lambda d: d.update(n_layers=np.float64(3.0)), r"'n_layers' is 3.0 \(float64\), expected an integer"),
    (lambda d: d.update(n_layers=np.int64(10**9)), r"'n_layers' is 1000000000 .* from 1 to 10000"),
    (lambda d: d.update(input_threshold=np.array([0.5, 0.5])), r"'input_threshold' is an array"),
    (lambda d: d.update(input_threshold=np.float64(np.nan)), r"'input_threshold' is nan"),
    (lambda d: d.update(layer0_weights=d["layer0_weights"] * 1j), r"must be \+1/-1 only"),
    (lambda d: d.update(layer0_threshold=d["layer0_threshold"] + 0j),
     r"'layer0_threshold' must hold finite real"),
    (lambda d: d.update(test_y=d["test_y"] + 10), r"test_y holds label 1[0-3], but the network outputs 4 "
                                                  r"classes \(labels 0 to 3\)"),
    (lambda d: d.update(test_y=d["test_y"].astype(np.float64)),
     r"test_y is float64 \(64,\), expected integer"),
    (lambda d: d.update(dataset=np.arange(3)), r"'dataset' is int64 \(3,\), expected a text scalar"),
    (lambda d: d.update(layer2_weights=d["layer2_weights"][:0], layer2_scale=d["layer2_scale"][:0],
                        layer2_shift=d["layer2_shift"][:0]), r"layer2_weights has shape \(0, 9\), expected"),
    (lambda d: d.update(test_x_packed=d["test_x_packed"][:0], test_y=d["test_y"][:0]),
     r"the bundled test set is empty"),
])
def test_bad_network_scalars_are_refused(tmp_path, rng, edit, match):
    save_network(tmp_path / "n.npz", make_tiny_network(rng))
    data = _arrays(tmp_path / "n.npz")
    edit(data)
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(NetworkError, match=match) as exc:
        load_network(tmp_path / "bad.npz")
    _one_line(exc)


def test_unreadable_network_files_are_one_line(tmp_path, rng):
    good = tmp_path / "n.npz"
    save_network(good, make_tiny_network(rng))
    raw = good.read_bytes()
    cases = {
        "truncated.npz": raw[: len(raw) // 2],
        "notzip.npz": b"PK\x03\x04 but not really a zip archive",
        "text.npz": b"format_version: 1\n",
        "empty.npz": b"",
    }
    buf = io.BytesIO()
    np.save(buf, np.arange(3))
    cases["plain.npy.npz"] = buf.getvalue()
    corrupt = bytearray(raw)
    for i in range(60, len(corrupt) - 200, 97):
        corrupt[i] ^= 0xFF
    cases["corrupt.npz"] = bytes(corrupt)
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(NetworkError, match=rf"{name}: ") as exc:
            load_network(tmp_path / name)
        _one_line(exc)
    with zipfile.ZipFile(tmp_path / "pickle.npz", "w") as z:
        obj = io.BytesIO()
        np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        z.writestr("format_version.npy", obj.getvalue())
    with pytest.raises(NetworkError, match=r"'format_version' holds Python objects"):
        load_network(tmp_path / "pickle.npz")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(NetworkError, match=r"member 'readme.txt' is not a .npy array"):
        load_network(tmp_path / "other.npz")


def test_shipped_networks_still_load():
    for path in sorted((ROOT / "workloads").glob("*.npz")):
        if path.stem in ("mnist_test", "fashion_test"):
            assert load_dataset(path).n_images > 0
        else:
            net = load_network(path)
            assert bundled_workload(net).n_images == len(net.test_y)


# ----------------------------------------------------------------------------------- labels, data


def _idx_pair(folder: Path, labels: np.ndarray, n_features: int = 20) -> Path:
    folder.mkdir(exist_ok=True)
    images = np.random.default_rng(0).integers(0, 256, (len(labels), n_features), dtype=np.uint8)
    save_idx(folder / "t10k-images-idx3-ubyte", images)
    save_idx(folder / "t10k-labels-idx1-ubyte", labels.astype(np.uint8))
    return folder / "t10k-images-idx3-ubyte"


def test_labels_the_network_cannot_output_are_refused(tmp_path, rng):
    net = make_tiny_network(rng)  # 20 inputs, 4 classes
    ok = _idx_pair(tmp_path / "ok", np.array([0, 1, 2, 3, 3]))
    assert load_workload(net, ok).n_images == 5
    empty = _idx_pair(tmp_path / "empty", np.zeros(0, dtype=np.uint8))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: no images: a run needs at least one"):
        load_workload(net, empty)
    bad = _idx_pair(tmp_path / "bad", np.array([0, 1, 7, 3, 9]))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: label 9 \(2 of 5 images\) is not a class "
                                        r"of the network, which outputs 4 classes \(labels 0 to 3\)"):
        load_workload(net, bad)
    binarized = tmp_path / "bin.npz"
    ds = Dataset(name="d", x=np.zeros((3, 20), dtype=np.float32), y=np.array([0, 4, 1]), binarized=False,
                 threshold=None, source="test")
    save_binarized(binarized, ds, 0.5, "test")
    with pytest.raises(DataError, match=r"bin.npz: label 4 \(1 of 3 images\)"):
        load_workload(net, binarized)


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_refusals_exit_2_with_one_line_and_write_nothing(tmp_path, tiny_net_path, capsys):
    gamma = write_yaml(tmp_path, GAMMA, "gamma.yaml")
    out = tmp_path / "out"
    cases = [
        ["run", "--arch", str(gamma), "--net", str(tiny_net_path), "--set", "write.ber=0.5"],
        ["run", "--arch", str(gamma), "--net", str(tiny_net_path), "--set", "tile.rows=1000000000"],
        ["sweep", str(_spec(tmp_path, "grid: {}\n"))],
        ["sweep", str(_spec(tmp_path, "", name="dotdot.yaml").with_name("dotdot.yaml"))],
    ]
    (tmp_path / "dotdot.yaml").write_text((tmp_path / "dotdot.yaml").read_text().replace("name: s",
                                                                                        "name: ../../x"))
    for args in cases:
        code = main([*args, "--out", str(out / "x.csv" if args[0] == "sweep" else out)])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert err.count("\n") == 1 and "Traceback" not in err
        assert not out.exists()


# ----------------------------------------------------------------------- property-based: mutations

_TINY_NET = make_tiny_network(np.random.default_rng(3), shape=(20, 12, 4), n_test=8)
_NET_ARRAYS = network_arrays(_TINY_NET)

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.builds(lambda x, u: f"{x} {u}", st.floats(allow_nan=False, allow_infinity=True),
              st.sampled_from(["ns", "s", "V", "uA", "kOhm", "years", "GHz", "nm", "m^2", "x"])),
    st.sampled_from(["gamma", "fokker_planck", "constant_ber", "device", "ideal", "differential",
                     "muench-delta40", "muench-delta60", "hirtzlin-32nm", "locatelli2018", "n28"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=6)


def _paths(data, prefix=()):
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(data, draw):
    """Drop a key, replace a value with a random one, or add a random key, at a random place."""
    paths = _paths(data)
    path = draw(st.sampled_from(paths))
    node = data
    for part in path[:-1]:
        node = node[part]
    action = draw(st.sampled_from(["drop", "replace", "add"]))
    if action == "drop" and isinstance(node, dict):
        del node[path[-1]]
    elif action == "add" and isinstance(node, dict):
        node[draw(st.text(max_size=8))] = draw(_values)
    else:
        node[path[-1]] = draw(_values)


@st.composite
def _mutated_config(draw):
    data = yaml.safe_load(draw(st.sampled_from([TINY_ARCH, GAMMA])))
    for _ in range(draw(st.integers(1, 3))):
        if data:
            _mutate(data, draw)
    return data


def _within(call, *args):
    """The call's result, or None if it raised an AccelsimError (anything else fails the test)."""
    try:
        return call(*args)
    except AccelsimError as exc:
        assert "\n" not in str(exc)
        return None


_FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(data=_mutated_config(), overrides=st.lists(st.text(max_size=20), max_size=2))
def test_mutated_configs_load_and_build_or_raise_accelsim_errors(data, overrides):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "arch.yaml"
        path.write_text(yaml.safe_dump(data))
        arch = _within(load_arch, path, overrides)
        if arch is not None:
            maps = map_network(_TINY_NET, arch)
            chip = _within(build_chip, arch, maps)
            if chip is not None:
                assert math.isfinite(chip.area_m2) and chip.area_m2 > 0


_dtypes = st.sampled_from([np.int8, np.int64, np.uint8, np.float64, np.float32, np.bool_, np.complex128,
                           "<U3", "S2"])


@st.composite
def _random_array(draw):
    dtype = np.dtype(draw(_dtypes))
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=3)))
    n = math.prod(shape)
    raw = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    if dtype.kind in "US":
        return np.array([str(v) for v in raw], dtype=dtype).reshape(shape)
    return np.array(raw).astype(dtype).reshape(shape)


@st.composite
def _mutated_network(draw):
    arrays = dict(_NET_ARRAYS)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(arrays)))
        action = draw(st.sampled_from(["drop", "replace", "retype", "reshape"]))
        if action == "drop":
            arrays.pop(key)
        elif action == "replace":
            arrays[key] = draw(_random_array())
        elif action == "retype" and arrays[key].dtype.kind not in "US":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # complex -> real drops the imaginary part, as wanted
                arrays[key] = arrays[key].astype(draw(_dtypes))
        elif action == "reshape":
            arrays[key] = arrays[key].reshape(-1)[: draw(st.integers(0, 5))]
        if not arrays:
            break
    return arrays


@_FAST
@given(arrays=_mutated_network())
def test_mutated_networks_load_or_raise_network_errors(arrays):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.npz"
        np.savez(path, **arrays)
        net = _within(load_network, path)
        if net is not None:
            arch = load_arch(ROOT / "arch_configs" / "weight_ber.yaml", ["tile.rows=7", "tile.cols=5"])
            chip = build_chip(arch, map_network(net, arch))
            assert chip.area_m2 > 0


@_FAST
@given(cut=st.integers(0, 10**6), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)),
                                                  max_size=4))
def test_corrupted_network_bytes_load_or_raise_network_errors(cut, flips):
    buf = io.BytesIO()
    np.savez(buf, **_NET_ARRAYS)
    raw = bytearray(buf.getvalue())
    for pos, xor in flips:
        raw[pos % len(raw)] ^= xor
    raw = raw[: len(raw) - cut % (len(raw) + 1) // 2] if cut % 3 == 0 else raw
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.npz"
        path.write_bytes(bytes(raw))
        _within(load_network, path)


_IMAGES = np.arange(5 * 4 * 4, dtype=np.uint8).reshape(5, 4, 4)
_LABELS = np.array([0, 1, 2, 1, 0], dtype=np.uint8)


@_FAST
@given(which=st.sampled_from(["images", "labels"]), gz=st.booleans(), cut=st.integers(0, 200),
       flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=3),
       extra=st.binary(max_size=4))
def test_corrupted_idx_files_load_or_raise_data_errors(which, gz, cut, flips, extra):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        suffix = ".gz" if gz else ""
        paths = {"images": folder / f"t10k-images-idx3-ubyte{suffix}",
                 "labels": folder / f"t10k-labels-idx1-ubyte{suffix}"}
        save_idx(paths["images"], _IMAGES)
        save_idx(paths["labels"], _LABELS)
        payload = bytearray(gzip.decompress(paths[which].read_bytes()) if gz else paths[which].read_bytes())
        for pos, value in flips:
            payload[pos % len(payload)] = value
        payload = payload[: len(payload) - cut % (len(payload) + 1)] + extra
        paths[which].write_bytes(gzip.compress(bytes(payload)) if gz else bytes(payload))
        ds = _within(load_dataset, folder)
        if ds is not None:
            assert ds.n_images == len(ds.y)


@_FAST
@given(images=st.tuples(st.sampled_from([0x08, 0x09, 0x0B, 0x0D]), st.lists(st.integers(0, 4), min_size=1,
                                                                          max_size=4)),
       labels=st.tuples(st.sampled_from([0x08, 0x0C]), st.lists(st.integers(0, 4), min_size=1, max_size=2)),
       fill=st.integers(0, 255))
def test_well_formed_idx_files_of_any_shape_load_or_raise_data_errors(images, labels, fill):
    """Headers consistent with their data, but any type, rank and size (empty sets included)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind, (code, shape) in (("images", images), ("labels", labels)):
            itemsize = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4}[code]
            header = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
            nd = 3 if kind == "images" else 1
            (folder / f"t10k-{kind}-idx{nd}-ubyte").write_bytes(
                header + bytes([fill]) * (math.prod(shape) * itemsize))
        ds = _within(load_dataset, folder)
        if ds is not None:
            assert ds.x.shape == (images[1][0], math.prod(images[1][1:])) and ds.y.shape == (labels[1][0],)


@st.composite
def _mutated_spec(draw):
    if draw(st.booleans()):
        spec = {"name": "s", "arch": "tiny.yaml", "net": "tiny.npz", "repeats": 2, "seeds": [0, 1],
                "set": {"write.ber": 0.01}, "grid": {"tile.rows": [4, 9], "retention.horizon": ["1 year"]},
                "zip": {"tile.cols": [5, 6], "mapping.convention": ["plus_one_ap", "plus_one_p"]}}
    else:
        spec = {"name": "d", "measure": "device", "arch": "gamma.yaml", "seeds": [0],
                "device": {"quantities": ["write", "cost"], "devices": 3, "polarity": "p_to_ap"},
                "grid": {"target_wer": [1e-3, 1e-2], "write.t_pulse": ["5 ns"]}}
    for _ in range(draw(st.integers(1, 3))):
        if spec:
            _mutate(spec, draw)
    return spec


@_FAST
@given(spec=_mutated_spec())
def test_mutated_sweep_specs_load_or_raise_accelsim_errors(spec):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "tiny.yaml").write_text(TINY_ARCH)
        (folder / "gamma.yaml").write_text(GAMMA)
        save_network(folder / "tiny.npz", _TINY_NET)
        path = folder / "spec.yaml"
        path.write_text(yaml.safe_dump(spec))
        loaded = _within(load_spec, path)
        if loaded is not None:
            assert len(expand(loaded)) >= 1
