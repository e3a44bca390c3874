"""The README's code runs as printed: the Python API example, and the hand-export snippet of "Network
format" on PyTorch models (biases, affine-free batch norm) and on Keras/Larq-layout arrays."""

import re
import shutil

import numpy as np
import pytest
from conftest import ROOT

from accelsim.data import binarize, bundled_dataset
from accelsim.network import load_network, reference_predict, save_network

README = (ROOT / "README.md").read_text()


def _block(marker: str) -> str:
    """The first ```python block after ``<!-- marker -->``."""
    m = re.search(rf"<!-- {marker} -->\n```python\n(.*?)\n```", README, re.S)
    assert m, marker
    return m[1]


def test_the_api_example_runs(tmp_path, monkeypatch):
    import dataclasses

    # the example's files, with the network's bundled test set cut to its first 200 images
    (tmp_path / "arch_configs").mkdir()
    (tmp_path / "workloads").mkdir()
    shutil.copy(ROOT / "arch_configs" / "weight_ber.yaml", tmp_path / "arch_configs")
    net = load_network(ROOT / "workloads" / "mlp784.npz")
    small = dataclasses.replace(net, test_x_packed=net.test_x_packed[:200], test_y=net.test_y[:200])
    save_network(tmp_path / "workloads" / "mlp784.npz", small)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(_block("api-example"), namespace)
    outcome, frame = namespace["outcome"], namespace["frame"]
    x = np.where(np.unpackbits(small.test_x_packed, axis=1, count=784) == 1, 1, -1)
    assert outcome.summary["accuracy_ideal"] == np.mean(reference_predict(small, x) == small.test_y)
    assert sorted(p.name for p in (tmp_path / "results" / "api_example").iterdir()) == [
        "ber0.01.csv", "ber0.01.json", "ber0.01_timeline.csv"]
    assert len(frame) == 4 and set(frame["write.ber"]) == {1e-3, 1e-2}
    assert (frame["n_images"] == 200).all()


@pytest.fixture(scope="module")
def snippet():
    namespace = {}
    exec(_block("export-snippet"), namespace)
    return namespace


@pytest.fixture(scope="module")
def mnist_test():
    test = bundled_dataset("mnist", "test").subset(slice(0, 500))
    return test, binarize(test, 0.5)


def test_the_export_snippet_on_pytorch(snippet, mnist_test, tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    test, bits = mnist_test
    torch.manual_seed(3)
    fc1, bn1 = nn.Linear(784, 32), nn.BatchNorm1d(32, affine=False)
    fc2, bn2 = nn.Linear(32, 10), nn.BatchNorm1d(10)
    with torch.no_grad():  # biases of a few units (what dropping them costs), BN statistics, gamma < 0 too
        for lin in (fc1, fc2):
            lin.bias.uniform_(-4, 4)
        for bn in (bn1, bn2):
            bn.running_mean.uniform_(-6, 6)
            bn.running_var.uniform_(20, 60)
        bn2.weight.uniform_(-1, 1)
        bn2.bias.uniform_(-1, 1)
    modules = [fc1, bn1, fc2, bn2]
    for m in modules:
        m.eval()

    def forward(x):
        x = torch.sign(x - 0.5)
        x = torch.sign(bn1(torch.nn.functional.linear(x, torch.sign(fc1.weight), fc1.bias)))
        return bn2(torch.nn.functional.linear(x, torch.sign(fc2.weight), fc2.bias))

    with torch.no_grad():
        expected = forward(torch.from_numpy(np.array(test.x))).argmax(1).numpy()
    path = tmp_path / "net.npz"
    snippet["save_folded"](snippet["torch_layers"]([fc1, fc2], [bn1, bn2]), path, 0.5)
    with np.load(path) as z:
        assert z["layer0_threshold"].dtype == np.float64 and z["layer1_scale"].dtype == np.float64
    net = load_network(path)
    assert np.array_equal(reference_predict(net, bits), expected)


class _KerasLayer:
    """What the snippet reads of a Keras layer: get_weights() and the BatchNormalization flags."""

    def __init__(self, weights, **config):
        self._weights = weights
        self.__dict__.update(config)

    def get_weights(self):
        return list(self._weights)


def test_the_export_snippet_on_keras_layouts(snippet, mnist_test, tmp_path):
    """Larq's usual blocks: QuantDense without bias, BatchNormalization(scale=False), epsilon 1e-3;
    and a Dense with bias and a full batch norm with negative gammas. Against a float64 evaluation
    of the Keras layers (kernel (n_in, n_out), ste_sign(0) = +1)."""
    _, bits = mnist_test
    rng = np.random.default_rng(5)
    k1 = rng.normal(size=(784, 24)).astype(np.float32)  # Keras kernels are (n_in, n_out)
    beta1 = rng.normal(0, 0.5, 24).astype(np.float32)
    mean1 = rng.normal(0, 8, 24).astype(np.float32)
    var1 = rng.uniform(0.5, 3, 24).astype(np.float32)  # small: Keras' epsilon 1e-3 vs 1e-5 matters less
    k2 = rng.normal(size=(24, 10)).astype(np.float32)
    b2 = rng.uniform(-3, 3, 10).astype(np.float32)
    gamma2 = rng.uniform(-1, 1, 10).astype(np.float32)
    beta2, mean2 = rng.normal(size=10).astype(np.float32), rng.normal(0, 2, 10).astype(np.float32)
    var2 = rng.uniform(1e-4, 3e-3, 10).astype(np.float32)  # var ~ epsilon: epsilon must be Keras' own
    dense1 = _KerasLayer([k1])
    bn1 = _KerasLayer([beta1, mean1, var1], scale=False, center=True, epsilon=1e-3)
    dense2 = _KerasLayer([k2, b2])
    bn2 = _KerasLayer([gamma2, beta2, mean2, var2], scale=True, center=True, epsilon=1e-3)

    f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    sign = lambda a: np.where(a >= 0, 1.0, -1.0)  # noqa: E731  (larq's ste_sign: +1 at 0)
    h = sign((bits @ sign(f(k1)) - f(mean1)) / np.sqrt(f(var1) + 1e-3) + f(beta1))  # gamma 1: scale=False
    scores = f(gamma2) * (h @ sign(f(k2)) + f(b2) - f(mean2)) / np.sqrt(f(var2) + 1e-3) + f(beta2)
    expected = np.argmax(scores, axis=1)

    path = tmp_path / "keras.npz"
    snippet["save_folded"](snippet["keras_layers"]([dense1, dense2], [bn1, bn2]), path, 0.5)
    net = load_network(path)
    assert np.array_equal(reference_predict(net, bits), expected)
