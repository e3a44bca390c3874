"""Binarized convolutions: the reference inference against plain loops, the format, the crossbar
simulation against the reference (bit for bit with every error rate zero), and the engine's patches."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import reference as ref

from accelsim.arch.timing import TimingConfig
from accelsim.config import load_arch
from accelsim.engine import Engine, OpEnergies
from accelsim.errors import NetworkError
from accelsim.mapping import map_network
from accelsim.network import (
    ConvShape,
    HiddenLayer,
    Network,
    OutputLayer,
    RealFront,
    crossbar_inputs,
    layer_activations,
    load_network,
    network_arrays,
    patches,
    reference_predict,
    save_network,
)
from accelsim.simulate import simulate
from accelsim.workload import Workload


def _pm1(rng, shape):
    return np.where(rng.random(shape) < 0.5, 1, -1).astype(np.int8)


def _thresholds(rng, n_in, n):
    return (rng.integers(n_in // 3, 2 * n_in // 3 + 1, n).astype(np.float64), rng.random(n) < 0.3)


def make_conv_network(rng, *, front=True, head=True, n_test=24) -> Network:
    """front 10x10x1 (3x3, 3 filters, pool) -> conv 4x4x3 (2x2, 5 filters, per-map thresholds) ->
    conv 3x3x5 (2x2, 6 filters, pool, per-filter thresholds) -> dense 6 -> 7 -> output 7 -> 4
    (a real head to 3 classes, or scale/shift). Without a front the first conv takes 4x4x3 +-1 bits."""
    layers = []
    c1 = ConvShape(in_h=4, in_w=4, in_c=3, kernel=2, pool=False)
    thr, flip = _thresholds(rng, 12, c1.n_outputs(5))
    layers.append(HiddenLayer(weights=_pm1(rng, (5, 12)), threshold=thr, flip=flip, conv=c1))
    c2 = ConvShape(in_h=3, in_w=3, in_c=5, kernel=2, pool=True)
    thr, flip = _thresholds(rng, 20, 6)
    layers.append(HiddenLayer(weights=_pm1(rng, (6, 20)), threshold=thr, flip=flip, conv=c2))
    thr, flip = _thresholds(rng, 6, 7)
    layers.append(HiddenLayer(weights=_pm1(rng, (7, 6)), threshold=thr, flip=flip))
    w_out = _pm1(rng, (4, 7))
    out = (OutputLayer(weights=w_out, head=rng.normal(0, 1, (3, 4)), shift=rng.normal(0, 1, 3)) if head
           else OutputLayer(weights=w_out, scale=rng.uniform(0.5, 2, 4), shift=rng.normal(0, 1, 4)))
    n_classes = 3 if head else 4
    if front:
        f = RealFront(weights=rng.normal(0, 1, (3, 3, 1, 3)),
                      conv=ConvShape(in_h=10, in_w=10, in_c=1, kernel=3, pool=True),
                      scale=rng.uniform(-1.5, 1.5, 3), shift=rng.normal(0, 0.5, 3),
                      out_scale=rng.uniform(-2, 2, 3), out_shift=rng.normal(-0.5, 0.5, 3))
        x = rng.random((n_test, 100)).astype(np.float32)
        return Network(hidden=tuple(layers), output=out, input_threshold=float("nan"), front=f,
                       test_x=x, test_y=rng.integers(0, n_classes, n_test), test_source="random")
    bits = rng.random((n_test, 48)) < 0.5
    return Network(hidden=tuple(layers), output=out, input_threshold=0.5,
                   test_x_packed=np.packbits(bits, axis=1), test_y=rng.integers(0, n_classes, n_test),
                   test_source="random bits")


def _plain_predict(net: Network, x: np.ndarray) -> np.ndarray:
    """The network by plain loops (tests/reference.py), independent of network.py's im2col."""
    if net.front is not None:
        f = net.front
        z = ref.real_conv(x.astype(np.float64).reshape(-1, 10, 10, 1), f.weights)
        v = ref.max_pool2(np.maximum(f.scale * z + f.shift, 0.0))
        a = np.where(f.out_scale * v + f.out_shift >= 0, 1, -1).reshape(len(x), -1)
    else:
        a = np.asarray(x)
    for layer in net.hidden:
        if layer.conv is not None:
            c = layer.conv
            pc = ref.conv_popcount(a.reshape(-1, c.in_h, c.in_w, c.in_c), layer.weights, c.kernel)
            if c.pool == "max":
                pc = ref.max_pool2(pc)
            f = layer.weights.shape[0]
            thr = np.broadcast_to(layer.threshold.reshape(-1, f), (pc.shape[1] * pc.shape[2], f)).ravel()
            flip = np.broadcast_to(layer.flip.reshape(-1, f), (pc.shape[1] * pc.shape[2], f)).ravel()
            pc = pc.reshape(len(a), -1)
        else:
            pc = ref.xnor_popcount(a, layer.weights)
            thr, flip = layer.threshold, layer.flip
        a = np.where(np.where(flip, pc <= thr, pc >= thr), 1, -1)
    pc = ref.xnor_popcount(a, net.output.weights).astype(np.float64)
    o = net.output
    scores = pc @ o.head.T + o.shift if o.head is not None else o.scale * pc + o.shift
    return np.argmax(scores, axis=1)


def _inputs(net, rng, n):
    if net.front is not None:
        return rng.random((n, net.n_inputs)).astype(np.float32)
    return _pm1(rng, (n, net.n_inputs))


@pytest.mark.parametrize("front, head", [(True, True), (False, False)])
def test_reference_matches_plain_loops(rng, front, head):
    net = make_conv_network(rng, front=front, head=head)
    x = _inputs(net, rng, 40)
    assert np.array_equal(reference_predict(net, x), _plain_predict(net, x))


def test_patches_are_the_windows_in_weight_order(rng):
    c = ConvShape(in_h=5, in_w=4, in_c=2, kernel=3, pool=False)
    maps = rng.integers(0, 9, (2, 5, 4, 2))
    rows = patches(maps.reshape(2, -1), c)
    assert rows.shape == (2 * 3 * 2, 18)
    assert np.array_equal(rows[1 * 6 + 2 * 2 + 1], maps[1, 2:5, 1:4, :].ravel())  # image 1, y 2, x 1


def test_pool_then_threshold_is_or_and_for_flip_and():
    """Max-pooling the popcounts, then the threshold, is the OR of the thresholded bits over each
    window (and their AND for a flipped neuron), so the order is exact either way."""
    c = ConvShape(in_h=3, in_w=3, in_c=1, kernel=2, pool=True)  # 2 x 2 positions -> one pooled output
    w = np.ones((2, 4), dtype=np.int8)
    layer = HiddenLayer(weights=w, threshold=np.array([3.0, 1.0]), flip=np.array([False, True]), conv=c)
    pc = np.array([[1, 1], [3, 0], [2, 2], [0, 1]])  # (positions, filters) of one image
    out = layer_activations(pc, layer, 1)
    assert out.tolist() == [[1, -1]]  # filter 0: any >= 3; filter 1: max 2 > 1 so not all <= 1
    bits0 = pc[:, 0] >= 3
    bits1 = pc[:, 1] <= 1
    assert out[0, 0] == (1 if bits0.any() else -1) and out[0, 1] == (1 if bits1.all() else -1)


def test_round_trip_and_v1_stays_v1(tmp_path, rng):
    net = make_conv_network(rng)
    save_network(tmp_path / "c.npz", net)
    back = load_network(tmp_path / "c.npz")
    assert back.format_version == 2 and back.shape == (100, 48, 45, 6, 7, 4, 3)
    assert back.hidden[0].conv == net.hidden[0].conv and back.front.conv == net.front.conv
    x = _inputs(net, rng, 30)
    assert np.array_equal(reference_predict(net, x), reference_predict(back, x))
    assert np.array_equal(back.test_x, net.test_x)
    from conftest import make_tiny_network

    arrays = network_arrays(make_tiny_network(rng))
    assert int(arrays["format_version"]) == 1 and "layer0_kind" not in arrays


def _saved(tmp_path, rng, **kw):
    save_network(tmp_path / "c.npz", make_conv_network(rng, **kw))
    with np.load(tmp_path / "c.npz") as z:
        return {k: z[k] for k in z.files}


def _set(**kw):
    return lambda d: d.update(**kw)


@pytest.mark.parametrize("edit, match", [
    (_set(layer0_kind=np.str_("pool")), r"'layer0_kind' is 'pool', expected one of dense, conv"),
    (_set(layer3_kind=np.str_("conv")), "the output layer must be dense"),
    (_set(layer0_input_shape=np.array([4, 4, 2])),
     r"layer0_weights has shape \(5, 12\), expected \(filters, 8\)"),
    (_set(layer1_input_shape=np.array([3, 3, 4]), layer1_weights=np.ones((6, 16), np.int8)),
     r"layer1 input_shape \(3, 3, 4\): its inputs do not chain with the outputs of layer0 "
     r"\(map \(3, 3, 5\)\)"),
    (_set(layer1_kernel=np.int64(4)), "'layer1_kernel' 4 is larger than the 3 x 3 input map"),
    (_set(layer0_pool=np.int64(1)), "'layer0_pool' has shape .* expected a bool scalar"),
    (_set(layer0_threshold=np.zeros(6)), r"'layer0_threshold' has shape \(6,\), expected \(5,\) or \(45,\)"),
    (_set(layer1_threshold=np.zeros(5)), r"'layer1_threshold' has shape \(5,\), expected \(6,\)$"),
    (_set(layer2_weights=np.ones((7, 5), np.int8)), "its 5 inputs do not chain with the 6 outputs of layer1"),
    (_set(front_weights=np.ones((2, 3, 1, 3))), r"'front_weights' has shape \(2, 3, 1, 3\)"),
    (_set(front_kind=np.str_("mlp")), "'front_kind' is 'mlp'"),
    (_set(front_out_scale=np.array([1.0, np.nan, 1.0])), "'front_out_scale' must hold finite"),
    (_set(layer3_head=np.ones((3, 5))), r"'layer3_head' has shape \(3, 5\), expected \(n_classes, 4\)"),
    (_set(layer3_scale=np.ones(4)), "both 'layer3_head' and 'layer3_scale'"),
    (lambda d: d.update(test_x=d["test_x"][:, :50]), r"test_x has shape \(24, 50\) float32, expected finite"),
    (lambda d: d.pop("layer0_kind"), "missing key 'layer0_kind'"),
])
def test_bad_conv_networks_are_refused(tmp_path, rng, edit, match):
    data = _saved(tmp_path, rng)
    edit(data)
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(NetworkError, match=match):
        load_network(tmp_path / "bad.npz")


def test_front_keys_need_version_2(tmp_path, rng):
    from conftest import make_tiny_network

    data = network_arrays(make_tiny_network(rng))
    data["front_weights"] = np.ones((3, 3, 1, 2))
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(NetworkError, match="front_\\* keys without 'front_kind'"):
        load_network(tmp_path / "bad.npz")


def _workload(net, rng, n):
    x = _inputs(net, rng, n)
    y = reference_predict(net, x)
    if net.front is not None:
        return Workload(x_real=x, y=y, name="labels = ideal predictions")
    return Workload(x_pm1=x, y=y, name="labels = ideal predictions")


@pytest.mark.parametrize("rows, cols", [(7, 5), (5, 2), (64, 64), (1, 1)])
@pytest.mark.parametrize("front", [True, False])
def test_zero_error_rates_reproduce_the_reference_bit_for_bit(tiny_arch_path, rng, rows, cols, front):
    """Every layer's activations and the predictions, with splits of rows (12- and 20-row patches on
    5- and 7-row tiles) and of columns."""
    from accelsim.arch.chip import build_chip
    from accelsim.kernels.xnor import pack_bits
    from accelsim.simulate import RepeatState

    net = make_conv_network(rng, front=front, head=front)
    arch = load_arch(tiny_arch_path, [f"tile.rows={rows}", f"tile.cols={cols}", "write.ber=0",
                                      "retention.horizon=0 s"])
    wl = _workload(net, rng, 30)
    res = simulate(arch, net, wl, seed=2, repeats=1)
    assert res.accuracy_ideal == 1.0 and res.accuracy_programmed[0] == 1.0
    assert res.n_cells == 5 * 12 + 6 * 20 + 7 * 6 + 4 * 7  # the front holds no cells
    assert bool(res.off_crossbar) == front
    # Layer by layer: the simulated activations equal the reference's.
    maps = map_network(net, arch)
    a = crossbar_inputs(net, wl.x).astype(np.int32)
    rep = RepeatState(arch, net, maps, build_chip(arch, maps), pack_bits(a), 2, 0)
    for li in range(len(maps)):
        rep.program(li)
        rep.sense(li, 0, len(a))
        if li + 1 < len(maps):
            layer = net.hidden[li]
            rows_in = patches(a, layer.conv) if layer.conv else a
            pc = (rows_in @ layer.weights.T.astype(np.int32) + layer.weights.shape[1]) // 2
            a = layer_activations(pc, layer, len(a)).astype(np.int32)
            assert np.array_equal(rep.acts[li + 1], pack_bits(a))
    assert np.array_equal(rep.predictions, wl.y)


def test_faults_act_on_conv_cells(tiny_arch_path, rng):
    """The same write-error model applies to conv cells: the measured BER is the configured one."""
    net = make_conv_network(rng)
    arch = load_arch(tiny_arch_path, ["write.ber=0.2", "retention.horizon=0 s"])
    res = simulate(arch, net, _workload(net, rng, 8), seed=0, repeats=20)
    p_hat = res.n_write_failures / res.n_switches
    assert abs(p_hat - 0.2) < 5 * math.sqrt(0.2 * 0.8 / res.n_switches)


HAND = dict(clock_hz=1e9, t_sense_s=3e-9, t_write_pulse_s=10e-9, t_adder_s=1e-9, link_bits_per_cycle=8,
            n_write_drivers=2, batch_images=1, n_sense_amps=2)


def test_engine_counts_every_patch():
    """A 2x2 conv over 4x4x3 maps: 9 patches of 12 inputs, 5 filters, on 8 x 4 tiles (2 row tiles x 2
    column tiles, 4 + 1 columns used). Per image:
    link_in ceil(9 x 8 / 8) = 9; sense 9 x 2 phases x ceil(4 / 2) x 3 = 108; link_out
    ceil(9 x 4 cols x 4 bits / 8) = 18; adder (1 level + 9 - 1) x 1 = 9: fill 144, II 108."""
    layer = SimpleNamespace(n_in=12, n_out=5, row_tiles=2, col_tiles=2, n_phases=2, vectors_per_image=9,
                            inputs_per_image=48, outputs_per_image=45)
    e = Engine([layer], tile_rows=8, tile_cols=4, timing=TimingConfig(**HAND),
               energies=OpEnergies(column_phase_j=1.0, link_per_bit_j=1.0))
    for n in (1, 4):
        assert e.infer(n) == 144 + (n - 1) * 108
    e = Engine([layer], tile_rows=8, tile_cols=4, timing=TimingConfig(**HAND),
               energies=OpEnergies(column_phase_j=1.0, link_per_bit_j=1.0))
    e.infer(1)
    energy = e.report().energy_by_activity_j
    assert energy["sense"] == 9 * 2 * (4 + 1) * 2  # per patch, phase and column used, in both row tiles
    assert energy["link_in"] == 9 * 12 * 2  # every patch to both tile columns
    assert energy["link_out"] == 9 * 5 * 2 * 4  # a 4-bit partial count per filter and row tile


def test_mapped_conv_layer_counts_its_patches(tiny_arch_path, rng):
    net = make_conv_network(rng)
    maps = map_network(net, load_arch(tiny_arch_path))
    assert [(m.n_in, m.n_out, m.vectors_per_image, m.outputs_per_image) for m in maps] == [
        (12, 5, 9, 45), (20, 6, 4, 6), (6, 7, 1, 7), (7, 4, 1, 4)]


def test_shipped_lenet_on_the_crossbar_equals_its_reference():
    import dataclasses

    from conftest import ROOT

    from accelsim.config import load_arch
    from accelsim.network import load_network, reference_predict
    from accelsim.simulate import simulate
    from accelsim.workload import bundled_workload

    net = load_network(ROOT / "workloads" / "lenet4.npz")
    full = bundled_workload(net)
    workload = dataclasses.replace(full, x_real=full.x_real[:300], y=full.y[:300])
    arch = load_arch(ROOT / "arch_configs" / "weight_ber.yaml", (("write.ber", 0.0),))
    result = simulate(arch, net, workload, seed=0, repeats=1)
    ideal = np.mean(reference_predict(net, workload.x) == workload.y)
    assert result.n_write_failures == 0 and result.n_wrong_cells == 0
    assert result.accuracy_programmed[0] == result.accuracy_ideal == ideal > 0.9
    assert any("off-crossbar" in note for note in result.off_crossbar)
