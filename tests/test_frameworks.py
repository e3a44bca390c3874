"""Networks trained in PyTorch and Brevitas, exported by the frameworks' own exporters (torch.onnx with
both exporters, Brevitas' QONNX), run through accelsim: its reference inference and its crossbar (every
error rate zero) give the framework's eval-mode prediction image by image.

Tiny models trained for a few seconds on a slice of the bundled MNIST; skipped without torch (CI
installs it with ``pip install -e .[test]``).
"""

import functools
import importlib.util
import io
import re

import numpy as np
import pytest
from conftest import ROOT, write_yaml

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import accelsim  # noqa: E402
from accelsim.data import binarize, bundled_dataset, load_binarized, save_idx  # noqa: E402
from accelsim.network import reference_predict  # noqa: E402

#: Every error rate zero, no ageing; tiles of 100 x 12 split every layer's rows and columns.
EXACT_ARCH = """\
name: exact
cells:
  c:
    mtj: muench-delta60
tile:
  rows: 100
  cols: 12
  columns:
    - cell: c
      fraction: 1.0
write:
  model: constant_ber
  ber: 0.0
  t_pulse: 15 ns
retention:
  horizon: 0 s
  n_steps: 1
"""
N_TRAIN, N_TEST = 1000, 300
THRESHOLD = 0.5


@functools.cache
def _mnist():
    train, test = bundled_dataset("mnist", "train"), bundled_dataset("mnist", "test")
    return (torch.from_numpy(np.array(train.x[:N_TRAIN])), torch.from_numpy(np.array(train.y[:N_TRAIN])),
            test.subset(slice(0, N_TEST)))


@pytest.fixture
def mnist():
    return _mnist()


@functools.cache
def trained(kind: str, option: bool = False) -> tuple[nn.Module, np.ndarray]:
    """A model trained once per session (both exporters' tests share it) and its eval-mode predictions
    on the test slice, checked to be well above chance, 0.1 (so the comparisons are not vacuous)."""
    x, y, test = _mnist()
    if kind == "dense":
        model = train(DenseBNN(option), x, y)
    elif kind.startswith("vgg"):
        torch.manual_seed(0)  # its initial weights too, whichever test trains it first
        model = train(VggBNN(kind == "vgg:gap"), x, y, epochs=2)
    elif kind.startswith("conv"):
        model = train(ConvBNN(kind.partition(":")[2]), x, y, epochs=2)
    else:
        model = train(brevitas_model(option), x, y, epochs=2)
    expected = predictions(model, test.x)
    if kind == "vgg:gap":  # 16 globally pooled bits learn little in 20 steps: varied predictions suffice
        assert len(np.unique(expected)) >= 4
    else:
        assert np.mean(expected == test.y) > 0.3
    return model, expected


# ------------------------------------------------------------------ a BNN written the usual way


class SignSTE(torch.autograd.Function):
    """sign() forward, straight-through gradient where |x| <= 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def bsign(x, training):
    return SignSTE.apply(x) if training else torch.sign(x)


class BinaryLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, bsign(self.weight, self.training), self.bias)


class BinaryConv2d(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, bsign(self.weight, self.training), self.bias, self.stride, self.padding)


class DenseBNN(nn.Module):
    """784 -> 24 -> 10: Linear with bias, BatchNorm1d (affine or not), sign; inputs binarized at 0.5."""

    def __init__(self, affine: bool):
        super().__init__()
        self.fc1, self.bn1 = BinaryLinear(784, 24), nn.BatchNorm1d(24, affine=affine)
        self.fc2, self.bn2 = BinaryLinear(24, 10), nn.BatchNorm1d(10, affine=affine)

    def forward(self, x):
        x = bsign(x.flatten(1) - THRESHOLD, self.training)
        x = bsign(self.bn1(self.fc1(x)), self.training)
        return self.bn2(self.fc2(x))


class ConvBNN(nn.Module):
    """28x28 -> binary conv 5x5x4 (bias), max-pool 2, BatchNorm2d, sign -> flatten -> Linear 10, in one of
    the orders networks are written: ``pool-bn`` (BinaryNet: conv, pool, BN, sign), ``bn-pool`` (conv,
    BN, pool, sign), ``bn-sign-pool`` (FINN / Larq: conv, BN, sign, pool). Half the filters start with
    a negative BN gamma, so the folding of gamma < 0 through a max-pool is exercised."""

    def __init__(self, order: str = "pool-bn"):
        super().__init__()
        self.order = order
        self.conv, self.pool, self.bn1 = BinaryConv2d(1, 4, 5), nn.MaxPool2d(2), nn.BatchNorm2d(4)
        self.fc, self.bn2 = BinaryLinear(4 * 12 * 12, 10), nn.BatchNorm1d(10)
        with torch.no_grad():
            self.bn1.weight.copy_(torch.tensor([1.0, -1.0, 1.0, -1.0]))

    def forward(self, x):
        x = bsign(x.view(-1, 1, 28, 28) - THRESHOLD, self.training)
        x = self.conv(x)
        if self.order == "pool-bn":
            x = bsign(self.bn1(self.pool(x)), self.training)
        elif self.order == "bn-pool":
            x = bsign(self.pool(self.bn1(x)), self.training)
        else:
            x = self.pool(bsign(self.bn1(x), self.training))
        return self.bn2(self.fc(torch.flatten(x, 1)))


class VggBNN(nn.Module):
    """A tiny VGG-style BNN (format version 3): 28x28 -> binary conv 3x3 pad 1 (8, bias) -> BN -> sign
    -> conv 3x3 /2 pad 1 (8) -> BN -> sign -> AvgPool2d(2) -> BN -> sign -> conv 1x1 (16) -> BN -> sign
    -> [``gap``: AdaptiveAvgPool2d(1) -> BN -> sign] -> Linear 10 -> BN. Half the BN scales start
    negative (flip thresholds, before and after both kinds of average pool)."""

    def __init__(self, gap: bool = False):
        super().__init__()
        self.gap = nn.AdaptiveAvgPool2d(1) if gap else None
        self.convs = nn.ModuleList([BinaryConv2d(1, 8, 3, padding=1),
                                    BinaryConv2d(8, 8, 3, stride=2, padding=1, bias=False),
                                    BinaryConv2d(8, 16, 1, bias=False)])
        self.bns = nn.ModuleList([nn.BatchNorm2d(c) for c in (8, 8, 8, 16, 16)])
        self.pool = nn.AvgPool2d(2)
        self.fc, self.bn_out = BinaryLinear(16 if gap else 16 * 7 * 7, 10), nn.BatchNorm1d(10)
        with torch.no_grad():
            for bn in self.bns:
                bn.weight[::2] = -1.0

    def forward(self, x):
        s = functools.partial(bsign, training=self.training)
        x = s(x.view(-1, 1, 28, 28) - THRESHOLD)
        x = s(self.bns[0](self.convs[0](x)))
        x = s(self.bns[2](self.pool(s(self.bns[1](self.convs[1](x))))))
        x = s(self.bns[3](self.convs[2](x)))
        if self.gap is not None:
            x = s(self.bns[4](self.gap(x)))
        return self.bn_out(self.fc(torch.flatten(x, 1)))


def train(model: nn.Module, x, y, epochs: int = 3) -> nn.Module:
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(epochs):
        for i in range(0, len(x), 100):
            opt.zero_grad()
            F.cross_entropy(model(x[i: i + 100]), y[i: i + 100]).backward()
            opt.step()
    return model.eval()


def predictions(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(np.asarray(x, dtype=np.float32))).argmax(1).numpy()


def export(model: nn.Module, dynamo: bool, tmp_path) -> str:
    """The model as the framework writes it: a file (the dynamo exporter may put the weights beside it)."""
    path = tmp_path / f"model_{'dynamo' if dynamo else 'ts'}.onnx"
    example = (torch.zeros(1, 784),)
    if dynamo:
        torch.onnx.export(model, example, str(path), dynamo=True, verbose=False)
    else:
        torch.onnx.export(model, example, str(path), dynamo=False)
    return str(path)


def check_exact(net, test, expected: np.ndarray, tmp_path) -> None:
    """accelsim's reference inference and its error-free crossbar give ``expected`` image by image."""
    bits = binarize(test, net.input_threshold)
    reference = reference_predict(net, bits)
    differ = np.flatnonzero(reference != expected)
    assert differ.size == 0, f"{differ.size} of {len(expected)} images differ, first {differ[:5]}"
    # the crossbar: a data set labelled with the framework's predictions must score 1.0 exactly
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    save_idx(folder / "test-images-idx3-ubyte", np.rint(np.asarray(test.x) * 255).astype(np.uint8))
    save_idx(folder / "test-labels-idx1-ubyte", expected.astype(np.uint8))
    arch = write_yaml(tmp_path, EXACT_ARCH, "exact.yaml")
    summary = accelsim.run(arch, net, data=str(folder), name="exact").summary
    assert (summary["accuracy_ideal"], summary["accuracy_programmed"]) == (1.0, 1.0)


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("affine", [True, False], ids=["bn-affine", "bn-no-affine"])
def test_dense_pytorch_bnn(mnist, tmp_path, dynamo, affine):
    _, _, test = mnist
    model, expected = trained("dense", affine)
    net = accelsim.load_network(export(model, dynamo, tmp_path))
    assert net.input_threshold == pytest.approx(THRESHOLD) and net.shape == (784, 24, 10)
    check_exact(net, test, expected, tmp_path)


@pytest.mark.parametrize("order, dynamo", [
    ("pool-bn", False), ("bn-pool", False), ("bn-sign-pool", False), ("bn-pool", True),
    pytest.param("pool-bn", True, marks=pytest.mark.slow),
    pytest.param("bn-sign-pool", True, marks=pytest.mark.slow),
], ids=lambda v: v if isinstance(v, str) else ("dynamo" if v else "torchscript"))
def test_conv_pytorch_bnn(mnist, tmp_path, dynamo, order):
    _, _, test = mnist
    model, expected = trained(f"conv:{order}")
    assert (model.bn1.weight < 0).any()
    net = accelsim.load_network(export(model, dynamo, tmp_path))
    assert net.hidden[0].conv is not None and net.hidden[0].conv.kernel == 5
    check_exact(net, test, expected, tmp_path)


@pytest.mark.parametrize("gap, dynamo", [(False, False), (True, False), (True, True)],
                         ids=["avgpool", "global-avgpool", "global-avgpool-dynamo"])
def test_vgg_style_pytorch_bnn(mnist, tmp_path, gap, dynamo):
    """Format version 3 from the TorchScript exporter: zero-padded 3x3 convolutions (one of stride 2),
    AvgPool2d (and AdaptiveAvgPool2d(1), feeding the output layer) of +-1 maps, each followed by BN and
    sign, a 1x1 convolution; accelsim's reference and its error-free crossbar give PyTorch's eval-mode
    predictions image by image. The dynamo exporter writes AdaptiveAvgPool2d(1) as ReduceMean."""
    _, _, test = mnist
    model, expected = trained("vgg:gap" if gap else "vgg")
    net = accelsim.load_network(export(model, dynamo, tmp_path))
    convs = [(c.kernel, c.stride, c.pad, c.pool) for c in (layer.conv for layer in net.hidden)]
    assert convs == [(3, 1, (1, 1, 1, 1), "none"), (3, 2, (1, 1, 1, 1), "avg"),
                     (1, 1, (0, 0, 0, 0), "global" if gap else "none")]
    assert net.format_version == 3 and net.shape == (784, 6272, 392, 16 if gap else 784, 10)
    averaged = [layer for layer in net.hidden if layer.pool_flip is not None]
    assert all(layer.pool_flip.any() for layer in averaged)  # negative BN scales after the pools
    if not dynamo:  # (dynamo fuses a batch norm into its convolution: a negative scale negates filters)
        assert all(layer.flip.any() for layer in averaged)
    check_exact(net, test, expected, tmp_path)


def test_from_torch(mnist, tmp_path):
    _, _, test = mnist
    model, expected = trained("dense", True)
    model.train()
    net = accelsim.from_torch(model, torch.zeros(1, 784))
    assert model.training  # from_torch exports in eval mode and gives the module back as it was
    model.eval()
    check_exact(net, test, expected, tmp_path)


# ----------------------------------------------------------------------------------------- Brevitas


def _brevitas():
    qnn = pytest.importorskip("brevitas.nn")
    binary = pytest.importorskip("brevitas.quant.binary")
    pytest.importorskip("onnxoptimizer")  # Brevitas' ONNX export needs it
    return qnn, binary


def brevitas_model(bias: bool) -> nn.Module:
    qnn, binary = _brevitas()

    class BrevitasBNN(nn.Module):
        """784 -> 24 -> 10 with 1-bit QuantLinear weights and QuantIdentity activations (scale 1)."""

        def __init__(self):
            super().__init__()
            act, weight = binary.SignedBinaryActPerTensorConst, binary.SignedBinaryWeightPerTensorConst
            self.inp = qnn.QuantIdentity(act_quant=act)
            self.fc1 = qnn.QuantLinear(784, 24, bias=bias, weight_quant=weight)
            self.bn1, self.act1 = nn.BatchNorm1d(24), qnn.QuantIdentity(act_quant=act)
            self.fc2, self.bn2 = qnn.QuantLinear(24, 10, bias=bias, weight_quant=weight), nn.BatchNorm1d(10)

        def forward(self, x):
            x = self.inp(x - THRESHOLD)
            return self.bn2(self.fc2(self.act1(self.bn1(self.fc1(x)))))

    return BrevitasBNN()


@pytest.mark.parametrize("bias, dynamo", [
    (False, False), (True, True),
    pytest.param(True, False, marks=pytest.mark.slow), pytest.param(False, True, marks=pytest.mark.slow),
], ids=["no-bias-torchscript", "bias-dynamo", "bias-torchscript", "no-bias-dynamo"])
def test_brevitas_qonnx(mnist, tmp_path, dynamo, bias):
    from brevitas.export import export_qonnx

    _, _, test = mnist
    model, expected = trained("brevitas", bias)
    path = tmp_path / "qonnx.onnx"
    export_qonnx(model, input_t=torch.zeros(1, 784), export_path=str(path), dynamo=dynamo)
    net = accelsim.load_network(path)
    check_exact(net, test, expected, tmp_path)


# ------------------------------------------------------------------ the shipped TFC-w1a1 network


def _tfc_module():
    spec = importlib.util.spec_from_file_location("train_tfc_w1a1", ROOT / "workloads" / "train_tfc_w1a1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_tfc_equals_brevitas_image_by_image():
    """workloads/tfc_w1a1_fashion.onnx: accelsim's fault-free inference equals Brevitas' eval-mode
    model rebuilt from the file's own tensors, on all 10,000 Fashion-MNIST test images."""
    import onnx
    from onnx import numpy_helper

    _brevitas()
    path = ROOT / "workloads" / "tfc_w1a1_fashion.onnx"
    module = _tfc_module()
    model = module.TFC().eval()
    tensors = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    state = model.state_dict()
    loaded = {k: torch.from_numpy(np.array(tensors[k])) for k in state if k in tensors}
    assert {k for k in state if k.endswith(("weight", "bias", "running_mean", "running_var"))} <= set(loaded)
    model.load_state_dict(loaded, strict=False)
    fashion = bundled_dataset("fashion")  # the Debian package's t10k, or fashion_test.npz without it
    bits = binarize(fashion, module.INPUT_THRESHOLD)
    with torch.no_grad():  # the graph's own input binarization gives these bits: feed them on
        brevitas_pred = model.features(torch.from_numpy(bits.astype(np.float32))).argmax(1).numpy()
    net = accelsim.load_network(path)
    ours = reference_predict(net, binarize(fashion, net.input_threshold))
    assert np.array_equal(ours, brevitas_pred)
    # and the bundled binarized file holds the same bits as the network's own threshold makes
    assert np.array_equal(binarize(load_binarized(ROOT / "workloads" / "fashion_test.npz"),
                                   net.input_threshold), bits)
    quoted = re.search(r"Brevitas eval-mode accuracy \*\*([\d.]+) %\*\*",
                       (ROOT / "workloads" / "README.md").read_text())
    assert quoted and f"{100 * np.mean(brevitas_pred == fashion.y):.2f}" == quoted[1]


def test_onnx_bytes_round_trip(mnist, tmp_path):
    """import_onnx takes the bytes the TorchScript exporter writes to a buffer."""
    from accelsim.onnx_import import import_onnx

    _, _, test = mnist
    model, expected = trained("dense", False)
    buffer = io.BytesIO()
    torch.onnx.export(model, (torch.zeros(1, 784),), buffer, dynamo=False)
    net = import_onnx(buffer.getvalue())
    assert np.array_equal(reference_predict(net, binarize(test, net.input_threshold)), expected)
