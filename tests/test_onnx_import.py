"""ONNX / QONNX import: small graphs built with ``onnx.helper`` in the shapes PyTorch's two exporters
and Brevitas write, imported and compared image by image with an independent evaluation of the graph
(``onnx.reference.ReferenceEvaluator``, with QONNX's BipolarQuant / Quant written here from their
documented semantics), including inputs that hit thresholds exactly; and every refusal."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper
from onnx import helper as oh
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from accelsim.errors import NetworkError
from accelsim.network import load_network, reference_predict, save_network
from accelsim.onnx_import import OnnxImportError, import_onnx, is_onnx_file

QONNX = "qonnx.custom_op.general"
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------- the oracle


class BipolarQuant(OpRun):
    """QONNX BipolarQuant: +scale where x >= 0, else -scale."""

    op_domain = QONNX

    def _run(self, x, scale):
        return ((np.where(x >= 0, 1.0, -1.0) * scale).astype(x.dtype),)


class Quant(OpRun):
    """QONNX Quant (qonnx's reference int_quant): q = x / scale + zeropt; a signed 1-bit quantizer
    gives +-1 by q >= 0, otherwise q is clipped to the integer range and rounded; out = (q - zeropt)
    * scale."""

    op_domain = QONNX

    def _run(self, x, scale, zeropt, bitwidth, signed=None, narrow=None, rounding_mode=None):
        signed = 1 if signed is None else signed
        narrow = 0 if narrow is None else narrow
        mode = (rounding_mode or "ROUND").upper()
        b = int(bitwidth)
        q = x / scale + zeropt
        if b == 1 and signed:
            q = np.where(q >= 0, 1.0, -1.0)
        else:
            lo = (-(2 ** (b - 1)) + narrow) if signed else 0
            hi = 2 ** (b - 1) - 1 if signed else 2 ** b - 1 - narrow
            q = {"ROUND": np.round, "FLOOR": np.floor, "CEIL": np.ceil}[mode](np.clip(q, lo, hi))
        return (((q - zeropt) * scale).astype(x.dtype),)


class Sign(OpRun):
    """Sign with the importer's documented tie rule: +1 at an exact 0 (ONNX's Sign gives 0). The
    reference evaluator matches a replacement op by its class name."""

    op_domain = ""

    def _run(self, x):
        return (np.where(x >= 0, 1.0, -1.0).astype(x.dtype),)


def oracle_scores(model: onnx.ModelProto, x: np.ndarray, *, sign_plus: bool = False, outputs=None):
    ops = [BipolarQuant, Quant] + ([Sign] if sign_plus else [])
    ev = ReferenceEvaluator(model, new_ops=ops)
    batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_value
    if batch:  # a graph exported with a fixed batch runs on that many images at a time
        name = model.graph.input[0].name
        runs = [ev.run(outputs, {name: x[i: i + batch]}) for i in range(0, len(x), batch)]
        return [np.concatenate(parts) for parts in zip(*runs, strict=True)]
    return ev.run(outputs, {model.graph.input[0].name: x})


def oracle_predict(model, x, **kw) -> np.ndarray:
    return np.argmax(oracle_scores(model, x, **kw)[0], axis=1)


def accel_predict(net, x: np.ndarray) -> np.ndarray:
    """accelsim's ideal inference on intensities: binarized at the network's input threshold, or
    real for a network with a real front. (C, H, W) images are read in accelsim's (y, x, c) order."""
    if x.ndim == 4:
        x = x.transpose(0, 2, 3, 1)
    flat = x.reshape(len(x), -1).astype(np.float64)
    if net.front is not None:
        return reference_predict(net, flat)
    return reference_predict(net, np.where(flat >= net.input_threshold, 1, -1))


# ------------------------------------------------------------------------------- graph building


class Graph:
    """A tiny ``onnx.helper`` builder: float64 tensors (exact oracle), batch dimension 'N'."""

    def __init__(self, in_shape: tuple[int, ...], dtype=TensorProto.DOUBLE, batch="N"):
        self.in_shape, self.dtype, self.batch = in_shape, dtype, batch
        self.nodes, self.inits, self.n = [], [], 0
        self.np_dtype = np.float64 if dtype == TensorProto.DOUBLE else np.float32

    def const(self, value, name: str | None = None, dtype=None) -> str:
        self.n += 1
        name = name or f"c{self.n}"
        arr = np.asarray(value, dtype=dtype or self.np_dtype)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(self, op: str, inputs: list[str], name: str | None = None, domain: str = "", **attrs) -> str:
        self.n += 1
        name = name or f"{op.lower()}{self.n}"
        out = f"{name}_out"
        self.nodes.append(oh.make_node(op, inputs, [out], name=name, domain=domain, **attrs))
        return out

    def model(self, out: str, opset: int = 17) -> onnx.ModelProto:
        x = oh.make_tensor_value_info("x", self.dtype, [self.batch, *self.in_shape])
        y = oh.make_tensor_value_info(out, self.dtype, [self.batch, "classes"])
        graph = oh.make_graph(self.nodes, "g", [x], [y], self.inits)
        m = oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset), oh.make_opsetid(QONNX, 1)],
                          producer_name="accelsim-tests", producer_version="1")
        return m

    # common blocks

    def sign(self, x: str, **kw) -> str:
        return self.node("Sign", [x], **kw)

    def bn(self, x: str, gamma, beta, mean, var, eps: float = 1e-5, name=None) -> str:
        return self.node("BatchNormalization", [x, self.const(gamma), self.const(beta), self.const(mean),
                                                self.const(var)], name=name, epsilon=eps)

    def bipolar(self, x: str, scale, name=None) -> str:
        return self.node("BipolarQuant", [x, self.const(scale)], name=name, domain=QONNX)

    def quant(self, x: str, scale, zeropt, bits, name=None, **attrs) -> str:
        return self.node("Quant", [x, self.const(scale), self.const(zeropt), self.const(bits)], name=name,
                         domain=QONNX, **attrs)


def images(rng, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """Intensities k / 255 as a data set holds them."""
    return rng.integers(0, 256, size=(n, *shape)) / 255.0


def random_bn(rng, f: int, negative: bool = True):
    gamma = rng.uniform(0.5, 2.0, f) * (np.where(rng.random(f) < 0.3, -1.0, 1.0) if negative else 1.0)
    return gamma, rng.normal(0, 1, f), rng.normal(0, 2, f), rng.uniform(0.5, 3.0, f)


def check_same(model, x, **kw):
    net = import_onnx(model)
    expected = oracle_predict(model, x, **kw)
    got = accel_predict(net, x)
    assert np.array_equal(got, expected), f"{np.count_nonzero(got != expected)} of {len(x)} differ"
    return net


# ------------------------------------------------------------------------------- TorchScript-style


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("eps", [1e-5, 1e-3, 0.25])
def test_latent_weights_sign_and_batch_norm(affine, eps):
    """Sign(latent W) -> Gemm with bias -> BN -> Sign, as torch.onnx.export(dynamo=False) writes it;
    thresholds match the closed form of README "Network format" (with the bias in the mean)."""
    rng = np.random.default_rng(1)
    g = Graph((1, 6, 6))
    h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
    h = g.node("Flatten", [h], axis=1)
    w1, b1 = rng.normal(0, 1, (12, 36)), rng.normal(0, 2, 12)
    w2, b2 = rng.normal(0, 1, (4, 12)), rng.normal(0, 1, 4)
    gamma, beta, mean, var = random_bn(rng, 12)
    if not affine:
        gamma, beta = np.ones(12), np.zeros(12)
    h = g.node("Gemm", [h, g.sign(g.const(w1)), g.const(b1)], transB=1)
    h = g.sign(g.bn(h, gamma, beta, mean, var, eps))
    g2, be2, m2, v2 = random_bn(rng, 4)
    out = g.bn(g.node("Gemm", [h, g.sign(g.const(w2)), g.const(b2)], transB=1), g2, be2, m2, v2, eps)
    model = g.model(out)
    net = check_same(model, images(rng, 400, (1, 6, 6)))
    assert net.input_threshold == 0.5
    assert np.array_equal(net.hidden[0].weights, np.sign(w1))
    assert np.array_equal(net.output.weights, np.sign(w2))
    eps = float(np.float32(eps))  # an ONNX float attribute is float32
    sigma = np.sqrt(var + eps)
    t = (36 + (mean - b1) - beta * sigma / gamma) / 2  # README's fold, the bias moved into the mean
    assert np.array_equal(net.hidden[0].flip, gamma < 0)
    assert np.array_equal(net.hidden[0].threshold, np.where(gamma < 0, np.floor(t), np.ceil(t)))
    np.testing.assert_allclose(net.output.scale, 2 * g2 / np.sqrt(v2 + eps), rtol=1e-7)
    np.testing.assert_allclose(net.output.shift, be2 + g2 * (b2 - 12 - m2) / np.sqrt(v2 + eps), rtol=1e-7,
                               atol=1e-7)


def test_float32_graph_and_two_hidden_layers():
    rng = np.random.default_rng(2)
    g = Graph((20,), dtype=TensorProto.FLOAT)
    h = g.sign(g.node("Sub", ["x", g.const(0.4)]))
    for f_in, f_out in ((20, 16), (16, 16)):
        w, b = rng.normal(0, 1, (f_out, f_in)), rng.normal(0, 1, f_out)
        h = g.node("Gemm", [h, g.sign(g.const(w)), g.const(b)], transB=1)
        h = g.sign(g.bn(h, *random_bn(rng, f_out)))
    out = g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (5, 16))))], transB=1)
    # pixel 102/255 is float32(0.4) exactly: Sign(x - 0.4) ties there, read as +1 like accelsim's input rule
    net = check_same(g.model(out), images(rng, 300, (20,)).astype(np.float32), sign_plus=True)
    assert net.shape == (20, 16, 16, 5)
    assert net.input_threshold == pytest.approx(0.4, rel=1e-7)  # float32(0.4)


# ------------------------------------------------------------------------------- dynamo-style


def test_fused_alpha_weights_and_bias():
    """Weights +-alpha_j per output channel plus a bias (BatchNorm fused into the Gemm, Sign(W)
    constant-folded), as torch.onnx.export(dynamo=True) writes them."""
    rng = np.random.default_rng(3)
    g = Graph((30,))
    h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
    alpha = rng.uniform(0.2, 3.0, 10)
    w = np.where(rng.random((10, 30)) < 0.5, -1.0, 1.0) * alpha[:, None]
    h = g.sign(g.node("Gemm", [h, g.const(w), g.const(rng.normal(0, 3, 10))], transB=1))
    w2 = np.where(rng.random((6, 10)) < 0.5, -1.0, 1.0) * rng.uniform(0.2, 3.0, 6)[:, None]
    out = g.node("Gemm", [h, g.const(w2), g.const(rng.normal(0, 2, 6))], transB=1)
    net = check_same(g.model(out), images(rng, 400, (30,)))
    assert np.array_equal(net.hidden[0].weights, np.sign(w))
    assert not net.hidden[0].flip.any()


def test_harmless_ops_and_a_fixed_batch():
    """What exporters put around layers: a batch fixed at export time baked into Reshape targets,
    Identity, inference Dropout, float Cast, Clip(-1, 1) (nn.Hardtanh) before Sign, transposed and
    reshaped constant weights."""
    rng = np.random.default_rng(21)
    g = Graph((1, 4, 4), batch=5)
    h = g.node("Identity", [g.sign(g.node("Sub", ["x", g.const(0.5)]))])
    h = g.node("Reshape", [h, g.const([5, -1], dtype=np.int64)])
    w = g.node("Transpose", [g.node("Reshape", [g.const(rng.normal(0, 1, (16 * 9,))),
                                                 g.const([16, 9], dtype=np.int64)])], perm=[1, 0])
    h = g.node("Gemm", [g.node("Dropout", [h]), g.sign(w), g.const(rng.normal(0, 1, 9))], transB=1)
    h = g.node("Clip", [g.bn(h, *random_bn(rng, 9)), g.const(-1.0), g.const(1.0)])
    h = g.node("Cast", [g.sign(h)], to=TensorProto.DOUBLE)
    out = g.node("MatMul", [h, g.sign(g.const(rng.normal(0, 1, (9, 4))))])
    check_same(g.model(out), images(rng, 200, (1, 4, 4)))


def _dense_variants(kind: str, w: np.ndarray, b: np.ndarray) -> onnx.ModelProto:
    rng = np.random.default_rng(4)
    w2 = np.sign(rng.normal(0, 1, (3, w.shape[0])))
    g = Graph((w.shape[1],))
    h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
    if kind == "gemm_transB":
        h = g.node("Gemm", [h, g.const(w), g.const(b)], transB=1)
    elif kind == "gemm_plain":
        h = g.node("Gemm", [h, g.const(w.T), g.const(b)])
    elif kind == "gemm_alpha_beta":
        h = g.node("Gemm", [h, g.const(w.T * 2), g.const(b / 4)], alpha=0.5, beta=4.0)
    else:
        h = g.node("Add", [g.node("MatMul", [h, g.const(w.T)]), g.const(b)])
    out = g.node("MatMul", [g.sign(h), g.const(w2.T)])
    return g.model(out)


def test_gemm_matmul_add_and_transb_import_alike():
    rng = np.random.default_rng(5)
    w, b = np.sign(rng.normal(0, 1, (8, 25))), rng.normal(0, 2, 8).round(1)
    x = images(rng, 300, (25,))
    nets = [check_same(_dense_variants(k, w, b), x)
            for k in ("gemm_transB", "gemm_plain", "gemm_alpha_beta", "matmul_add")]
    for net in nets[1:]:
        assert np.array_equal(net.hidden[0].weights, nets[0].hidden[0].weights)
        assert np.array_equal(net.hidden[0].threshold, nets[0].hidden[0].threshold)
        np.testing.assert_allclose(net.output.scale, nets[0].output.scale)


# ------------------------------------------------------------------------------- convolutions


@pytest.mark.parametrize("order", ["conv-pool-bn-sign", "conv-bn-sign-pool", "conv-bn-pool-sign"])
def test_conv_batch_norm_pool_flatten(order):
    """Two binarized convolutions (3x3 on 10x10, then 2x2), a 2x2 max-pool in each of the three
    places exporters put it, negative BN scales (pooled through negated filters), flatten by Flatten
    or by the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain of x.view(x.size(0), -1)."""
    rng = np.random.default_rng(6)
    g = Graph((1, 10, 10))
    h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
    w1 = rng.normal(0, 1, (4, 1, 3, 3))
    h = g.node("Conv", [h, g.sign(g.const(w1)), g.const(rng.normal(0, 1, 4))], kernel_shape=[3, 3])
    bn1 = random_bn(rng, 4)
    bn1[0][:2] = [-1.3, -0.7]  # two negative scales
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    for step in order.split("-")[1:]:
        h = {"pool": lambda v: g.node("MaxPool", [v], **pool), "bn": lambda v: g.bn(v, *bn1),
             "sign": g.sign}[step](h)
    h = g.node("Conv", [h, g.sign(g.const(rng.normal(0, 1, (3, 4, 2, 2))))], kernel_shape=[2, 2])
    h = g.sign(g.bn(h, *random_bn(rng, 3)))  # (3, 3, 3)
    if order == "conv-pool-bn-sign":
        h = g.node("Flatten", [h], axis=1)
    else:
        n = g.node("Unsqueeze", [g.node("Gather", [g.node("Shape", [h]), g.const(0, dtype=np.int64)], axis=0),
                                 g.const([0], dtype=np.int64)])
        h = g.node("Reshape", [h, g.node("Concat", [n, g.const([-1], dtype=np.int64)], axis=0)])
    w3 = rng.normal(0, 1, (10, 27))
    h = g.sign(g.bn(g.node("Gemm", [h, g.sign(g.const(w3))], transB=1), *random_bn(rng, 10)))
    out = g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (4, 10))))], transB=1)
    model = g.model(out)
    x = images(rng, 200, (1, 10, 10))
    net = check_same(model, x)
    assert [h.conv is not None for h in net.hidden] == [True, True, False]
    assert net.hidden[0].conv.pool and net.hidden[0].conv.map_h == 4
    assert net.shape == (100, 64, 27, 10, 4)
    # the dense layer after the flatten reads the map in accelsim's (y, x, c) order
    expect = np.sign(w3).reshape(10, 3, 3, 3).transpose(0, 2, 3, 1).reshape(10, 27)
    assert np.array_equal(net.hidden[2].weights, expect)


def test_conv_filters_in_accelsim_patch_order():
    rng = np.random.default_rng(7)
    g = Graph((2, 5, 5))
    h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
    w = rng.normal(0, 1, (3, 2, 3, 3))
    h = g.sign(g.node("Conv", [h, g.sign(g.const(w))], kernel_shape=[3, 3]))
    out = g.node("Gemm", [g.node("Flatten", [h]), g.sign(g.const(rng.normal(0, 1, (2, 27))))], transB=1)
    net = import_onnx(g.model(out))
    assert np.array_equal(net.hidden[0].weights, np.sign(w).transpose(0, 2, 3, 1).reshape(3, 18))
    # a 2-channel input is read in accelsim's (y, x, c) order: feed the oracle the same images
    x = images(rng, 100, (5, 5, 2))
    bits = np.where(x.reshape(100, -1) >= 0.5, 1, -1)
    # (no batch norm: the conv's integer dot products hit Sign's tie at 0, read as +1)
    assert np.array_equal(reference_predict(net, bits),
                          oracle_predict(g.model(out), x.transpose(0, 3, 1, 2).copy(), sign_plus=True))


# ------------------------------------------------------------------------------- QONNX


def test_brevitas_bipolar_quant_network():
    """Brevitas' export_qonnx shape: input scaled by Mul/Sub then BipolarQuant; BipolarQuant on latent
    weights with per-tensor and per-channel scales; BN; BipolarQuant activations with a scale; a
    final per-class Mul and Add."""
    rng = np.random.default_rng(8)
    g = Graph((1, 8, 8))
    h = g.bipolar(g.node("Sub", [g.node("Mul", ["x", g.const(2.0)]), g.const(1.0)]), 1.0)
    wq = g.bipolar(g.const(rng.normal(0, 0.1, (4, 1, 3, 3))), rng.uniform(0.05, 0.2, (4, 1, 1, 1)))
    h = g.node("Conv", [h, wq], kernel_shape=[3, 3])
    h = g.node("MaxPool", [g.bn(h, *random_bn(rng, 4))], kernel_shape=[2, 2], strides=[2, 2])
    h = g.bipolar(h, 0.5)
    h = g.node("Flatten", [h])
    w2 = g.bipolar(g.const(rng.normal(0, 0.1, (12, 36))), 0.1)
    h = g.node("Gemm", [h, w2, g.const(rng.normal(0, 0.5, 12))], transB=1)
    h = g.bipolar(g.bn(h, *random_bn(rng, 12)), 2.0)
    w3 = g.bipolar(g.const(rng.normal(0, 0.1, (5, 12))), rng.uniform(0.05, 0.2, (5, 1)))
    out = g.node("Gemm", [h, w3], transB=1)
    out = g.node("Add", [g.node("Mul", [out, g.const(rng.uniform(-2, 2, 5))]), g.const(rng.normal(0, 1, 5))])
    net = check_same(g.model(out), images(rng, 300, (1, 8, 8)))
    assert net.input_threshold == 0.5


def test_one_bit_quant_signed_and_unsigned():
    """1-bit Quant: signed (+-scale, qonnx's sign rule) on weights and activations, and an unsigned
    activation with levels {0, scale} (a binary activation with an offset)."""
    rng = np.random.default_rng(9)
    g = Graph((24,))
    h = g.quant("x", 1.0, -0.5, 1.0)  # signed: +1 iff x - 0.5 >= 0
    w1 = g.quant(g.const(rng.normal(0, 1, (10, 24))), rng.uniform(0.1, 1, (10, 1)), 0.0, 1.0)
    h = g.node("Gemm", [h, w1, g.const(rng.normal(0, 1, 10))], transB=1)
    h = g.quant(g.bn(h, *random_bn(rng, 10)), 0.5, 0.0, 1.0, signed=0, narrow=0, rounding_mode="ROUND")
    w2 = g.quant(g.const(rng.normal(0, 1, (8, 10))), 0.3, 0.0, 1.0)
    h = g.node("Gemm", [h, w2, g.const(rng.normal(0, 0.5, 8))], transB=1)
    h = g.quant(h, 0.25, 0.0, 1.0)
    w3 = g.quant(g.const(rng.normal(0, 1, (3, 8))), 1.0, 0.0, 1.0)
    out = g.node("MatMul", [h, g.node("Transpose", [w3], perm=[1, 0])])
    net = check_same(g.model(out), images(rng, 400, (24,)))
    assert net.input_threshold == 0.5


@pytest.mark.parametrize("order", ["bn-relu-pool-bn-sign", "bn-pool-relu-bn-sign", "bn-relu-bn-sign-pool",
                                   "bn-sign"])
def test_real_first_convolution_becomes_the_front(order):
    """A real convolution of the intensities (the LeNet of 001's first block), then a batch norm, a
    ReLU, a max-pool and a batch norm in the orders exporters write, then the first binarization:
    the format's real front (v = pool(ReLU(scale conv + shift)), +1 iff out_scale v + out_shift >= 0);
    without a ReLU, +1 iff scale conv + shift >= 0."""
    rng = np.random.default_rng(18)
    g = Graph((1, 10, 10))
    h = g.node("Conv", ["x", g.const(rng.normal(0, 0.5, (4, 1, 3, 3))), g.const(rng.normal(0, 0.3, 4))],
               kernel_shape=[3, 3])
    steps = order.split("-")
    # a pool before the ReLU needs positive scales before it, a pool after the binarizer after it
    positive = {"bn-pool-relu-bn-sign": (True, False), "bn-relu-bn-sign-pool": (False, True)}
    positive = positive.get(order, (False, False))
    bns = [random_bn(rng, 4, negative=not p) for p in positive]
    bns[0][0][:2] = np.abs(bns[0][0][:2]) * (1 if positive[0] else -1)
    n_bn = 0
    for step in steps:
        if step == "bn":
            h = g.bn(h, *bns[n_bn])
            n_bn += 1
        elif step == "relu":
            h = g.node("Relu", [h])
        elif step == "pool":
            h = g.node("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
        else:
            h = g.sign(h)
    h = g.node("Conv", [h, g.sign(g.const(rng.normal(0, 1, (3, 4, 2, 2))))], kernel_shape=[2, 2])
    h = g.node("Flatten", [g.sign(g.bn(h, *random_bn(rng, 3)))])
    n = 3 * (3 if "pool" in steps else 7) ** 2
    h = g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (5, n))))], transB=1)
    out = g.bn(h, *random_bn(rng, 5))
    net = check_same(g.model(out), images(rng, 200, (1, 10, 10)))
    assert net.front is not None and (net.front.conv.pool != "none") == ("pool" in steps)
    assert np.isnan(net.input_threshold) and net.shape[:3] == (100, 4 * (16 if "pool" in steps else 64), n)


def test_real_read_out_becomes_the_head():
    """A real Gemm on the last binarized layer's batch-normed popcounts: the format's real read-out."""
    rng = np.random.default_rng(19)
    g = Graph((20,))
    h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
    h = g.sign(g.bn(g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (16, 20))))], transB=1),
                    *random_bn(rng, 16)))
    h = g.bn(g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (8, 16))))], transB=1), *random_bn(rng, 8))
    w = rng.normal(0, 1, (4, 8))
    out = g.node("Gemm", [h, g.const(w), g.const(rng.normal(0, 1, 4))], transB=1)
    out = g.node("LogSoftmax", [g.node("Mul", [out, g.const(rng.uniform(0.5, 2, 4))])], axis=1)
    net = check_same(g.model(out), images(rng, 300, (20,)))
    assert net.output.head is not None and net.output.head.shape == (4, 8)
    assert net.format_version == 2


# ------------------------------------------------------------------------------- input encoding


@pytest.mark.parametrize("pre, threshold", [
    ((("Sub", 0.25),), 0.25), ((("Mul", 2.0), ("Sub", 1.0)), 0.5), ((("Div", 4.0), ("Add", -0.1875)), 0.75)])
def test_input_encoding(pre, threshold):
    rng = np.random.default_rng(10)
    g = Graph((16,))
    h = "x"
    for op, v in pre:
        h = g.node(op, [h, g.const(v)])
    h = g.bipolar(h, 1.0)
    out = g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (4, 16))))], transB=1)
    model = g.model(out)
    x = images(rng, 200, (16,))
    x[:50, :4] = threshold  # exactly on the threshold: BipolarQuant gives +1, as accelsim's input rule
    net = check_same(model, x)
    assert net.input_threshold == threshold


def test_pm1_input_graph_needs_input_threshold():
    rng = np.random.default_rng(11)
    g = Graph((16,))
    out = g.node("Gemm", ["x", g.sign(g.const(rng.normal(0, 1, (4, 16))))], name="fc0", transB=1)
    model = g.model(out)
    with pytest.raises(OnnxImportError, match=r"node 'fc0' \(Gemm\): takes the graph input directly"):
        import_onnx(model)
    net = import_onnx(model, input_threshold=0.25)
    x = images(rng, 200, (16,))
    pm1 = np.where(x >= 0.25, 1.0, -1.0)
    assert np.array_equal(accel_predict(net, x), oracle_predict(model, pm1))
    # the override also replaces a threshold the graph implies
    assert import_onnx(_dense_variants("gemm_transB", np.ones((2, 5)), np.zeros(2)),
                       input_threshold=0.125).input_threshold == 0.125
    with pytest.raises(NetworkError, match="input_threshold 1.5"):
        import_onnx(model, input_threshold=1.5)


# ------------------------------------------------------------------------------- ties


def _tie_net(act: str):
    """Even fan-in, +-1 weights and inputs, bias 2: hidden pre-activations dot + 2 hit 0 often."""
    rng = np.random.default_rng(12)
    g = Graph((16,))
    h = g.bipolar(g.node("Sub", ["x", g.const(0.5)]), 1.0)
    h = g.node("Gemm", [h, g.const(np.sign(rng.normal(0, 1, (12, 16)))), g.const(np.full(12, 2.0))],
               name="fc0", transB=1)
    # BN with sqrt(var + eps) = 2 and a mean of 2: exactly zero again where dot + 2 == 2 -> tie kept exact
    h = g.bn(h, np.full(12, 1.5), np.zeros(12), np.full(12, 2.0), np.full(12, 3.75), eps=0.25, name="bn0")
    h = g.bipolar(h, 1.0, name="act") if act == "bipolar" else g.sign(h, name="act")
    out = g.node("Gemm", [h, g.const(np.sign(rng.normal(0, 1, (4, 12))) * 0.5), g.const([0.25, 0, 0, 0.5])],
                 transB=1)
    return g.model(out), rng


def test_ties_exact_with_bipolar_quant():
    model, rng = _tie_net("bipolar")
    x = images(rng, 400, (16,))
    pre = oracle_scores(model, x, outputs=["bn0_out"])[0]
    assert np.count_nonzero(pre == 0) > 100  # ties do happen, and BipolarQuant makes them +1
    net = check_same(model, x)
    assert "exactly 0" not in net.description


def test_sign_ties_are_read_as_plus_one():
    model, rng = _tie_net("sign")
    x = images(rng, 400, (16,))
    net = check_same(model, x, sign_plus=True)
    assert "read as +1" in net.description
    # ONNX's own Sign(0) = 0 feeds zeros to the next layer, which a +-1 crossbar cannot hold
    ties = oracle_scores(model, x, outputs=["act_out"])[0]
    assert np.count_nonzero(ties == 0) > 100


@pytest.mark.parametrize("strict", [False, True])
def test_where_of_a_comparison_is_a_binarizer(strict):
    """torch.where(x >= 0, 1., -1.) exports as GreaterOrEqual + Where: a binarizer with the tie rule
    the graph states (>= gives +1 at 0, > gives -1), matched exactly by the standard ONNX evaluator
    on a net whose pre-activations hit 0 often."""
    rng = np.random.default_rng(22)
    g = Graph((16,))
    one, minus_one = g.const(1.0), g.const(-1.0)
    h = g.node("Where", [g.node("GreaterOrEqual", ["x", g.const(0.5)]), one, minus_one])
    h = g.node("Gemm", [h, g.const(np.sign(rng.normal(0, 1, (12, 16)))), g.const(np.full(12, 2.0))],
               name="fc0", transB=1)
    cmp = g.node("Less" if strict else "LessOrEqual", [g.const(0.0), h], name="cmp")  # 0 < h, 0 <= h
    h = g.node("Where", [g.node("Cast", [cmp], to=TensorProto.BOOL), one, minus_one])
    out = g.node("Gemm", [h, g.const(np.sign(rng.normal(0, 1, (4, 12))))], transB=1)
    model = g.model(out)
    x = images(rng, 400, (16,))
    x[:40, :3] = 0.5
    net = check_same(model, x)
    assert net.input_threshold == 0.5
    pre = oracle_scores(model, x, outputs=["fc0_out"])[0]
    assert np.count_nonzero(pre == 0) > 100


# ------------------------------------------------------------------------------- files


def test_external_data_and_content_sniffing(tmp_path):
    model = _dense_variants("matmul_add", np.sign(np.random.default_rng(13).normal(0, 1, (8, 25))),
                            np.linspace(-2, 2, 8))
    path = tmp_path / "m.onnx"
    saved = onnx.ModelProto()
    saved.CopyFrom(model)  # save_model moves the tensors of what it saves to the external file
    onnx.save_model(saved, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="m.onnx.data", size_threshold=0)
    assert (tmp_path / "m.onnx.data").stat().st_size > 8 * 25 * 8
    net = import_onnx(path)
    x = images(np.random.default_rng(14), 200, (25,))
    assert np.array_equal(accel_predict(net, x), oracle_predict(model, x))
    assert hashlib.sha256(path.read_bytes()).hexdigest() in net.description
    assert "accelsim-tests 1" in net.description
    # load_network: by extension, and by content under another name
    other = tmp_path / "model.bin"
    other.write_bytes(path.read_bytes())
    for p in (path, other):
        assert np.array_equal(accel_predict(load_network(p), x), accel_predict(net, x))
    assert is_onnx_file(other) and not is_onnx_file(ROOT / "workloads" / "mlp784.npz")
    (tmp_path / "text.txt").write_text("not a network\n")
    assert not is_onnx_file(tmp_path / "text.txt")
    with pytest.raises(NetworkError):
        load_network(tmp_path / "text.txt")


def test_saved_npz_roundtrip(tmp_path):
    model = _dense_variants("gemm_transB", np.ones((3, 4)) * np.array([1, -1, 1, 1]), np.zeros(3))
    net = import_onnx(model)
    save_network(tmp_path / "n.npz", net)
    back = load_network(tmp_path / "n.npz")
    assert back.description == net.description and back.format_version == 1


# ------------------------------------------------------------------------------- format version 3


def _tie_bn(g: Graph, rng, h: str, f: int, means, name=None) -> str:
    """A batch norm with sqrt(var + eps) = 2 exactly and the given means: an exact integer (or dyadic)
    pre-activation equal to its mean gives exactly 0 -- a tie on the threshold, +1 by BipolarQuant;
    a third of the scales negative (flip)."""
    gamma = rng.uniform(0.5, 2.0, f) * np.where(np.arange(f) % 3 == 1, -1.0, 1.0)
    return g.bn(h, gamma, np.zeros(f), means, np.full(f, 3.75), eps=0.25, name=name)


def _v3_block(g: Graph, rng, h: str, c_in: int, spec: dict, i: int) -> tuple[str, int]:
    """Conv (+-1 weights, integer bias) -> [max-pool] -> tie batch norm -> BipolarQuant -> [average
    pool -> tie batch norm -> BipolarQuant]: every pre-activation an exact integer (dyadic after the
    average of 2x2 or 4x4 windows), thresholds on reachable values of both parities."""
    f, k = spec["f"], spec["k"]
    attrs = {key: spec[key] for key in ("pads", "strides", "auto_pad") if key in spec}
    w = np.sign(rng.normal(0, 1, (f, c_in, k, k)))
    h = g.node("Conv", [h, g.const(w), g.const(rng.integers(-2, 3, f).astype(float))], name=f"conv{i}",
               kernel_shape=[k, k], **attrs)
    pool = spec.get("pool")
    if pool and pool[0] == "max":
        h = g.node("MaxPool", [h], kernel_shape=[pool[1]] * 2, strides=[pool[2]] * 2)
    n = k * k * c_in
    h = g.bipolar(_tie_bn(g, rng, h, f, rng.integers(-n // 3, n // 3 + 1, f).astype(float)), 1.0)
    if pool and pool[0] == "max-after":  # the pool of the +-1 map: negative BN scales negate filters
        h = g.node("MaxPool", [h], kernel_shape=[pool[1]] * 2, strides=[pool[2]] * 2)
    if pool and pool[0] in ("avg", "global", "mean"):
        if pool[0] == "avg":
            h = g.node("AveragePool", [h], name=f"avg{i}", kernel_shape=[pool[1]] * 2, strides=[pool[2]] * 2)
        elif pool[0] == "mean":  # x.mean((2, 3), keepdim=True), as the dynamo exporter writes it
            h = g.node("ReduceMean", [h], name=f"avg{i}", axes=[-2, -1], keepdims=1)
        else:
            h = g.node("GlobalAveragePool", [h], name=f"avg{i}")
        window = pool[1] ** 2 if pool[0] == "avg" else pool[1]
        counts = rng.integers(0, window + 1, f)
        h = g.bipolar(_tie_bn(g, rng, h, f, (2.0 * counts - window) / window), 1.0)
    return h, f


P1 = [1, 1, 1, 1]
V3_NETS = {
    # in_shape, conv blocks, expected ConvShape fields of each
    "pad1": ((2, 7, 7), [dict(f=4, k=3, pads=P1), dict(f=3, k=3, pads=P1, strides=[2, 2])],
             [dict(pad=(1, 1, 1, 1), stride=1), dict(pad=(1, 1, 1, 1), stride=2)]),
    # ONNX pads [top, left, bottom, right] -> ConvShape (top, bottom, left, right)
    "asymmetric": ((1, 8, 7), [dict(f=4, k=3, pads=[1, 0, 2, 1]), dict(f=3, k=2, pads=[0, 1, 0, 0])],
                   [dict(pad=(1, 2, 0, 1)), dict(pad=(0, 0, 1, 0))]),
    "stride2_1x1": ((2, 9, 9), [dict(f=4, k=3, strides=[2, 2]), dict(f=5, k=1)],
                    [dict(stride=2, pad=(0, 0, 0, 0)), dict(kernel=1)]),
    "same_upper": ((1, 8, 8), [dict(f=3, k=3, strides=[2, 2], auto_pad="SAME_UPPER"), dict(f=3, k=3)],
                   [dict(stride=2, pad=(0, 1, 0, 1)), dict(pad=(0, 0, 0, 0))]),
    "maxpool3x3s2": ((1, 10, 10), [dict(f=4, k=3, pads=P1, pool=("max", 3, 2)), dict(f=3, k=2)],
                     [dict(pool="max", pool_size=3, pool_stride=2), dict(pool="none")]),
    "maxpool_after_sign": ((1, 9, 9), [dict(f=6, k=3, pads=P1, strides=[2, 2], pool=("max-after", 2, 2)),
                                       dict(f=3, k=1)],
                           [dict(pool="max", pool_size=2, pool_stride=2, stride=2), dict(pool="none")]),
    "avgpool": ((2, 9, 9), [dict(f=4, k=3, pads=P1, pool=("avg", 2, 2)), dict(f=3, k=3, pads=P1)],
                [dict(pool="avg", pool_size=2, pool_stride=2), dict(pool="none")]),
    "global_to_output": ((1, 6, 6), [dict(f=4, k=3, pads=P1),
                                     dict(f=6, k=3, strides=[2, 2], pads=P1, pool=("global", 9))],
                         [dict(pool="none"), dict(pool="global", stride=2)]),
    "reducemean": ((1, 6, 6), [dict(f=4, k=3, pads=P1), dict(f=6, k=1, pool=("mean", 36))],
                   [dict(pool="none"), dict(pool="global", kernel=1)]),
}


@pytest.mark.parametrize("kind", list(V3_NETS))
def test_format_v3_convolutions_and_pools(kind):
    """Padded (symmetric, asymmetric, SAME_UPPER), strided and 1x1 convolutions, a 3x3/2 max-pool, a
    2x2/2 average pool and a global average pool (feeding the output layer), each followed by a batch
    norm whose thresholds sit on reachable (half-integer, at zero-padded borders) values: accelsim's
    reference inference equals onnx's evaluator image by image, and the file saved as format 3 too."""
    rng = np.random.default_rng(31)
    in_shape, blocks, expect = V3_NETS[kind]
    g = Graph(in_shape)
    h, c = g.bipolar(g.node("Sub", ["x", g.const(0.5)]), 1.0), in_shape[0]
    for i, spec in enumerate(blocks):
        h, c = _v3_block(g, rng, h, c, spec, i)
    h = g.node("Flatten", [h], axis=1)
    shape = oracle_scores(g.model(h), images(rng, 1, in_shape), outputs=[h])[0].shape
    w_out = np.sign(rng.normal(0, 1, (5, shape[1])))
    out = g.bn(g.node("Gemm", [h, g.const(w_out)], transB=1), *random_bn(rng, 5))
    model = g.model(out)
    x = images(rng, 300, in_shape)
    net = check_same(model, x)
    for conv, fields in zip((layer.conv for layer in net.hidden), expect, strict=True):
        assert {key: getattr(conv, key) for key in fields} == fields
    assert net.format_version == 3
    # thresholds are reached: some pre-activations of every hidden batch norm are exactly 0 (ties, +1)
    bn_outs = [n.output[0] for n in model.graph.node if n.op_type == "BatchNormalization"]
    assert all(np.count_nonzero(v == 0) > 0 for v in oracle_scores(model, x, outputs=bn_outs[:-1]))
    if kind == "maxpool_after_sign":  # channels 1 and 4 (gamma < 0): filters negated, no flip
        assert not net.hidden[0].flip.any()
    if kind in ("global_to_output", "reducemean"):
        assert net.hidden[-1].conv.map_h == 1 and net.output.weights.shape == (5, 6)
    zero_padded = [layer.conv.zero_padded for layer in net.hidden]
    if any(zero_padded):  # half-integer thresholds where the table over 2 e says so
        assert any(np.any(layer.threshold % 1 == 0.5) for layer in net.hidden if layer.conv.zero_padded)


def test_format_v3_saved_and_loaded(tmp_path):
    rng = np.random.default_rng(32)
    in_shape, blocks, _ = V3_NETS["avgpool"]
    g = Graph(in_shape)
    h, c = g.sign(g.node("Sub", ["x", g.const(0.5)])), in_shape[0]
    for i, spec in enumerate(blocks):
        h, c = _v3_block(g, rng, h, c, spec, i)
    h = g.node("Flatten", [h], axis=1)
    out = g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (4, 3 * 4 * 4))))], transB=1)
    model = g.model(out)
    net = import_onnx(model)
    save_network(tmp_path / "v3.npz", net)
    loaded = load_network(tmp_path / "v3.npz")
    x = images(rng, 200, in_shape)
    assert np.array_equal(accel_predict(loaded, x), oracle_predict(model, x, sign_plus=True))
    assert int(np.load(tmp_path / "v3.npz")["format_version"]) == 3


def test_zero_padded_thresholds_closed_form():
    """A zero-padded conv -> BN -> Sign: thresholds are the README's fold on the equivalent count,
    T = (k k C + mu - b - beta sigma / gamma) / 2 rounded to the half-integer grid 2 e lives on."""
    rng = np.random.default_rng(33)
    g = Graph((2, 5, 5))
    h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
    w, b = rng.normal(0, 1, (6, 2, 3, 3)), rng.normal(0, 1, 6)
    gamma, beta, mean, var = random_bn(rng, 6)
    h = g.node("Conv", [h, g.sign(g.const(w)), g.const(b)], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = g.node("Flatten", [g.sign(g.bn(h, gamma, beta, mean, var))])
    model = g.model(g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (3, 150))))], transB=1))
    net = check_same(model, images(rng, 200, (2, 5, 5)))
    eps = float(np.float32(1e-5))
    t_v = mean - b - beta * np.sqrt(var + eps) / gamma
    two_t = 18 + t_v  # 2 T on the grid of integers 2 e
    expect = np.where(gamma < 0, np.floor(two_t), np.ceil(two_t)) / 2
    layer = net.hidden[0]
    assert layer.conv.zero_padded and np.array_equal(layer.flip, gamma < 0)
    assert np.array_equal(layer.threshold, expect)


def test_real_front_with_padding_and_stride():
    """A real first convolution with pads and stride (zero padding of the raw intensities) and a
    3x3/2 max-pool of its ReLU outputs becomes a v3 real front."""
    rng = np.random.default_rng(34)
    g = Graph((1, 9, 9))
    h = g.node("Conv", ["x", g.const(rng.normal(0, 0.5, (4, 1, 3, 3))), g.const(rng.normal(0, 0.3, 4))],
               kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    h = g.node("MaxPool", [g.node("Relu", [g.bn(h, *random_bn(rng, 4, negative=False))])],
               kernel_shape=[3, 3], strides=[2, 2])
    h = g.node("Flatten", [g.sign(g.bn(h, *random_bn(rng, 4, negative=False)))])
    model = g.model(g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (3, 64))))], transB=1))
    net = check_same(model, images(rng, 200, (1, 9, 9)), sign_plus=True)
    c = net.front.conv
    assert (c.pad, c.pad_value, c.pool, c.pool_size, c.pool_stride) == ((1, 1, 1, 1), "zero", "max", 3, 2)


# ------------------------------------------------------------------------------- refusals


CONV_REFUSALS = {  # conv1's attributes (on a 1x8x8 input) in the convolution refusals
    "dilated_conv": dict(dilations=[2, 2]), "uneven_strides": dict(strides=[1, 2]),
    "grouped_conv": dict(group=2), "big_pads": dict(pads=[3, 0, 0, 0]),
    "ceil_pool": dict(pads=[0, 0, 1, 1]),  # a 7x7 map: 2x2/2 windows leave a partial one in ceil mode
    **{k: {} for k in ("padded_pool", "uneven_pool", "avg_padded", "avg_unbinarized", "avg_before_sign",
                       "two_pools", "mean_squeezed")},
}


def _refusal(kind: str) -> onnx.ModelProto:
    rng = np.random.default_rng(15)
    if kind in CONV_REFUSALS:
        g = Graph((1, 8, 8))
        h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
        h = g.node("Conv", [h, g.sign(g.const(rng.normal(0, 1, (2, 1, 3, 3))))], name="conv1",
                   kernel_shape=[3, 3], **CONV_REFUSALS[kind])
        if kind == "avg_before_sign":
            h = g.node("AveragePool", [h], name="pool1", kernel_shape=[2, 2], strides=[2, 2])
        h = g.sign(h)
        pools = {"padded_pool": ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
                 "uneven_pool": ("MaxPool", dict(kernel_shape=[2, 3], strides=[2, 2])),
                 "ceil_pool": ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)),
                 "avg_padded": ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1],
                                                    count_include_pad=1)),
                 "avg_unbinarized": ("GlobalAveragePool", {}),
                 "mean_squeezed": ("ReduceMean", dict(axes=[2, 3], keepdims=0)),
                 "two_pools": ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2]))}
        if kind in pools:
            op, attrs = pools[kind]
            h = g.node(op, [h], name="pool1", **attrs)
        if kind == "two_pools":
            h = g.node("AveragePool", [h], name="pool2", kernel_shape=[2, 2], strides=[1, 1])
        h = g.node("Flatten", [h], name="flat")
        return g.model(g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (3, 18))))], transB=1))
    if kind in ("pad_unipolar", "front_pad_offset"):
        g = Graph((1, 6, 6))
        if kind == "pad_unipolar":  # {0, 1} activations: ONNX's padded 0 is the -1 level
            h = g.node("Where", [g.node("GreaterOrEqual", ["x", g.const(0.5)]), g.const(1.0), g.const(0.0)])
            w = g.sign(g.const(rng.normal(0, 1, (2, 1, 3, 3))))
        else:  # a real front on x - 0.3: its zero padding is the intensity 0.3
            h, w = g.node("Sub", ["x", g.const(0.3)]), g.const(rng.normal(0, 1, (2, 1, 3, 3)))
        h = g.node("Conv", [h, w], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        h = g.node("Flatten", [g.sign(h)])
        return g.model(g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (3, 72))))], transB=1))
    if kind.startswith("front"):
        g = Graph((1, 6, 6))
        h = g.node("Conv", ["x", g.const(rng.normal(0, 1, (2, 1, 3, 3)))], name="conv0", kernel_shape=[3, 3])
        if kind == "front_pool_negative":
            h = g.bn(h, [1.0, -1.0], [0, 0], [0, 0], [1, 1])
            h = g.node("Relu", [g.node("MaxPool", [h], name="pool0", kernel_shape=[2, 2], strides=[2, 2])])
        else:
            h = g.node("MaxPool", [h], name="pool0", kernel_shape=[2, 2], strides=[2, 2])
        h = g.node("Flatten", [g.sign(h, name="sign0")])
        return g.model(g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (3, 8))))], transB=1))
    g = Graph((12,))
    h = g.sign(g.node("Sub", ["x", g.const(0.5)]))
    w1 = rng.normal(0, 1, (6, 12))
    if kind == "not_alpha":
        w1 = np.sign(w1)
        w1[2, 5] *= 0.9
    if kind == "zero_weight":
        w1[1, 3] = 0.0
    h = g.node("Gemm", [h, g.const(w1) if kind == "not_alpha" else g.sign(g.const(w1))], name="fc1", transB=1)
    if kind == "two_bit":
        h = g.quant(h, 0.5, 0.0, 2.0, name="act_q")
    elif kind == "relu":
        h = g.sign(g.node("Relu", [h], name="relu1"))
    elif kind == "unsupported":
        h = g.sign(g.node("Exp", [h], name="exp1"))
    elif kind == "branch":
        h = g.node("Add", [h, g.node("Mul", [h, g.const(2.0)])], name="res1")
        h = g.sign(h)
    elif kind == "head_sign":
        pass
    else:
        h = g.sign(h)
    out = g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (3, 6))))], name="fc2", transB=1)
    if kind in ("binary_output", "head_sign"):
        out = g.sign(out, name="last_sign")
    return g.model(out)


@pytest.mark.parametrize("kind, pattern", [
    ("two_bit", r"node 'act_q' \(Quant\): bit width 2: expected 1"),
    ("relu", r"node 'relu1' \(Relu\): an activation that is not a binarization"),
    ("unsupported", r"node 'exp1' \(Exp\): unsupported op"),
    ("not_alpha", r"node 'fc1' \(Gemm\): weight -?0.9 at \[2, 5\]: expected \+-alpha per output channel"),
    ("zero_weight", r"node 'fc1' \(Gemm\): weight 0 at \[1, 3\]: expected \+-alpha"),
    ("dilated_conv", r"node 'conv1' \(Conv\): dilations \[2, 2\] \(expected 1\)"),
    ("uneven_strides", r"node 'conv1' \(Conv\): strides \[1, 2\] \(expected equal in both dimensions\)"),
    ("grouped_conv", r"node 'conv1' \(Conv\): group 2 \(expected 1\)"),
    ("big_pads", r"node 'conv1' \(Conv\): pads \[3, 0, 0, 0\]: padding must be smaller than the 3x3 kernel"),
    ("padded_pool", r"node 'pool1' \(MaxPool\): pads \[1, 1, 1, 1\] \(expected none\)"),
    ("uneven_pool", r"node 'pool1' \(MaxPool\): kernel \[2, 3\] \(expected square\)"),
    ("ceil_pool", r"node 'pool1' \(MaxPool\): ceil_mode 1 on a 7x7 map with a 2x2/2 window"),
    ("avg_padded", r"node 'pool1' \(AveragePool\): pads \[0, 0, 1, 1\]; count_include_pad 1 "
                   r"\(expected none\)"),
    ("pad_unipolar", r"node 'conv1' \(Conv\): zero padding of an input whose levels are \{0, 1\}"),
    ("front_pad_offset", r"node 'conv1' \(Conv\): zero padding of the input a x \+ b .* pads the "
                         r"intensity 0.3"),
    ("avg_before_sign", r"node 'pool1' \(AveragePool\): average-pools the real pre-activations of "
                        r"convolution 'conv1'"),
    ("avg_unbinarized", r"node 'flat' \(Flatten\): the average pool of convolution 'conv1' is not binarized"),
    ("mean_squeezed", r"node 'pool1' \(ReduceMean\): axes \[2, 3\], keepdims 0: expected the mean over "
                      r"the map's two axes, kept"),
    ("two_pools", r"node 'pool2' \(AveragePool\): a second pool on one convolution \(max already\)"),
    ("branch", r"feeds 2 nodes: expected a chain"),
    ("head_sign", r"node 'last_sign' \(Sign\): binarizes the real read-out after layer 'fc1'"),
    ("front_pool_negative", r"node 'pool0' \(MaxPool\): pools real convolution 'conv0' after a negative"),
    ("front_no_relu_pool", r"node 'sign0' \(Sign\): binarizes the pooled real convolution 'conv0' "
                           r"without a ReLU"),
    ("binary_output", r"graph output 'last_sign_out' is binarized activations"),
])
def test_refusals_name_the_node(kind, pattern):
    with pytest.raises(OnnxImportError, match=pattern) as info:
        import_onnx(_refusal(kind), name="bad.onnx")
    text = str(info.value)
    assert "\n" not in text and text.startswith("bad.onnx: ")


# ------------------------------------------------------------------------------- the command


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "accelsim.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_import_command(tmp_path, capsys, monkeypatch):
    from accelsim.cli import main

    model = _dense_variants("gemm_plain", np.sign(np.random.default_rng(16).normal(0, 1, (8, 25))),
                            np.linspace(-1.5, 1.5, 8))  # no bias an integer: no Sign ties
    onnx.save_model(model, str(tmp_path / "m.onnx"))
    done = _cli("import", "m.onnx", "--out", "net.npz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    net = load_network(tmp_path / "net.npz")
    x = images(np.random.default_rng(17), 100, (25,))
    assert np.array_equal(accel_predict(net, x), oracle_predict(model, x))
    assert "m.onnx" in net.description and net.format_version == 1
    # an existing --out needs --force; a bad threshold and a bad graph write nothing
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["import", "m.onnx", "--out", "net.npz"]) == 2 and "--force" in capsys.readouterr().err
    assert main(["import", "m.onnx", "--out", "net.npz", "--force", "--input-threshold", "0.25",
                 "--quiet"]) == 0
    assert load_network(tmp_path / "net.npz").input_threshold == 0.25
    assert main(["import", "m.onnx", "--out", "b.npz", "--input-threshold", "2"]) == 2
    onnx.save_model(_refusal("relu"), str(tmp_path / "bad.onnx"))
    capsys.readouterr()
    assert main(["import", "bad.onnx", "--out", "b.npz"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'relu1' (Relu)" in err
    assert not (tmp_path / "b.npz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx", "m.onnx", "net.npz"]


def test_run_takes_an_onnx_network(tmp_path, monkeypatch):
    """`accelsim run --net model.onnx --data IDX`: the run's ideal accuracy is the graph's own."""
    from accelsim.cli import main
    from accelsim.data import save_idx

    rng = np.random.default_rng(20)
    g = Graph((1, 4, 4))
    h = g.node("Flatten", [g.sign(g.node("Sub", ["x", g.const(0.5)]))])
    h = g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (8, 16))))], transB=1)
    h = g.sign(g.bn(h, *random_bn(rng, 8)))
    out = g.bn(g.node("Gemm", [h, g.sign(g.const(rng.normal(0, 1, (3, 8))))], transB=1), *random_bn(rng, 3))
    model = g.model(out)
    onnx.save_model(model, str(tmp_path / "tiny.onnx"))
    pixels = rng.integers(0, 256, size=(40, 4, 4), dtype=np.uint8)
    labels = rng.integers(0, 3, size=40).astype(np.uint8)
    save_idx(tmp_path / "t10k-images-idx3-ubyte", pixels)
    save_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--arch", str(ROOT / "arch_configs" / "mixed_retention.yaml"), "--net", "tiny.onnx",
                 "--data", "t10k-images-idx3-ubyte", "--out", "out", "--name", "r", "--quiet"]) == 0
    import pandas as pd

    row = pd.read_csv(tmp_path / "out" / "r.csv").iloc[0]
    x = (pixels.astype(np.float32) / np.float32(255.0)).astype(np.float64).reshape(40, 1, 4, 4)
    assert row["accuracy_ideal"] == pytest.approx(np.mean(oracle_predict(model, x) == labels), abs=1e-12)
