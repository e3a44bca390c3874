"""Sweep throughput: the same 12-point sweep with 1 worker (in-process) and 2 worker processes (what
``accelsim sweep --workers 2`` starts), side by side, start-up and shut-down included.

Target (issue "Design-space exploration"): 2 workers give at least 1.7x the throughput of 1 worker.
Run: python benchmarks/bench_sweep.py   (a few minutes on 2 cores; run it on an otherwise idle machine)
"""

from __future__ import annotations

import os

# Single-threaded kernels in this process too, so that "1 worker" is one core's worth of work, as each
# Dask worker is (accelsim.sweep starts its workers single-threaded).
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import dataclasses  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from accelsim.sweep import load_spec, run_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_SPEEDUP = 1.7

SPEC = """\
name: bench
arch: {arch}
net: {net}
repeats: 1
seeds: [0]
grid:
  write.ber: [1.0e-4, 1.0e-3, 1.0e-2, 3.0e-2]
  retention.horizon: [1 year, 3 years, 10 years]
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "bench.yaml"
        spec_path.write_text(SPEC.format(arch=ROOT / "arch_configs" / "mixed_retention.yaml",
                                         net=ROOT / "workloads" / "mlp784.npz"))
        spec = load_spec(spec_path)
        one_point = ((spec.grid[0][0], spec.grid[0][1][:1]),)  # fills the numba cache once
        run_sweep(dataclasses.replace(spec, grid=one_point), Path(tmp) / "warm.csv", workers=1,
                  progress=False)
        timings = {}
        for workers in (1, 2):
            start = time.perf_counter()
            run_sweep(spec, Path(tmp) / f"w{workers}.csv", workers=workers, progress=False)
            timings[workers] = time.perf_counter() - start
        same = (Path(tmp) / "w1.csv").read_bytes() == (Path(tmp) / "w2.csv").read_bytes()
    n = 12
    for workers, seconds in timings.items():
        print(f"workers={workers}: {seconds:6.2f} s for {n} runs = {n / seconds:.3f} runs/s")
    speedup = timings[1] / timings[2]
    verdict = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
    print(f"speed-up 2 vs 1 worker: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x: {verdict}); "
          f"identical CSVs: {same}")


if __name__ == "__main__":
    main()
