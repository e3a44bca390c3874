"""The command line on tiny inputs: outputs, determinism, and one-line errors with exit code 2."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_ARCH, write_yaml

from accelsim import __version__
from accelsim.cli import main
from accelsim.report import SUMMARY_COLUMNS


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out


def test_run_writes_csv_timeline_json_and_is_deterministic(tmp_path, tiny_arch_path, tiny_net_path, capsys):
    args = ["run", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path), "--seed", "4",
            "--repeats", "2", "--set", "write.ber=0.05"]
    code, out, err = _run([*args, "--out", str(tmp_path / "a")], capsys)
    assert code == 0 and err == ""
    assert "accuracy" in out and "tiny_tiny_seed4" in out
    row = pd.read_csv(tmp_path / "a" / "tiny_tiny_seed4.csv")
    assert tuple(row.columns) == SUMMARY_COLUMNS
    assert row.loc[0, "n_images"] == 64 and row.loc[0, "repeats"] == 2
    timeline = pd.read_csv(tmp_path / "a" / "tiny_tiny_seed4_timeline.csv")
    assert len(timeline) == 2 * (3 + 1)  # repeats x (programmed + 3 retention steps)
    doc = json.loads((tmp_path / "a" / "tiny_tiny_seed4.json").read_text())
    assert doc["summary"]["seed"] == 4 and doc["overrides"] == ["write.ber=0.05"]
    assert [layer["sensing_phases"] for layer in doc["layers"]] == [2] * len(doc["layers"])
    code, out, _ = _run([*args, "--out", str(tmp_path / "b"), "--quiet"], capsys)
    assert code == 0 and out == ""
    for name in ("tiny_tiny_seed4.csv", "tiny_tiny_seed4_timeline.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def _bad_net(tmp_path, tiny_net_path, **changes):
    with np.load(tiny_net_path) as z:
        data = {k: z[k] for k in z.files}
    data.update(changes)
    path = tmp_path / "bad.npz"
    np.savez(path, **data)
    return path


@pytest.mark.parametrize("case, match", [
    ("missing_arch", "no such file"),
    ("malformed_yaml", "malformed YAML"),
    ("unknown_key", "key 'tile.colour': unknown key"),
    ("negative_tau0", "key 'cells.weak.tau0': expected a positive quantity"),
    ("negative_override", "key 'retention.horizon': expected a non-negative quantity"),
    ("missing_net", "no such file"),
    ("wrong_weight_shape", "do not chain"),
    ("non_pm1_weights", r"must be \+1/-1 only"),
    ("wrong_input_size", "features, the network takes 20"),
    ("bad_set", "expected key=value"),
])
def test_bad_inputs_give_one_line_and_exit_2(tmp_path, tiny_arch_path, tiny_net_path, capsys, case, match):
    arch, net, extra = str(tiny_arch_path), str(tiny_net_path), []
    if case == "missing_arch":
        arch = str(tmp_path / "none.yaml")
    elif case == "malformed_yaml":
        arch = str(write_yaml(tmp_path, "name: [oops\n", "m.yaml"))
    elif case == "unknown_key":
        arch = str(write_yaml(tmp_path, TINY_ARCH.replace("  rows: 7", "  rows: 7\n  colour: red"), "u.yaml"))
    elif case == "negative_tau0":
        arch = str(write_yaml(tmp_path, TINY_ARCH.replace("tau0: 1 ns", "tau0: -1 ns", 1), "n.yaml"))
    elif case == "negative_override":
        extra = ["--set", "retention.horizon=-3 years"]
    elif case == "missing_net":
        net = str(tmp_path / "none.npz")
    elif case == "wrong_weight_shape":
        net = str(_bad_net(tmp_path, tiny_net_path, layer1_weights=np.ones((9, 5), np.int8)))
    elif case == "non_pm1_weights":
        net = str(_bad_net(tmp_path, tiny_net_path, layer0_weights=np.zeros((12, 20), np.int8)))
    elif case == "wrong_input_size":
        from conftest import ROOT

        from accelsim.data import load_dataset, save_binarized
        ds = load_dataset(ROOT / "workloads" / "mnist_test.npz")  # 784 features, not 20
        path = tmp_path / "d.npz"
        save_binarized(path, ds, 0.5, "test")
        extra = ["--data", str(path)]
    elif case == "bad_set":
        extra = ["--set", "tile.rows"]
    out_dir = tmp_path / "out"
    code, out, err = _run(["run", "--arch", arch, "--net", net, "--out", str(out_dir), *extra], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("accelsim: error: ")
    assert re.search(match, err)
    assert not out_dir.exists()


def test_trace_is_written(tmp_path, tiny_arch_path, tiny_net_path, capsys):
    trace = tmp_path / "trace.csv"
    code, _, _ = _run(["run", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path), "--quiet",
                       "--out", str(tmp_path / "o"), "--trace", str(trace),
                       "--set", "retention.horizon=0 s"], capsys)
    assert code == 0
    t = pd.read_csv(trace)
    assert list(t.columns) == ["time_cycle", "tile", "activity", "images"]
    assert {"program", "sense"} <= set(t.activity)
    row = pd.read_csv(tmp_path / "o" / "tiny_tiny_seed0.csv").iloc[0]
    assert (t[t.activity == "program"].time_cycle == 0).all()  # all tiles program in parallel
    assert t[t.activity == "sense"].time_cycle.min() >= row["cycles_program"]  # inference comes after


def test_a_unipolar_first_layer_shows_in_the_json(tmp_path, tiny_arch_path, tiny_net_path, capsys):
    args = ["run", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path), "--quiet",
            "--set", "mapping.input_encoding=unipolar", "--out", str(tmp_path)]
    code, _, err = _run(args, capsys)
    assert code == 0 and err == ""
    doc = json.loads(next(tmp_path.glob("*.json")).read_text())
    phases = [layer["sensing_phases"] for layer in doc["layers"]]
    assert phases[0] == 1 and set(phases[1:]) <= {2}
    assert doc["arch_config"]["mapping"]["input_encoding"] == "unipolar"
