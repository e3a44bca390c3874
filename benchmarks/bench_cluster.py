"""Sweep throughput on an external Dask cluster: the same sweep (12 points x 2 repeats = 24 runs of
mixed_retention x mlp784, as benchmarks/bench_sweep.py) on 2 local worker processes (``accelsim sweep
--workers 2``) and on a 2-worker cluster started apart from the client, as on a real cluster: ``dask
scheduler`` and two ``dask worker --nthreads 1`` processes on 127.0.0.1, in a temporary directory
(they get every input from the client). Both sides start cold (fresh processes, numba's on-disk cache
filled beforehand); the cluster's start-up is not counted (a cluster outlives one sweep), the local
workers' is (the sweep starts them). Beside the wall times, the CPU seconds each side spent (this
process + its workers; for the cluster, scheduler, nannies and workers): on a shared, loaded machine
the wall-time ratio is mostly noise, and the CPU ratio still shows the cluster's own overhead.

Target (issue "Sweeps on a real cluster"): the external cluster within 10 % of local worker processes
(time ratio <= 1.10). Run: python benchmarks/bench_cluster.py [--quick]   (--quick: 4 points x 2)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sweep_spec import write_spec

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv: list[str], cwd: Path) -> subprocess.Popen:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.Popen([sys.executable, "-m", *argv], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _external_cluster(cwd: Path, n_workers: int) -> tuple[str, list[subprocess.Popen]]:
    """``dask scheduler`` and ``n_workers`` single-threaded ``dask worker`` processes in ``cwd``."""
    from dask.distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard"], cwd)]
    procs += [_start(["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard",
                      "--local-directory", str(cwd)], cwd) for _ in range(n_workers)]
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not start") from None
            time.sleep(0.1)
    with Client(address, timeout=60) as client:
        client.wait_for_workers(n_workers, timeout=120)
    return address, procs


def _cluster_cpu_s(procs: list[subprocess.Popen]) -> dict[str, float]:
    """CPU seconds (user + system) so far of the scheduler, the nannies (the ``dask worker`` processes)
    and the worker processes they started."""
    import psutil

    def cpu(p) -> float:
        times = p.cpu_times()
        return times.user + times.system

    roots = [psutil.Process(proc.pid) for proc in procs]
    return {"scheduler": cpu(roots[0]), "nannies": sum(cpu(r) for r in roots[1:]),
            "workers": sum(cpu(c) for r in roots[1:] for c in r.children(recursive=True))}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(quick: bool = False) -> dict:
    """Wall and CPU seconds of both sides, the number of runs, and whether the CSVs are identical."""
    from accelsim.sweeps import load_spec, run_sweep

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        spec_path = write_spec(tmp)
        spec = load_spec(spec_path)
        if quick:
            spec = dataclasses.replace(spec, grid=(spec.grid[0], (spec.grid[1][0], spec.grid[1][1][:1])))
        # numba's on-disk cache filled once, so that neither side compiles
        warm = dataclasses.replace(spec, grid=((spec.grid[0][0], spec.grid[0][1][:2]),), repeats=1)
        run_sweep(warm, tmp / "warm.csv", workers=2, progress=False)
        start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu_s()
        run_sweep(spec, tmp / "local.csv", workers=2, progress=False)
        t_local = time.perf_counter() - start
        cpu_local = time.process_time() - cpu + _children_cpu_s() - children
        workdir = tmp / "workers"
        workdir.mkdir()
        address, procs = _external_cluster(workdir, 2)
        try:
            start, cpu, before = time.perf_counter(), time.process_time(), _cluster_cpu_s(procs)
            run_sweep(spec, tmp / "cluster.csv", scheduler=address, progress=False)
            t_cluster = time.perf_counter() - start
            parts = {"client": time.process_time() - cpu}
            parts |= {k: v - before[k] for k, v in _cluster_cpu_s(procs).items()}
            cpu_cluster = sum(parts.values())
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        same = (tmp / "local.csv").read_bytes() == (tmp / "cluster.csv").read_bytes()
        runs = len((tmp / "local.csv").read_text().splitlines()) - 1
    return {"local_s": t_local, "cluster_s": t_cluster, "local_cpu_s": cpu_local,
            "cluster_cpu_s": cpu_cluster, "cluster_cpu_parts_s": parts, "runs": runs, "identical": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 points x 2 repeats instead of 12 x 2")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    m = measure(args.quick)
    print(f"{os.cpu_count()} cores, load average {load:.2f} before the runs")
    for side, label in (("local", "2 local worker processes"), ("cluster", "2-worker external cluster")):
        print(f"{label}: {m[side + '_s']:6.2f} s for {m['runs']} runs = {m['runs'] / m[side + '_s']:.3f} "
              f"runs/s; {m[side + '_cpu_s']:.1f} CPU s")
    parts = m["cluster_cpu_parts_s"]
    print("  the cluster's CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()))
    ratio = m["cluster_s"] / m["local_s"]
    print(f"external / local: wall time {ratio:.2f} (target <= {TARGET_RATIO:.2f}: "
          f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}), CPU time "
          f"{m['cluster_cpu_s'] / m['local_cpu_s']:.2f}; identical CSVs: {m['identical']}")


if __name__ == "__main__":
    main()
