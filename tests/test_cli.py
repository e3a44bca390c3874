"""The command line on tiny inputs: outputs, determinism, and one-line errors with exit code 2."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_ARCH, write_yaml

from accelsim import __version__
from accelsim.cli import main
from accelsim.errors import UsageError
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


# --- edge errors: one line on stderr, exit 2, found before any simulation, nothing written --------


def _one_error_line(code, out, err, match):
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("accelsim: error: "), err
    assert re.search(match, err), err


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a simulation starts (the checks must come first)."""
    import accelsim.simulate

    def simulate(*args, **kwargs):
        raise AssertionError("simulate() was called before the bad option was reported")

    monkeypatch.setattr(accelsim.simulate, "simulate", simulate)


def _contents(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("case, match", [
    ("out_is_file", r"--out .*taken: is a file, expected a directory"),
    ("out_under_file", r"--out .*taken/sub: .*taken is a file, not a directory"),
    ("trace_is_dir", r"--trace .*tracedir: is a directory, expected a file name"),
    ("trace_dir_missing", r"--trace .*nowhere/t\.csv: directory .*nowhere does not exist"),
    ("trace_under_file", r"--trace .*taken/t\.csv: .*taken is a file, not a directory"),
])
def test_bad_output_paths_stop_run_before_simulating(tmp_path, tiny_arch_path, tiny_net_path, capsys,
                                                     no_simulation, case, match):
    (tmp_path / "taken").write_text("keep me")
    (tmp_path / "tracedir").mkdir()
    out_dir, extra = tmp_path / "out", []
    if case == "out_is_file":
        out_dir = tmp_path / "taken"
    elif case == "out_under_file":
        out_dir = tmp_path / "taken" / "sub"
    elif case == "trace_is_dir":
        extra = ["--trace", str(tmp_path / "tracedir")]
    elif case == "trace_dir_missing":
        extra = ["--trace", str(tmp_path / "nowhere" / "t.csv")]
    elif case == "trace_under_file":
        extra = ["--trace", str(tmp_path / "taken" / "t.csv")]
    before = _contents(tmp_path)
    code, out, err = _run(["run", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path),
                           "--out", str(out_dir), *extra], capsys)
    _one_error_line(code, out, err, match)
    assert _contents(tmp_path) == before and (tmp_path / "taken").read_text() == "keep me"


def test_reproduce_out_that_is_a_file_runs_nothing(tmp_path, capsys, monkeypatch):
    import accelsim.reproduce.registry as registry

    monkeypatch.setattr(registry, "load_target", lambda name: pytest.fail("a target was loaded"))
    (tmp_path / "taken").write_text("")
    code, out, err = _run(["reproduce", "munch-area", "--out", str(tmp_path / "taken")], capsys)
    _one_error_line(code, out, err, r"--out .*taken: is a file, expected a directory")
    code, out, err = _run(["reproduce", "all", "munch-area", "--out", str(tmp_path / "r")], capsys)
    _one_error_line(code, out, err, r"give 'all' alone or target names, not both")
    code, out, err = _run(["reproduce", "munch-area", "no-such-target", "--out", str(tmp_path / "r")],
                          capsys)
    _one_error_line(code, out, err, r"unknown reproduction target\(s\) no-such-target; known: .*munch-area")
    assert _contents(tmp_path) == ["taken"]


def test_reproduce_reports_progress_on_stderr(tmp_path, capsys, monkeypatch):
    from accelsim.reproduce.registry import CATALOG, TARGETS, Comparison, Target, TargetInfo

    def run(out_dir, quick, seed):
        (out_dir / "fake.csv").write_text("x\n1\n")
        return [Comparison(quantity="answer", paper="42", ours=f"{40 + seed}")]

    info = TargetInfo(name="fake", module="accelsim.errors", paper="none.txt", summary="a fake target")
    monkeypatch.setitem(CATALOG, "fake", info)
    monkeypatch.setitem(TARGETS, "fake", Target(name="fake", paper="none.txt", summary="a fake target",
                                                run=run))
    code, out, err = _run(["reproduce", "fake", "fake", "--seed", "2", "--out", str(tmp_path / "r")],
                          capsys)
    assert code == 0
    lines = err.splitlines()
    assert len(lines) == 5 and lines[0].startswith("[1/2] fake: running")
    assert re.fullmatch(r"\[1/2\] fake: done in \d+\.\d s", lines[1])
    assert re.fullmatch(r"\[2/2\] fake: running \(\d+\.\d s so far\)", lines[2])
    assert re.fullmatch(r"2 targets done in \d+\.\d s", lines[4])
    assert out.count("== fake: a fake target [none.txt]\n") == 2
    assert "running" not in out and "done in" not in out  # progress stays off stdout
    table = pd.read_csv(tmp_path / "r" / "fake_comparison.csv")
    assert table.to_dict("records") == [{"quantity": "answer", "paper": 42, "accelsim": 42}]


def test_a_long_reproduction_says_it_is_still_running(tmp_path, capsys, monkeypatch):
    import time

    import accelsim.cli
    from accelsim.reproduce.registry import CATALOG, TARGETS, Comparison, Target, TargetInfo

    def run(out_dir, quick, seed):
        time.sleep(1.0)
        return [Comparison(quantity="q", paper="1", ours="1")]

    monkeypatch.setattr(accelsim.cli, "HEARTBEAT_S", 0.1)
    monkeypatch.setitem(CATALOG, "slow", TargetInfo(name="slow", module="accelsim.errors", paper="p",
                                                    summary="s"))
    monkeypatch.setitem(TARGETS, "slow", Target(name="slow", paper="p", summary="s", run=run))
    code, out, err = _run(["reproduce", "slow", "--out", str(tmp_path)], capsys)
    lines = err.splitlines()
    beats = [line for line in lines if "still running" in line]
    assert code == 0 and 1 <= len(beats) <= 10
    assert all(re.fullmatch(r"\[1/1\] slow: still running \(\d+\.\d s\)", b) for b in beats)
    assert lines[0].startswith("[1/1] slow: running") and lines[-1].startswith("[1/1] slow: done in")


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sweep_with_an_unreachable_scheduler_stops_at_once(tmp_path, tiny_arch_path, tiny_net_path,
                                                           capsys, no_simulation):
    import time

    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: t\narch: {tiny_arch_path.name}\nnet: {tiny_net_path.name}\n"
                    "grid:\n  write.ber: [0.0, 0.1]\n")
    address = f"tcp://127.0.0.1:{_free_port()}"
    before = _contents(tmp_path)
    started = time.monotonic()
    code, out, err = _run(["sweep", str(spec), "--scheduler", address, "--out", str(tmp_path / "s.csv")],
                          capsys)
    assert time.monotonic() - started < 10
    _one_error_line(code, out, err, re.escape(f"--scheduler {address}: no Dask scheduler reachable at "
                                              f"127.0.0.1:{address.rsplit(':', 1)[1]}"))
    for bad in ("garbage", "tcp://host", "tcp://host:99999", "http://h:1"):
        code, out, err = _run(["sweep", str(spec), "--scheduler", bad], capsys)
        _one_error_line(code, out, err, "expected a Dask scheduler address tcp://HOST:PORT")
    assert _contents(tmp_path) == before


def test_a_listening_scheduler_address_passes_the_check():
    import socket

    from accelsim.cli import check_scheduler

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        check_scheduler(f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout_s=2.0)  # no error
    with pytest.raises(UsageError, match="no Dask scheduler reachable"):
        check_scheduler(f"127.0.0.1:{_free_port()}", timeout_s=2.0)


PLOT_CSV = "key,arch,accuracy,note,blank\n1,a,0.5,x,\n1,a,0.7,y,\n2,b,0.9,z,\n"


@pytest.mark.parametrize("case, args, match", [
    ("text_y", ["--x", "key", "--y", "note"], r"--y note: expected a numeric column, found 'x'"),
    ("missing_column", ["--x", "key", "--y", "energy"], r"no column 'energy'; columns: key, arch"),
    ("text_y_with_numbers", ["--x", "key", "--y", "arch"], r"--y arch: expected a numeric column, found 'a'"),
    ("x_is_hue", ["--x", "key", "--y", "accuracy", "--hue", "key"], r"--x and --hue are both 'key'"),
    ("x_is_y", ["--x", "accuracy", "--y", "accuracy"], r"--x and --y are both 'accuracy'"),
    ("log_text_x", ["--x", "arch", "--y", "accuracy", "--logx"], r"--logx: column arch has values"),
    ("bad_suffix", ["--x", "key", "--y", "accuracy", "--out", "{tmp}/p.xyz"],
     r"expected a file name ending in"),
    ("out_is_dir", ["--x", "key", "--y", "accuracy", "--out", "{tmp}/d.png"], r"d\.png: is a directory"),
    ("out_under_file", ["--x", "key", "--y", "accuracy", "--out", "{tmp}/t.csv/p.png"],
     r"t\.csv is a file, not a directory"),
    ("empty_csv", ["--x", "key", "--y", "accuracy"], r"empty\.csv: not a readable CSV table"),
    ("header_only", ["--x", "key", "--y", "accuracy"], r"head\.csv: the table has no rows"),
    ("binary_csv", ["--x", "key", "--y", "accuracy"], r"bin\.csv: not a readable CSV table"),
    ("csv_is_dir", ["--x", "key", "--y", "accuracy"], r"d\.png: not a file"),
    ("x_all_empty", ["--x", "blank", "--y", "accuracy"], r"no row has values in both blank and accuracy"),
])
def test_bad_plot_requests_give_one_line(tmp_path, capsys, case, args, match):
    (tmp_path / "t.csv").write_text(PLOT_CSV)
    (tmp_path / "d.png").mkdir()
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "head.csv").write_text("key,accuracy\n")
    (tmp_path / "bin.csv").write_bytes(bytes(range(128, 256)))
    csv = {"empty_csv": "empty.csv", "header_only": "head.csv", "binary_csv": "bin.csv",
           "csv_is_dir": "d.png"}.get(case, "t.csv")
    before = _contents(tmp_path)
    code, out, err = _run(["plot", str(tmp_path / csv), *(a.format(tmp=tmp_path) for a in args)], capsys)
    _one_error_line(code, out, err, match)
    assert _contents(tmp_path) == before


def test_plot_takes_a_text_x_axis_and_hue(tmp_path, capsys):
    (tmp_path / "t.csv").write_text(PLOT_CSV)
    code, out, err = _run(["plot", str(tmp_path / "t.csv"), "--x", "arch", "--y", "accuracy", "--hue",
                           "note", "--out", str(tmp_path / "fig" / "p.png")], capsys)
    assert code == 0 and err == ""
    assert _contents(tmp_path / "fig") == ["p.png", "p.svg"]
    assert (tmp_path / "fig" / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, err = _run(["plot", str(tmp_path / "t.csv"), "--x", "key", "--y", "accuracy",
                           "--out", str(tmp_path / "fig" / "q.svg")], capsys)  # the SVG is the figure
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'fig' / 'q.svg'}"
    assert (tmp_path / "fig" / "q.svg").read_text().lstrip().startswith("<?xml")


def test_device_out_that_is_a_directory(tmp_path, capsys):
    code, out, err = _run(["device", "wer-vs-t", "--points", "3", "--out", str(tmp_path)], capsys)
    _one_error_line(code, out, err, r"--out: .* is a directory, expected a CSV file name")
    with pytest.raises(SystemExit) as exc:
        main(["device", "energy-vs-wer", "--seed", "-1"])
    assert exc.value.code == 2 and "--seed: expected a non-negative integer" in capsys.readouterr().err


def test_requests_too_large_to_finish_are_refused(tmp_path, tiny_arch_path, tiny_net_path, capsys):
    code, out, err = _run(["device", "energy-vs-wer", "--n-devices", "2000000000"], capsys)
    _one_error_line(code, out, err, r"--n-devices: expected 1\.\.1000000, got 2000000000")
    code, out, err = _run(["inspect", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path),
                           "--images", str(10**20)], capsys)
    _one_error_line(code, out, err,
                    r"--images 100000000000000000000: at most 10,000,000 \(100,000 waves of 100\)")
    assert out == ""


def test_train_refuses_a_negative_seed_before_reading_data(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "n.npz"), "--seed", "-1"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "argument --seed: expected an integer >= 0, got '-1'" in err
    assert list(tmp_path.iterdir()) == []


def test_run_refuses_a_run_above_the_time_limit_before_any_work(tmp_path, tiny_arch_path, tiny_net_path,
                                                                 capsys, monkeypatch):
    monkeypatch.setenv("ACCELSIM_MAX_TIME", "1 s")
    out = tmp_path / "out"
    code, stdout, err = _run(["run", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path),
                              "--repeats", "1000000", "--out", str(out)], capsys)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and "ACCELSIM_MAX_TIME" in err and "1000000 repeat(s)" in err
    assert not out.exists()
