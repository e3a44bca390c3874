"""Reproducibility as a contract: the same inputs and seed give byte-identical CSV, timeline and JSON
files across reruns and across numba / BLAS thread counts, in separate processes (as users run it)."""

import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_ARCH, make_tiny_network

from accelsim.network import save_network

# Write failures (constant BER 0.05) and retention flips on, and a network wide enough that the
# parallel kernels split their work over threads and the layers over several row and column tiles.
ARCH = TINY_ARCH.replace("ber: 0.0", "ber: 0.05").replace("rows: 7", "rows: 40").replace(
    "cols: 5", "cols: 16")


def _run(tmp_path, out, threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-m", "accelsim.cli", "run", "--arch", str(tmp_path / "a.yaml"),
           "--net", str(tmp_path / "n.npz"), "--seed", "7", "--repeats", "2", "--quiet",
           "--out", str(tmp_path / out), "--name", "r"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {name: (tmp_path / out / name).read_bytes()
            for name in ("r.csv", "r_timeline.csv", "r.json")}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to vary the thread count")
def test_reruns_and_thread_counts_give_identical_files(tmp_path):
    (tmp_path / "a.yaml").write_text(ARCH)
    net = make_tiny_network(np.random.default_rng(3), shape=(150, 96, 64, 10), n_test=300)
    save_network(tmp_path / "n.npz", net)
    one = _run(tmp_path, "one", 1)
    again = _run(tmp_path, "again", 1)
    two = _run(tmp_path, "two", 2)
    assert one == again
    assert one == two
    # The run drew random faults (write failures, retention flips), so identical files say something.
    row = pd.read_csv(io.BytesIO(one["r.csv"])).iloc[0]
    assert row["write_ber_measured"] > 0.01 and row["retention_flips"] > 0
