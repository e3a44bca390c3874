"""Network descriptions: the layer geometry the cost model needs (crossbar rows and columns, patches
per image, rows driven, pooling work), read from an architecture-only YAML file or derived from a
network ``.npz``. A description has no weights: it can be costed (``--cost-only``, ``inspect``),
never run functionally.

Architecture-only YAML (``workloads/arch_only/*.yaml``)::

    format: accelsim-description
    format_version: 1
    name: hirtzlin2019-cifar10
    source: where the layer list comes from
    input: [32, 32, 3]                  # H, W, C (a dense-only network: [n_inputs])
    classes: 10
    layers:                             # in order; a dense layer after a map flattens it
      - {type: conv, filters: 384, kernel: 3, stride: 1, padding: 1, real: true}
      - {type: maxpool, size: 2, stride: 2}
      - {type: avgpool, size: 3, stride: 2, padding: 1}
      - {type: dense, units: 1024}

``real: true`` marks a real-valued layer computed off-crossbar (only at the start or the end of the
network, like the real front and read-out of the ``.npz`` format); a pooling layer belongs to the
layer before it (on or off the crossbar). ``padding_mode``: ``zero`` (default: padded positions drive
no row, so a border patch reads fewer rows) or ``one`` (padding with +1, as Larq's ``pad_values=1``:
every row is driven). Sizes follow PyTorch: out = floor((in + 2 padding - size) / stride) + 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelsim.errors import NetworkError

DESCRIPTION_FORMAT = "accelsim-description"
DESCRIPTION_VERSION = 1
DESCRIPTION_SUFFIXES = (".yaml", ".yml")
LAYER_TYPES = ("conv", "dense", "maxpool", "avgpool")
PADDING_MODES = ("zero", "one")
_TOP_KEYS = {"format", "format_version", "name", "source", "input", "classes", "layers", "description"}
_LAYER_KEYS = {
    "conv": {"type", "filters", "kernel", "stride", "padding", "padding_mode", "real"},
    "dense": {"type", "units", "real"},
    "maxpool": {"type", "size", "stride", "padding"},
    "avgpool": {"type", "size", "stride", "padding"},
}
#: Largest size accepted for any layer dimension (keeps descriptions within int64 arithmetic).
MAX_DIMENSION = 1 << 20


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerGeometry:
    """One crossbar layer as the cost model sees it.

    ``n_in`` crossbar rows (k * k * C for a convolution), ``n_out`` columns; ``vectors_per_image``
    input vectors (patches) per image; ``rows_read_per_image``: rows driven over those vectors (fewer
    than n_in x vectors at zero-padded borders); ``pool_ops_per_image``: comparisons (max) or
    additions (average) of popcounts per image in the pooling after the layer; ``pool`` its kind.
    """

    index: int
    kind: str  # "dense" or "conv"
    n_in: int
    n_out: int
    vectors_per_image: int = 1
    rows_read_per_image: int | None = None
    inputs_per_image: int | None = None
    outputs_per_image: int | None = None
    pool: str = ""  # "", "max", "avg" (or "max+avg" ...)
    pool_ops_per_image: int = 0
    pool_op_bits: int = 0  # width of a pooling operation; 0: the layer's popcount width
    label: str = ""  # one line for humans: kernel, stride, padding, map sizes
    #: int64 (n_in,): how often each crossbar row is driven per image (zero-padded convolutions with
    #: weights, so that the cells read are counted exactly); None: every row of every patch
    row_uses: object = None

    def __post_init__(self) -> None:
        for name, default in (("rows_read_per_image", self.n_in * self.vectors_per_image),
                              ("inputs_per_image", self.n_in), ("outputs_per_image", self.n_out)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)

    @property
    def n_weights(self) -> int:
        return self.n_in * self.n_out


@dataclass(frozen=True, kw_only=True, slots=True)
class NetDescription:
    """A network's crossbar layers (geometry only) and what runs off the crossbar."""

    name: str
    source: str
    layers: tuple[LayerGeometry, ...]
    off_crossbar: tuple[str, ...] = ()
    n_classes: int | None = None
    has_weights: bool = False  # derived from a network file (its AP counts are known)

    @property
    def n_weights(self) -> int:
        return sum(g.n_weights for g in self.layers)


def is_description_file(path: str | Path) -> bool:
    """True for an architecture-only description (by its suffix: ``.yaml`` / ``.yml``)."""
    return Path(path).suffix.lower() in DESCRIPTION_SUFFIXES


def _out_size(n: int, size: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - size) // stride + 1


def _valid_taps(n: int, size: int, stride: int, padding: int) -> int:
    """Sum over the output positions along one axis of the kernel taps that land inside the input."""
    total = 0
    for o in range(_out_size(n, size, stride, padding)):
        start = o * stride - padding
        total += min(start + size, n) - max(start, 0)
    return total


def conv_geometry(index: int, h: int, w: int, c: int, filters: int, kernel: int, stride: int = 1,
                  padding: int = 0, padding_mode: str = "zero") -> tuple[LayerGeometry, tuple[int, int, int]]:
    """A binarized convolution's geometry and its output map (H', W', filters), before pooling.

    Rows read per image: every patch drives its k * k * C rows, except zero-padded taps, which drive
    none: the kernel taps inside the map, summed over positions, factor into the two axes.
    """
    oh, ow = _out_size(h, kernel, stride, padding), _out_size(w, kernel, stride, padding)
    positions = oh * ow
    if padding_mode == "zero":
        rows = _valid_taps(h, kernel, stride, padding) * _valid_taps(w, kernel, stride, padding) * c
    else:
        rows = positions * kernel * kernel * c
    label = (f"conv {kernel}x{kernel}/{stride}" + (f" pad {padding} ({padding_mode})" if padding else "")
             + f", {h}x{w}x{c} -> {oh}x{ow}x{filters}")
    geometry = LayerGeometry(index=index, kind="conv", n_in=kernel * kernel * c, n_out=filters,
                             vectors_per_image=positions, rows_read_per_image=rows,
                             inputs_per_image=h * w * c, outputs_per_image=positions * filters, label=label)
    return geometry, (oh, ow, filters)


def pool_geometry(h: int, w: int, c: int, size: int, stride: int, padding: int = 0
                  ) -> tuple[int, tuple[int, int, int]]:
    """(operations, output map) of a pooling window over an (h, w, c) map: size^2 - 1 comparisons
    (max, of popcounts) or additions (average: the +1 outputs of the window counted after the layer's
    threshold, as ``network.ConvShape``'s average pool) per output element."""
    oh, ow = _out_size(h, size, stride, padding), _out_size(w, size, stride, padding)
    return oh * ow * c * (size * size - 1), (oh, ow, c)


def _err(path: Path, where: str, msg: str) -> NetworkError:
    return NetworkError(f"{path}: {where}: {msg}")


def _int(spec: dict, key: str, path: Path, where: str, default: int | None = None, low: int = 1) -> int:
    if key not in spec:
        if default is None:
            raise _err(path, where, f"missing key '{key}'")
        return default
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_DIMENSION:
        raise _err(path, where, f"'{key}' is {value!r}, expected an integer in {low}..{MAX_DIMENSION}")
    return value


def load_description(path: str | Path) -> NetDescription:
    """Read and validate an architecture-only description (see the module docstring).

    Raises
    ------
    NetworkError
        One line naming the file, the layer and the key for any problem.
    """
    from accelsim.config import parse_yaml

    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        doc = parse_yaml(path.read_text(encoding="utf-8"))
    except Exception as exc:  # yaml.YAMLError, UnicodeDecodeError, OSError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NetworkError(f"{path}: not a readable YAML description ({first})") from None
    if not isinstance(doc, dict):
        raise NetworkError(f"{path}: expected a mapping with keys format, name, input, layers")
    unknown = sorted(set(map(str, doc)) - _TOP_KEYS)
    if unknown:
        raise NetworkError(f"{path}: unknown key(s) {', '.join(unknown)}; known: "
                           f"{', '.join(sorted(_TOP_KEYS))}")
    if doc.get("format") != DESCRIPTION_FORMAT:
        raise NetworkError(f"{path}: 'format' is {doc.get('format')!r}, expected {DESCRIPTION_FORMAT!r}")
    if doc.get("format_version") != DESCRIPTION_VERSION:
        raise NetworkError(f"{path}: 'format_version' is {doc.get('format_version')!r}, this accelsim reads "
                           f"{DESCRIPTION_VERSION}")
    for key in ("name", "source"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise NetworkError(f"{path}: '{key}' must be a non-empty string")
    shape = doc.get("input")
    if (not isinstance(shape, list) or len(shape) not in (1, 3)
            or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_DIMENSION
                   for v in shape)):
        raise NetworkError(f"{path}: 'input' is {shape!r}, expected [H, W, C] or [n_inputs] of positive "
                           "integers")
    classes = doc.get("classes")
    if classes is not None and (isinstance(classes, bool) or not isinstance(classes, int) or classes < 1):
        raise NetworkError(f"{path}: 'classes' is {classes!r}, expected a positive integer")
    specs = doc.get("layers")
    if not isinstance(specs, list) or not specs:
        raise NetworkError(f"{path}: 'layers' must be a non-empty list")

    dims = tuple(shape)  # (H, W, C) or (n,)
    layers: list[LayerGeometry] = []
    off: list[str] = []
    stage = "front"  # front (real layers allowed), crossbar, head (real layers only)
    last = None  # "crossbar" or "real": which side the previous weighted layer was on
    for k, spec in enumerate(specs):
        where = f"layers[{k}]"
        if not isinstance(spec, dict) or spec.get("type") not in LAYER_TYPES:
            got = spec.get("type") if isinstance(spec, dict) else spec
            raise _err(path, where, f"'type' is {got!r}, expected one of {', '.join(LAYER_TYPES)}")
        kind = spec["type"]
        extra = sorted(set(map(str, spec)) - _LAYER_KEYS[kind])
        if extra:
            raise _err(path, where, f"unknown key(s) {', '.join(extra)} for a {kind} layer; known: "
                       + ", ".join(sorted(_LAYER_KEYS[kind])))
        if kind in ("maxpool", "avgpool"):
            if last is None:
                raise _err(path, where, "a pooling layer must follow a conv layer")
            if len(dims) != 3:
                raise _err(path, where, "pooling needs a map (H, W, C), found a flat vector")
            size = _int(spec, "size", path, where)
            stride = _int(spec, "stride", path, where, default=size)
            padding = _int(spec, "padding", path, where, default=0, low=0)
            if 2 * padding > size:
                raise _err(path, where, f"padding {padding} is more than half the window {size}")
            ops, out = pool_geometry(*dims, size, stride, padding)
            bits = 0
            if kind == "avgpool":  # a count of +1 outputs per window, then its threshold
                ops, bits = ops + math.prod(out), counter_width(size * size)
            if out[0] < 1 or out[1] < 1:
                raise _err(path, where, f"a {size}x{size} window does not fit the {dims[0]}x{dims[1]} map")
            name = "max" if kind == "maxpool" else "avg"
            text = f"{name}-pool {size}x{size}/{stride}" + (f" pad {padding}" if padding else "")
            if last == "crossbar":
                g = layers[-1]
                layers[-1] = LayerGeometry(
                    index=g.index, kind=g.kind, n_in=g.n_in, n_out=g.n_out,
                    vectors_per_image=g.vectors_per_image, rows_read_per_image=g.rows_read_per_image,
                    inputs_per_image=g.inputs_per_image, outputs_per_image=math.prod(out),
                    pool="+".join(p for p in (g.pool, name) if p),
                    pool_ops_per_image=g.pool_ops_per_image + ops,
                    pool_op_bits=(bits if not g.pool else
                                  max(g.pool_op_bits, bits) if g.pool_op_bits and bits else 0),
                    label=f"{g.label} -> {text} -> {out[0]}x{out[1]}x{out[2]}")
            else:
                off[-1] += f" -> {text} -> {out[0]}x{out[1]}x{out[2]}"
            dims = out
            continue
        real = spec.get("real", False)
        if not isinstance(real, bool):
            raise _err(path, where, f"'real' is {real!r}, expected true or false")
        if kind == "conv":
            if len(dims) != 3:
                raise _err(path, where, "a conv layer needs a map (H, W, C), found a flat vector")
            filters = _int(spec, "filters", path, where)
            kernel = _int(spec, "kernel", path, where)
            stride = _int(spec, "stride", path, where, default=1)
            padding = _int(spec, "padding", path, where, default=0, low=0)
            mode = spec.get("padding_mode", "zero")
            if mode not in PADDING_MODES:
                raise _err(path, where, f"'padding_mode' is {mode!r}, expected one of "
                           f"{', '.join(PADDING_MODES)}")
            if padding >= kernel:
                raise _err(path, where, f"padding {padding} is not below the kernel {kernel}")
            h, w, c = dims
            if _out_size(h, kernel, stride, padding) < 1 or _out_size(w, kernel, stride, padding) < 1:
                raise _err(path, where, f"a {kernel}x{kernel} kernel with padding {padding} does not fit "
                           f"the {h}x{w} map")
            geometry, out = conv_geometry(len(layers), h, w, c, filters, kernel, stride, padding, mode)
        else:
            units = _int(spec, "units", path, where)
            n = math.prod(dims)
            geometry = LayerGeometry(index=len(layers), kind="dense", n_in=n, n_out=units,
                                     label=f"dense {n} -> {units}")
            out = (units,)
        if real:
            if stage == "crossbar":
                stage = "head"
            off.append(f"{where}: real {geometry.label} ({geometry.n_weights:,} weights), off-crossbar: "
                       "its time and energy are not modelled")
            last = "real"
        else:
            if stage == "head":
                raise _err(path, where, "a binarized layer after a real one that follows the crossbar "
                           "layers: real layers may only open or close the network")
            stage = "crossbar"
            layers.append(geometry)
            last = "crossbar"
        dims = out
    if not layers:
        raise NetworkError(f"{path}: no binarized layer: nothing runs on the crossbar")
    return NetDescription(name=str(doc["name"]), source=" ".join(str(doc["source"]).split()),
                          layers=tuple(layers), off_crossbar=tuple(off), n_classes=classes)


def _axis_valid(n: int, size: int, stride: int, before: int, after: int) -> np.ndarray:
    """Per kernel tap along one axis: the output positions at which it lands inside the map."""
    out = (n + before + after - size) // stride + 1
    start = np.arange(out) * stride - before
    taps = start[:, None] + np.arange(size)[None, :]
    return ((taps >= 0) & (taps < n)).sum(axis=0).astype(np.int64)


def row_uses(conv) -> np.ndarray:
    """int64 (k * k * C,): how many patches of one image drive each crossbar row of a convolution
    (``network.ConvShape``), rows in (ky, kx, c) order: all of them (``positions``) unless the
    padding is zero, whose taps drive no row."""
    k, c = conv.kernel, conv.in_c
    if not getattr(conv, "zero_padded", False):
        return np.full(k * k * c, conv.positions, dtype=np.int64)
    top, bottom, left, right = conv.pad
    vy = _axis_valid(conv.in_h, k, conv.stride, top, bottom)
    vx = _axis_valid(conv.in_w, k, conv.stride, left, right)
    return np.repeat((vy[:, None] * vx[None, :]).ravel(), c)


def conv_pool_cost(conv, n_out: int) -> tuple[int, int, str]:
    """(operations per image, bits per operation (0: the popcount width), kind) of a convolution's
    pooling (``network.ConvShape.pool``): a max-pool compares popcounts (size^2 - 1 per pooled element,
    before the threshold); an average pool counts the +1 outputs of each window after the threshold
    (size^2 - 1 additions of ceil(log2(size^2 + 1)) bits) and compares the count with its threshold
    (one more operation), in digital logic off the crossbar; a global average pool likewise over the
    whole map."""
    pool = conv.pool
    if pool is True:
        pool = "max"
    if pool in (False, None, "none", ""):
        return 0, 0, ""
    if pool == "global":
        window = conv.out_h * conv.out_w
        return n_out * window, counter_width(window), "avg"
    size = getattr(conv, "pool_size", 2)
    pooled = conv.map_h * conv.map_w * n_out
    if pool == "max":
        return pooled * (size * size - 1), 0, "max"
    return pooled * size * size, counter_width(size * size), "avg"


def counter_width(n: int) -> int:
    """Bits that hold any count 0..n."""
    return max(1, math.ceil(math.log2(n + 1)))


def describe_network(net, name: str = "") -> NetDescription:
    """The description of a network loaded from an ``.npz`` (``network.Network``): its crossbar
    layers' geometry (convolutions through their ``conv`` shape), its off-crossbar parts."""
    layers = []
    for i, layer in enumerate(net.layers):
        n_out, n_in = layer.weights.shape
        conv = getattr(layer, "conv", None)
        if conv is None:
            layers.append(LayerGeometry(index=i, kind="dense", n_in=n_in, n_out=n_out,
                                        label=f"dense {n_in} -> {n_out}"))
            continue
        ops, bits, pool = conv_pool_cost(conv, n_out)
        uses = row_uses(conv)
        stride, pad = getattr(conv, "stride", 1), getattr(conv, "pad", (0, 0, 0, 0))
        label = (f"conv {conv.kernel}x{conv.kernel}/{stride}"
                 + (f" pad {'/'.join(map(str, pad))} ({conv.pad_value})" if any(pad) else "")
                 + f", {conv.in_h}x{conv.in_w}x{conv.in_c} -> {conv.out_h}x{conv.out_w}x{n_out}"
                 + (f" -> {pool}-pool -> {conv.map_h}x{conv.map_w}x{n_out}" if pool else ""))
        layers.append(LayerGeometry(index=i, kind="conv", n_in=n_in, n_out=n_out,
                                    vectors_per_image=conv.positions, rows_read_per_image=int(uses.sum()),
                                    inputs_per_image=conv.n_inputs, outputs_per_image=conv.n_outputs(n_out),
                                    pool=pool, pool_ops_per_image=ops, pool_op_bits=bits, label=label,
                                    row_uses=uses if getattr(conv, "zero_padded", False) else None))
    return NetDescription(name=name, source=net.dataset, layers=tuple(layers),
                          off_crossbar=tuple(net.off_crossbar()), n_classes=net.output.n_classes,
                          has_weights=True)
