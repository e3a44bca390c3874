import numpy as np
import pandas as pd
import pytest
import reference as ref
from conftest import make_tiny_network

from accelsim.config import load_arch
from accelsim.network import HiddenLayer, Network, OutputLayer
from accelsim.simulate import simulate
from accelsim.workload import Workload


def _plain_predict(net: Network, x: np.ndarray) -> np.ndarray:
    """The dense network by plain loops (tests/reference.py), independent of network.py."""
    a = x
    for layer in net.hidden:
        pc = ref.xnor_popcount(a, layer.weights)
        a = np.where(np.where(layer.flip, pc <= layer.threshold, pc >= layer.threshold), 1, -1)
    return np.argmax(net.output.scale * ref.xnor_popcount(a, net.output.weights) + net.output.shift, axis=1)


def _workload(net, rng, n=80):
    """Random +-1 images labelled with the plain-loop prediction: accuracy 1.0 means the simulator
    agrees with an independent inference on every image."""
    x = np.where(rng.random((n, net.n_inputs)) < 0.5, 1, -1).astype(np.int8)
    return Workload(x_pm1=x, y=_plain_predict(net, x), name="labels = plain-loop predictions")


@pytest.mark.parametrize("rows, cols", [(7, 5), (3, 2), (64, 64), (1, 1)])
def test_zero_error_rates_reproduce_the_reference_exactly(tiny_arch_path, rng, rows, cols):
    """All error rates zero: every tiling computes the plain-loop inference, image for image."""
    net = make_tiny_network(rng)
    arch = load_arch(tiny_arch_path, [f"tile.rows={rows}", f"tile.cols={cols}", "write.ber=0",
                                      "retention.horizon=0 s"])
    wl = _workload(net, rng)
    res = simulate(arch, net, wl, seed=3, repeats=2)
    assert res.accuracy_ideal == 1.0
    assert np.all(res.accuracy_programmed == 1.0) and np.all(res.accuracy_end_of_life == 1.0)
    assert res.n_write_failures == 0 and res.n_wrong_cells == 0


HAND_NET = Network(
    hidden=(HiddenLayer(weights=np.array([[1, 1, 1, 1], [1, -1, 1, -1]], dtype=np.int8),
                        threshold=np.array([3.0, 2.0]), flip=np.array([False, True])),),
    output=OutputLayer(weights=np.array([[1, 1], [-1, -1]], dtype=np.int8), scale=np.array([1.0, 1.0]),
                       shift=np.array([0.0, -0.5])),
    input_threshold=0.5)


@pytest.mark.parametrize("rows, cols", [(1, 1), (3, 2), (4, 2)])
def test_hand_computed_network(tiny_arch_path, rows, cols):
    """4 inputs, 2 hidden neurons (h1 = +1 iff popcount >= 3; h2, flipped, +1 iff popcount <= 2),
    2 classes scored popcount + (0, -0.5). Worked by hand:
      x = ++++ : popcounts (4, 2) -> h = ++ ; class popcounts (2, 0) -> scores (2, -0.5)  -> 0
      x = ---- : (0, 2) -> -+ ; (1, 1) -> (1, 0.5)  -> 0
      x = +-+- : (2, 4) -> -- ; (0, 2) -> (0, 1.5)  -> 1
      x = +++- : (3, 3) -> +- ; (1, 1) -> (1, 0.5)  -> 0
      x = ---+ : (1, 1) -> -+ ; (1, 1) -> (1, 0.5)  -> 0
    With labels (0, 1, 1, 0, 1) three of five are right: accuracy 0.6, ideal and on the crossbar."""
    x = np.array([[1, 1, 1, 1], [-1, -1, -1, -1], [1, -1, 1, -1], [1, 1, 1, -1], [-1, -1, -1, 1]],
                 dtype=np.int8)
    wl = Workload(x_pm1=x, y=np.array([0, 1, 1, 0, 1]), name="hand")
    arch = load_arch(tiny_arch_path, [f"tile.rows={rows}", f"tile.cols={cols}", "retention.horizon=0 s"])
    res = simulate(arch, HAND_NET, wl, seed=0)
    assert res.accuracy_ideal == 0.6 and res.accuracy_programmed[0] == 0.6
    assert np.array_equal(_plain_predict(HAND_NET, x), [0, 0, 1, 0, 0])


def test_same_seed_same_results_and_seed_matters(tiny_arch_path, rng):
    net = make_tiny_network(rng, shape=(40, 30, 10))
    arch = load_arch(tiny_arch_path, ["write.ber=0.2", "retention.horizon=100 years"])
    wl = _workload(net, rng)
    a = simulate(arch, net, wl, seed=5, repeats=2)
    b = simulate(arch, net, wl, seed=5, repeats=2)
    c = simulate(arch, net, wl, seed=6, repeats=2)
    pd.testing.assert_frame_equal(a.timeline, b.timeline)
    assert a.n_write_failures == b.n_write_failures
    assert not a.timeline.equals(c.timeline)


def test_write_failures_match_the_configured_ber(tiny_arch_path, rng):
    net = make_tiny_network(rng, shape=(200, 100, 10))
    arch = load_arch(tiny_arch_path, ["write.ber=0.1", "retention.horizon=0 s"])
    res = simulate(arch, net, _workload(net, rng, 8), seed=0, repeats=3)
    p_hat = res.n_write_failures / res.n_switches
    sigma = np.sqrt(0.1 * 0.9 / res.n_switches)
    assert abs(p_hat - 0.1) < 5 * sigma
    assert res.n_wrong_cells == res.n_write_failures


def test_retention_flips_only_hrs_cells_and_low_delta_more(tiny_arch_path, rng):
    """002: AP (HRS) cells flip to P; Delta 40 columns lose most of their AP cells in 10 years while
    Delta 60 columns keep theirs (PHYSICS.md section 5: 0.74 vs 2.8e-9)."""
    net = make_tiny_network(rng, shape=(300, 50, 10))
    arch = load_arch(tiny_arch_path, ["tile.rows=300", "tile.cols=50"])
    res = simulate(arch, net, _workload(net, rng, 8), seed=1)
    tl = res.timeline
    assert (tl["flips_p_to_ap"] == 0).all()
    assert tl["hrs_cells"].is_monotonic_decreasing
    assert tl["flips_total"].iloc[-1] == tl["hrs_cells"].iloc[0] - tl["hrs_cells"].iloc[-1]
    hrs_weak = sum(int((layer.weights[lm.neuron_group == 0] > 0).sum())
                   for layer, lm in zip(net.layers, res.layer_maps))
    expected = 0.74 * hrs_weak  # the Delta-60 columns contribute ~1e-9 of theirs
    flips = tl["flips_total"].iloc[-1]
    assert flips == pytest.approx(expected, rel=0.1)


def test_first_layer_only_ageing_leaves_later_layers_alone(tiny_arch_path, rng):
    """002's protocol: retention faults in the first array only."""
    net = make_tiny_network(rng, shape=(300, 50, 10))
    arch = load_arch(tiny_arch_path, ["tile.rows=300", "tile.cols=50", "retention.layers=first",
                                      "retention.horizon=1000 years"])
    res = simulate(arch, net, _workload(net, rng, 8), seed=2)
    first_hrs = int((net.hidden[0].weights > 0).sum())
    assert res.timeline["hrs_cells"].iloc[0] == first_hrs  # only A_1 is counted
    weak = net.hidden[0].weights[res.layer_maps[0].neuron_group == 0] > 0
    # Delta 40 over 1000 years: every weak AP cell flips; Delta 60 cells essentially never.
    assert res.timeline["flips_total"].iloc[-1] == int(weak.sum())


def test_device_write_model_failures_match_the_analytic_rate(tiny_arch_path, rng):
    """Gamma write model, no variability: measured failures within a binomial bound of the WER."""
    from accelsim import device
    from accelsim.device.write import write_model

    net = make_tiny_network(rng, shape=(200, 150, 10))
    overrides = ["cells.weak.mtj=muench-delta40", "cells.strong.mtj=muench-delta60",
                 "write.model=gamma", "write.t_pulse=3 ns", "write.overdrive=2.0",
                 "write.initial_state=complement", "retention.horizon=0 s", "tile.cols=150"]
    arch = load_arch(tiny_arch_path, overrides)
    res = simulate(arch, net, _workload(net, rng, 8), seed=0, repeats=2)
    expected = 0.0
    lm = res.layer_maps
    for layer, m in zip(net.layers, lm):
        for g, group in enumerate(arch.tile.columns):
            mtj = device.mtj_preset(arch.cells[group.cell].mtj)
            v_src = float(device.source_voltage_v(2.0 * mtj.vc_v, mtj, device.driver_preset("ideal"), "p"))
            plus = (layer.weights[m.neuron_group == g] > 0).sum()  # cells written P -> AP
            minus = (layer.weights[m.neuron_group == g] < 0).sum()
            for count, pol in ((plus, "p_to_ap"), (minus, "ap_to_p")):
                wer = device.write_error_rate(v_src, 3e-9, mtj, write_model("gamma"), pol)
                expected += 2 * count * float(wer)
    sigma = np.sqrt(expected)
    assert expected > 100  # a pulse short enough for a measurable rate
    assert 0.0 < expected and abs(res.n_write_failures - expected) < 5 * sigma + 1
    assert res.energy_program_j > 0


def test_device_read_errors_occur_at_the_sense_error_rate(tiny_arch_path, rng):
    """read.model device: misread cell reads happen at the rates of read_probabilities."""
    from accelsim.arch.crossbar import read_probabilities

    net = make_tiny_network(rng, shape=(120, 60, 10))
    arch = load_arch(tiny_arch_path, ["read.model=device", "read.sigma_offset_ln=0.3",
                                      "write.variability=locatelli2018", "retention.horizon=0 s"])
    probs = read_probabilities(arch)
    rates = np.concatenate([probs.misread_p, probs.misread_ap])
    assert 0.01 < rates.min() and rates.max() < 0.3
    res = simulate(arch, net, _workload(net, rng, 64), seed=0)
    measured = res.n_misreads / res.n_reads
    slack = 5 * np.sqrt(rates.max() / res.n_reads)
    assert rates.min() - slack < measured < rates.max() + slack
    assert res.accuracy_programmed[0] < 1.0  # misreads change some decisions
    ideal = simulate(load_arch(tiny_arch_path, ["retention.horizon=0 s"]), net, _workload(net, rng, 64))
    assert ideal.n_misreads == 0
