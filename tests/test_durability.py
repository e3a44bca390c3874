"""Outputs survive kills: real ``accelsim run`` / ``accelsim sweep`` processes are SIGKILLed at random
moments; a run's files are then all there (and equal an uninterrupted run's) or none are, and a killed
sweep resumes to the uninterrupted sweep's CSV byte for byte. Also: a failed write leaves no partial
set, resume refuses another spec's CSV, a second sweep on the same output is refused (exit 2), and the
JSON report records the library versions."""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_ARCH, make_tiny_network

from accelsim.network import save_network
from accelsim.outputs import OutputError, OutputSet, atomic_write_text
from accelsim.sweeps import load_spec, run_sweep, spec_record_path, timeline_path

RUN_FILES = ("r.csv", "r_timeline.csv", "r.json", "r_trace.csv")
SPEC = """\
name: k
arch: tiny.yaml
net: tiny.npz
repeats: 2
grid:
  tile.rows: [4, 9]
  write.ber: [0.0, 0.05, 0.1]
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A directory with tiny.yaml, tiny.npz and spec.yaml (12 sweep tasks)."""
    root = tmp_path_factory.mktemp("durability")
    (root / "tiny.yaml").write_text(TINY_ARCH)
    save_network(root / "tiny.npz", make_tiny_network(np.random.default_rng(1234)))
    (root / "spec.yaml").write_text(SPEC)
    return root


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_process_left():
    """A failing test still ends the processes it started."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _accelsim(*args: str, cwd: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "accelsim.cli", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _STARTED.append(proc)
    return proc


def _run_args(out: Path, seed: int) -> list[str]:
    out.mkdir(exist_ok=True)
    return ["run", "--arch", "tiny.yaml", "--net", "tiny.npz", "--out", str(out), "--name", "r",
            "--seed", str(seed), "--repeats", "2", "--trace", str(out / "r_trace.csv"), "--quiet"]


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def _wait_for(predicate, proc: subprocess.Popen, timeout_s: float = 60.0) -> bool:
    """Poll until ``predicate()`` or the process ends; True if the predicate came true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return predicate()
        time.sleep(0.001)
    raise AssertionError("timed out")


def _contents(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in RUN_FILES if (directory / name).exists()}


@pytest.fixture(scope="module")
def reference_runs(inputs) -> tuple[dict[str, bytes], dict[str, bytes], float]:
    """Uninterrupted runs with seeds 0 and 1 (same run name) and the wall time of the second (the
    first may have compiled the kernels into numba's cache)."""
    _finish(_accelsim(*_run_args(inputs / "ref1", 1), cwd=inputs))
    started = time.monotonic()
    _finish(_accelsim(*_run_args(inputs / "ref0", 0), cwd=inputs))
    wall_s = time.monotonic() - started
    new, old = _contents(inputs / "ref0"), _contents(inputs / "ref1")
    assert set(new) == set(old) == set(RUN_FILES) and new["r.csv"] != old["r.csv"]
    return new, old, wall_s


def test_a_killed_run_leaves_all_its_files_or_none(inputs, reference_runs):
    new, old, wall_s = reference_runs
    rng = random.Random(13)
    # (an older run's set already there?, kill as soon as the directory changes?)
    tries = [(False, False), (True, True), (False, True), (True, False), (False, True), (True, True)]
    for k, (over_old, at_first_change) in enumerate(tries):
        out = inputs / f"kill{k}"
        out.mkdir()
        previous = old if over_old else {}
        for name, data in previous.items():
            (out / name).write_bytes(data)
        proc = _accelsim(*_run_args(out, 0), cwd=inputs)
        if at_first_change:  # in the middle of the writes: as soon as the directory changes in any way
            _wait_for(lambda out=out, before=previous: (set(os.listdir(out)) != set(before)
                                                        or _contents(out) != before), proc)
            time.sleep(rng.uniform(0.0, 0.002))
        else:  # at a random moment around the end of the run, where the writes are
            time.sleep(rng.uniform(0.5, 1.1) * wall_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        found = _contents(out)
        assert found in (new, previous), f"try {k}: a mixed or partial set: {sorted(found)}"
        if found:  # and they parse
            assert len(pd.read_csv(out / "r.csv")) == 1 and len(pd.read_csv(out / "r_timeline.csv")) > 1
            assert json.loads(found["r.json"])["summary"]["run_id"] == "r"
            assert list(pd.read_csv(out / "r_trace.csv").columns) == ["time_cycle", "tile", "activity",
                                                                      "images"]
        # nothing else but, possibly, the killed writer's hidden temporaries
        assert all(name in RUN_FILES or name.startswith(tuple(f".{n}.tmp-" for n in RUN_FILES))
                   for name in os.listdir(out))


def test_a_failed_write_leaves_the_previous_set_and_no_temporaries(tmp_path):
    for name in ("a.csv", "b.json"):
        (tmp_path / name).write_text("old\n")

    def full_disk(fh):
        fh.write(b"half of it")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OutputError, match=r"b\.json: cannot write \(No space left on device\)"):
        with OutputSet() as files:
            files.write_text(tmp_path / "a.csv", "new\n")
            files.write(tmp_path / "b.json", full_disk)
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.json"]
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.json").read_text() == "old\n"
    # a target that is a directory is refused before anything is renamed
    (tmp_path / "c.csv").mkdir()
    with pytest.raises(OutputError, match=r"c\.csv: is a directory"):
        with OutputSet() as files:
            files.write_text(tmp_path / "a.csv", "new\n")
            files.write_text(tmp_path / "c.csv", "new\n")
    assert (tmp_path / "a.csv").read_text() == "old\n" and sorted(os.listdir(tmp_path)) == [
        "a.csv", "b.json", "c.csv"]
    # a temporary left by a killed writer is removed by the next write of that file
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (tmp_path / f".a.csv.tmp-{dead}-0000").write_text("torn")
    atomic_write_text(tmp_path / "a.csv", "newer\n")
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.json", "c.csv"]
    assert (tmp_path / "a.csv").read_text() == "newer\n"


def test_the_json_report_records_the_library_versions(reference_runs):
    import numba
    import scipy
    import simpy

    import accelsim

    versions = json.loads(reference_runs[0]["r.json"])["versions"]
    assert versions == {"accelsim": accelsim.__version__, "numpy": np.__version__,
                        "numba": numba.__version__, "scipy": scipy.__version__,
                        "simpy": simpy.__version__, "pandas": pd.__version__}


@pytest.fixture(scope="module")
def reference_sweep(inputs) -> Path:
    """The uninterrupted sweep of spec.yaml."""
    ref = inputs / "sweep_ref" / "s.csv"
    run_sweep(load_spec(inputs / "spec.yaml"), ref, progress=False)
    return ref


def test_a_killed_sweep_resumes_to_the_uninterrupted_csv(inputs, reference_sweep):
    spec, ref = load_spec(inputs / "spec.yaml"), reference_sweep
    rng = random.Random(7)
    for k in range(4):
        cut = inputs / f"sweep_kill{k}" / "s.csv"
        proc = _accelsim("sweep", "spec.yaml", "--out", str(cut), "--workers", "1", "--quiet", cwd=inputs)
        if k:  # kill while rows stream in (try 0: at the first sign of the sweep, before any row)
            _wait_for(lambda cut=cut: cut.exists() and cut.stat().st_size > 0, proc)
            time.sleep(rng.uniform(0.0, 0.8))
        else:
            _wait_for(lambda cut=cut: spec_record_path(cut).exists(), proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        run_sweep(spec, cut, resume=True, progress=False)
        assert cut.read_bytes() == ref.read_bytes(), f"try {k}"
        assert timeline_path(cut).read_bytes() == timeline_path(ref).read_bytes(), f"try {k}"
        assert not cut.with_name("s.csv.lock").exists()


def test_resume_with_another_spec_is_refused_on_one_line(inputs, reference_sweep, tmp_path):
    out = tmp_path / "s.csv"
    for path in (reference_sweep, spec_record_path(reference_sweep)):
        shutil.copy(path, tmp_path / path.name)
    kept = out.read_bytes()
    (inputs / "other.yaml").write_text(SPEC.replace("[4, 9]", "[4, 8]"))
    proc = _accelsim("sweep", "other.yaml", "--out", str(out), "--resume", "--quiet", cwd=inputs)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "another spec or other input files wrote it" in err, err
    assert out.read_bytes() == kept


def test_a_second_sweep_on_the_same_out_exits_2_and_the_first_completes(inputs, reference_sweep,
                                                                         tmp_path):
    out, ref = tmp_path / "s.csv", reference_sweep
    first = _accelsim("sweep", "spec.yaml", "--out", str(out), "--workers", "1", "--quiet", cwd=inputs)
    _wait_for(lambda: spec_record_path(out).exists(), first)
    first.send_signal(signal.SIGSTOP)  # holds the lock while the second one starts
    try:
        second = _accelsim("sweep", "spec.yaml", "--out", str(out), "--workers", "1", "--quiet",
                           cwd=inputs)
        _, err = second.communicate(timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, err
    assert err.count("\n") == 1 and f"in use by another accelsim process (pid {first.pid}" in err, err
    _finish(first)
    assert out.read_bytes() == ref.read_bytes()  # each row once
    assert timeline_path(out).read_bytes() == timeline_path(ref).read_bytes()


def test_resuming_a_finished_sweep_reruns_nothing_and_changes_nothing(inputs, reference_sweep, tmp_path,
                                                                      monkeypatch):
    import accelsim.sweeps

    out = tmp_path / "s.csv"
    for path in (reference_sweep, timeline_path(reference_sweep), spec_record_path(reference_sweep)):
        shutil.copy(path, tmp_path / path.name)
    before = out.read_bytes(), timeline_path(out).read_bytes()

    def no_task(*args):
        raise AssertionError("a finished task was run again")

    monkeypatch.setattr(accelsim.sweeps, "run_task", no_task)
    run_sweep(load_spec(inputs / "spec.yaml"), out, resume=True, progress=False)
    assert (out.read_bytes(), timeline_path(out).read_bytes()) == before
