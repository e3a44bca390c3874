"""The sweep both sweep benchmarks run (bench_sweep.py: 1 vs 2 workers; bench_cluster.py: local
workers vs an external Dask cluster): 12 points x 2 repeats of mixed_retention x mlp784."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SPEC = """\
name: bench
arch: {arch}
net: {net}
repeats: 2
seeds: [0]
grid:
  write.t_pulse: [8 ns, 10 ns, 12 ns, 15 ns]   # the array's gamma model: the pulse sets each cell's WER
  retention.horizon: [1 year, 3 years, 10 years]
"""


def write_spec(directory: Path) -> Path:
    """The benchmark sweep's spec as ``directory/bench.yaml`` (absolute arch and net paths)."""
    path = Path(directory) / "bench.yaml"
    path.write_text(SPEC.format(arch=ROOT / "arch_configs" / "mixed_retention.yaml",
                                net=ROOT / "workloads" / "mlp784.npz"))
    return path
