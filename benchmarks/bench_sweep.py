"""Sweep throughput: the same sweep (12 points x 2 repeats = 24 runs of mixed_retention x mlp784, ~1.3 s
each) with 1 worker (in-process) and 2 worker processes (what
``accelsim sweep --workers 2`` starts), side by side, start-up and shut-down included; for reference,
also on a 2-worker local Dask cluster through ``--scheduler`` (cluster start and close included), the
way local sweeps ran before they moved to plain worker processes.

Target (issue "Design-space exploration"): 2 workers give at least 1.7x the throughput of 1 worker.
Run: python benchmarks/bench_sweep.py   (a few minutes on 2 cores; run it on an otherwise idle machine)
"""

from __future__ import annotations

import os

# Single-threaded kernels in this process too, so that "1 worker" is one core's worth of work, as each
# Dask worker is (accelsim.sweeps starts its workers single-threaded).
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import dataclasses  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from sweep_spec import write_spec  # noqa: E402

from accelsim.sweeps import load_spec, run_sweep  # noqa: E402

TARGET_SPEEDUP = 1.7



def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = write_spec(Path(tmp))
        spec = load_spec(spec_path)
        # Fill numba's on-disk cache once, in worker processes, so that neither side compiles and this
        # process starts as cold as a worker (nothing compiled or loaded in memory): both sides pay
        # their own loading, as `accelsim sweep` does from the command line.
        two_points = ((spec.grid[0][0], spec.grid[0][1][:2]),)
        run_sweep(dataclasses.replace(spec, grid=two_points), Path(tmp) / "warm.csv", workers=2,
                  progress=False)
        timings = {}
        for workers in (1, 2):
            start = time.perf_counter()
            run_sweep(spec, Path(tmp) / f"w{workers}.csv", workers=workers, progress=False)
            timings[workers] = time.perf_counter() - start
        start = time.perf_counter()
        dask_seconds = _on_local_dask(spec, Path(tmp) / "dask.csv")
        dask_total = time.perf_counter() - start
        same = (Path(tmp) / "w1.csv").read_bytes() == (Path(tmp) / "w2.csv").read_bytes()
        same_dask = (Path(tmp) / "w1.csv").read_bytes() == (Path(tmp) / "dask.csv").read_bytes()
    n = 24  # 12 points x 2 repeats
    for workers, seconds in timings.items():
        print(f"workers={workers}: {seconds:6.2f} s for {n} runs = {n / seconds:.3f} runs/s")
    print(f"2 workers on a local Dask cluster: {dask_total:6.2f} s ({dask_seconds:.2f} s of it the sweep "
          f"itself) = {n / dask_total:.3f} runs/s, {timings[1] / dask_total:.2f}x; "
          f"identical CSV: {same_dask}")
    speedup = timings[1] / timings[2]
    verdict = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
    print(f"speed-up 2 vs 1 worker: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x: {verdict}); "
          f"identical CSVs: {same}")


def _on_local_dask(spec, out_csv: Path) -> float:
    """Run the sweep on a fresh 2-worker local Dask cluster; returns the sweep's own seconds."""
    from dask.distributed import LocalCluster

    single = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env=single) as cluster:
        start = time.perf_counter()
        run_sweep(spec, out_csv, scheduler=cluster.scheduler_address, progress=False)
        return time.perf_counter() - start


if __name__ == "__main__":
    main()
