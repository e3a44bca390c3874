"""Where the default run's wall time goes (benchmark figure 1's profile), in a fresh process.

Stages, each timed in turn in one process (the order a command-line run takes them):
  interpreter     python's own start-up (a separate `python -c pass`, median of 3)
  numpy           import numpy
  numba           import numba
  numba init      numba's first call of a cached kernel: its target context loads its registries, which
                  imports scipy.linalg (numba's BLAS check) and cffi's parser; paid once per process
  other imports   the rest of what `accelsim run` imports (scipy.special/optimize, simpy, yaml, accelsim)
  load inputs     config, network and bundled test set, validation and limits
  simulate        (under cProfile, which adds a little) split into: write probabilities (per-cell
                  write error rates and energies), programming (write draws), retention (ageing
                  draws), sensing (kernels and thresholds), reference inference, and the rest (the
                  SimPy engine, book-keeping)
  write outputs   CSV, timeline and JSON
The total is beside the wall time of the whole `accelsim run` process measured separately.

Run: python benchmarks/run_profile.py   (prints the table; run it on an idle machine)
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The child: times each stage of one default run and prints them as JSON.
_CHILD = r"""
import cProfile, json, pstats, sys, tempfile, time
from pathlib import Path
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import numba
t2 = time.perf_counter()
from accelsim.kernels.cells import _all_probabilities
_all_probabilities(numpy.zeros(1))
t3 = time.perf_counter()
from accelsim.api import run
import accelsim.report, accelsim.simulate, accelsim.config, accelsim.network, accelsim.workload
t4 = time.perf_counter()
from accelsim.config import load_arch
from accelsim.limits import check_run
from accelsim.network import load_network
from accelsim.workload import load_workload
arch = load_arch("arch_configs/mixed_retention.yaml")
net = load_network("workloads/mlp784.npz")
wl = load_workload(net, None)
check_run(arch, net, wl.n_images, 1)
t5 = time.perf_counter()
from accelsim.simulate import simulate
prof = cProfile.Profile()
prof.enable()
result = simulate(arch, net, wl, seed=0, repeats=1)
prof.disable()
t6 = time.perf_counter()
from accelsim.report import summary_row, write_outputs
row = summary_row(result, run_id="profile", arch=arch, net_name="mlp784", dataset=wl.name, seed=0)
write_outputs(Path(tempfile.mkdtemp()), "profile", row, result, arch, {})
t8 = time.perf_counter()
stats = pstats.Stats(prof).stats
def cum(fragment):
    return sum(v[3] for k, v in stats.items() if fragment in f"{k[0]}:{k[2]}")
parts = {"write probabilities": cum("crossbar.py:write_probabilities"),
         "programming (write draws)": cum("crossbar.py:program_layer"),
         "retention (ageing draws)": cum("crossbar.py:age_layer_columns"),
         "sensing (kernels, thresholds)": cum("simulate.py:_sense_layer"),
         "reference inference": cum("network.py:reference_predict")}
print(json.dumps({"numpy": t1 - t0, "numba": t2 - t1, "numba init": t3 - t2, "other imports": t4 - t3,
                  "load inputs": t5 - t4, "simulate": t6 - t5, "simulate parts": parts,
                  "write outputs": t8 - t6}))
"""


def _median_wall(argv: list[str], n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def profile() -> tuple[dict, float, float]:
    """(stage times of one child run, interpreter start-up, wall time of `accelsim run`)."""
    out = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    stages = json.loads(out.strip().splitlines()[-1])
    interpreter = _median_wall([sys.executable, "-c", "pass"])
    accelsim = [shutil.which("accelsim")] if shutil.which("accelsim") else [sys.executable, "-m",
                                                                            "accelsim.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        wall = _median_wall([*accelsim, "run", "--arch", "arch_configs/mixed_retention.yaml", "--net",
                             "workloads/mlp784.npz", "--quiet", "--out", tmp])
    return stages, interpreter, wall


def print_profile(stages: dict, interpreter: float, wall: float) -> None:
    parts = stages.pop("simulate parts")
    rows = [("interpreter", interpreter)] + [(k, v) for k, v in stages.items()]
    total = sum(v for _, v in rows)
    print(f"   where the default run's time goes (one fresh process; `accelsim run` wall {wall:.2f} s, "
          f"stages sum {total:.2f} s):")
    for name, t in rows:
        print(f"     {name:<34} {t:6.3f} s  {t / total:5.1%}")
        if name == "simulate":
            rest = t - sum(parts.values())
            for pname, pt in [*parts.items(), ("engine and book-keeping", rest)]:
                print(f"       {pname:<32} {pt:6.3f} s")


if __name__ == "__main__":
    print_profile(*profile())
