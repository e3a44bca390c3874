"""Format version 3 convolutions -- stride, zero and +1 padding, 1x1 kernels, k x k / s max-pools,
average and global average pools -- against plain loops written here (direct nested-loop
convolution in float64, pool loops), and the crossbar (all error rates zero) against both, bit for
bit, on several tilings; zero padding under cell faults reads only the driven rows."""

import numpy as np
import pytest

from accelsim.config import load_arch
from accelsim.errors import ConfigError, NetworkError
from accelsim.mapping import map_network, states_to_weight_bits
from accelsim.network import (
    ConvShape,
    HiddenLayer,
    Network,
    OutputLayer,
    RealFront,
    crossbar_inputs,
    load_network,
    network_arrays,
    reference_predict,
    save_network,
)
from accelsim.simulate import simulate
from accelsim.workload import Workload

# ------------------------------------------------------------------------- plain loops (the reference)


def plain_conv(maps, filters, conv):
    """Cross-correlation by loops over output positions and kernel offsets, float64: maps (n, H, W,
    C), filters (F, k, k, C) -> (n, out_h, out_w, F), the window of (y, x) starting at (y s - top,
    x s - left); outside the map an input is 0 (``zero``) or 1 (``one``)."""
    n, h, w, c = maps.shape
    k, s = conv.kernel, conv.stride
    top, _, left, _ = conv.pad
    out_h = (h + conv.pad[0] + conv.pad[1] - k) // s + 1
    out_w = (w + conv.pad[2] + conv.pad[3] - k) // s + 1
    pad = 1.0 if conv.pad_value == "one" else 0.0
    out = np.zeros((n, out_h, out_w, filters.shape[0]))
    for y in range(out_h):
        for x in range(out_w):
            for ky in range(k):
                for kx in range(k):
                    iy, ix = y * s + ky - top, x * s + kx - left
                    if 0 <= iy < h and 0 <= ix < w:
                        v = maps[:, iy, ix, :].astype(np.float64)
                    else:
                        v = np.full((n, c), pad)
                    out[:, y, x, :] += v @ filters[:, ky, kx, :].T.astype(np.float64)
    return out


def plain_pool(values, size, stride, op):
    """op (max or sum) over size x size windows of stride ``stride`` (floor mode) by loops."""
    n, h, w, f = values.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, oh, ow, f), dtype=values.dtype)
    for y in range(oh):
        for x in range(ow):
            win = values[:, y * stride: y * stride + size, x * stride: x * stride + size, :]
            out[:, y, x, :] = op(win.reshape(n, -1, f), axis=1)
    return out


def plain_fires(v, thr, flip):
    """+1 iff v >= thr (flip: v <= thr), thresholds (F,) or one per map element (positions * F,)."""
    n, h, w, f = v.shape
    thr = np.broadcast_to(thr.reshape(-1, f), (h * w, f)).reshape(h, w, f)
    flip = np.broadcast_to(flip.reshape(-1, f), (h * w, f)).reshape(h, w, f)
    return np.where(np.where(flip, v <= thr, v >= thr), 1, -1)


def plain_layer(a, layer):
    """A hidden layer on +-1 activations a (n, n_in) by loops: the dot of the framework's padded
    convolution, e = (dot + k k C) / 2 (the popcount when nothing is zero-padded), then the pools."""
    n = len(a)
    if layer.conv is None:
        e = (a.astype(np.float64) @ layer.weights.T.astype(np.float64) + layer.weights.shape[1]) / 2
        return plain_fires(e.reshape(n, 1, 1, -1), layer.threshold, layer.flip).reshape(n, -1)
    c = layer.conv
    f = layer.weights.shape[0]
    dot = plain_conv(a.reshape(n, c.in_h, c.in_w, c.in_c),
                     layer.weights.reshape(f, c.kernel, c.kernel, c.in_c), c)
    e = (dot + c.patch_size) / 2
    if c.pool == "max":
        e = plain_pool(e, c.pool_size, c.pool_stride, np.max)
    fire = plain_fires(e, layer.threshold, layer.flip)
    if c.pool in ("avg", "global"):
        plus = (fire > 0).astype(np.int64)
        if c.pool == "global":
            count = plus.sum(axis=(1, 2), keepdims=True)
        else:
            count = plain_pool(plus, c.pool_size, c.pool_stride, np.sum)
        fire = plain_fires(count.astype(np.float64), layer.pool_threshold, layer.pool_flip)
    return fire.reshape(n, -1)


def plain_front(x, front):
    c = front.conv
    z = plain_conv(x.astype(np.float64).reshape(len(x), c.in_h, c.in_w, c.in_c),
                   front.weights.transpose(3, 0, 1, 2), c)
    v = np.maximum(front.scale * z + front.shift, 0.0)
    if c.pool == "max":
        v = plain_pool(v, c.pool_size, c.pool_stride, np.max)
    return np.where(front.out_scale * v + front.out_shift >= 0, 1, -1).reshape(len(x), -1)


def calibrated(net, x):
    """``net`` with each average pool's thresholds at the median of its counts on inputs ``x`` (by
    the plain loops), so that its outputs vary from image to image."""
    import dataclasses

    a = plain_front(x, net.front) if net.front is not None else np.asarray(x)
    hidden = []
    for layer in net.hidden:
        c = layer.conv
        if c is not None and c.pool in ("avg", "global"):
            probe = dataclasses.replace(layer, pool_threshold=np.zeros(layer.weights.shape[0]),
                                        pool_flip=np.zeros(layer.weights.shape[0], bool))
            f = layer.weights.shape[0]
            dot = plain_conv(a.reshape(len(a), c.in_h, c.in_w, c.in_c),
                             layer.weights.reshape(f, c.kernel, c.kernel, c.in_c), c)
            plus = plain_fires((dot + c.patch_size) / 2, layer.threshold, layer.flip) > 0
            count = (plus.sum(axis=(1, 2)) if c.pool == "global"
                     else plain_pool(plus.astype(np.int64), c.pool_size, c.pool_stride,
                                     np.sum).reshape(len(a), -1, f).reshape(-1, f))
            layer = dataclasses.replace(probe, pool_threshold=np.median(count.reshape(-1, f), axis=0))
        hidden.append(layer)
        a = plain_layer(a, layer)
    return dataclasses.replace(net, hidden=tuple(hidden))


def plain_activations(net, x):
    """Every crossbar layer's input activations (list), then the predictions, by loops."""
    a = plain_front(x, net.front) if net.front is not None else np.asarray(x)
    acts = [a]
    for layer in net.hidden:
        a = plain_layer(a, layer)
        acts.append(a)
    o = net.output
    pc = (a.astype(np.float64) @ o.weights.T.astype(np.float64) + o.weights.shape[1]) / 2
    scores = pc @ o.head.T + o.shift if o.head is not None else o.scale * pc + o.shift
    return acts, np.argmax(scores, axis=1)


# ------------------------------------------------------------------------- networks


def _pm1(rng, shape):
    return np.where(rng.random(shape) < 0.5, 1, -1).astype(np.int8)


def _layer(rng, conv, f, *, per_map=False, pool_thr=None):
    """Thresholds near the middle of the equivalent count, half of them half-integers."""
    p = conv.patch_size
    n = conv.threshold_positions * f if per_map else f
    thr = rng.integers(p // 3, 2 * p // 3 + 1, n) + rng.choice([0.0, 0.5], n)
    extra = {}
    if conv.pool in ("avg", "global"):
        window = conv.out_h * conv.out_w if conv.pool == "global" else conv.pool_size ** 2
        extra = dict(pool_threshold=rng.integers(1, window + 1, f).astype(np.float64),
                     pool_flip=rng.random(f) < 0.3)
    return HiddenLayer(weights=_pm1(rng, (f, p)), threshold=thr, flip=rng.random(n) < 0.3, conv=conv,
                       **extra)


def _finish(rng, hidden, n_in_out, *, front=None, in_shape=None):
    head = rng.normal(0, 1, (3, 4))  # scores = head @ (popcount - n / 2) + noise: centred
    out = OutputLayer(weights=_pm1(rng, (4, n_in_out)), head=head,
                      shift=-head.sum(axis=1) * n_in_out / 2 + rng.normal(0, 0.3, 3))
    return Network(hidden=tuple(hidden), output=out,
                   input_threshold=float("nan") if front is not None else 0.5, front=front)


def network_a(rng) -> Network:
    """9x8x2 bits -> 3x3/1 pad 1 zero, 3x3/2 max-pool -> 3x3/1 pad 1 one, 2x2/1 avg-pool -> 1x1
    (per-map thresholds) -> 2x2/2 pad (1,0,0,1) zero, global avg-pool -> dense 6 -> out 4 -> 3."""
    c0 = ConvShape(in_h=9, in_w=8, in_c=2, kernel=3, pad=1, pool="max", pool_size=3, pool_stride=2)
    l0 = _layer(rng, c0, 5)
    c1 = ConvShape(in_h=c0.map_h, in_w=c0.map_w, in_c=5, kernel=3, pad=1, pad_value="one", pool="avg",
                   pool_size=2, pool_stride=1)
    l1 = _layer(rng, c1, 6)
    c2 = ConvShape(in_h=c1.map_h, in_w=c1.map_w, in_c=6, kernel=1)
    l2 = _layer(rng, c2, 4, per_map=True)
    c3 = ConvShape(in_h=c2.map_h, in_w=c2.map_w, in_c=4, kernel=2, stride=2, pad=(1, 0, 0, 1),
                   pool="global")
    l3 = _layer(rng, c3, 5)
    l4 = HiddenLayer(weights=_pm1(rng, (6, 5)), threshold=rng.integers(1, 5, 6).astype(np.float64),
                     flip=rng.random(6) < 0.3)
    return _finish(rng, [l0, l1, l2, l3, l4], 6)


def network_b(rng) -> Network:
    """10x10x3 bits -> 3x3/2 pad 1 zero (per-map thresholds) -> 3x3/1 pad (0,2,1,0) zero, 2x2/2
    max-pool -> 1x1/1 -> out."""
    c0 = ConvShape(in_h=10, in_w=10, in_c=3, kernel=3, stride=2, pad=1)
    l0 = _layer(rng, c0, 7, per_map=True)
    c1 = ConvShape(in_h=c0.map_h, in_w=c0.map_w, in_c=7, kernel=3, pad=(0, 2, 1, 0), pool="max")
    l1 = _layer(rng, c1, 6)
    c2 = ConvShape(in_h=c1.map_h, in_w=c1.map_w, in_c=6, kernel=1)
    l2 = _layer(rng, c2, 5)
    return _finish(rng, [l0, l1, l2], c2.n_outputs(5))


def network_front(rng) -> Network:
    """CIFAR-shaped: real 32x32x3 -> real 3x3 pad 1 conv, 2x2 max-pool (16x16x4) -> binary 3x3/2 pad 1
    zero (8x8x6) -> 3x3/1 pad 1 zero, global avg-pool -> out."""
    fc = ConvShape(in_h=32, in_w=32, in_c=3, kernel=3, pad=1, pool="max")
    front = RealFront(weights=rng.normal(0, 1, (3, 3, 3, 4)), conv=fc, scale=rng.uniform(-1.5, 1.5, 4),
                      shift=rng.normal(0, 0.5, 4), out_scale=rng.uniform(-2, 2, 4),
                      out_shift=rng.normal(-0.5, 0.5, 4))
    c0 = ConvShape(in_h=16, in_w=16, in_c=4, kernel=3, stride=2, pad=1)
    c1 = ConvShape(in_h=8, in_w=8, in_c=6, kernel=3, pad=1, pool="global")
    return _finish(rng, [_layer(rng, c0, 6), _layer(rng, c1, 5)], 5, front=front)


NETWORKS = {"a": network_a, "b": network_b, "front": network_front}


def _inputs(net, rng, n):
    if net.front is not None:
        return rng.random((n, net.n_inputs)).astype(np.float32)
    return _pm1(rng, (n, net.n_inputs))


# ------------------------------------------------------------------------- tests


def test_geometry_by_hand():
    c = ConvShape(in_h=6, in_w=5, in_c=2, kernel=3, stride=2, pad=1)
    assert (c.out_h, c.out_w, c.positions, c.patch_size) == (3, 3, 9, 18)
    # rows -1..1 / 1..3 / 3..5 and columns -1..1 / 1..3 / 3..5 of a 6 x 5 map
    assert c.n_valid().tolist() == [8, 12, 8, 12, 18, 12, 12, 18, 12]
    m = ConvShape(in_h=9, in_w=8, in_c=1, kernel=3, pad=1, pool="max", pool_size=3, pool_stride=2)
    assert (m.out_h, m.out_w, m.map_h, m.map_w) == (9, 8, 4, 3)
    assert ConvShape(in_h=4, in_w=4, in_c=1, kernel=1, pool="global").n_outputs(7) == 7
    assert ConvShape(in_h=5, in_w=5, in_c=1, kernel=2, pool=True).pool == "max"


def _prefixes(net, rng):
    """The network cut after each hidden layer, with a fresh output layer reading that layer."""
    for k in range(1, len(net.hidden) + 1):
        n_out = net.hidden[k - 1].n_outputs
        yield _finish(rng, net.hidden[:k], n_out, front=net.front)


@pytest.mark.parametrize("name", NETWORKS)
def test_reference_matches_plain_loops(rng, name):
    """Each prefix of the network (so every layer's outputs reach a prediction), on inputs that
    make every layer's activations vary."""
    net = NETWORKS[name](rng)
    x = _inputs(net, rng, 12 if name == "front" else 40)
    net = calibrated(net, x)
    acts, _ = plain_activations(net, x)
    for a in acts[1:]:
        assert 0 < np.mean(a > 0) < 1 and len({row.tobytes() for row in a}) > 1
    varied = 0
    for sub in _prefixes(net, rng):
        _, plain = plain_activations(sub, x)
        predicted = reference_predict(sub, x)
        assert np.array_equal(predicted, plain)
        varied += len(set(predicted.tolist())) > 1
    assert varied >= len(net.hidden) / 2  # most checks see more than one class


@pytest.mark.parametrize("name", NETWORKS)
def test_round_trip_writes_version_3(tmp_path, rng, name):
    net = NETWORKS[name](rng)
    save_network(tmp_path / "n.npz", net)
    back = load_network(tmp_path / "n.npz")
    assert back.format_version == 3 and int(network_arrays(net)["format_version"]) == 3
    for a, b in zip(net.hidden, back.hidden):
        assert a.conv == b.conv
    x = _inputs(net, rng, 10)
    assert np.array_equal(reference_predict(net, x), reference_predict(back, x))


def test_legacy_convs_still_write_version_2(rng):
    c = ConvShape(in_h=5, in_w=5, in_c=1, kernel=2, pool="max")
    net = _finish(rng, [_layer(rng, c, 3)], c.n_outputs(3))
    arrays = network_arrays(net)
    assert int(arrays["format_version"]) == 2 and arrays["layer0_pool"].dtype == np.bool_
    assert "layer0_stride" not in arrays


def _saved(tmp_path, rng):
    save_network(tmp_path / "a.npz", network_a(rng))
    with np.load(tmp_path / "a.npz") as z:
        return {k: z[k] for k in z.files}


def _set(**kw):
    return lambda d: d.update(**kw)


@pytest.mark.parametrize("edit, match", [
    (_set(layer0_stride=np.int64(0)), "'layer0_stride' is 0 .*expected an integer >= 1"),
    (_set(layer0_padding=np.array([1, 1, -1, 1])), "'layer0_padding' .*expected an integer >= 0 or 4"),
    (_set(layer0_padding=np.array([1, 1])), "'layer0_padding' .*expected an integer >= 0 or 4"),
    (_set(layer0_padding=np.int64(3)), "padding must be smaller than the 3x3 kernel"),
    (_set(layer0_pad_value=np.str_("two")), "'layer0_pad_value' is 'two', expected one of zero, one"),
    (_set(layer0_pool=np.str_("min")), "'layer0_pool' is 'min', expected one of none, max, avg, global"),
    (_set(layer0_pool_size=np.int64(0)), "'layer0_pool_size' is 0"),
    (_set(layer2_pool_size=np.int64(2)), "'layer2_pool_size' given but 'layer2_pool' is 'none'"),
    (_set(layer0_pool_size=np.int64(9)), "layer0: the 9 x 8 output map cannot be pooled"),
    (_set(layer2_pool_threshold=np.ones(4)), "'layer2_pool_threshold' given, but layer2 has no average"),
    (lambda d: d.pop("layer1_pool_flip"), "missing key 'layer1_pool_flip'"),
    (_set(layer1_pool_threshold=np.ones(5)), r"'layer1_pool_threshold' has shape \(5,\), expected \(6,\)"),
    (_set(layer1_threshold=np.ones(7)), r"'layer1_threshold' has shape \(7,\), expected \(6,\) or \(72,\)"),
    (_set(layer0_stride=np.int64(2)), "layer1 input_shape .* do not chain"),
    (_set(format_version=np.int64(2)), r"'layer0_stride' needs format_version 3 \(file says 2\)"),
    (_set(format_version=np.int64(4)), "format_version 4 .* reads the integer versions 1, 2, 3"),
])
def test_bad_v3_networks_are_refused(tmp_path, rng, edit, match):
    data = _saved(tmp_path, rng)
    edit(data)
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(NetworkError, match=match):
        load_network(tmp_path / "bad.npz")


def test_v3_keys_in_a_version_2_file_are_refused(tmp_path, rng):
    c = ConvShape(in_h=5, in_w=5, in_c=1, kernel=2, pool="max")
    data = network_arrays(_finish(rng, [_layer(rng, c, 3)], c.n_outputs(3)))
    data["layer0_stride"] = np.int64(1)
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(NetworkError, match="'layer0_stride' needs format_version 3"):
        load_network(tmp_path / "bad.npz")


def test_front_refuses_an_average_pool(tmp_path, rng):
    data = network_arrays(network_front(rng))
    data["front_pool"] = np.str_("avg")
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(NetworkError, match="'front_pool' is 'avg', expected one of none, max"):
        load_network(tmp_path / "bad.npz")


def _repeat_layers(arch, net, x, seed=2):
    """(simulated input activations of every crossbar layer, predictions, the RepeatState)."""
    from accelsim.arch.chip import build_chip
    from accelsim.kernels.xnor import pack_bits, unpack_bits
    from accelsim.simulate import RepeatState

    maps = map_network(net, arch)
    a = crossbar_inputs(net, x)
    rep = RepeatState(arch, net, maps, build_chip(arch, maps), pack_bits(a), seed, 0)
    acts = [a]
    for li in range(len(maps)):
        rep.program(li)
        rep.sense(li, 0, len(a))
        if li + 1 < len(maps):
            acts.append(np.where(unpack_bits(rep.acts[li + 1], maps[li].outputs_per_image) > 0, 1, -1))
    return acts, rep.predictions.copy(), rep


@pytest.mark.parametrize("rows, cols", [(7, 5), (5, 2), (64, 64), (4, 3)])
@pytest.mark.parametrize("name", NETWORKS)
def test_zero_error_crossbar_equals_plain_loops(tiny_arch_path, rng, rows, cols, name):
    """Every layer's activations bit for bit (patches of 18 to 63 rows on 4- to 64-row tiles: row and
    column splits), the predictions, and simulate's accuracy against the reference's labels."""
    net = NETWORKS[name](rng)
    arch = load_arch(tiny_arch_path, [f"tile.rows={rows}", f"tile.cols={cols}", "write.ber=0",
                                      "retention.horizon=0 s"])
    x = _inputs(net, rng, 10 if name == "front" else 24)
    net = calibrated(net, x)
    plain_acts, plain_pred = plain_activations(net, x)
    acts, pred, _ = _repeat_layers(arch, net, x)
    for li, (got, want) in enumerate(zip(acts, plain_acts)):
        assert np.array_equal(got, want), f"layer {li} inputs differ"
    assert np.array_equal(pred, plain_pred)
    y = reference_predict(net, x)
    wl = Workload(x_real=x, y=y, name="ideal") if net.front is not None else Workload(x_pm1=x, y=y,
                                                                                     name="ideal")
    res = simulate(arch, net, wl, seed=1, repeats=1)
    assert res.accuracy_ideal == 1.0 and res.accuracy_programmed[0] == 1.0


def test_zero_padding_reads_only_driven_rows_under_faults(tiny_arch_path, rng):
    """With write errors (cells that hold the wrong weight) and no read errors, a zero-padded layer's
    outputs are those of the plain zero-padded convolution with the weights the cells hold -- the
    padded rows contribute nothing whatever their cells store."""
    net = network_b(rng)
    arch = load_arch(tiny_arch_path, ["tile.rows=7", "tile.cols=5", "write.ber=0.3",
                                      "retention.horizon=0 s"])
    x = _inputs(net, rng, 16)
    acts, _, rep = _repeat_layers(arch, net, x, seed=5)
    assert rep.n_wrong > 0
    for li, layer in enumerate(net.hidden):
        held = np.where(states_to_weight_bits(rep._states2d(li), arch.mapping), 1, -1).astype(np.int8)
        faulty = HiddenLayer(weights=held, threshold=layer.threshold, flip=layer.flip, conv=layer.conv)
        assert np.array_equal(acts[li + 1], plain_layer(acts[li], faulty)), f"layer {li}"


def test_only_driven_rows_are_read(tiny_arch_path, rng):
    """Cell reads (what misreads and sensing energy are counted on): sum of n_valid x filters per
    image for a zero-padded layer, n_in x n_out for the others."""
    net = network_b(rng)
    arch = load_arch(tiny_arch_path, ["tile.rows=7", "tile.cols=5", "write.ber=0",
                                      "retention.horizon=0 s"])
    x = _inputs(net, rng, 8)
    res = simulate(arch, net, Workload(x_pm1=x, y=reference_predict(net, x), name="ideal"), seed=0)
    per_image = sum((lay.conv.n_valid().sum() if getattr(lay, "conv", None) else lay.weights.shape[1])
                    * lay.weights.shape[0]
                    for lay in net.layers)
    assert res.n_reads == len(x) * per_image


def test_unipolar_first_layer_refuses_zero_padding(tiny_arch_path, rng):
    net = network_b(rng)
    arch = load_arch(tiny_arch_path, ["mapping.input_encoding=unipolar"])
    with pytest.raises(ConfigError, match="unipolar.*zero-padded first convolution"):
        map_network(net, arch)


@pytest.mark.parametrize("convention", ["plus_one_ap", "plus_one_p"])
def test_one_pass_and_two_pass_padding_agree(tiny_arch_path, rng, convention):
    """Error-free reads sense a zero-padded layer in one two-phase pass and take the padded rows'
    counts and reads off (``_padding_terms``); with read errors on it senses the driven rows only, in
    two one-phase passes. With write faults in the cells and read-error rates too small to fire, both
    give the plain loops' activations (with the cells' weights), the same reads and the same sensing
    energy per wave."""
    from accelsim.arch.crossbar import ReadProbabilities

    net = network_b(rng)
    arch = load_arch(tiny_arch_path, ["tile.rows=7", "tile.cols=5", "write.ber=0.2",
                                      "retention.horizon=0 s", f"mapping.convention={convention}"])
    x = _inputs(net, rng, 12)
    from accelsim.arch.chip import build_chip
    from accelsim.kernels.xnor import pack_bits
    from accelsim.simulate import RepeatState

    maps = map_network(net, arch)
    results = []
    for tiny in (0.0, 1e-30):
        rep = RepeatState(arch, net, maps, build_chip(arch, maps), pack_bits(x), 3, 0)
        g = len(arch.tile.columns)
        rep.read = ReadProbabilities(misread_p=np.full(g, tiny), misread_ap=np.zeros(g),
                                     disturb_p=np.zeros(g), disturb_ap=np.zeros(g))
        rep.incremental = False
        energies, acts = [], []
        for li in range(len(maps)):
            rep.program(li)
            energies.append(rep.sense(li, 0, 5)["sense_cells"] + rep.sense(li, 5, len(x))["sense_cells"])
            acts.append(rep.acts[li + 1].copy() if li + 1 < len(maps) else rep.predictions.copy())
        assert rep.n_misreads == 0
        results.append((energies, acts, rep.n_reads, [rep._states2d(i).copy() for i in range(len(maps))]))
    (e0, a0, r0, s0), (e1, a1, r1, s1) = results
    assert all(np.array_equal(p, q) for p, q in zip(s0, s1))  # the same cells (same write draws)
    assert all(np.array_equal(p, q) for p, q in zip(a0, a1))
    assert r0 == r1 == len(x) * sum(
        (lay.conv.n_valid().sum() if getattr(lay, "conv", None) else lay.weights.shape[1])
        * lay.weights.shape[0] for lay in net.layers)
    assert np.allclose(e0, e1, rtol=1e-7)  # energies summed in two orders
    held = np.where(states_to_weight_bits(s0[0], arch.mapping), 1, -1).astype(np.int8)
    layer = net.hidden[0]
    faulty = HiddenLayer(weights=held, threshold=layer.threshold, flip=layer.flip, conv=layer.conv)
    from accelsim.kernels.xnor import unpack_bits

    got = np.where(unpack_bits(a0[0], layer.n_outputs) > 0, 1, -1)
    assert np.array_equal(got, plain_layer(x, faulty))


def test_incremental_campaigns_equal_full_passes_on_padded_layers(tiny_arch_path, rng):
    """Ageing changes cells in padded rows too: the padding terms follow the cells campaign by
    campaign, and the sparse campaigns equal full passes exactly."""
    net = network_b(rng)
    arch = load_arch(tiny_arch_path, ["tile.rows=7", "tile.cols=5", "write.ber=0.05"])
    x = _inputs(net, rng, 20)
    wl = Workload(x_pm1=x, y=reference_predict(net, x), name="ideal")
    fast = simulate(arch, net, wl, seed=4, repeats=2, incremental=True)
    full = simulate(arch, net, wl, seed=4, repeats=2, incremental=False)
    assert fast.timeline["flips_total"].iloc[-1] > 0
    assert fast.timeline.equals(full.timeline)
    assert fast.n_reads == full.n_reads and fast.energy_inference_j == full.energy_inference_j
