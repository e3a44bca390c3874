"""Sparse faults: a campaign re-evaluated from the previous one (changed cells, changed input
vectors) equals a full pass bit for bit, over random retention fault patterns."""

import numpy as np
import pandas as pd
import pytest
from conftest import make_tiny_network

from accelsim import simulate as sim
from accelsim.config import load_arch
from accelsim.simulate import simulate
from accelsim.workload import Workload


def _run(arch, net, wl, incremental):
    res = simulate(arch, net, wl, seed=4, repeats=2, incremental=incremental)
    return res


@pytest.mark.parametrize("horizon", ["60 days", "2 years", "3000 years"])
@pytest.mark.parametrize("convention", ["plus_one_ap", "plus_one_p"])
@pytest.mark.parametrize("encoding", ["bipolar", "unipolar"])
def test_incremental_campaigns_equal_full_passes(tiny_arch_path, horizon, convention, encoding,
                                                 monkeypatch):
    rng = np.random.default_rng(8)
    net = make_tiny_network(rng, shape=(90, 70, 40, 6))
    x = np.where(rng.random((300, 90)) < 0.5, 1, -1).astype(np.int8)
    wl = Workload(x_pm1=x, y=rng.integers(0, 6, 300), name="random")
    arch = load_arch(tiny_arch_path, [f"retention.horizon={horizon}", "retention.n_steps=6",
                                      "write.ber=0.01", f"mapping.convention={convention}",
                                      f"mapping.input_encoding={encoding}", "tile.rows=64",
                                      "tile.cols=32"])
    updates = []
    original = sim.RepeatState._update

    def counting(self, li, x):
        c = original(self, li, x)
        updates.append(c is not None)
        return c

    monkeypatch.setattr(sim.RepeatState, "_update", counting)
    fast = _run(arch, net, wl, True)
    full = _run(arch, net, wl, False)
    pd.testing.assert_frame_equal(fast.timeline, full.timeline, check_exact=True)
    assert fast.timeline["flips_total"].iloc[-1] > 0
    for field in ("n_reads", "energy_inference_j", "energy_by_activity_j", "n_misreads"):
        assert getattr(fast, field) == getattr(full, field), field
    np.testing.assert_array_equal(fast.accuracy_end_of_life, full.accuracy_end_of_life)
    if horizon == "60 days":
        assert any(updates)  # the incremental path ran (few flips) ...
    if horizon == "3000 years":
        assert not all(updates)  # ... and fell back to full passes where many cells flipped


def test_read_errors_mean_full_passes(tiny_arch_path, monkeypatch):
    rng = np.random.default_rng(9)
    net = make_tiny_network(rng, shape=(60, 30, 4))
    wl = Workload(x_pm1=np.where(rng.random((50, 60)) < 0.5, 1, -1).astype(np.int8),
                  y=np.zeros(50, dtype=np.int64), name="random")
    arch = load_arch(tiny_arch_path, ["read.model=device", "retention.horizon=100 years"])
    called = []
    monkeypatch.setattr(sim.RepeatState, "_update", lambda self, li, x: called.append(li))
    simulate(arch, net, wl, seed=1)
    assert called == []
