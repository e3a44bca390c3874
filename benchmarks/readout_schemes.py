"""The README's "Readout schemes" table: `accelsim run` of mixed_retention.yaml on mlp784.npz with the
readout row-serial, and 128 rows per read into 5- and 8-bit converters.

    python benchmarks/readout_schemes.py     # prints the markdown table (about 2 minutes)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RUNS = [("k = 1 (row-serial, 1-bit sense amplifier)", ["read.rows_per_read=1"]),
        ("k = 128, 5-bit converter", ["read.rows_per_read=128", "read.adc_bits=5"]),
        ("k = 128, 8-bit converter", ["read.rows_per_read=128", "read.adc_bits=8"])]


def run(sets: list[str]) -> pd.Series:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "accelsim.cli", "run", "--arch", "arch_configs/mixed_retention.yaml",
               "--net", "workloads/mlp784.npz", "--quiet", "--out", out]
        for s in sets:
            cmd += ["--set", s]
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        return pd.read_csv(next(Path(out).glob("*_seed0.csv"))).iloc[0]


def main() -> None:
    print("| readout | accuracy programmed | latency (wave of 100) | throughput [inferences/s] | "
          "energy per inference [nJ] | area [mm2] | cell matrix [mm2] |")
    print("|---|---|---|---|---|---|---|")
    for name, sets in RUNS:
        r = run(sets)
        print(f"| {name} | {100 * r.accuracy_programmed:.2f} % | {r.latency_s * 1e6:,.1f} us | "
              f"{r.throughput_inf_per_s:,.0f} | {r.energy_per_inference_j * 1e9:.1f} | "
              f"{r.area_m2 * 1e6:.3f} | {r.area_cells_m2 * 1e6:.3f} |")


if __name__ == "__main__":
    main()
