import numpy as np
import pytest
from conftest import make_tiny_network

from accelsim.errors import NetworkError
from accelsim.network import HiddenLayer, load_network, neuron_output, reference_predict, save_network


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_round_trip(tmp_path, rng):
    net = make_tiny_network(rng)
    save_network(tmp_path / "n.npz", net)
    back = load_network(tmp_path / "n.npz")
    assert back.shape == (20, 12, 9, 4)
    for a, b in zip(net.layers, back.layers):
        assert np.array_equal(a.weights, b.weights)
    x = np.where(rng.random((30, 20)) < 0.5, 1, -1)
    assert np.array_equal(reference_predict(net, x), reference_predict(back, x))


def test_reference_matches_float_definition(rng):
    """The folded neuron: +1 iff popcount >= T (flip: <= T); output argmax(scale * popcount + shift)."""
    net = make_tiny_network(rng)
    x = np.where(rng.random((50, 20)) < 0.5, 1, -1)
    a = x.astype(float)
    for layer in net.hidden:
        pc = np.array([[np.sum(w == xi) for w in layer.weights] for xi in a])
        fire = np.where(layer.flip, pc <= layer.threshold, pc >= layer.threshold)
        a = np.where(fire, 1.0, -1.0)
    pc = np.array([[np.sum(w == xi) for w in net.output.weights] for xi in a])
    expected = np.argmax(net.output.scale * pc + net.output.shift, axis=1)
    assert np.array_equal(reference_predict(net, x), expected)


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.update(layer1_weights=d["layer1_weights"][:, :5]), "inputs do not chain"),
    (lambda d: d.update(layer0_weights=np.zeros_like(d["layer0_weights"])), r"must be \+1/-1 only"),
    (lambda d: d.update(layer0_weights=d["layer0_weights"] * 2), r"must be \+1/-1 only"),
    (lambda d: d.pop("layer2_scale"), "missing key 'layer2_scale'"),
    (lambda d: d.update(layer0_threshold=d["layer0_threshold"][:3]), r"'layer0_threshold' has shape \(3,\)"),
    (lambda d: d.update(format_version=np.int64(9)), "format_version 9"),
    (lambda d: d.update(layer1_flip=d["layer1_flip"].astype(int)), "expected bool"),
    (lambda d: d.update(test_x_packed=d["test_x_packed"][:, :1]), "test_x_packed has shape"),
])
def test_bad_networks_are_refused(tmp_path, rng, edit, match):
    save_network(tmp_path / "n.npz", make_tiny_network(rng))
    data = _arrays(tmp_path / "n.npz")
    edit(data)
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(NetworkError, match=match):
        load_network(tmp_path / "bad.npz")


def test_missing_and_unreadable(tmp_path):
    with pytest.raises(NetworkError, match="no such file"):
        load_network(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(NetworkError, match="not a readable .npz"):
        load_network(tmp_path / "junk.npz")


def test_neuron_output_equals_a_plain_loop_for_integer_and_fractional_thresholds():
    rng = np.random.default_rng(5)
    n_in = 40
    weights = np.ones((12, n_in), dtype=np.int8)
    threshold = np.concatenate([rng.integers(-3, n_in + 4, 6).astype(float), rng.uniform(-3, n_in + 3, 4),
                                [1e300, -1e300]])
    flip = rng.random(12) < 0.5
    layer = HiddenLayer(weights=weights, threshold=threshold, flip=flip)
    for dtype in (np.int32, np.int64, np.float64):
        pop = rng.integers(0, n_in + 1, (30, 12)).astype(dtype)
        got = neuron_output(pop, layer)
        assert got.dtype == np.int8
        for i in range(30):
            for j in range(12):
                fires = pop[i, j] <= threshold[j] if flip[j] else pop[i, j] >= threshold[j]
                assert got[i, j] == (1 if fires else -1)
