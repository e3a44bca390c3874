"""Monte-Carlo fault counts against the model's probabilities, over many cells.

Each count is checked against the exact binomial distribution of the model: it must lie in the central
two-sided interval of probability 1 - ALPHA (ALPHA = 1e-6), i.e. between the ALPHA/2 and 1 - ALPHA/2
quantiles of Binomial(n, p). A correct sampler fails one such check with probability <= 1e-6, so the
~100 checks below fail together with probability < 1e-4 whatever the seeds. Probabilities run from
1e-6 to 1 - 1e-6; cell counts give the rarer outcome >= 200 expected events (a sampler off by 1.5x
fails), 20 at 1e-6 (off by 2.5x fails), or the check is the few-events bound of the same interval.
p = 0 and p = 1 are exact (no event, every cell). Counts must not depend on the row tiling nor on the
number of sweep workers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_ARCH, make_tiny_network
from scipy.stats import binom

from accelsim.arch.crossbar import (
    WriteProbabilities,
    age_layer,
    program_layer,
    read_probabilities,
    retention_probabilities,
    write_probabilities,
)
from accelsim.config import load_arch
from accelsim.kernels.cells import program_cells, retention_step
from accelsim.kernels.sensing import sense_two_phase
from accelsim.kernels.xnor import pack_bits
from accelsim.mapping import map_network

ALPHA = 1e-6
SECONDS_PER_YEAR = 365.25 * 24 * 3600  # a Julian year, as PHYSICS.md section 5's table uses
PROBABILITIES = [0.0, 1e-6, 1e-4, 1e-2, 0.3, 0.97, 1 - 1e-6, 1.0]


def assert_binomial(k: int, n: int, p: float, what: str) -> None:
    """k events out of n trials of probability p lie in the exact 1 - ALPHA central interval."""
    if p == 0.0 or p == 1.0:
        assert k == round(n * p), f"{what}: {k} events of {n} at p = {p}"
        return
    lo, hi = binom.ppf(ALPHA / 2, n, p), binom.isf(ALPHA / 2, n, p)
    assert lo <= k <= hi, f"{what}: {k} events of {n} at p = {p:g}, expected {lo:g}..{hi:g}"


def n_trials(p: float, cap: int = 20_000_000) -> int:
    """Trials for >= 200 expected events of the rarer outcome (a 1.5x error is then outside the
    interval), capped at 2e7 (20 events at 1e-6: catches a factor of 2.5); 1e4 at least."""
    rare = min(p, 1 - p)
    return 10_000 if rare == 0 else int(min(cap, max(10_000, math.ceil(200 / rare))))


# ---------------------------------------------------------------- write failures


@pytest.mark.parametrize("p_to_ap, p_to_p", [(PROBABILITIES[i], PROBABILITIES[-1 - i])
                                             for i in range(len(PROBABILITIES))])
def test_write_failures_are_binomial_per_direction(p_to_ap, p_to_p):
    """P -> AP switches fail with p_fail_to_ap, AP -> P ones with p_fail_to_p, cells that need no
    switch never fail; the two directions get different probabilities so a swap is caught."""
    n = max(n_trials(p_to_ap), n_trials(p_to_p))
    rng = np.random.default_rng(11)
    chunk = 2_000_000
    fail_ap = fail_p = switches = failures = 0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        # cells 0..m-1 are written to AP from P; m..2m-1 to P from AP; 2m..2m+99 already hold theirs
        target = np.concatenate([np.ones(m), np.zeros(m), np.ones(50), np.zeros(50)]).astype(np.uint8)
        previous = np.concatenate([np.zeros(m), np.ones(m), np.ones(50), np.zeros(50)]).astype(np.uint8)
        states, n_sw, n_fail = program_cells(target, previous, p_to_ap, p_to_p, rng)
        fail_ap += int(np.count_nonzero(states[:m] == 0))
        fail_p += int(np.count_nonzero(states[m: 2 * m] == 1))
        assert np.array_equal(states[2 * m:], target[2 * m:])  # no pulse needed, no failure
        switches += n_sw
        failures += n_fail
    assert switches == 2 * n and failures == fail_ap + fail_p
    assert_binomial(fail_ap, n, p_to_ap, "P -> AP write failures")
    assert_binomial(fail_p, n, p_to_p, "AP -> P write failures")


def test_program_layer_uses_each_cells_own_probability(tiny_arch_path):
    """Per-cell probability arrays: one rate per neuron (1e-4 .. 0.5), checked neuron by neuron."""
    arch = load_arch(tiny_arch_path)
    rates = np.array([1e-4, 1e-3, 1e-2, 0.1, 0.5])
    n_in = 200_000
    weights = np.where(np.arange(n_in) % 2 == 0, 1, -1).astype(np.int8)[None, :].repeat(len(rates), 0)
    per_cell = np.repeat(rates, n_in)
    probs = WriteProbabilities(p_fail_to_ap=per_cell, p_fail_to_p=per_cell[::-1].copy(),
                               energy_from_p_j=0.0, energy_from_ap_j=0.0)
    previous = np.where(weights.ravel() > 0, 0, 1).astype(np.uint8)  # every cell must switch
    states, stats = program_layer(weights, previous, arch, probs, np.random.default_rng(5))
    assert stats.n_switches == weights.size and stats.n_wrong == stats.n_failures
    wrong = (states != 1 - previous).reshape(weights.shape)
    plus = weights > 0  # +1 is AP here (plus_one_ap): a P -> AP write
    for j, p in enumerate(rates):
        assert_binomial(int(wrong[j, plus[j]].sum()), int(plus[j].sum()), p, f"neuron {j} P -> AP")
        assert_binomial(int(wrong[j, ~plus[j]].sum()), int((~plus[j]).sum()), rates[::-1][j],
                        f"neuron {j} AP -> P")


def test_device_write_model_counts_match_the_device_wer(tiny_arch_path):
    """write_probabilities (gamma model, ideal driver, no variability: the junction sees 2 Vc) gives
    every cell of a group the nominal junction's WER of accelsim.device, and the programmed cells
    fail at that rate, per direction and per group (Delta 40 and Delta 60 MTJs differ)."""
    from accelsim import device
    from accelsim.device.write import write_model

    arch = load_arch(tiny_arch_path, [
        "cells.weak.mtj=muench-delta40", "cells.strong.mtj=muench-delta60", "write.model=gamma",
        "write.t_pulse=8 ns", "write.overdrive=2.0", "tile.cols=10", "write.initial_state=complement"])
    net = make_tiny_network(np.random.default_rng(2), shape=(20_000, 20, 3))
    layer = net.hidden[0]
    lm = map_network(net, arch)[0]
    probs = write_probabilities(arch, lm, np.random.default_rng(0))
    group = np.repeat(lm.neuron_group, lm.n_in)
    plus = layer.weights.ravel() > 0  # written P -> AP (plus_one_ap)
    previous = np.where(plus, 0, 1).astype(np.uint8)
    states, _ = program_layer(layer.weights, previous, arch, probs, np.random.default_rng(7))
    failed = states == previous
    for g, column in enumerate(arch.tile.columns):
        mtj = arch.cells[column.cell].mtj_params
        for pol, got, cells in (("p_to_ap", probs.p_fail_to_ap, plus), ("ap_to_p", probs.p_fail_to_p, ~plus)):
            want = float(device.write_error_rate(2.0 * mtj.vc_v, 8e-9, mtj, write_model("gamma"), pol))
            assert 1e-3 < want < 0.5  # a pulse short enough for a measurable rate
            in_group = group == g
            # a faster evaluation (tabulated, interpolated) of the same model may differ slightly
            np.testing.assert_allclose(np.broadcast_to(got, group.shape)[in_group], want, rtol=1e-3)
            mask = in_group & cells
            assert_binomial(int(failed[mask].sum()), int(mask.sum()), want, f"group {g} {pol}")


# ---------------------------------------------------------------- retention


def neel_arrhenius(t_s: float, delta: float, tau0_s: float) -> float:
    """PHYSICS.md section 5, written out here: 1 - exp(-(t / tau0) exp(-Delta))."""
    return -math.expm1(-(t_s / tau0_s) * math.exp(-delta))


def test_retention_probabilities_are_the_neel_arrhenius_ones_per_state(tmp_path):
    """Asymmetric barriers (002 cites Hofmann 2014): AP -> P over Delta_AP, P -> AP over Delta_P,
    each cell with its column group's barriers; PHYSICS.md's table: Delta 40 over a year 0.125,
    Delta 50 6.1e-6."""
    arch = load_arch(_arch(tmp_path, delta_ap=(40, 45), delta_p=(50, 60)), ["tile.cols=10"])
    net = make_tiny_network(np.random.default_rng(3), shape=(50, 20, 3))
    lm = map_network(net, arch)[0]
    to_p, to_ap = retention_probabilities(arch, lm, SECONDS_PER_YEAR)
    group = np.repeat(lm.neuron_group, lm.n_in)
    for g, (d_ap, d_p) in enumerate(((40, 50), (45, 60))):
        np.testing.assert_allclose(to_p[group == g], neel_arrhenius(SECONDS_PER_YEAR, d_ap, 1e-9), rtol=1e-6)
        np.testing.assert_allclose(to_ap[group == g], neel_arrhenius(SECONDS_PER_YEAR, d_p, 1e-9), rtol=1e-6)
    assert to_p[group == 0][0] == pytest.approx(0.125, rel=0.03)
    assert to_ap[group == 0][0] == pytest.approx(6.1e-6, rel=0.03)


@pytest.mark.parametrize("p_ap_to_p, p_p_to_ap", [(PROBABILITIES[-1 - i], PROBABILITIES[i])
                                                 for i in range(len(PROBABILITIES))])
def test_retention_flips_are_binomial_per_state(p_ap_to_p, p_p_to_ap):
    """AP cells flip to P with p_ap_to_p and P cells to AP with p_p_to_ap, independently; the returned
    counts are the cells that changed."""
    n = max(n_trials(p_ap_to_p), n_trials(p_p_to_ap))
    rng = np.random.default_rng(13)
    chunk = 2_000_000
    to_p = to_ap = 0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        states = np.concatenate([np.ones(m), np.zeros(m)]).astype(np.uint8)
        k_to_p, k_to_ap = age_layer(states, np.full(2 * m, p_ap_to_p), np.full(2 * m, p_p_to_ap), rng)
        assert k_to_p == m - int(states[:m].sum()) and k_to_ap == int(states[m:].sum())
        to_p += k_to_p
        to_ap += k_to_ap
    assert_binomial(to_p, n, p_ap_to_p, "AP -> P retention flips")
    assert_binomial(to_ap, n, p_p_to_ap, "P -> AP retention flips")


def test_retention_steps_compose_to_the_horizon():
    """Ten steps of a tenth of the horizon (002's protocol) flip each AP cell with the probability of
    the whole horizon: the process is memoryless. Delta 40 over 10 years: 0.74 (PHYSICS.md)."""
    step = neel_arrhenius(SECONDS_PER_YEAR, 40, 1e-9)
    n = 1_000_000
    states = np.ones(n, dtype=np.uint8)
    rng = np.random.default_rng(17)
    flips = sum(retention_step(states, step, 0.0, rng)[0] for _ in range(10))
    total = neel_arrhenius(10 * SECONDS_PER_YEAR, 40, 1e-9)
    assert total == pytest.approx(0.74, abs=0.01)
    assert flips == n - int(states.sum())
    assert_binomial(flips, n, total, "AP -> P flips over ten steps")


# ---------------------------------------------------------------- sensing: misreads, read disturb


def _inputs(n_img: int, n_in: int, rng) -> np.ndarray:
    return pack_bits(np.where(rng.random((n_img, n_in)) < 0.5, 1, -1).astype(np.int8))


@pytest.mark.parametrize("tile_rows", [7, 64, 1000])
@pytest.mark.parametrize("p", [1e-6, 1e-3, 0.2, 1 - 1e-6])
def test_misreads_are_binomial_whatever_the_tiling(p, tile_rows):
    """Every cell is read once per image (two phases): misreads of AP cells at p_misread_ap and of P
    cells at p_misread_p (set to p / 10 to tell them apart), for any row tiling."""
    n_img, n_out, n_in = (200, 100, 1000) if p == 1e-6 else (20, 50, 1000)
    rng = np.random.default_rng(19)
    states = (rng.random((n_out, n_in)) < 0.5).astype(np.uint8)
    n_ap = int(states.sum())
    x = _inputs(n_img, n_in, rng)
    total = 0
    for state_prob in ("ap", "p"):
        kwargs = {"p_misread_ap": p} if state_prob == "ap" else {"p_misread_p": p / 10}
        res = sense_two_phase(x, states.copy(), tile_rows, rng=np.random.default_rng(23), **kwargs)
        reads = n_img * (n_ap if state_prob == "ap" else states.size - n_ap)
        assert_binomial(res.n_misreads, reads, p if state_prob == "ap" else p / 10,
                        f"misreads of {state_prob.upper()} cells, {tile_rows}-row tiles")
        total += res.n_misreads
    assert total > 0 or p == 1e-6


def test_misreads_move_the_count_the_right_way():
    """All cells AP, +1 = AP: with all inputs +1 every read is a counted AP cell, so each misread
    loses one count; with all inputs -1 phase 2 counts P cells, so each misread of an AP cell adds
    one. Exact."""
    n_img, n_out, n_in = 30, 40, 300
    states = np.ones((n_out, n_in), dtype=np.uint8)
    for sign, direction in ((1, -1), (-1, 1)):
        x = pack_bits(np.full((n_img, n_in), sign, dtype=np.int8))
        res = sense_two_phase(x, states.copy(), 64, p_misread_ap=0.05, rng=np.random.default_rng(29))
        ideal = n_in if sign == 1 else 0
        assert int((res.popcount - ideal).sum()) == direction * res.n_misreads
        assert_binomial(res.n_misreads, n_img * states.size, 0.05, "misreads of AP cells")


@pytest.mark.parametrize("tile_rows", [7, 1000])
@pytest.mark.parametrize("p", [1e-6, 1e-3, 0.1])
def test_read_disturb_flips_the_destabilised_state_only(p, tile_rows):
    """Each image reads every cell once, then each read AP cell flips to P with p_disturb_ap; a
    flipped cell stays P. After m images a cell has flipped with probability 1 - (1 - p)^m, and P
    cells never flip (p_disturb_p = 0)."""
    rng = np.random.default_rng(31)
    n_out, n_in = (2000, 1000) if p == 1e-6 else (100, 1000)
    n_img = 10 if p == 1e-6 else 5
    states = (rng.random((n_out, n_in)) < 0.5).astype(np.uint8)
    before = states.copy()
    res = sense_two_phase(_inputs(n_img, n_in, rng), states, tile_rows, p_disturb_ap=p,
                          rng=np.random.default_rng(37))
    assert not np.any(states > before)  # P cells stay P
    assert res.n_disturbed == int((before != states).sum())
    q = -math.expm1(n_img * math.log1p(-p))
    assert_binomial(res.n_disturbed, int(before.sum()), q, f"read-disturbed AP cells, {tile_rows}-row tiles")


def test_read_probabilities_drive_the_simulated_misreads(tiny_arch_path):
    """End to end: simulate's misread count over all its reads against read_probabilities' per-state
    rates (one cell type, so one rate per state), for two tilings."""
    from accelsim.simulate import simulate
    from accelsim.workload import Workload

    net = make_tiny_network(np.random.default_rng(41), shape=(120, 60, 10))
    rng = np.random.default_rng(43)
    x = np.where(rng.random((40, 120)) < 0.5, 1, -1).astype(np.int8)
    wl = Workload(x_pm1=x, y=np.zeros(40, dtype=np.int64), name="random")
    for rows, cols in ((7, 5), (64, 64)):
        arch = load_arch(tiny_arch_path, [
            "read.model=device", "read.sigma_offset_ln=0.3", "write.variability=locatelli2018",
            "retention.horizon=0 s", "cells.strong.mtj=muench-delta40", "cells.strong.delta_ap=40",
            f"tile.rows={rows}", f"tile.cols={cols}"])
        probs = read_probabilities(arch)
        p_p, p_ap = float(probs.misread_p[0]), float(probs.misread_ap[0])
        assert np.all(probs.misread_p == p_p) and np.all(probs.misread_ap == p_ap)
        res = simulate(arch, net, wl, seed=0)
        # cells read = every cell of every layer once per image; AP and P at their own rates: the count
        # lies between the binomial bounds of the smaller and of the larger rate
        lo = binom.ppf(ALPHA / 2, res.n_reads, min(p_p, p_ap))
        hi = binom.isf(ALPHA / 2, res.n_reads, max(p_p, p_ap))
        assert lo <= res.n_misreads <= hi, (rows, cols, res.n_misreads, lo, hi)
    assert res.n_reads == 40 * sum(layer.weights.size for layer in net.layers)


# ---------------------------------------------------------------- workers


SWEEP = """name: faults
arch: {arch}
net: {net}
repeats: 2
seeds: [0, 1]
set:
  read.model: device
  read.sigma_offset_ln: 0.3
  write.variability: locatelli2018
  write.model: gamma
  write.overdrive: 2.0
  write.t_pulse: 4 ns
  cells.weak.mtj: muench-delta40
  cells.strong.mtj: muench-delta60
  cells.weak.delta_p: 38
  retention.horizon: 10 years
grid:
  tile.rows: [7, 64]
"""


def test_fault_counts_do_not_depend_on_the_number_of_workers(tmp_path, tiny_arch_path, tiny_net_path):
    """Same spec and seeds: one worker and two workers give the same fault counts, row for row, and
    every kind of fault happens (the comparison is not between zeros)."""
    from accelsim.sweeps import load_spec, run_sweep, timeline_path

    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SWEEP.format(arch=tiny_arch_path.name, net=tiny_net_path.name))
    spec = load_spec(spec_path)
    one = run_sweep(spec, tmp_path / "one.csv", workers=1, progress=False)
    two = run_sweep(spec, tmp_path / "two.csv", workers=2, progress=False)
    columns = ["write_ber_measured", "retention_flips", "read_ber_measured", "read_disturbs",
               "accuracy_programmed", "accuracy_end_of_life"]
    pd.testing.assert_frame_equal(one[columns], two[columns], check_exact=True)
    assert (one[["write_ber_measured", "retention_flips", "read_ber_measured"]] > 0).all().all()
    t1 = pd.read_csv(timeline_path(tmp_path / "one.csv"))
    t2 = pd.read_csv(timeline_path(tmp_path / "two.csv"))
    pd.testing.assert_frame_equal(t1, t2, check_exact=True)
    assert t1.flips_p_to_ap.sum() > 0 and t1.flips_ap_to_p.sum() > 0


def _arch(tmp_path, delta_ap, delta_p):
    text = TINY_ARCH.replace("delta_ap: 40\n", f"delta_ap: {delta_ap[0]}\n    delta_p: {delta_p[0]}\n", 1)
    text = text.replace("delta_ap: 60\n", f"delta_ap: {delta_ap[1]}\n    delta_p: {delta_p[1]}\n", 1)
    path = tmp_path / "asym.yaml"
    path.write_text(text)
    return path
