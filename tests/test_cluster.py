"""Sweeps on a real Dask cluster: a ``dask scheduler`` and ``dask worker`` processes started here on
127.0.0.1, the workers in another working directory than the client, which runs ``accelsim sweep``
with relative spec paths. The CSV equals the in-process one byte for byte, also when a worker is
killed mid-sweep or the scheduler is killed and the sweep resumed against a new one; a dead address,
``--workers`` with ``--scheduler`` and a worker with other library versions are refused in one line;
a failing point is an error row. Also dask-jobqueue's job scripts (no batch system here)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, TINY_ARCH, make_tiny_network

from accelsim.errors import AccelsimError, UsageError
from accelsim.network import save_network
from accelsim.sweeps import errors_path, load_spec, run_sweep, spec_record_path, timeline_path

#: 16 runs (4 x 2 points, 2 repeats): long enough on a worker to kill something while they run.
SPEC = """\
name: c
arch: ../archs/tiny.yaml
net: ../archs/tiny.npz
repeats: 2
grid:
  write.ber: [0.0, 0.02, 0.05, 0.1]
  tile.rows: [4, 9]
"""
#: 2 points of 4 cannot be built (a write current no transistor of the node can drive): error rows.
FAILING = """\
name: f
arch: ../archs/tiny.yaml
net: ../archs/tiny.npz
repeats: 2
grid:
  write.ber: [0.0, 0.05]
  circuit.write_current_factor: [1.0, 50.0]
"""
#: A device sweep of an architecture on another technology node (n28: its file travels with the
#: tasks as well).
DEVICE = """\
name: d
measure: device
arch: ../archs/write_2vc.yaml
device:
  quantities: [write]
  devices: 200
grid:
  write.t_pulse: [8 ns, 20 ns]
"""
#: Seconds any wait of these tests may take before it fails the test.
WAIT_S = 60.0


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory) -> Path:
    """Where the client runs: ``specs/*.yaml`` naming ``../archs/`` files (relative paths)."""
    root = tmp_path_factory.mktemp("client")
    (root / "archs").mkdir()
    (root / "specs").mkdir()
    (root / "archs" / "tiny.yaml").write_text(TINY_ARCH)
    save_network(root / "archs" / "tiny.npz", make_tiny_network(np.random.default_rng(1234)))
    (root / "specs" / "c.yaml").write_text(SPEC)
    (root / "specs" / "f.yaml").write_text(FAILING)
    (root / "specs" / "d.yaml").write_text(DEVICE)
    shutil.copy(ROOT / "arch_configs" / "write_2vc.yaml", root / "archs" / "write_2vc.yaml")
    return root


@pytest.fixture(scope="module")
def reference(client_dir, tmp_path_factory) -> dict[str, Path]:
    """The in-process (``--workers 1``) CSVs of both specs."""
    out = tmp_path_factory.mktemp("reference")
    refs = {}
    for name in ("c", "f", "d"):
        refs[name] = out / f"{name}.csv"
        run_sweep(load_spec(client_dir / "specs" / f"{name}.yaml"), refs[name], workers=1, progress=False)
    return refs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Subprocesses of a test, each in its own process group; ``kill`` ends a group (a ``dask worker``
    is a nanny and its worker process), ``close`` ends all of them."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir, self.procs = log_dir, []

    def start(self, argv: list[str], cwd: Path) -> subprocess.Popen:
        log = open(self.log_dir / f"proc{len(self.procs)}.log", "wb")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        proc = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def scheduler(self, cwd: Path) -> tuple[subprocess.Popen, str]:
        port = _free_port()
        proc = self.start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                           "--port", str(port), "--no-dashboard"], cwd)
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, f"tcp://127.0.0.1:{port}"
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the scheduler did not start"
                time.sleep(0.1)

    def worker(self, address: str, cwd: Path, *extra: str) -> subprocess.Popen:
        return self.start([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                           "--no-dashboard", "--local-directory", str(cwd), *extra], cwd)

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=WAIT_S)

    def close(self) -> None:
        while self.procs:
            self.kill(self.procs.pop())


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """The workers' working directory: none of the client's files are there."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture
def procs(tmp_path):
    processes = Processes(tmp_path)
    yield processes
    processes.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, elsewhere):
    """A scheduler and two single-threaded workers, started in ``elsewhere``."""
    processes = Processes(tmp_path_factory.mktemp("cluster_logs"))
    try:
        _, address = processes.scheduler(elsewhere)
        workers = [processes.worker(address, elsewhere) for _ in range(2)]
        yield address, processes, workers
    finally:
        processes.close()


def _sweep(capsys, monkeypatch, cwd: Path, *args: str) -> tuple[int, str]:
    """``accelsim sweep ARGS --quiet`` run from ``cwd``: its exit status and stderr."""
    from accelsim.cli import main

    monkeypatch.chdir(cwd)
    capsys.readouterr()
    code = main(["sweep", *args, "--quiet"])
    return code, capsys.readouterr().err


def _kill_when_rows(path: Path, proc: subprocess.Popen) -> threading.Thread:
    """A thread that kills ``proc`` once ``path`` has a row (bounded wait)."""

    def watch() -> None:
        deadline = time.monotonic() + 2 * WAIT_S
        while not (path.exists() and path.read_text().count("\n") >= 2) and time.monotonic() < deadline:
            time.sleep(0.005)
        Processes.kill(proc)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _same(a: Path, b: Path) -> None:
    assert a.read_bytes() == b.read_bytes()
    assert timeline_path(a).read_bytes() == timeline_path(b).read_bytes()


def test_a_cluster_in_another_directory_gives_the_in_process_csv_from_relative_paths(
        client_dir, reference, cluster, capsys, monkeypatch):
    address, _, _ = cluster
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/c.yaml", "--scheduler", address,
                       "--out", "out/c.csv")
    assert code == 0, err
    _same(client_dir / "out" / "c.csv", reference["c"])


@pytest.mark.slow
def test_a_failing_point_is_an_error_row_and_the_others_run(client_dir, reference, cluster, capsys,
                                                            monkeypatch):
    address, _, _ = cluster
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/f.yaml", "--scheduler", address,
                       "--out", "out/f.csv")
    assert code == 0, err
    _same(client_dir / "out" / "f.csv", reference["f"])  # the messages too: the node named as here


@pytest.mark.slow
def test_a_device_sweep_on_the_cluster_gives_the_in_process_csv(client_dir, reference, cluster, capsys,
                                                                monkeypatch):
    address, _, _ = cluster
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/d.yaml", "--scheduler", address,
                       "--out", "out/d.csv")
    assert code == 0, err
    assert (client_dir / "out" / "d.csv").read_bytes() == reference["d"].read_bytes()


def test_failing_points_are_error_rows_kept_by_resume_and_rerun_once_their_record_is_removed(
        tmp_path, client_dir, reference, monkeypatch):
    import accelsim.sweeps

    frame = pd.read_csv(reference["f"])
    failed = frame[frame.error.notna()]
    assert list(failed.point) == [1, 1, 3, 3]
    assert all("cannot be sized on tech lp40 at circuit.write_current_factor 50" in e for e in failed.error)
    run_columns = [c for c in frame.columns if c not in ("point", "repeat", "write.ber",
                                                         "circuit.write_current_factor", "error")]
    assert failed[run_columns].isna().all().all()
    assert frame.loc[frame.error.isna(), "accuracy_ideal"].notna().all()
    assert ",random bits,64,0,1," in reference["f"].read_text()  # integers stay integers beside NaNs

    spec = load_spec(client_dir / "specs" / "f.yaml")
    out = tmp_path / "f.csv"
    for path in (reference["f"], timeline_path(reference["f"]), spec_record_path(reference["f"]),
                 errors_path(reference["f"])):
        shutil.copy(path, tmp_path / path.name)
    ran = []
    real = accelsim.sweeps.run_task
    monkeypatch.setattr(accelsim.sweeps, "run_task",
                        lambda s, p, r: ran.append((p.index, r)) or real(s, p, r))
    run_sweep(spec, out, resume=True, progress=False)
    assert ran == [] and out.read_bytes() == reference["f"].read_bytes()
    errors_path(out).unlink()  # the failures forgotten: resume runs them again
    run_sweep(spec, out, resume=True, progress=False)
    assert sorted(ran) == [(1, 0), (1, 1), (3, 0), (3, 1)]
    _same(out, reference["f"])


def test_a_dead_address_is_one_line_fast_and_leaves_the_previous_results(tmp_path, client_dir, reference,
                                                                        capsys, monkeypatch):
    out = tmp_path / "c.csv"
    for path in (reference["c"], timeline_path(reference["c"]), spec_record_path(reference["c"])):
        shutil.copy(path, tmp_path / path.name)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    started = time.monotonic()
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/c.yaml", "--scheduler",
                       f"tcp://127.0.0.1:{_free_port()}", "--out", str(out))
    assert code == 2 and err.count("\n") == 1 and "no Dask scheduler reachable" in err, err
    assert time.monotonic() - started < 10
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("args, match", [
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler and --workers: give one"),
    (["--cluster", "slurm", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler and --cluster: give one"),
    (["--cluster-option", "cores=2"], "--cluster-option: only with --cluster"),
    (["--cluster", "pbs", "--cluster-option", "cores=2"], "give --cluster-option memory="),
])
def test_conflicting_cluster_options_are_refused_in_one_line(client_dir, capsys, monkeypatch, args, match):
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/c.yaml", *args)
    assert code == 2 and err.count("\n") == 1 and match in err, err


@pytest.mark.slow
def test_a_worker_with_other_versions_is_refused_before_any_task(tmp_path, client_dir, procs, elsewhere,
                                                                 capsys, monkeypatch):
    # The worker imports this file at start-up (dask's --preload), so it really runs another numba
    # version as far as any code asking numba.__version__ can tell.
    preload = tmp_path / "other_numba.py"
    preload.write_text("import numba\n\nnumba.__version__ = '0.0.0-other'\n")
    _, address = procs.scheduler(elsewhere)
    procs.worker(address, elsewhere, "--preload", str(preload))
    out = tmp_path / "v.csv"
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/c.yaml", "--scheduler", address,
                       "--out", str(out))
    assert code == 2 and err.count("\n") == 1, err
    assert "runs other versions than this client: numba 0.0.0-other (client " in err
    assert "nothing at" in err and not out.exists() and not spec_record_path(out).exists()


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_changes_nothing(tmp_path, client_dir, reference, cluster, capsys,
                                                   monkeypatch):
    address, processes, workers = cluster
    out = tmp_path / "c.csv"
    killer = _kill_when_rows(out, workers[1])
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/c.yaml", "--scheduler", address,
                       "--out", str(out))
    killer.join(WAIT_S)
    assert code == 0 and workers[1].poll() is not None, err
    _same(out, reference["c"])


def test_a_killed_scheduler_is_one_line_and_resume_on_a_new_one_completes_the_csv(
        tmp_path, client_dir, reference, cluster, procs, elsewhere, capsys, monkeypatch):
    address, processes, _ = cluster  # the last test of the module cluster: its scheduler dies here
    out = tmp_path / "c.csv"
    killer = _kill_when_rows(out, processes.procs[0])
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/c.yaml", "--scheduler", address,
                       "--out", str(out))
    killer.join(WAIT_S)
    assert code == 2 and err.count("\n") == 1, err
    assert f"lost the Dask scheduler at {address}" in err and "--resume" in err, err
    kept = len(pd.read_csv(out))
    assert 1 <= kept < 16 and f"{kept} of 16 runs are kept in {out}" in err, err
    _, address = procs.scheduler(elsewhere)
    procs.worker(address, elsewhere)
    code, err = _sweep(capsys, monkeypatch, client_dir, "specs/c.yaml", "--scheduler", address,
                       "--out", str(out), "--resume")
    assert code == 0, err
    _same(out, reference["c"])


def test_jobqueue_job_scripts_run_single_threaded_workers():
    from accelsim.cluster import jobqueue_cluster, parse_cluster_options

    options = parse_cluster_options(["cores=4", "memory=8 GB", "walltime=01:30:00", "queue=batch",
                                     "python=/opt/env/bin/python"])
    assert options == {"cores": 4, "memory": "8 GB", "walltime": "01:30:00", "queue": "batch",
                       "python": "/opt/env/bin/python"}
    directives = {"slurm": ("#SBATCH", "-p batch", "--cpus-per-task=4"),
                  "pbs": ("#PBS", "-q batch", "ncpus=4"), "sge": ("#$", "-q batch", "")}
    for kind, (prefix, queue, cpus) in directives.items():
        cluster = jobqueue_cluster(kind, options)
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
        assert f"{prefix} {queue}" in script and cpus in script, script
        assert "01:30:00" in script
        assert "export NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1" in script
        # one single-threaded worker per core, started by the environment's python
        assert "/opt/env/bin/python -m distributed.cli.dask_worker" in script
        assert "--nthreads 1" in script and "--nworkers 4" in script, script


@pytest.mark.parametrize("pairs, match", [
    (["memory=8 GB"], "give --cluster-option cores="),
    (["cores=4"], "give --cluster-option memory="),
    (["cores=4", "memory=8 GB", "colour=red"], "--cluster-option colour: not an option of dask-jobqueue's "
                                               "SLURMCluster; allowed: .*walltime"),
    (["cores"], "expected key=value"),
])
def test_bad_cluster_options_are_refused(pairs, match):
    from accelsim.cluster import jobqueue_cluster, parse_cluster_options

    with pytest.raises(UsageError, match=match):
        jobqueue_cluster("slurm", parse_cluster_options(pairs))


def test_without_dask_jobqueue_the_cluster_option_says_what_to_install(monkeypatch):
    from accelsim.cluster import jobqueue_cluster

    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # import fails as if not installed
    with pytest.raises(AccelsimError, match=r"needs dask-jobqueue.*pip install 'accelsim\[cluster\]'"):
        jobqueue_cluster("pbs", {"cores": 1, "memory": "1 GB"})
