"""ONNX / QONNX import: a binarized network as PyTorch (both exporters) or Brevitas (QONNX) write it
becomes an accelsim :class:`~accelsim.network.Network`, biases, batch norms and scales folded in.

How it folds. Every binarized layer (Gemm, MatMul or Conv whose weights are +-alpha_j per output
channel) is followed, channel by channel, as a *table over its popcounts*: the value the graph computes
for each popcount p = 0 .. n_in, in float64, applying each element-wise op (bias, BatchNormalization,
Mul/Div/Add/Sub by constants, Clip) in graph order. The binarizer that follows (Sign, BipolarQuant,
1-bit Quant) turns the table into the set of popcounts that give +1 -- an interval, hence
``threshold``/``flip`` -- and the output layer's table, affine in p, gives ``scale``/``shift``.
A zero-padded convolution (format version 3; ONNX pads with 0, which for +-s activations is an
undriven row) is tabled over q = 2 e = dot + k*k*C = 0 .. 2 k*k*C, twice its equivalent count, so its
thresholds land on the half-integer grid e lives on and hold at every position. A k x k / s max-pool
acts on the table's index (the table is monotone; a channel whose table decreases has its filter
negated, so the pool of the negated counts is the pool of the values). An average pool of a +-1 map
(``AveragePool``, ``GlobalAveragePool``) is a second table per channel over the count of +1 outputs
in a window, which the ops and binarizer after it turn into ``pool_threshold``/``pool_flip``. The
graph's first binarization of its input becomes ``input_threshold``. See README "Importing ONNX /
QONNX networks".

Sign convention: an activation binarizer gives +1 where its input is >= 0 (BipolarQuant and qonnx's
1-bit signed Quant do exactly this; ONNX's Sign gives 0 at an exact 0, which a binary crossbar cannot
hold, and is read as +1). Weights are taken as the graph computes them: Sign(0) = 0 there, and a 0
weight is refused.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from accelsim.errors import NetworkError

if TYPE_CHECKING:
    from accelsim.network import Network

#: First bytes of a zip archive (an ``.npz`` network).
ZIP_MAGIC = b"PK\x03\x04"
#: Domains of the QONNX quantizers (Brevitas' export, FINN's toolchain, older Brevitas).
QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "finn", "qonnx", "onnx.brevitas")
#: Relative spread allowed between the |weights| of one output channel (a float32 product
#: alpha_j * sign(w) is exact, so exported +-alpha weights agree far more closely than this).
ALPHA_RTOL = 1e-6
#: Relative deviation allowed between the output layer's table and the affine scale * p + shift.
AFFINE_RTOL = 1e-9
#: Most entries of all popcount tables together (channels x (n_in + 1)).
MAX_TABLE = 50_000_000

_FLOAT_TYPES = {1, 10, 11, 16}  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


_NOT_BINARIZED_AVERAGE = ("the average pool of convolution '{}' is not binarized: expected "
                          "BatchNormalization or scales, then Sign, BipolarQuant or a 1-bit Quant after "
                          "an average pool (accelsim thresholds its count of +1 outputs)")


class OnnxImportError(NetworkError):
    """An ONNX graph that is not a binarized network accelsim can hold (one line: node, op, why)."""


def is_onnx_file(path: str | Path) -> bool:
    """Whether the file at ``path`` holds an ONNX model (sniffed from its content: not a zip archive,
    and parses as an ONNX ``ModelProto`` with a graph)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    if head == ZIP_MAGIC or not head:
        return False
    try:
        import onnx
    except ImportError:
        return False
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 -- any parse failure means "not ONNX"
        return False
    return model.ir_version > 0 and len(model.graph.node) > 0


def import_onnx(source, *, input_threshold: float | None = None, name: str | None = None) -> Network:
    """Import a binarized network from ONNX / QONNX.

    Parameters
    ----------
    source
        A path (str or Path; external data such as ``model.onnx.data`` is read from the file's
        folder), the serialized model as bytes, or an ``onnx.ModelProto``.
    input_threshold
        Intensity threshold in [0, 1] of the input encoding (input bit +1 iff intensity >= it). It
        replaces the one the graph's first binarization implies; it is required when the graph takes
        +-1 inputs directly.
    name
        What error messages and the description call the model (default: the file name).

    Returns
    -------
    accelsim.network.Network
        Validated exactly as ``load_network`` validates an ``.npz``; ``description`` says where it
        came from (file, producer, opset, sha256 of the model bytes).

    Raises
    ------
    NetworkError
        (``OnnxImportError``) one line naming the node, its op and what was expected.
    """
    onnx = _onnx()
    model, raw, label = _read_model(source, name)
    if input_threshold is not None:
        input_threshold = _check_threshold(float(input_threshold), f"{label}: input_threshold")
    try:
        onnx.checker.check_model(model, full_check=False)
    except Exception as exc:  # noqa: BLE001 -- report the checker's first line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise OnnxImportError(f"{label}: not a valid ONNX model ({first[:200]})") from None
    importer = _Importer(model, label, input_threshold)
    hidden, output, threshold, front = importer.run()
    from accelsim.network import Network, network_arrays, network_from_arrays

    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p) or "unknown"
    description = (f"imported from {label} (producer {producer}; opset {opsets}; "
                   f"sha256 {hashlib.sha256(raw).hexdigest()})")
    if importer.ties:
        description += (f"; {importer.ties} (channel, popcount) pairs give a pre-activation of exactly 0 "
                        "at a Sign, read as +1 (ONNX Sign gives 0)")
    net = Network(hidden=tuple(hidden), output=output, input_threshold=threshold, front=front,
                  description=description)
    arrays = {key: np.asarray(value) for key, value in network_arrays(net).items()}
    return network_from_arrays(arrays, label)


def _onnx():
    try:
        import onnx
    except ImportError:
        raise OnnxImportError("reading ONNX needs the 'onnx' package (pip install onnx)") from None
    return onnx


def _read_model(source, name: str | None):
    """(ModelProto with external data loaded, its serialized bytes, label)."""
    onnx = _onnx()

    if isinstance(source, onnx.ModelProto):
        return source, source.SerializeToString(), name or "<onnx model>"
    if isinstance(source, bytes | bytearray):
        label = name or "<onnx bytes>"
        try:
            model = onnx.load_model_from_string(bytes(source))
        except Exception as exc:  # noqa: BLE001
            raise OnnxImportError(f"{label}: not a readable ONNX model ({_first_line(exc)})") from None
        return model, bytes(source), label
    if not isinstance(source, str | os.PathLike):
        raise OnnxImportError(f"import_onnx: expected a path, bytes or an onnx.ModelProto, "
                              f"got {type(source).__name__}")
    path = Path(source)
    label = name or str(path)
    if not path.is_file():
        raise OnnxImportError(f"{label}: no such file")
    try:
        raw = path.read_bytes()
        if raw[:4] == ZIP_MAGIC:
            raise OnnxImportError(f"{label}: a zip archive (an .npz network?), not an ONNX model")
        model = onnx.load_model(str(path), load_external_data=True)
    except OnnxImportError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise OnnxImportError(f"{label}: not a readable ONNX model ({_first_line(exc)})") from None
    return model, raw, label


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _check_threshold(t: float, where: str) -> float:
    if not (math.isfinite(t) and 0.0 <= t <= 1.0):
        raise OnnxImportError(f"{where} {t!r}: expected an intensity threshold in [0, 1]")
    return t


# ------------------------------------------------------------------------------- tensors being tracked


@dataclass
class _Layer:
    """A binarized layer under construction. ``table[j, q]``: the value the graph computes for output
    channel j at table index q (float64): the popcount p = q, or for a zero-padded convolution
    (``doubled``) twice the equivalent count, q = 2 e = dot + k*k*C = 0 .. 2 k*k*C; ``fires[j, q]``:
    its activation is +1 (once binarized). An average pool adds ``pool_table[j, c]`` over the count c
    = 0 .. window of +1 activations in a window, and ``pool_fires`` once that is binarized."""

    node: str
    weights: np.ndarray  # int8 (F, n_in), accelsim order
    table: np.ndarray  # float64 (F, n_in + 1), or (F, 2 n_in + 1) when doubled
    conv: object | None  # accelsim.network.ConvShape, its pool updated as pools are met
    doubled: bool = False
    fires: np.ndarray | None = None
    negated: np.ndarray | None = None
    pool_table: np.ndarray | None = None
    pool_fires: np.ndarray | None = None

    @property
    def n_in(self) -> int:
        return self.weights.shape[1]

    @property
    def filters(self) -> int:
        return self.weights.shape[0]

    def natural_shape(self) -> tuple[int, ...]:
        return (self.filters, self.conv.map_h, self.conv.map_w) if self.conv else (self.filters,)


@dataclass
class _Raw:
    """The graph input, still real: value = a * x + b (scalars) of intensities x."""

    shape: tuple[int, ...]
    perm: np.ndarray  # int64, shape ``shape``: accelsim input index of each element
    a: float = 1.0
    b: float = 0.0


@dataclass
class _Pre:
    """A layer's real pre-activation (values in ``layer.table``), in the layer's natural shape; with
    ``averaged`` the average pool of its +-1 activations (values in ``layer.pool_table``)."""

    layer: _Layer
    averaged: bool = False

    @property
    def table(self) -> np.ndarray:
        return self.layer.pool_table if self.averaged else self.layer.table

    @table.setter
    def table(self, value: np.ndarray) -> None:
        if self.averaged:
            self.layer.pool_table = value
        else:
            self.layer.table = value


@dataclass
class _Bits:
    """Binary activations: each element is ``plus`` where its bit is +1, ``minus`` where -1 (arrays of
    ``shape``); made by ``layer`` (None: the graph input's binarization)."""

    shape: tuple[int, ...]
    perm: np.ndarray
    minus: np.ndarray
    plus: np.ndarray
    layer: _Layer | None = None
    front: _Front | None = None


@dataclass
class _Front:
    """A real-valued first convolution, off the crossbar: scale * conv(x) + shift per channel, then
    (once ``relu``) out_scale * ReLU(...) + out_shift; ``u0``: its binarizer fires iff the value is
    >= u0 (set when binarized). Pooled values are the pool of the ReLU outputs."""

    node: str
    weights: np.ndarray  # float64 (k, k, C, F)
    conv: object  # accelsim.network.ConvShape (pool "none" or "max")
    scale: np.ndarray
    shift: np.ndarray
    out_scale: np.ndarray
    out_shift: np.ndarray
    relu: bool = False
    u0: np.ndarray | None = None

    @property
    def pooled(self) -> bool:
        return self.conv.pool != "none"

    def natural_shape(self) -> tuple[int, ...]:
        return (self.weights.shape[3], self.conv.map_h, self.conv.map_w)

    def compose(self, a: np.ndarray, b: np.ndarray) -> None:
        """Apply v -> a * v + b (per channel) at the current stage."""
        if self.relu:
            self.out_scale, self.out_shift = a * self.out_scale, a * self.out_shift + b
        else:
            self.scale, self.shift = a * self.scale, a * self.shift + b


@dataclass
class _Head:
    """A real read-out on the last binarized layer's popcounts p: scores = head @ p + shift."""

    layer: _Layer
    head: np.ndarray  # float64 (n_classes, F)
    shift: np.ndarray  # float64 (n_classes,)

    def natural_shape(self) -> tuple[int, ...]:
        return (self.head.shape[0],)

    def compose(self, a: np.ndarray, b: np.ndarray) -> None:
        self.head, self.shift = a[:, None] * self.head, a * self.shift + b


@dataclass
class _Scores:
    """The output scores after an argmax-preserving op (Softmax, LogSoftmax)."""

    pre: _Pre | _Head


def _canonical_perm(shape: tuple[int, ...]) -> np.ndarray:
    """accelsim index of each element of an ONNX tensor of element ``shape`` in its natural layout:
    vectors in order, (H, W) maps row by row, (C, H, W) maps in accelsim's (y, x, c) order."""
    n = math.prod(shape)
    if len(shape) != 3:
        return np.arange(n, dtype=np.int64).reshape(shape)
    c, h, w = shape
    return np.arange(n, dtype=np.int64).reshape(h, w, c).transpose(2, 0, 1).copy()


# ------------------------------------------------------------------------------- constant evaluation


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _np_sign_pm1(v: np.ndarray) -> np.ndarray:
    """The activation binarizer: +1 where v >= 0, else -1 (see the module's sign convention)."""
    return np.where(v >= 0, 1.0, -1.0)


def _rounding(mode: str):
    mode = mode.upper()
    table = {"ROUND": np.round, "HALF_EVEN": np.round, "CEIL": np.ceil, "FLOOR": np.floor,
             "UP": lambda x: np.sign(x) * np.ceil(np.abs(x)), "DOWN": np.fix,
             "HALF_UP": lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
             "HALF_DOWN": lambda x: np.sign(x) * np.ceil(np.abs(x) - 0.5)}
    return table.get(mode)


# ------------------------------------------------------------------------------- the importer


@dataclass
class _Importer:
    """One walk over a topologically sorted graph: constants are evaluated as they come, the one
    dynamic chain is followed as ``_Raw`` -> ``_Bits`` -> ``_Pre`` -> ... -> the output; ``layers``
    collects the hidden layers in order as the next layer consumes them."""

    model: object
    label: str
    override: float | None
    consts: dict = field(default_factory=dict)
    dyn: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)
    graph_threshold: float | None = None
    front: _Front | None = None
    ties: int = 0
    batch: int = 1
    table_size: int = 0

    # -- errors

    def fail(self, node, what: str) -> OnnxImportError:
        return OnnxImportError(f"{self.label}: node '{self._name(node)}' ({node.op_type}): {what}")

    def _name(self, node) -> str:
        return node.name or f"#{self._index.get(id(node), '?')}"

    # -- walk

    def run(self):
        from onnx import numpy_helper

        graph = self.model.graph
        self._index = {id(n): i for i, n in enumerate(graph.node)}
        for init in graph.initializer:
            try:
                self.consts[init.name] = numpy_helper.to_array(init)
            except Exception as exc:  # noqa: BLE001 -- e.g. external data that was not loaded
                raise OnnxImportError(f"{self.label}: initializer '{init.name}' cannot be read "
                                      f"({_first_line(exc)}): load a model with external data from its "
                                      "file") from None
        for sparse in graph.sparse_initializer:
            raise OnnxImportError(f"{self.label}: sparse initializer '{sparse.values.name}': not supported")
        inputs = [i for i in graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise OnnxImportError(f"{self.label}: the graph has {len(inputs)} inputs "
                                  f"({', '.join(i.name for i in inputs)}): expected one (the images)")
        self._add_input(inputs[0])
        if len(graph.output) != 1:
            raise OnnxImportError(f"{self.label}: the graph has {len(graph.output)} outputs: expected one "
                                  "(the class scores)")
        self.users: dict[str, int] = {}
        for node in graph.node:
            if node.op_type != "Shape":
                for name in node.input:
                    self.users[name] = self.users.get(name, 0) + 1
        for node in graph.node:
            self._node(node)
        out_name = graph.output[0].name
        if out_name in self.consts:
            raise OnnxImportError(f"{self.label}: the graph output '{out_name}' is a constant")
        return self._finish(self.dyn[out_name], out_name)

    def _add_input(self, value_info) -> None:
        t = value_info.type.tensor_type
        where = f"{self.label}: graph input '{value_info.name}'"
        if not value_info.type.HasField("tensor_type") or t.elem_type not in _FLOAT_TYPES:
            raise OnnxImportError(f"{where}: expected a float tensor of images")
        dims = list(t.shape.dim)
        if len(dims) < 2:
            raise OnnxImportError(f"{where}: {len(dims)} dimensions, expected (batch, features...)")
        shape = []
        for d in dims[1:]:
            if not d.HasField("dim_value") or d.dim_value < 1:
                raise OnnxImportError(f"{where}: dimensions after the batch must be fixed, found "
                                      f"{d.dim_param or '?'}")
            shape.append(int(d.dim_value))
        if len(shape) > 3:
            raise OnnxImportError(f"{where}: shape {tuple(shape)}: expected features, (H, W) or (C, H, W)")
        self.batch = int(dims[0].dim_value) if dims[0].HasField("dim_value") and dims[0].dim_value else 1
        shape = tuple(shape)
        self.dyn[value_info.name] = _Raw(shape=shape, perm=_canonical_perm(shape))

    def _node(self, node) -> None:
        op = node.op_type
        if op == "Constant":
            self.consts[node.output[0]] = self._constant_value(node)
            return
        ins = list(node.input)
        dynamic = [n for n in ins if n and n not in self.consts]
        for n in dynamic:
            if n not in self.dyn:
                raise self.fail(node, f"input '{n}' is not computed by an earlier node")
        if op == "Shape" and dynamic:
            self._shape_of(node)
            return
        if not dynamic:
            self._fold(node)
            return
        for n in dynamic:
            if self.users.get(n, 0) > 1:
                raise self.fail(node, f"tensor '{n}' feeds {self.users[n]} nodes: expected a chain of "
                                      "layers (no branches)")
        handler = getattr(self, f"_op_{op}", None)
        if op in ("BipolarQuant", "Quant"):
            if node.domain not in QONNX_DOMAINS:
                raise self.fail(node, f"domain '{node.domain}': expected a QONNX domain "
                                      f"({', '.join(QONNX_DOMAINS)})")
        elif node.domain not in ("", "ai.onnx"):
            handler = None
        if handler is None:
            raise self.fail(node, "unsupported op: expected Gemm, MatMul, Conv, BatchNormalization, Sign, "
                                  "BipolarQuant, 1-bit Quant, MaxPool, AveragePool, GlobalAveragePool, "
                                  "ReduceMean, Flatten, Reshape, or Add/Sub/Mul/Div by a constant")
        outs = [o for o in node.output if o]
        if op == "Dropout" and len(outs) > 1 and self.users.get(outs[1], 0):
            raise self.fail(node, "its mask output is used: expected inference-mode Dropout")
        if op == "MaxPool" and len(outs) > 1 and self.users.get(outs[1], 0):
            raise self.fail(node, "its indices output is used: expected a plain max-pool")
        self.dyn[node.output[0]] = handler(node)

    # -- constants

    def _constant_value(self, node) -> np.ndarray:
        from onnx import numpy_helper

        attrs = node.attribute
        if len(attrs) != 1:
            raise self.fail(node, "expected one value attribute")
        a = attrs[0]
        if a.name == "value":
            return numpy_helper.to_array(a.t)
        if a.name in ("value_float", "value_int"):
            return np.array(a.f if a.name == "value_float" else a.i)
        if a.name in ("value_floats", "value_ints"):
            return np.array(list(a.floats) if a.name == "value_floats" else list(a.ints))
        raise self.fail(node, f"value attribute '{a.name}': expected a tensor or numbers")

    def _shape_of(self, node) -> None:
        shape = self._onnx_shape(node, self.dyn[node.input[0]])
        full = np.array([self.batch, *shape], dtype=np.int64)
        a = _attrs(node)
        start, end = a.get("start", 0), a.get("end", None)
        self.consts[node.output[0]] = full[start:end]

    def _onnx_shape(self, node, t) -> tuple[int, ...]:
        if isinstance(t, _Pre):
            return t.layer.natural_shape()
        if isinstance(t, _Scores):
            return self._onnx_shape(node, t.pre)
        if isinstance(t, _Front | _Head):
            return t.natural_shape()
        return t.shape

    def _fold(self, node) -> None:
        """Evaluate a node whose inputs are all constants (weights, scales, shape arithmetic)."""
        op = node.op_type
        fn = _CONST_OPS.get(op)
        if fn is None or (node.domain not in ("", "ai.onnx") and op not in ("BipolarQuant", "Quant")):
            raise self.fail(node, "unsupported op on constants: expected arithmetic, Sign, BipolarQuant, "
                                  "Quant, Transpose, Reshape or shape arithmetic")
        args = [self.consts[n] if n else None for n in node.input]
        try:
            out = fn(args, _attrs(node))
        except _Refuse as exc:
            raise self.fail(node, str(exc)) from None
        except (ValueError, IndexError, TypeError) as exc:
            raise self.fail(node, f"cannot evaluate its constant inputs ({_first_line(exc)})") from None
        self.consts[node.output[0]] = np.asarray(out)

    def const_input(self, node, i: int, what: str) -> np.ndarray:
        if len(node.input) <= i or not node.input[i]:
            raise self.fail(node, f"missing input {i}: expected {what}")
        name = node.input[i]
        if name not in self.consts:
            raise self.fail(node, f"input '{name}' is computed from the images: expected {what} (a constant)")
        return self.consts[name]

    # -- element-wise ops

    def _elementwise(self, node, t, fn, const: np.ndarray | None = None):
        """Apply ``fn(values, c)`` (c: ``const`` broadcast to the element shape) to a tracked tensor."""
        if isinstance(t, _Pre):
            layer = t.layer
            shape = layer.natural_shape()
            c = None if const is None else self._per_channel(node, const, shape)
            t.table = fn(t.table, None if c is None else c[:, None])
            if not np.all(np.isfinite(t.table)):
                raise self.fail(node, "gives a non-finite pre-activation")
            return t
        if isinstance(t, _Bits):
            c = None if const is None else self._broadcast(node, const, t.shape)
            minus, plus = fn(t.minus, c), fn(t.plus, c)
            return self._levels(node, t, minus, plus)
        if isinstance(t, _Front | _Head):
            # an affine op v -> a v + b per channel: read a and b off the op itself
            shape = t.natural_shape()
            per_map = (shape[0],) + (1,) * (len(shape) - 1)
            c = None if const is None else self._per_channel(node, const, shape).reshape(per_map)
            b = np.broadcast_to(fn(np.zeros(per_map), c), per_map).reshape(-1)
            a = np.broadcast_to(fn(np.ones(per_map), c), per_map).reshape(-1) - b
            if np.any(a == 0) or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
                raise self.fail(node, "scales a real-valued channel by 0 or to a non-finite value")
            t.compose(a, b)
            return t
        if isinstance(t, _Raw):
            raise self.fail(node, "on the input intensities: expected Add/Sub/Mul/Div by a scalar before "
                                  "the input's binarization")
        raise self.fail(node, "after the output's Softmax/LogSoftmax: expected nothing more")

    def _levels(self, node, t: _Bits, minus, plus) -> _Bits:
        minus = np.broadcast_to(np.asarray(minus, dtype=np.float64), t.shape).copy()
        plus = np.broadcast_to(np.asarray(plus, dtype=np.float64), t.shape).copy()
        if np.any(minus == plus) or not (np.all(np.isfinite(minus)) and np.all(np.isfinite(plus))):
            raise self.fail(node, "maps both values of a binary activation to the same value")
        return _Bits(shape=t.shape, perm=t.perm, minus=minus, plus=plus, layer=t.layer, front=t.front)

    def _broadcast(self, node, const: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        c = np.asarray(const, dtype=np.float64)
        full = (self.batch, *shape)
        try:
            out = np.broadcast_shapes(c.shape, (1, *shape))
        except ValueError:
            raise self.fail(node, f"constant of shape {c.shape} does not broadcast to the tensor's "
                                  f"{full}") from None
        if out[1:] != shape or len(out) != len(shape) + 1 or out[0] != 1:
            raise self.fail(node, f"constant of shape {c.shape} does not broadcast to the tensor's {full}")
        return np.broadcast_to(c.reshape((1,) * (len(out) - c.ndim) + c.shape)[0:1], (1, *shape))[0]

    def _per_channel(self, node, const: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        full = self._broadcast(node, const, shape)
        per = full.reshape(shape[0], -1)
        if np.any(per != per[:, :1]):
            raise self.fail(node, "constant varies within a channel: expected one value per channel")
        return per[:, 0].copy()

    def _binary_const(self, node):
        """(tracked tensor, constant, constant first?) of a two-input arithmetic node."""
        a, b = node.input[0], node.input[1]
        if a in self.consts and b in self.consts:
            raise self.fail(node, "internal: constant node reached the dynamic path")
        if a not in self.consts and b not in self.consts:
            raise self.fail(node, "both inputs are computed from the images: expected one constant")
        if a in self.consts:
            return self.dyn[b], self.consts[a], True
        return self.dyn[a], self.consts[b], False

    def _raw_affine(self, node, t: _Raw, c: np.ndarray, op: str, first: bool) -> _Raw:
        c = np.asarray(c, dtype=np.float64)
        if c.size != 1:
            raise self.fail(node, f"constant of shape {c.shape} on the input intensities: expected a "
                                  "scalar (accelsim binarizes every input at one threshold)")
        v = float(c.reshape(()))
        a, b = t.a, t.b
        if op == "Add":
            b += v
        elif op == "Sub":
            a, b = (-a, v - b) if first else (a, b - v)
        elif op == "Mul":
            a, b = a * v, b * v
        elif first:
            raise self.fail(node, "divides a constant by the input: expected input / constant")
        else:
            if v == 0:
                raise self.fail(node, "divides by 0")
            a, b = a / v, b / v
        return _Raw(shape=t.shape, perm=t.perm, a=a, b=b)

    def _arith(self, node):
        t, c, first = self._binary_const(node)
        op = node.op_type
        if isinstance(t, _Raw):
            return self._raw_affine(node, t, c, op, first)
        if op == "Div" and first:
            raise self.fail(node, "divides a constant by an activation: expected activation / constant")
        if op == "Div" and np.any(np.asarray(c) == 0):
            raise self.fail(node, "divides by 0")
        fns = {"Add": lambda v, k: v + k, "Mul": lambda v, k: v * k,
               "Sub": (lambda v, k: k - v) if first else (lambda v, k: v - k), "Div": lambda v, k: v / k}
        return self._elementwise(node, t, fns[op], c)

    _op_Add = _op_Sub = _op_Mul = _op_Div = _arith

    def _op_Neg(self, node):
        t = self.dyn[node.input[0]]
        if isinstance(t, _Raw):
            return _Raw(shape=t.shape, perm=t.perm, a=-t.a, b=-t.b)
        return self._elementwise(node, t, lambda v, k: -v)

    def _passthrough(self, node):
        return self.dyn[node.input[0]]

    _op_Identity = _op_Dropout = _passthrough

    def _op_Cast(self, node):
        t = self.dyn[node.input[0]]
        to = _attrs(node).get("to")
        if to == 9 and isinstance(t, _Bits) and np.isin(np.stack([t.minus, t.plus]), (0, 1)).all():
            return t  # bool of a comparison's 0 / 1
        if to not in _FLOAT_TYPES:
            raise self.fail(node, "casts activations to a non-float type: expected float")
        return t

    def _op_BatchNormalization(self, node):
        t = self.dyn[node.input[0]]
        a = _attrs(node)
        if a.get("training_mode", 0):
            raise self.fail(node, "training_mode=1: expected an inference-mode batch norm")
        if len([o for o in node.output if o]) > 1:
            raise self.fail(node, "outputs running statistics: expected an inference-mode batch norm")
        eps = float(a.get("epsilon", 1e-5))
        params = [np.asarray(self.const_input(node, i, what), dtype=np.float64)
                  for i, what in ((1, "scale"), (2, "bias"), (3, "running mean"), (4, "running variance"))]
        shape = self._onnx_shape(node, t) if not isinstance(t, _Raw) else t.shape
        if any(p.shape != (shape[0],) for p in params):
            raise self.fail(node, f"parameters of shapes {[p.shape for p in params]}: expected ({shape[0]},) "
                                  "each, one per channel")
        if np.any(params[3] + eps <= 0):
            raise self.fail(node, "running variance + epsilon <= 0")
        scale, bias, mean, var = (p.reshape((-1,) + (1,) * (len(shape) - 1)) for p in params)
        if isinstance(t, _Pre):
            scale, bias, mean, var = (p.reshape(-1) for p in params)
            return self._elementwise(
                node, t, lambda v, k: (v - mean[:, None]) / np.sqrt(var[:, None] + eps) * scale[:, None]
                + bias[:, None])
        return self._elementwise(node, t, lambda v, k: (v - mean) / np.sqrt(var + eps) * scale + bias)

    def _op_Clip(self, node):
        t = self.dyn[node.input[0]]
        a = _attrs(node)
        lo = a.get("min", -np.inf)
        hi = a.get("max", np.inf)
        if len(node.input) > 1 and node.input[1]:
            lo = float(self.const_input(node, 1, "the minimum"))
        if len(node.input) > 2 and node.input[2]:
            hi = float(self.const_input(node, 2, "the maximum"))
        if isinstance(t, _Raw | _Front | _Head):
            raise self.fail(node, "clips a real-valued layer: expected Clip only before a binarization")
        return self._elementwise(node, t, lambda v, k: np.clip(v, lo, hi))

    # -- binarizers

    def _binarize(self, node, t, fn, plus_minus, cond_shift: float | None):
        """``fn(values)`` is the binarizer; ``plus_minus`` its two outputs (arrays broadcast per
        channel); ``cond_shift``: for the input, the binarizer fires iff a x + b >= cond_shift."""
        if isinstance(t, _Raw):
            if cond_shift is None:
                raise self.fail(node, "binarizes the input intensities in a way accelsim cannot store "
                                      "(expected Sign, BipolarQuant or a signed 1-bit Quant)")
            if t.a <= 0:
                raise self.fail(node, "binarizes a negatively scaled input: expected +1 for bright "
                                      "pixels (sign(a x + b) with a > 0)")
            thr = (cond_shift - t.b) / t.a
            _check_threshold(thr, f"{self.label}: node '{self._name(node)}' ({node.op_type}): the input "
                                  "binarization threshold")
            if self.graph_threshold is not None:
                raise self.fail(node, "binarizes the input a second time")
            self.graph_threshold = thr
            minus, plus = plus_minus
            bits = _Bits(shape=t.shape, perm=t.perm, minus=np.zeros(t.shape), plus=np.zeros(t.shape))
            return self._levels(node, bits, minus, plus)
        if isinstance(t, _Bits):
            minus, plus = fn(t.minus), fn(t.plus)
            return self._levels(node, t, minus, plus)
        if isinstance(t, _Scores):
            raise self.fail(node, "after the output's Softmax/LogSoftmax: expected nothing more")
        if isinstance(t, _Head):
            raise self.fail(node, f"binarizes the real read-out after layer '{t.layer.node}': expected the "
                                  "class scores at the end")
        if isinstance(t, _Front):
            return self._binarize_front(node, t, plus_minus, cond_shift)
        layer = t.layer
        shape = layer.natural_shape()
        out = fn(t.table)
        # per-channel levels (F, 1) for the table, broadcast over the map for the activations
        pc_minus, pc_plus = (np.broadcast_to(np.asarray(v, dtype=np.float64), (shape[0], 1))
                             for v in plus_minus)
        per_map = (shape[0],) + (1,) * (len(shape) - 1)
        minus, plus = pc_minus.reshape(per_map), pc_plus.reshape(per_map)
        fires = out == pc_plus
        if not np.all(fires | (out == pc_minus)):
            raise self.fail(node, "internal: binarizer output outside its two levels")
        if t.averaged:
            layer.pool_fires = fires
        else:
            layer.fires = fires
        bits = _Bits(shape=shape, perm=_canonical_perm(shape), minus=np.zeros(shape), plus=np.zeros(shape),
                     layer=layer)
        return self._levels(node, bits, minus, plus)

    def _binarize_front(self, node, t: _Front, plus_minus, cond_shift) -> _Bits:
        if cond_shift is None:
            raise self.fail(node, "binarizes the real first layer in a way accelsim cannot store "
                                  "(expected Sign, BipolarQuant or a signed 1-bit Quant)")
        if t.pooled and not t.relu:
            raise self.fail(node, f"binarizes the pooled real convolution '{t.node}' without a ReLU: "
                                  "accelsim's real front is conv, ReLU, max-pool, then a threshold")
        shape = t.natural_shape()
        per_map = (shape[0],) + (1,) * (len(shape) - 1)
        t.u0 = np.broadcast_to(np.asarray(cond_shift, dtype=np.float64), per_map).reshape(-1).copy()
        self.front = t
        bits = _Bits(shape=shape, perm=_canonical_perm(shape), minus=np.zeros(shape), plus=np.zeros(shape),
                     front=t)
        minus, plus = (np.broadcast_to(np.asarray(v, dtype=np.float64), per_map) for v in plus_minus)
        return self._levels(node, bits, minus, plus)

    def _op_Sign(self, node):
        t = self.dyn[node.input[0]]
        if isinstance(t, _Pre):
            self.ties += int(np.count_nonzero(t.table == 0))
        return self._binarize(node, t, _np_sign_pm1, (-1.0, 1.0), 0.0)

    _COMPARE = {"GreaterOrEqual": np.greater_equal, "Greater": np.greater, "LessOrEqual": np.less_equal,
                "Less": np.less}
    _MIRROR = {"GreaterOrEqual": "LessOrEqual", "Greater": "Less", "LessOrEqual": "GreaterOrEqual",
               "Less": "Greater"}

    def _compare(self, node):
        """``v >= c`` (and >, <=, <) against a constant: a binarizer with levels False / True (0, 1),
        as ``torch.where(x >= 0, 1., -1.)`` exports it (then ``Where``)."""
        t, c, first = self._binary_const(node)
        op = self._MIRROR[node.op_type] if first else node.op_type
        shape = self._onnx_shape(node, t)
        if isinstance(t, _Raw | _Front):
            if op != "GreaterOrEqual":
                raise self.fail(node, f"compares a real-valued input with {op}: expected >= (+1 for large "
                                      "values, ties included, as accelsim's threshold)")
            cc = np.asarray(c, dtype=np.float64)
            if isinstance(t, _Raw):
                if cc.size != 1:
                    raise self.fail(node, f"constant of shape {cc.shape} on the input: expected a scalar")
                u0 = float(cc.reshape(()))
            else:
                u0 = self._per_channel(node, cc, shape)
            return self._binarize(node, t, None, (0.0, 1.0), u0)
        if isinstance(t, _Pre):
            cc = self._per_channel(node, c, shape)[:, None]
        elif isinstance(t, _Bits):
            cc = self._broadcast(node, c, shape)
        else:
            raise self.fail(node, "compares the output's scores: expected the scores at the end")
        cmp = self._COMPARE[op]
        return self._binarize(node, t, lambda v: cmp(v, cc).astype(np.float64), (0.0, 1.0), None)

    _op_GreaterOrEqual = _op_Greater = _op_LessOrEqual = _op_Less = _compare

    def _op_Where(self, node):
        if node.input[0] in self.consts:
            raise self.fail(node, "selects between computed values: expected a computed condition and "
                                  "two constants")
        t = self.dyn[node.input[0]]
        on, off = (self.const_input(node, i, "a constant value") for i in (1, 2))
        if not isinstance(t, _Bits):
            raise self.fail(node, "its condition is not a comparison's result: expected Where(x >= c, a, b)")
        on, off = self._broadcast(node, on, t.shape), self._broadcast(node, off, t.shape)
        return self._levels(node, t, np.where(t.minus != 0, on, off), np.where(t.plus != 0, on, off))

    def _op_BipolarQuant(self, node):
        t = self.dyn[node.input[0]]
        scale = np.asarray(self.const_input(node, 1, "the scale"), dtype=np.float64)
        shape = self._onnx_shape(node, t)
        s = self._quant_param(node, t, scale, shape, "scale")
        if np.any(s == 0):
            raise self.fail(node, "scale 0")
        if isinstance(t, _Raw) and np.any(s <= 0):
            raise self.fail(node, "negative scale on the input: expected > 0")
        return self._binarize(node, t, lambda v: _np_sign_pm1(v) * s, (-s, s), 0.0)

    def _quant_param(self, node, t, value, shape, what):
        if isinstance(t, _Raw):
            if value.size != 1:
                raise self.fail(node, f"{what} of shape {value.shape} on the input: expected a scalar")
            return np.float64(value.reshape(()))
        if isinstance(t, _Pre):
            return self._per_channel(node, value, shape).reshape((-1,) + (1,) * 1)
        if isinstance(t, _Front):
            return self._per_channel(node, value, shape).reshape((-1,) + (1,) * (len(shape) - 1))
        return self._broadcast(node, value, shape)

    def _op_Quant(self, node):
        t = self.dyn[node.input[0]]
        bits = np.asarray(self.const_input(node, 3, "the bit width"))
        if bits.size != 1 or float(bits.reshape(())) != 1.0:
            found = f"{float(bits.reshape(-1)[0]):g}" if bits.size == 1 else f"of shape {bits.shape}"
            hint = (" (accelsim binarizes the images: quantize the input to 1 bit, e.g. Brevitas "
                    "in_bit_width=1, or Sign(x - 0.5))") if isinstance(t, _Raw) else " (a binarized network)"
            raise self.fail(node, f"bit width {found}: expected 1{hint}")
        a = _attrs(node)
        signed, narrow = int(a.get("signed", 1)), int(a.get("narrow", 0))
        rnd = _rounding(a.get("rounding_mode", b"ROUND").decode() if isinstance(a.get("rounding_mode"), bytes)
                        else a.get("rounding_mode", "ROUND"))
        if rnd is None:
            raise self.fail(node, f"rounding mode {a.get('rounding_mode')!r}: not a QONNX rounding mode")
        shape = self._onnx_shape(node, t)
        s = self._quant_param(node, t, np.asarray(self.const_input(node, 1, "the scale"), np.float64),
                              shape, "scale")
        z = self._quant_param(node, t, np.asarray(self.const_input(node, 2, "the zero point"), np.float64),
                              shape, "zero point")
        if np.any(s == 0):
            raise self.fail(node, "scale 0")
        if signed:
            # qonnx's 1-bit signed Quant: q = +1 where x / scale + zeropt >= 0, else -1
            def fn(v):
                return (_np_sign_pm1(v / s + z) - z) * s

            minus, plus = (-1.0 - z) * s, (1.0 - z) * s
            shift = None
            if isinstance(t, _Raw | _Front):
                if np.any(s <= 0):
                    raise self.fail(node, "negative scale on a real-valued input: expected > 0")
                shift = -z * s
            return self._binarize(node, t, fn, (minus, plus), shift)
        if narrow:
            raise self.fail(node, "unsigned narrow 1-bit: a single level, not a binarization")

        def fn(v):
            return (rnd(np.clip(v / s + z, 0.0, 1.0)) - z) * s

        return self._binarize(node, t, fn, ((0.0 - z) * s, (1.0 - z) * s), None)

    def _op_Relu(self, node):
        t = self.dyn[node.input[0]]
        if isinstance(t, _Front) and not t.relu:
            t.relu = True
            return t
        self._refuse_activation(node)

    def _refuse_activation(self, node):
        raise self.fail(node, "an activation that is not a binarization: expected Sign, BipolarQuant or a "
                              "1-bit Quant between binarized layers")

    _op_LeakyRelu = _op_Tanh = _op_Sigmoid = _op_HardSigmoid = _op_Elu = _op_Selu = \
        _op_PRelu = _op_HardSwish = _op_Softplus = _op_Gelu = _op_Mish = _refuse_activation

    def _op_Softmax(self, node):
        t = self.dyn[node.input[0]]
        axis = _attrs(node).get("axis", -1)
        if not (isinstance(t, _Head) or isinstance(t, _Pre) and t.layer.conv is None) or axis not in (1, -1):
            raise self.fail(node, "expected only on the output layer's scores, over the classes")
        return _Scores(pre=t)

    _op_LogSoftmax = _op_Softmax

    # -- pooling and shapes

    def _pool_window(self, node, kind: str) -> tuple[int, int]:
        """(k, s) of a k x k, stride-s ``MaxPool`` / ``AveragePool`` without padding or dilation, or
        refuse; ``ceil_mode`` only where it gives the floor-mode map (checked by the caller)."""
        a = _attrs(node)
        kernel = list(a.get("kernel_shape", []))
        strides = list(a.get("strides", [1] * max(len(kernel), 2)))
        pads = list(a.get("pads", [0, 0, 0, 0]))
        auto_pad = a.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        problems = []
        if len(kernel) != 2 or kernel[0] != kernel[1]:
            problems.append(f"kernel {kernel} (expected square)")
        if len(strides) != 2 or strides[0] != strides[1]:
            problems.append(f"strides {strides} (expected equal)")
        if any(pads):
            extra = ("; count_include_pad " + str(a.get("count_include_pad", 0))) if kind == "avg" else ""
            problems.append(f"pads {pads}{extra} (expected none)")
        if auto_pad not in ("NOTSET", "VALID"):
            problems.append(f"auto_pad {auto_pad} (expected NOTSET or VALID)")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            problems.append(f"dilations {list(a['dilations'])} (expected 1)")
        if problems:
            raise self.fail(node, "; ".join(problems) + f": accelsim's {kind}-pools are k x k windows of "
                                  "stride s without padding")
        return int(kernel[0]), int(strides[0])

    def _pooled_conv(self, node, conv, kind: str, k: int, s: int):
        """``conv`` with its pool set (refusing a second pool, a map too small, or a ``ceil_mode``
        that adds a partial window)."""
        from dataclasses import replace

        if conv.pool != "none":
            raise self.fail(node, f"a second pool on one convolution ({conv.pool} already): expected at "
                                  "most one")
        h, w = conv.out_h, conv.out_w
        if kind == "global":
            return replace(conv, pool="global")
        if h < k or w < k:
            raise self.fail(node, f"a {h}x{w} map: too small for a {k}x{k} pool")
        if _attrs(node).get("ceil_mode", 0) and ((h - k) % s or (w - k) % s):
            raise self.fail(node, f"ceil_mode 1 on a {h}x{w} map with a {k}x{k}/{s} window: a partial "
                                  "window at the border (expected ceil_mode 0, or a map the windows tile)")
        return replace(conv, pool=kind, pool_size=k, pool_stride=s)

    def _op_MaxPool(self, node):
        t = self.dyn[node.input[0]]
        k, s = self._pool_window(node, "max")
        if isinstance(t, _Front) or isinstance(t, _Bits) and t.front is not None:
            return self._pool_front(node, t, k, s)
        layer = t.layer if isinstance(t, _Pre | _Bits) else None
        if layer is None or layer.conv is None:
            raise self.fail(node, "expected after a convolution")
        if isinstance(t, _Pre) and t.averaged:
            raise self.fail(node, "max-pools an average pool: expected at most one pool per convolution")
        shape = layer.natural_shape()
        if isinstance(t, _Bits) and (t.shape != shape or not np.array_equal(t.perm, _canonical_perm(shape))):
            raise self.fail(node, "expected on the convolution's output map as it comes")
        conv = self._pooled_conv(node, layer.conv, "max", k, s)
        if isinstance(t, _Pre):
            values = layer.table
        else:
            lo, hi = (x.reshape(shape[0], -1) for x in (t.minus, t.plus))
            if np.any(lo != lo[:, :1]) or np.any(hi != hi[:, :1]):
                raise self.fail(node, "activation levels vary within a channel")
            values = np.where(layer.fires, hi[:, :1], lo[:, :1])
        d = np.diff(values, axis=1)
        up, down = np.all(d >= 0, axis=1), np.all(d <= 0, axis=1)
        if not np.all(up | down):
            j = int(np.flatnonzero(~(up | down))[0])
            raise self.fail(node, f"channel {j} is not monotone in its popcount: cannot pool popcounts")
        negate = down & ~up
        layer.table[negate] = layer.table[negate, ::-1]
        if layer.fires is not None:
            layer.fires[negate] = layer.fires[negate, ::-1]
        layer.negated = negate
        layer.conv = conv
        if isinstance(t, _Pre):
            return t
        new = layer.natural_shape()
        keep = (slice(None), slice(0, new[1]), slice(0, new[2]))  # levels are per channel
        return _Bits(shape=new, perm=_canonical_perm(new), minus=t.minus[keep], plus=t.plus[keep],
                     layer=layer)

    def _pool_front(self, node, t, k: int, s: int):
        """A max-pool of the real front: of its ReLU outputs, which the rest of the chain (an
        increasing function of them) commutes with."""
        f = t if isinstance(t, _Front) else t.front
        shape = f.natural_shape()
        if isinstance(t, _Front):
            now = f.out_scale if f.relu else f.scale
            if np.any(now <= 0):
                raise self.fail(node, f"pools real convolution '{f.node}' after a negative or zero "
                                      "per-channel scale: expected the pool where it commutes with them")
        else:
            lo, hi = (v.reshape(shape[0], -1) for v in (t.minus, t.plus))
            if t.shape != shape or not np.array_equal(t.perm, _canonical_perm(shape)):
                raise self.fail(node, "expected on the convolution's output map as it comes")
            if (not f.relu or np.any(f.out_scale <= 0) or np.any(lo != lo[:, :1]) or np.any(hi != hi[:, :1])
                    or np.any(hi[:, 0] <= lo[:, 0])):
                raise self.fail(node, f"pools the binarized real convolution '{f.node}' where the pool does "
                                      "not commute with its ReLU, scales and binarizer")
        f.conv = self._pooled_conv(node, f.conv, "max", k, s)
        if isinstance(t, _Front):
            return t
        new = f.natural_shape()
        keep = (slice(None), slice(0, new[1]), slice(0, new[2]))
        return _Bits(shape=new, perm=_canonical_perm(new), minus=t.minus[keep], plus=t.plus[keep], front=f)

    def _op_AveragePool(self, node):
        k, s = self._pool_window(node, "avg")
        return self._average(node, "avg", k, s)

    def _op_GlobalAveragePool(self, node):
        return self._average(node, "global", 0, 0)

    def _op_ReduceMean(self, node):
        """The mean over the two map axes, keeping them (``x.mean((2, 3), keepdim=True)``, the
        dynamo exporter's ``AdaptiveAvgPool2d(1)``): a global average pool."""
        a = _attrs(node)
        axes = a.get("axes")
        if len(node.input) > 1 and node.input[1]:
            axes = self.const_input(node, 1, "the axes")
        axes = sorted(int(v) % 4 for v in np.asarray(axes if axes is not None else [], np.int64).reshape(-1))
        if axes != [2, 3] or not a.get("keepdims", 1):
            raise self.fail(node, f"axes {axes}, keepdims {a.get('keepdims', 1)}: expected the mean over "
                                  "the map's two axes, kept (a global average pool)")
        return self._average(node, "global", 0, 0)

    def _average(self, node, kind: str, k: int, s: int) -> _Pre:
        """The average pool of a binarized convolution's +-1 map: per channel a table over the count
        c = 0 .. window of +1 activations in a window, (c plus + (window - c) minus) / window, which
        the ops after it and the next binarizer turn into ``pool_threshold`` / ``pool_flip``."""
        t = self.dyn[node.input[0]]
        if isinstance(t, _Front) or isinstance(t, _Bits) and t.front is not None:
            raise self.fail(node, "average-pools the real first convolution: accelsim's real front "
                                  "max-pools only")
        if isinstance(t, _Pre) and t.layer.conv is not None:
            raise self.fail(node, f"average-pools the real pre-activations of convolution '{t.layer.node}': "
                                  "expected the pool after its binarizer (an average of +-1 outputs)")
        if not isinstance(t, _Bits) or t.layer is None or t.layer.conv is None:
            raise self.fail(node, "expected on the binarized output map of a convolution")
        layer = t.layer
        shape = layer.natural_shape()
        if t.shape != shape or not np.array_equal(t.perm, _canonical_perm(shape)):
            raise self.fail(node, "expected on the convolution's output map as it comes")
        lo, hi = (x.reshape(shape[0], -1) for x in (t.minus, t.plus))
        if np.any(lo != lo[:, :1]) or np.any(hi != hi[:, :1]):
            raise self.fail(node, "activation levels vary within a channel")
        layer.conv = self._pooled_conv(node, layer.conv, kind, k, s)
        window = layer.conv.out_h * layer.conv.out_w if kind == "global" else k * k
        c = np.arange(window + 1, dtype=np.float64)[None, :]
        layer.pool_table = (c * hi[:, :1] + (window - c) * lo[:, :1]) / window
        return _Pre(layer=layer, averaged=True)

    def _reshaped(self, node, t, new_shape: tuple[int, ...]):
        if isinstance(t, _Pre) and t.averaged:
            raise self.fail(node, _NOT_BINARIZED_AVERAGE.format(t.layer.node))
        if isinstance(t, _Pre):
            if new_shape == t.layer.natural_shape():
                return t
            raise self.fail(node, "reshapes a pre-activation: expected the reshape after the binarization")
        if isinstance(t, _Scores | _Head | _Front):
            if new_shape == self._onnx_shape(node, t):
                return t
            raise self.fail(node, "reshapes real values: expected the reshape after a binarization")
        if math.prod(new_shape) != math.prod(t.shape):
            raise self.fail(node, f"reshapes {t.shape} into {new_shape}")
        if isinstance(t, _Raw):
            return _Raw(shape=new_shape, perm=t.perm.reshape(new_shape), a=t.a, b=t.b)
        return _Bits(shape=new_shape, perm=t.perm.reshape(new_shape), minus=t.minus.reshape(new_shape),
                     plus=t.plus.reshape(new_shape), layer=t.layer, front=t.front)

    def _op_Flatten(self, node):
        t = self.dyn[node.input[0]]
        shape = self._onnx_shape(node, t)
        axis = _attrs(node).get("axis", 1)
        if axis < 0:
            axis += len(shape) + 1
        if axis != 1:
            raise self.fail(node, f"axis {axis}: expected 1 (keep the batch, flatten the rest)")
        return self._reshaped(node, t, (math.prod(shape),))

    def _op_Reshape(self, node):
        t = self.dyn[node.input[0]]
        target = [int(v) for v in np.asarray(self.const_input(node, 1, "the target shape")).reshape(-1)]
        shape = self._onnx_shape(node, t)
        allowzero = _attrs(node).get("allowzero", 0)
        full = [self.batch, *shape]
        if not allowzero:
            target = [full[i] if v == 0 and i < len(full) else v for i, v in enumerate(target)]
        if not target or target[0] not in (self.batch, -1) or (target[0] == -1 and -1 in target[1:]):
            raise self.fail(node, f"target shape {target}: expected the batch first, then the features")
        rest = target[1:]
        n = math.prod(shape)
        if rest.count(-1) == 1:
            known = math.prod(v for v in rest if v != -1)
            if known == 0 or n % known:
                raise self.fail(node, f"target shape {target} does not fit {tuple(full)}")
            rest = [n // known if v == -1 else v for v in rest]
        if any(v < 1 for v in rest) or math.prod(rest) != n:
            raise self.fail(node, f"target shape {target} does not fit {tuple(full)}")
        return self._reshaped(node, t, tuple(rest))

    def _op_Squeeze(self, node):
        raise self.fail(node, "squeezes activations: expected Flatten or Reshape")

    _op_Unsqueeze = _op_Squeeze

    def _op_Transpose(self, node):
        t = self.dyn[node.input[0]]
        perm = list(_attrs(node).get("perm", []))
        if perm and perm == sorted(perm):
            return t
        raise self.fail(node, f"transposes activations (perm {perm}): expected none")

    # -- binarized layers

    def _input_bits(self, node, t) -> _Bits:
        """The tracked input of a weight layer as +-1-coded activations."""
        if isinstance(t, _Bits):
            return t
        if isinstance(t, _Raw):
            if self.override is None:
                raise self.fail(node, "takes the graph input directly: give input_threshold "
                                      "(--input-threshold T) to say how intensities become +-1 inputs, "
                                      "or binarize the input in the graph (e.g. Sign(x - 0.5))")
            if (t.a, t.b) != (1.0, 0.0):
                raise self.fail(node, "takes a scaled input without binarizing it: expected +-1 inputs")
            return _Bits(shape=t.shape, perm=t.perm, minus=np.full(t.shape, -1.0), plus=np.full(t.shape, 1.0))
        if isinstance(t, _Pre) and t.averaged:
            raise self.fail(node, _NOT_BINARIZED_AVERAGE.format(t.layer.node))
        if isinstance(t, _Pre | _Front | _Head):
            source = t.node if isinstance(t, _Front) else t.layer.node
            raise self.fail(node, f"its input (from node '{source}') is not binarized: expected Sign, "
                                  "BipolarQuant or a 1-bit Quant between binarized layers")
        raise self.fail(node, "its input is the output's Softmax/LogSoftmax")

    def _close(self, bits: _Bits) -> None:
        """The producing layer's activations are final: its thresholds can be read off."""
        if bits.layer is not None and bits.layer not in self.layers:
            self.layers.append(bits.layer)

    def _new_layer(self, node, bits: _Bits, w_onnx: np.ndarray, bias, conv) -> _Pre:
        """A binarized layer from its weights in ONNX order ((F, n) dense, (F, C, k, k) conv) acting on
        ``bits``: checks +-alpha_j rows of the effective weights, builds the popcount table."""
        s = (bits.plus - bits.minus) / 2.0
        o = (bits.plus + bits.minus) / 2.0
        w = np.asarray(w_onnx, dtype=np.float64)
        f = w.shape[0]
        if conv is not None:
            s_c, o_c = s.reshape(s.shape[0], -1), o.reshape(o.shape[0], -1)
            if np.any(s_c != s_c[:, :1]) or np.any(o_c != o_c[:, :1]):
                raise self.fail(node, "its input's levels vary within a channel: expected one per channel")
            stride, pad = conv
            pad_value = "zero"
            if any(pad) and np.any(o_c[:, 0] != 0):
                # the graph pads the activation value with 0: bit -o / s, held only as +1 ("one")
                if np.any(o_c[:, 0] != -s_c[:, 0]):
                    raise self.fail(node, "zero padding of an input whose levels are "
                                          f"{{{bits.minus.reshape(-1)[0]:g}, {bits.plus.reshape(-1)[0]:g}}}: "
                                          "the padded 0 is neither 'no input' (levels +-s) nor the +1 level")
                pad_value = "one"
            w_eff = w * s_c[None, :, 0, None, None]
            const = np.einsum("jcyx,c->j", w, o_c[:, 0])
            flat = w_eff.reshape(f, -1)
        else:
            w_eff = w * s.reshape(-1)[None, :]
            const = w @ o.reshape(-1)
            flat = w_eff
        mag = np.abs(flat)
        alpha = np.median(mag, axis=1)
        bad = ~(np.abs(mag - alpha[:, None]) <= ALPHA_RTOL * alpha[:, None]) | (mag == 0)
        if np.any(bad) or np.any(alpha == 0):
            j, k = np.argwhere(bad)[0] if np.any(bad) else (int(np.flatnonzero(alpha == 0)[0]), 0)
            where = f"[{j}, {k}]" if conv is None else f"filter {j}, entry {k} (c, ky, kx order)"
            raise self.fail(node, f"weight {flat[j, k]:.6g} at {where}: expected +-alpha per output channel "
                                  f"(alpha = {alpha[j]:.6g} there), i.e. binarized weights times a scale")
        signs = np.where(flat > 0, 1, -1).astype(np.int8)
        n = flat.shape[1]
        geometry, doubled = None, False
        if conv is not None:
            from accelsim.network import ConvShape

            c, k = w.shape[1], w.shape[2]
            signs = signs.reshape(f, c, k, k).transpose(0, 2, 3, 1).reshape(f, -1)
            in_c, in_h, in_w = bits.shape
            geometry = ConvShape(in_h=in_h, in_w=in_w, in_c=in_c, kernel=k, stride=stride, pad=pad,
                                 pad_value=pad_value)
            doubled = geometry.zero_padded
        else:
            placed = np.empty_like(signs)
            placed[:, bits.perm.reshape(-1)] = signs
            signs = placed
        self.table_size += f * ((2 * n if doubled else n) + 1)
        if self.table_size > MAX_TABLE:
            raise self.fail(node, f"the network's popcount tables exceed {MAX_TABLE} entries")
        if doubled:
            # zero padding: value = alpha dot + bias with dot = 2 e - n over the driven inputs only
            # (the padded ones are 0; their levels are +-s, so const = 0): a table over q = 2 e
            q = np.arange(2 * n + 1, dtype=np.float64)
            table = alpha[:, None] * (q - n)[None, :] + const[:, None]
        else:
            p = np.arange(n + 1, dtype=np.float64)
            table = alpha[:, None] * (2.0 * p - n)[None, :] + const[:, None]
        if bias is not None:
            table = table + np.asarray(bias, dtype=np.float64)[:, None]
        self._close(bits)
        layer = _Layer(node=self._name(node), weights=signs, table=table, conv=geometry, doubled=doubled)
        return _Pre(layer=layer)

    def _bias(self, node, value, f: int, scale: float = 1.0) -> np.ndarray:
        b = np.asarray(value, dtype=np.float64) * scale
        try:
            return np.broadcast_to(b.reshape(-1) if b.ndim == 2 and b.shape[0] == 1 else b, (f,)).copy()
        except ValueError:
            raise self.fail(node, f"bias of shape {b.shape}: expected ({f},)") from None

    def _op_Gemm(self, node):
        a = _attrs(node)
        if a.get("transA", 0):
            raise self.fail(node, "transA=1: expected the activations as rows (transA=0)")
        if node.input[0] in self.consts:
            raise self.fail(node, "its first input is a constant: expected the activations first")
        w = np.asarray(self.const_input(node, 1, "the weights"), dtype=np.float64)
        if w.ndim != 2:
            raise self.fail(node, f"weights of shape {w.shape}: expected a matrix")
        w = (w if a.get("transB", 0) else w.T) * float(a.get("alpha", 1.0))
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = self._bias(node, self.const_input(node, 2, "the bias"), w.shape[0],
                              float(a.get("beta", 1.0)))
        return self._dense(node, w, bias)

    def _op_MatMul(self, node):
        if node.input[0] in self.consts:
            raise self.fail(node, "its first input is a constant: expected activations @ weights")
        w = np.asarray(self.const_input(node, 1, "the weights"), dtype=np.float64)
        if w.ndim != 2:
            raise self.fail(node, f"weights of shape {w.shape}: expected a matrix (n_in, n_out)")
        return self._dense(node, w.T, None)

    def _dense(self, node, w: np.ndarray, bias):
        t = self.dyn[node.input[0]]
        if isinstance(t, _Pre) and t.layer.conv is None:
            return self._head(node, t.layer, w, bias)
        bits = self._input_bits(node, t)
        if len(bits.shape) != 1:
            raise self.fail(node, f"input of shape {bits.shape}: expected flattened activations (Flatten "
                                  "or Reshape first)")
        if w.shape[1] != bits.shape[0]:
            raise self.fail(node, f"weights of shape {w.shape} for {bits.shape[0]} inputs")
        return self._new_layer(node, bits, w, bias, None)

    def _head(self, node, layer: _Layer, w: np.ndarray, bias) -> _Head:
        """A real dense layer on the last binarized layer's (affine) pre-activations: the format's real
        read-out, scores = head @ popcount + shift."""
        if w.shape[1] != layer.filters:
            raise self.fail(node, f"weights of shape {w.shape} for {layer.filters} inputs")
        scale, shift = self._affine(layer, f"node '{self._name(node)}' ({node.op_type}): its input")
        head = w * scale[None, :]
        out_shift = w @ shift + (0.0 if bias is None else bias)
        return _Head(layer=layer, head=head, shift=out_shift)

    def _affine(self, layer: _Layer, what: str) -> tuple[np.ndarray, np.ndarray]:
        """(scale, shift) with table = scale * p + shift, or refuse when the table is not affine."""
        n, table = layer.n_in, layer.table
        shift = table[:, 0].copy()
        scale = (table[:, n] - table[:, 0]) / n
        fit = shift[:, None] + scale[:, None] * np.arange(n + 1)[None, :]
        tol = AFFINE_RTOL * (np.abs(table).max() + 1.0)
        if np.any(np.abs(table - fit) > tol):
            j = int(np.argmax(np.abs(table - fit).max(axis=1)))
            raise OnnxImportError(f"{self.label}: {what}, from layer '{layer.node}', is not affine in the "
                                  f"popcount (channel {j}): expected only biases, batch norms and scales "
                                  "after a layer that is not binarized")
        return scale, shift

    def _op_Conv(self, node):
        w = np.asarray(self.const_input(node, 1, "the weights"), dtype=np.float64)
        if w.ndim != 4:
            raise self.fail(node, f"weights of shape {w.shape}: expected a 2-D convolution (F, C, k, k)")
        t = self.dyn[node.input[0]]
        if isinstance(t, _Raw) and self.override is None:
            return self._new_front(node, t, w)
        bits = self._input_bits(node, t)
        if len(bits.shape) != 3 or not np.array_equal(bits.perm, _canonical_perm(bits.shape)):
            raise self.fail(node, f"input of shape {bits.shape}: expected a (C, H, W) map")
        stride, pad = check_conv_attrs(self, node, _attrs(node), w.shape, bits.shape[1:])
        c = bits.shape[0]
        if w.shape[1] != c:
            raise self.fail(node, f"weights of shape {w.shape} on a {bits.shape} map")
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = self._bias(node, self.const_input(node, 2, "the bias"), w.shape[0])
        return self._new_layer(node, bits, w, bias, (stride, pad))

    def _new_front(self, node, t: _Raw, w: np.ndarray) -> _Front:
        """A real convolution of the input intensities: the format's real front block."""
        if len(t.shape) != 3 or not np.array_equal(t.perm, _canonical_perm(t.shape)):
            raise self.fail(node, f"input of shape {t.shape}: expected a (C, H, W) map")
        c, h, wd = t.shape
        f, k = w.shape[0], w.shape[2]
        stride, pad = check_conv_attrs(self, node, _attrs(node), w.shape, (h, wd))
        if w.shape[1] != c:
            raise self.fail(node, f"weights of shape {w.shape} on a {t.shape} map")
        if t.a == 0 or not np.all(np.isfinite(w)):
            raise self.fail(node, "degenerate real convolution (zero input scale or non-finite weights)")
        # the graph pads its value a x + b with 0: an intensity -b / a, which ConvShape holds as 0 or 1
        pad_value = "zero"
        if any(pad) and t.b != 0:
            if -t.b / t.a != 1.0:
                raise self.fail(node, f"zero padding of the input a x + b (a = {t.a:.6g}, b = {t.b:.6g}) "
                                      f"pads the intensity {-t.b / t.a:.6g}: accelsim pads a real front "
                                      "with 0 or 1")
            pad_value = "one"
        from accelsim.network import ConvShape

        conv = ConvShape(in_h=h, in_w=wd, in_c=c, kernel=k, stride=stride, pad=pad, pad_value=pad_value)
        bias = np.zeros(f)
        if len(node.input) > 2 and node.input[2]:
            bias = self._bias(node, self.const_input(node, 2, "the bias"), f)
        # conv(a x + b, W) + bias = a conv(x, W) + b sum(W_f) + bias
        return _Front(node=self._name(node), weights=w.transpose(2, 3, 1, 0).copy(), conv=conv,
                      scale=np.full(f, t.a),
                      shift=t.b * w.sum(axis=(1, 2, 3)) + bias, out_scale=np.ones(f), out_shift=np.zeros(f))

    # -- the end

    def _finish(self, t, out_name: str):
        if isinstance(t, _Scores):
            t = t.pre
        if not isinstance(t, _Pre | _Head):
            what = ("binarized activations" if isinstance(t, _Bits)
                    else "the input, with no binarized layer")
            raise OnnxImportError(f"{self.label}: the graph output '{out_name}' is {what}: expected the "
                                  "real scores of a last binarized dense layer (no Sign after it)")
        layer = t.layer
        if isinstance(t, _Pre) and t.averaged:
            raise OnnxImportError(f"{self.label}: the graph output '{out_name}': "
                                  + _NOT_BINARIZED_AVERAGE.format(layer.node))
        if isinstance(t, _Pre) and layer.conv is not None:
            raise OnnxImportError(f"{self.label}: the graph output '{out_name}' comes from convolution "
                                  f"'{layer.node}': expected a dense output layer")
        from accelsim.network import HiddenLayer, OutputLayer, RealFront

        hidden = []
        for lay in self.layers:
            averaged = lay.conv is not None and lay.conv.pool in ("avg", "global")
            if lay.fires is None or (averaged and lay.pool_fires is None):
                raise OnnxImportError(f"{self.label}: layer '{lay.node}' feeds the next layer without a "
                                      "binarization")
            weights = lay.weights
            if lay.negated is not None and lay.negated.any():
                weights = np.where(lay.negated[:, None], -weights, weights).astype(np.int8)
            threshold, flip = self._thresholds(lay, lay.fires, 2 if lay.doubled else 1)
            pool_threshold = pool_flip = None
            if averaged:
                pool_threshold, pool_flip = self._thresholds(lay, lay.pool_fires, 1, "its average pool ")
            hidden.append(HiddenLayer(weights=weights, threshold=threshold, flip=flip, conv=lay.conv,
                                      pool_threshold=pool_threshold, pool_flip=pool_flip))
        if isinstance(t, _Head):
            output = OutputLayer(weights=layer.weights, head=t.head, shift=t.shift)
        else:
            scale, shift = self._affine(layer, f"the graph output '{out_name}'")
            output = OutputLayer(weights=layer.weights, scale=scale, shift=shift)
        front = self._real_front(RealFront)
        if front is not None:
            return hidden, output, float("nan"), front
        threshold = self.override if self.override is not None else self.graph_threshold
        if threshold is None:
            raise OnnxImportError(f"{self.label}: no input binarization found: give input_threshold")
        return hidden, output, threshold, None

    def _real_front(self, real_front):
        f = self.front
        if f is None:
            return None
        conv = f.conv
        if f.relu:  # +1 iff out_scale * v + out_shift >= u0
            scale, shift, out_scale, out_shift = f.scale, f.shift, f.out_scale, f.out_shift - f.u0
        else:  # +1 iff y = scale * z + shift >= u0  iff  -ReLU(u0 - y) >= 0
            scale, shift = -f.scale, f.u0 - f.shift
            out_scale, out_shift = -np.ones_like(f.scale), np.zeros_like(f.scale)
        return real_front(weights=f.weights, conv=conv, scale=scale, shift=shift, out_scale=out_scale,
                          out_shift=out_shift)

    def _thresholds(self, layer: _Layer, fires: np.ndarray, unit: int,
                    what: str = "") -> tuple[np.ndarray, np.ndarray]:
        """threshold, flip per channel from the table indices that fire: an interval [k, n] gives
        (k, False), [0, k] gives (k, True); none fires: (n + 1, False); each divided by ``unit`` (2
        for a table over twice the equivalent count, so thresholds are on e itself)."""
        threshold, flip = self._intervals(layer, fires, what)
        limit = (fires.shape[1] - 1) / unit + 1
        return np.where(threshold >= fires.shape[1], limit, threshold / unit), flip

    def _intervals(self, layer: _Layer, fires: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
        f, m = fires.shape
        threshold = np.empty(f)
        flip = np.zeros(f, dtype=bool)
        p = np.arange(m)
        for j in range(f):
            row = fires[j]
            if not row.any():
                threshold[j] = m  # n_in + 1: never reached
                continue
            lo, hi = int(np.argmax(row)), m - 1 - int(np.argmax(row[::-1]))
            if np.array_equal(row, p >= lo):
                threshold[j] = lo
            elif np.array_equal(row, p <= hi):
                threshold[j], flip[j] = hi, True
            else:
                raise OnnxImportError(f"{self.label}: layer '{layer.node}' {what}channel {j} fires on counts "
                                      "that are not an interval: expected a monotone pre-activation")
        return threshold, flip


def check_conv_attrs(importer: _Importer, node, attrs: dict, w_shape: tuple[int, ...],
                     in_hw: tuple[int, int]) -> tuple[int, tuple[int, int, int, int]]:
    """The (stride, pad) of a convolution on an ``in_hw`` map, ``pad`` in ``ConvShape``'s (top, bottom,
    left, right) order, or refuse what ``ConvShape`` cannot hold.

    Read: a square kernel k x k (1 x 1 included); ``strides`` [s, s] (equal in both dimensions);
    ``pads`` in ONNX's order [top, left, bottom, right] (x1_begin, x2_begin, x1_end, x2_end), any four
    values smaller than k, or ``auto_pad`` VALID / SAME_UPPER / SAME_LOWER (converted to pads). ONNX
    pads with 0: for a binarized layer an undriven input (``pad_value`` "zero", thresholds on the
    equivalent count), see ``_new_layer``. Refused: dilation, groups, non-square kernels or strides,
    padding of k or more (a patch of padding only), a kernel larger than the padded map."""
    k = w_shape[2]
    kernel = list(attrs.get("kernel_shape", w_shape[2:]))
    problems = []
    if w_shape[2] != w_shape[3] or kernel != [k, k]:
        problems.append(f"kernel {kernel or list(w_shape[2:])} (expected square)")
    if attrs.get("group", 1) != 1:
        problems.append(f"group {attrs['group']} (expected 1)")
    strides = [int(v) for v in attrs.get("strides", [1, 1])]
    if len(strides) != 2 or strides[0] != strides[1] or strides[0] < 1:
        problems.append(f"strides {strides} (expected equal in both dimensions)")
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        problems.append(f"dilations {list(attrs['dilations'])} (expected 1)")
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    onnx_pads = [int(v) for v in attrs.get("pads", [0, 0, 0, 0])]
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        problems.append(f"auto_pad {auto_pad} (expected NOTSET, VALID, SAME_UPPER or SAME_LOWER)")
    if len(onnx_pads) != 4 or min(onnx_pads) < 0:
        problems.append(f"pads {onnx_pads} (expected 4 values >= 0)")
    if problems:
        raise importer.fail(node, "; ".join(problems) + ": accelsim's convolutions are square, stride s, "
                                  "zero-padded by less than the kernel")
    s = strides[0]
    if auto_pad == "VALID":
        onnx_pads = [0, 0, 0, 0]
    elif auto_pad.startswith("SAME"):
        total = [max((-(-size // s) - 1) * s + k - size, 0) for size in in_hw]
        small = [v // 2 for v in total]
        big = [v - v // 2 for v in total]
        begin, end = (small, big) if auto_pad == "SAME_UPPER" else (big, small)
        onnx_pads = [begin[0], begin[1], end[0], end[1]]
    pad = (onnx_pads[0], onnx_pads[2], onnx_pads[1], onnx_pads[3])  # (top, bottom, left, right)
    h, w = in_hw
    if max(pad) >= k:
        raise importer.fail(node, f"pads {onnx_pads}: padding must be smaller than the {k}x{k} kernel "
                                  "(a patch of padding only)")
    if h + pad[0] + pad[1] < k or w + pad[2] + pad[3] < k:
        raise importer.fail(node, f"a {k}x{k} kernel on a {h}x{w} map padded by {onnx_pads}: larger than "
                                  "the map")
    return s, pad


# ------------------------------------------------------------------------------- constant ops


class _Refuse(Exception):
    """A constant op whose arguments accelsim does not evaluate (message = why)."""


def _c_reshape(args, a):
    data, shape = args[0], [int(v) for v in np.asarray(args[1]).reshape(-1)]
    if not a.get("allowzero", 0):
        shape = [data.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return data.reshape(shape)


def _c_slice(args, a):
    data = args[0]
    starts, ends = np.asarray(args[1]).reshape(-1), np.asarray(args[2]).reshape(-1)
    given = [np.asarray(v).reshape(-1) if v is not None else None for v in (*args[3:5], None, None)]
    axes = given[0] if given[0] is not None else np.arange(len(starts))
    steps = given[1] if given[1] is not None else np.ones(len(starts), dtype=np.int64)
    index = [slice(None)] * data.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=False):
        index[int(ax)] = slice(int(s), int(e), int(st))
    return data[tuple(index)]


def _c_quant(args, a):
    x, scale, zeropt, bits = (np.asarray(v, dtype=np.float64) for v in args[:4])
    if bits.size != 1:
        raise _Refuse("bit width must be a scalar")
    b = float(bits.reshape(()))
    signed, narrow = int(a.get("signed", 1)), int(a.get("narrow", 0))
    mode = a.get("rounding_mode", "ROUND")
    rnd = _rounding(mode.decode() if isinstance(mode, bytes) else mode)
    if rnd is None:
        raise _Refuse(f"rounding mode {mode!r}: not a QONNX rounding mode")
    y = x / scale + zeropt
    if b == 1 and signed:
        y = _np_sign_pm1(y)
    else:
        lo = (-(2 ** (b - 1)) + (1 if narrow else 0)) if signed else 0
        hi = (2 ** (b - 1) - 1) if signed else (2 ** b - (2 if narrow else 1))
        y = rnd(np.clip(y, lo, hi))
    return (y - zeropt) * scale


def _c_unsqueeze(args, a):
    axes = a.get("axes") if args[1:] == [] or args[1] is None else np.asarray(args[1]).reshape(-1)
    out = args[0]
    for ax in sorted(int(v) if v >= 0 else int(v) + out.ndim + len(axes) for v in axes):
        out = np.expand_dims(out, ax)
    return out


def _c_squeeze(args, a):
    axes = a.get("axes") if len(args) < 2 or args[1] is None else np.asarray(args[1]).reshape(-1)
    return np.squeeze(args[0], axis=None if axes is None else tuple(int(v) for v in axes))


def _c_cast(args, a):
    from onnx import helper

    return args[0].astype(helper.tensor_dtype_to_np_dtype(a["to"]))


def _c_gather(args, a):
    return np.take(args[0], np.asarray(args[1]).astype(np.int64), axis=a.get("axis", 0))


def _c_flatten(args, a):
    x = args[0]
    ax = a.get("axis", 1)
    ax = ax + x.ndim if ax < 0 else ax
    return x.reshape(math.prod(x.shape[:ax]), -1)


_CONST_OPS = {
    "Identity": lambda args, a: args[0],
    "Dropout": lambda args, a: args[0],
    "Cast": _c_cast,
    "Sign": lambda args, a: np.sign(args[0]),  # ONNX semantics: Sign(0) = 0 (a 0 weight is refused)
    "Neg": lambda args, a: -args[0],
    "Abs": lambda args, a: np.abs(args[0]),
    "Sqrt": lambda args, a: np.sqrt(args[0]),
    "Reciprocal": lambda args, a: 1.0 / args[0],
    "Add": lambda args, a: args[0] + args[1],
    "Sub": lambda args, a: args[0] - args[1],
    "Mul": lambda args, a: args[0] * args[1],
    "Div": lambda args, a: (args[0] // args[1] if np.issubdtype(np.asarray(args[0]).dtype, np.integer)
                            else args[0] / args[1]),
    "Pow": lambda args, a: np.power(args[0], args[1]),
    "Transpose": lambda args, a: np.transpose(args[0], a.get("perm")),
    "Reshape": _c_reshape,
    "Flatten": _c_flatten,
    "Squeeze": _c_squeeze,
    "Unsqueeze": _c_unsqueeze,
    "Concat": lambda args, a: np.concatenate([np.atleast_1d(v) for v in args], axis=a.get("axis", 0)),
    "Gather": _c_gather,
    "Slice": _c_slice,
    "Shape": lambda args, a: np.array(args[0].shape, dtype=np.int64)[a.get("start", 0): a.get("end")],
    "BipolarQuant": lambda args, a: _np_sign_pm1(np.asarray(args[0], np.float64)) * np.asarray(args[1]),
    "Quant": _c_quant,
}
