"""The ``.npz`` network format: load, validate, save, and the reference (ideal, fault-free) inference.

A network is a chain of binarized layers -- dense, or convolutions mapped by im2col -- with batch norm
folded into an integer threshold on the XNOR popcount (hidden layers) or an affine read-out of the
popcounts (output layer); optionally a real-valued first block that runs off-crossbar in float64.
See README "Network format".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelsim.errors import NetworkError
from accelsim.limits import read_npz

#: Versions ``load_network`` reads: 1 (binarized dense layers only), 2 (layer kinds, convolutions,
#: a real-valued front block, a real read-out head) and 3 (convolutions with stride, padding, any
#: max-pool, average and global average pooling). ``save_network`` writes the lowest that suffices.
FORMAT_VERSION = 3
READ_VERSIONS = (1, 2, 3)
#: Most crossbar layers a network file may declare (its keys hold a few per layer).
MAX_LAYERS = 10_000
LAYER_KINDS = ("dense", "conv")
FRONT_KINDS = ("real_conv",)


POOL_KINDS = ("none", "max", "avg", "global")
PAD_VALUES = ("zero", "one")


@dataclass(frozen=True, kw_only=True, slots=True)
class ConvShape:
    """Geometry of a convolution, channels last, then an optional pooling stage.

    The input map is (in_h, in_w, in_c), flattened in (y, x, c) order; a patch is flattened in
    (ky, kx, c) order -- the order of the weight rows -- and the output map in (y, x, filter) order.

    ``kernel`` k x k (1 x 1 allowed), ``stride`` s >= 1, ``pad`` (top, bottom, left, right) >= 0 of
    value ``pad_value``: ``"one"`` pads with +1 inputs (Larq's ``pad_values=1``; real fronts: 1.0),
    ``"zero"`` with 0 -- for a binarized layer a padded row that drives no row of the crossbar in
    either sensing phase, so a border patch has fewer inputs (``n_valid``) and its dot product is
    2 * count - n_valid over its valid rows, exactly the framework's zero-padded convolution.
    Output position (y, x) reads the padded window [y s, y s + k) x [x s, x s + k).

    ``pool`` (a bool is read as True = ``"max"``, the 2 x 2 / 2 pool of format version 2):

    - ``"none"``;
    - ``"max"``: max over ``pool_size`` x ``pool_size`` windows of stride ``pool_stride`` (trailing
      rows/columns a window does not reach are dropped, as PyTorch's floor mode) of the layer's
      values, before its threshold;
    - ``"avg"``: the layer's +-1 outputs (after its threshold) are averaged over the same windows,
      and the next threshold applies to the average: exactly a count of +1 outputs per window and
      channel compared with ``pool_threshold``. It is computed OFF the crossbar, in digital logic
      after the sense amplifiers' threshold (a k*k-input popcount per output element, never in the
      row-tile adder path, which adds partial counts of one patch); its cost is the cost model's;
    - ``"global"``: ``"avg"`` over the whole output map (global average pooling), a 1 x 1 map.
    """

    in_h: int
    in_w: int
    in_c: int
    kernel: int
    pool: str | bool = "none"
    stride: int = 1
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)
    pad_value: str = "zero"
    pool_size: int = 2
    pool_stride: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.pool, (bool, np.bool_)):
            object.__setattr__(self, "pool", "max" if self.pool else "none")
        if isinstance(self.pad, (int, np.integer)):
            object.__setattr__(self, "pad", (int(self.pad),) * 4)
        else:
            object.__setattr__(self, "pad", tuple(int(p) for p in self.pad))
        if self.pool not in POOL_KINDS:
            raise ValueError(f"pool must be one of {', '.join(POOL_KINDS)}, got {self.pool!r}")
        if self.pad_value not in PAD_VALUES:
            raise ValueError(f"pad_value must be one of {', '.join(PAD_VALUES)}, got {self.pad_value!r}")
        if len(self.pad) != 4 or min(self.pad) < 0 or self.stride < 1 or self.kernel < 1:
            raise ValueError("pad must be 4 integers >= 0, stride and kernel >= 1")

    @property
    def out_h(self) -> int:
        """Rows of the convolution's output (before the pool)."""
        return (self.in_h + self.pad[0] + self.pad[1] - self.kernel) // self.stride + 1

    @property
    def out_w(self) -> int:
        return (self.in_w + self.pad[2] + self.pad[3] - self.kernel) // self.stride + 1

    @property
    def positions(self) -> int:
        """Patches per image: the input vectors each image presents to the crossbar."""
        return self.out_h * self.out_w

    @property
    def map_h(self) -> int:
        """Rows of the output map (after the pool)."""
        return self._pooled(self.out_h)

    @property
    def map_w(self) -> int:
        return self._pooled(self.out_w)

    def _pooled(self, size: int) -> int:
        if self.pool == "none":
            return size
        if self.pool == "global":
            return 1
        return max((size - self.pool_size) // self.pool_stride + 1, 0)

    @property
    def patch_size(self) -> int:
        """Inputs of one patch, k * k * C: the crossbar rows the layer takes."""
        return self.kernel * self.kernel * self.in_c

    @property
    def n_inputs(self) -> int:
        return self.in_h * self.in_w * self.in_c

    def n_outputs(self, filters: int) -> int:
        return self.map_h * self.map_w * filters

    @property
    def zero_padded(self) -> bool:
        """Some patch holds zero-padded (undriven) inputs."""
        return self.pad_value == "zero" and any(self.pad)

    @property
    def threshold_positions(self) -> int:
        """Map elements per filter the layer's own threshold applies to: the pooled map for a
        max-pool (the threshold follows it), the convolution's output for an average pool."""
        if self.pool in ("avg", "global"):
            return self.out_h * self.out_w
        return self.map_h * self.map_w

    @property
    def legacy(self) -> bool:
        """Expressible in format version 2: valid, stride 1, no pool or a 2 x 2 / 2 max-pool."""
        return (self.stride == 1 and not any(self.pad) and self.pad_value == "zero"
                and (self.pool == "none" or (self.pool == "max" and self.pool_size == 2
                                             and self.pool_stride == 2)))

    def n_valid(self) -> np.ndarray:
        """Inputs of each patch that are not zero padding, int64 (positions,) in (y, x) order:
        k * k * C everywhere unless ``zero_padded``."""
        ones = np.ones((1, self.n_inputs), dtype=np.int64)
        return patches(ones, self).sum(axis=1) if self.zero_padded else np.full(
            self.positions, self.patch_size, dtype=np.int64)

    def describe(self) -> str:
        """e.g. '3x3/2 pad 1 (zero)' ."""
        text = f"{self.kernel}x{self.kernel}"
        if self.stride != 1:
            text += f"/{self.stride}"
        if any(self.pad):
            p = self.pad[0] if len(set(self.pad)) == 1 else ",".join(map(str, self.pad))
            text += f" pad {p} ({self.pad_value})"
        if self.pool in ("max", "avg"):
            text += f", {self.pool_size}x{self.pool_size}/{self.pool_stride} {self.pool}-pool"
        elif self.pool == "global":
            text += ", global avg-pool"
        return text


@dataclass(frozen=True, kw_only=True, slots=True)
class HiddenLayer:
    """A binarized layer: output +1 iff popcount >= threshold (``flip``: popcount <= threshold).

    ``weights`` is int8 (n_out, n_in) of +-1; popcount = #{k : w[j, k] == x[k]} (XNOR popcount). With
    ``conv`` the layer is a convolution: n_out filters of n_in = k * k * C weights, applied to every
    patch; the popcounts are max-pooled (``conv.pool == "max"``) before the threshold, and the
    thresholds are one per filter (n_out,) or one per element of the map they apply to
    (``conv.threshold_positions * n_out``, (y, x, f) order).

    Zero padding: a patch with n_valid < k * k * C driven rows compares its *equivalent count*
    e = count + (k * k * C - n_valid) / 2 = (dot + k * k * C) / 2 with the threshold (dot = 2 count -
    n_valid, the framework's zero-padded sum), so one threshold per filter holds at every position,
    border or not, and a max-pool compares like with like; e is a half-integer where k*k*C - n_valid
    is odd, compared exactly (as 2 e against 2 T).

    ``conv.pool`` ``"avg"`` / ``"global"``: the thresholded +-1 outputs are counted per window and
    channel (#(+1) of the window: the average pool of the binarized map, as a count) and the output
    is +1 iff count >= ``pool_threshold`` (``pool_flip``: count <= pool_threshold), one per filter or
    per pooled-map element; off-crossbar digital logic, see ``ConvShape``.
    """

    weights: np.ndarray
    threshold: np.ndarray  # float64 (n_out,) or, for a conv layer, (threshold_positions * n_out,)
    flip: np.ndarray  # bool, same shape as threshold
    conv: ConvShape | None = None
    pool_threshold: np.ndarray | None = None  # float64 (n_out,) or (map_h * map_w * n_out,): avg pools
    pool_flip: np.ndarray | None = None  # bool, same shape as pool_threshold

    @property
    def n_inputs(self) -> int:
        """Activations into the layer per image."""
        return self.conv.n_inputs if self.conv else self.weights.shape[1]

    @property
    def n_outputs(self) -> int:
        """Activations out of the layer per image."""
        return self.conv.n_outputs(self.weights.shape[0]) if self.conv else self.weights.shape[0]


@dataclass(frozen=True, kw_only=True, slots=True)
class OutputLayer:
    """The last layer, binarized dense: score_c = scale_c * popcount_c + shift_c, or with a real
    read-out ``head`` (n_classes, n_out), score = head @ popcount + shift (computed off-crossbar in
    float64: the real classifier of the LeNet). The prediction is argmax(score), first on ties."""

    weights: np.ndarray
    shift: np.ndarray  # float64 (n_classes,)
    scale: np.ndarray | None = None  # float64 (n_out,), without head
    head: np.ndarray | None = None  # float64 (n_classes, n_out)

    @property
    def n_inputs(self) -> int:
        return self.weights.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.weights.shape[0]

    @property
    def n_classes(self) -> int:
        return self.head.shape[0] if self.head is not None else self.weights.shape[0]


@dataclass(frozen=True, kw_only=True, slots=True)
class RealFront:
    """A real-valued first block, evaluated off-crossbar in float64 (:func:`front_activations`):
    v = max-pool(ReLU(scale * conv(x, weights) + shift)), then +1 iff out_scale * v + out_shift >= 0.

    ``weights`` float64 (k, k, C, F) (a cross-correlation, like the binarized convolutions); ``scale``,
    ``shift``, ``out_scale``, ``out_shift`` float64 (F,): the folded batch norms around the ReLU.
    """

    weights: np.ndarray
    conv: ConvShape
    scale: np.ndarray
    shift: np.ndarray
    out_scale: np.ndarray
    out_shift: np.ndarray

    @property
    def n_inputs(self) -> int:
        return self.conv.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.conv.n_outputs(self.weights.shape[3])

    @property
    def n_weights(self) -> int:
        return int(self.weights.size)


@dataclass(frozen=True, kw_only=True, slots=True)
class Network:
    """A binarized network as stored in a ``.npz`` file, plus its bundled test set if it has one.

    ``hidden`` and ``output`` are the crossbar layers (``layers``); ``front`` (optional) runs before
    them off-crossbar, on real-valued inputs (then ``test_x`` holds the test images' intensities).
    """

    hidden: tuple[HiddenLayer, ...]
    output: OutputLayer
    input_threshold: float
    front: RealFront | None = None
    dataset: str = ""
    description: str = ""
    test_x_packed: np.ndarray | None = None  # uint8 packbits of +1 bits, (n, ceil(n_in / 8))
    test_x: np.ndarray | None = None  # float32 (n, n_in) intensities, networks with a front only
    test_y: np.ndarray | None = None  # uint8 (n,)
    test_source: str = ""

    @property
    def layers(self) -> tuple[HiddenLayer | OutputLayer, ...]:
        return (*self.hidden, self.output)

    @property
    def n_inputs(self) -> int:
        """Inputs per image: real values with a front, else +-1 bits."""
        return self.front.n_inputs if self.front else self.layers[0].n_inputs

    @property
    def real_input(self) -> bool:
        return self.front is not None

    @property
    def shape(self) -> tuple[int, ...]:
        """Activations per image, input first: e.g. (784, 1024, 1024, 10); with a front its output,
        with a head the classes after the last layer's popcounts."""
        widths = [self.n_inputs]
        if self.front:
            widths.append(self.front.n_outputs)
        widths += [layer.n_outputs for layer in self.layers]
        if self.output.head is not None:
            widths.append(self.output.n_classes)
        return tuple(widths)

    @property
    def format_version(self) -> int:
        """The oldest format version that holds this network."""
        plain = (self.front is None and self.output.head is None
                 and all(layer.conv is None for layer in self.hidden))
        if plain:
            return 1
        convs = [layer.conv for layer in self.hidden if layer.conv is not None]
        if self.front is not None:
            convs.append(self.front.conv)
        return 2 if all(c.legacy for c in convs) else 3

    def off_crossbar(self) -> list[str]:
        """What this network computes off the crossbar, one line each (empty for a plain BNN)."""
        notes = []
        if self.front is not None:
            f, c = self.front, self.front.conv
            notes.append(
                f"front: real {c.describe()} conv {c.in_h}x{c.in_w}x{c.in_c} -> "
                f"{f.weights.shape[3]} filters, batch norm, ReLU, "
                f"binarize: off-crossbar in float64, its {f.n_weights:,} weights not in cells and its "
                "time and energy not counted")
        if self.output.head is not None:
            h = self.output.head
            notes.append(f"head: real read-out {h.shape[1]} popcounts -> {h.shape[0]} classes: "
                         f"off-crossbar in float64, {h.size:,} weights not in cells, not counted")
        for i, layer in enumerate(self.hidden):
            c = layer.conv
            if c is not None and c.pool in ("avg", "global"):
                notes.append(f"layer{i}: {c.pool} pool of its +-1 outputs: a count per window and "
                             "channel compared with pool_threshold, off-crossbar digital logic "
                             "after the sense amplifiers")
        return notes


def _get(npz: dict, key: str, path: Path) -> np.ndarray:
    if key not in npz:
        raise NetworkError(f"{path}: missing key '{key}'")
    return npz[key]


def _vector(npz: dict, key: str, path: Path, n, kind: str) -> np.ndarray:
    """A float or bool vector of length ``n`` (an int, or a tuple of allowed lengths)."""
    arr = _get(npz, key, path)
    allowed = tuple(dict.fromkeys(n)) if isinstance(n, tuple) else (n,)
    if arr.ndim != 1 or arr.shape[0] not in allowed:
        expected = " or ".join(f"({k},)" for k in allowed)
        raise NetworkError(f"{path}: '{key}' has shape {arr.shape}, expected {expected}")
    if kind == "bool":
        if arr.dtype != np.bool_:
            raise NetworkError(f"{path}: '{key}' has dtype {arr.dtype}, expected bool")
        return arr.astype(np.bool_)
    return _finite(arr, key, path)


def _real(dtype: np.dtype) -> bool:
    """Integer or floating dtype (not bool, complex, string)."""
    return np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)


def _finite(arr: np.ndarray, key: str, path: Path) -> np.ndarray:
    if not _real(arr.dtype) or not np.all(np.isfinite(arr)):
        raise NetworkError(f"{path}: '{key}' must hold finite real numbers, found {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _int(npz: dict, key: str, path: Path, low: int, high: int | None = None) -> int:
    arr = _get(npz, key, path)
    ok = arr.shape == () and np.issubdtype(arr.dtype, np.integer) and int(arr) >= low
    if not ok or (high is not None and int(arr) > high):
        found = f"{arr.item()!r} ({arr.dtype})" if arr.shape == () else f"an array of shape {arr.shape}"
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise NetworkError(f"{path}: '{key}' is {found}, expected an integer {bound}")
    return int(arr)


def _float(npz: dict, key: str, path: Path) -> float:
    arr = _get(npz, key, path)
    if arr.shape != () or not _real(arr.dtype) or not np.isfinite(arr):
        found = f"{arr.item()!r} ({arr.dtype})" if arr.shape == () else f"an array of shape {arr.shape}"
        raise NetworkError(f"{path}: '{key}' is {found}, expected a finite number")
    return float(arr)


def _flag(npz: dict, key: str, path: Path) -> bool:
    arr = _get(npz, key, path)
    if arr.shape != () or arr.dtype != np.bool_:
        raise NetworkError(f"{path}: '{key}' has shape {arr.shape} dtype {arr.dtype}, expected a bool scalar")
    return bool(arr)


def _string(npz: dict, key: str, path: Path) -> str:
    """An optional text scalar (``dataset``, ``description``, ``test_source``); '' when absent."""
    if key not in npz:
        return ""
    arr = npz[key]
    if arr.shape != () or arr.dtype.kind not in "US":
        raise NetworkError(f"{path}: '{key}' is {arr.dtype} {arr.shape}, expected a text scalar")
    value = arr[()]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _text(npz: dict, key: str, path: Path, allowed: tuple[str, ...]) -> str:
    value = str(_get(npz, key, path))
    if value not in allowed:
        raise NetworkError(f"{path}: '{key}' is {value!r}, expected one of {', '.join(allowed)}")
    return value


V3_CONV_KEYS = ("stride", "padding", "pad_value", "pool_size", "pool_stride")


def _conv_shape(npz: dict, prefix: str, path: Path, version: int = 3, front: bool = False) -> ConvShape:
    shape = _get(npz, f"{prefix}_input_shape", path)
    if shape.shape != (3,) or not np.issubdtype(shape.dtype, np.integer) or np.any(shape < 1):
        raise NetworkError(f"{path}: '{prefix}_input_shape' = {shape!r}, expected 3 integers >= 1 (H, W, C)")
    h, w, c = (int(v) for v in shape)
    k = _int(npz, f"{prefix}_kernel", path, 1)
    if version < 3:
        extra = [f"{prefix}_{key}" for key in V3_CONV_KEYS if f"{prefix}_{key}" in npz]
        if extra:
            raise NetworkError(f"{path}: '{extra[0]}' needs format_version 3 (file says {version})")
        conv = ConvShape(in_h=h, in_w=w, in_c=c, kernel=k, pool=_flag(npz, f"{prefix}_pool", path))
    else:
        pool_arr = _get(npz, f"{prefix}_pool", path)
        if pool_arr.shape == () and pool_arr.dtype == np.bool_:
            pool = "max" if bool(pool_arr) else "none"
        else:
            pool = _text(npz, f"{prefix}_pool", path, ("none", "max") if front else POOL_KINDS)
        stride = _int(npz, f"{prefix}_stride", path, 1) if f"{prefix}_stride" in npz else 1
        pad = (0, 0, 0, 0)
        if f"{prefix}_padding" in npz:
            arr = npz[f"{prefix}_padding"]
            if (arr.shape not in ((), (4,)) or not np.issubdtype(arr.dtype, np.integer)
                    or np.any(arr < 0)):
                raise NetworkError(f"{path}: '{prefix}_padding' = {arr!r}, expected an integer >= 0 or "
                                   "4 of them (top, bottom, left, right)")
            pad = (int(arr),) * 4 if arr.shape == () else tuple(int(v) for v in arr)
        pad_value = (_text(npz, f"{prefix}_pad_value", path, PAD_VALUES)
                     if f"{prefix}_pad_value" in npz else "zero")
        sizes = {}
        for key in ("pool_size", "pool_stride"):
            if f"{prefix}_{key}" in npz:
                if pool not in ("max", "avg"):
                    raise NetworkError(f"{path}: '{prefix}_{key}' given but '{prefix}_pool' is "
                                       f"{pool!r} (only max and avg pools have a window)")
                sizes[key] = _int(npz, f"{prefix}_{key}", path, 1)
        conv = ConvShape(in_h=h, in_w=w, in_c=c, kernel=k, pool=pool, stride=stride, pad=pad,
                         pad_value=pad_value, **sizes)
    if k > h + conv.pad[0] + conv.pad[1] or k > w + conv.pad[2] + conv.pad[3]:
        raise NetworkError(f"{path}: '{prefix}_kernel' {k} is larger than the "
                           f"{h + conv.pad[0] + conv.pad[1]} x {w + conv.pad[2] + conv.pad[3]} input map"
                           f"{' (padded)' if any(conv.pad) else ''}")
    if max(conv.pad) >= k:
        raise NetworkError(f"{path}: '{prefix}_padding' {conv.pad}: padding must be smaller than the "
                           f"{k}x{k} kernel (a patch of padding only)")
    if conv.map_h < 1 or conv.map_w < 1:
        raise NetworkError(f"{path}: {prefix}: the {conv.out_h} x {conv.out_w} output map cannot be pooled")
    return conv


def _binary_weights(npz: dict, i: int, path: Path) -> np.ndarray:
    w = _get(npz, f"layer{i}_weights", path)
    if w.ndim != 2 or 0 in w.shape:
        raise NetworkError(f"{path}: layer{i}_weights has shape {w.shape}, expected (n_out, n_in), "
                           "both >= 1")
    if not _real(w.dtype) or not np.all(np.abs(w) == 1):
        bad = w[np.abs(w) != 1].ravel()[:3] if _real(w.dtype) else w.dtype
        raise NetworkError(f"{path}: layer{i}_weights must be +1/-1 only, found {bad}")
    return np.ascontiguousarray(w, dtype=np.int8)


def _load_front(npz: dict, path: Path, version: int) -> RealFront:
    _text(npz, "front_kind", path, FRONT_KINDS)
    conv = _conv_shape(npz, "front", path, version, front=True)
    w = _get(npz, "front_weights", path)
    if w.ndim != 4 or w.shape[:3] != (conv.kernel, conv.kernel, conv.in_c):
        raise NetworkError(f"{path}: 'front_weights' has shape {w.shape}, expected "
                           f"({conv.kernel}, {conv.kernel}, {conv.in_c}, filters)")
    f = w.shape[3]
    return RealFront(weights=_finite(w, "front_weights", path), conv=conv,
                     **{name: _vector(npz, f"front_{name}", path, f, "float")
                        for name in ("scale", "shift", "out_scale", "out_shift")})


def _chain_error(path: Path, i: int, what: str, prev: str) -> NetworkError:
    return NetworkError(f"{path}: layer{i} {what}: its inputs do not chain with the outputs of {prev}")


def load_network(path: str | Path) -> Network:
    """Load and validate a network ``.npz``.

    Raises
    ------
    NetworkError
        Missing file, unreadable archive, unknown format version or layer kind, missing keys, weights
        that are not +-1, shapes that do not chain from layer to layer (map shapes for convolutions),
        vectors of the wrong length.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: no such file")
    npz = read_npz(path, NetworkError)
    version_arr = _get(npz, "format_version", path)
    if (version_arr.shape != () or not np.issubdtype(version_arr.dtype, np.integer)
            or int(version_arr) not in READ_VERSIONS):
        found = (f"{version_arr.item()!r} ({version_arr.dtype})" if version_arr.shape == ()
                 else f"an array of shape {version_arr.shape}")
        raise NetworkError(f"{path}: format_version {found}: this accelsim reads the integer "
                           f"versions {', '.join(map(str, READ_VERSIONS))}")
    version = int(version_arr)
    n_layers = _int(npz, "n_layers", path, 1, MAX_LAYERS)
    front = None
    if version >= 2 and "front_kind" in npz:
        front = _load_front(npz, path, version)
    elif any(k.startswith("front_") for k in npz):
        raise NetworkError(f"{path}: front_* keys without 'front_kind' (format_version 2 only)")
    # What the next layer receives: (size, map shape or None, who made it).
    prev_size = front.n_outputs if front else None
    prev_map = (front.conv.map_h, front.conv.map_w, front.weights.shape[3]) if front else None
    prev_name = "front"
    layers: list[HiddenLayer | OutputLayer] = []
    for i in range(n_layers):
        kind = _text(npz, f"layer{i}_kind", path, LAYER_KINDS) if version >= 2 else "dense"
        last = i == n_layers - 1
        if kind == "conv" and last:
            raise NetworkError(f"{path}: 'layer{i}_kind' is 'conv': the output layer must be dense")
        w = _binary_weights(npz, i, path)
        n_out = w.shape[0]
        conv = None
        if kind == "conv":
            conv = _conv_shape(npz, f"layer{i}", path, version)
            if w.shape[1] != conv.patch_size:
                raise NetworkError(
                    f"{path}: layer{i}_weights has shape {w.shape}, expected (filters, {conv.patch_size}) "
                    f"for {conv.kernel}x{conv.kernel} patches of {conv.in_c} channels")
            here = (conv.in_h, conv.in_w, conv.in_c)
            if prev_map is not None and here != prev_map:
                raise _chain_error(path, i, f"input_shape {here}", f"{prev_name} (map {prev_map})")
            if prev_map is None and prev_size is not None:
                raise _chain_error(path, i, f"input_shape {here}", f"{prev_name} (a dense layer)")
            n_in_layer = conv.n_inputs
        else:
            n_in_layer = w.shape[1]
            if prev_size is not None and n_in_layer != prev_size:
                raise NetworkError(
                    f"{path}: layer{i}_weights has shape {w.shape}: its {n_in_layer} inputs do not chain "
                    f"with the {prev_size} outputs of {prev_name}")
        if last:
            layers.append(_load_output(npz, i, w, path))
        else:
            n_thr = (n_out, conv.threshold_positions * n_out) if conv else n_out
            threshold, flip = _threshold_pair(npz, f"layer{i}_threshold", f"layer{i}_flip", path, n_thr)
            pool_thr = pool_flip = None
            averaged = conv is not None and conv.pool in ("avg", "global")
            if averaged:
                pool_thr, pool_flip = _threshold_pair(npz, f"layer{i}_pool_threshold",
                                                      f"layer{i}_pool_flip", path,
                                                      (n_out, conv.n_outputs(n_out)))
            else:
                for key in (f"layer{i}_pool_threshold", f"layer{i}_pool_flip"):
                    if key in npz:
                        raise NetworkError(f"{path}: '{key}' given, but layer{i} has no average pool")
            layers.append(HiddenLayer(weights=w, threshold=threshold, flip=flip, conv=conv,
                                      pool_threshold=pool_thr, pool_flip=pool_flip))
        prev_size = layers[-1].n_outputs
        prev_map = (conv.map_h, conv.map_w, n_out) if conv else None
        prev_name = f"layer{i}"
    if front is None:
        threshold = _float(npz, "input_threshold", path)
    else:  # unused with a real front (saved as NaN)
        arr = npz.get("input_threshold", np.float64(np.nan))
        if arr.shape != () or not np.issubdtype(arr.dtype, np.floating):
            raise NetworkError(f"{path}: 'input_threshold' is {arr.dtype} {arr.shape}, expected a float")
        threshold = float(arr)
    net_in = front.n_inputs if front else layers[0].n_inputs
    test_x, test_y, test_real = npz.get("test_x_packed"), npz.get("test_y"), npz.get("test_x")
    if front is not None and test_x is not None:
        raise NetworkError(f"{path}: 'test_x_packed' given for a network with a real front: "
                           "use 'test_x'")
    if front is None and test_real is not None:
        raise NetworkError(f"{path}: 'test_x' (real inputs) given for a network without a real front")
    images = test_real if front is not None else test_x
    if (images is None) != (test_y is None):
        key = "test_x" if front else "test_x_packed"
        raise NetworkError(f"{path}: '{key}' and 'test_y' must come together")
    if images is not None:
        if images.ndim < 1 or images.shape[0] == 0:
            raise NetworkError(f"{path}: the bundled test set is empty: store at least one image, or "
                               "none (then give one with --data)")
        if front is None and (test_x.ndim != 2 or test_x.shape[1] != (net_in + 7) // 8
                              or test_x.dtype != np.uint8):
            raise NetworkError(f"{path}: test_x_packed has shape {test_x.shape} {test_x.dtype}, "
                               f"expected (n, {(net_in + 7) // 8}) uint8 for {net_in} inputs")
        if front is not None and (test_real.ndim != 2 or test_real.shape[1] != net_in
                                  or test_real.dtype != np.float32 or not np.all(np.isfinite(test_real))):
            raise NetworkError(f"{path}: test_x has shape {test_real.shape} {test_real.dtype}, "
                               f"expected finite (n, {net_in}) float32")
        if test_y.shape != (images.shape[0],) or not np.issubdtype(test_y.dtype, np.integer):
            raise NetworkError(f"{path}: test_y is {test_y.dtype} {test_y.shape}, expected integer "
                               f"labels ({images.shape[0]},)")
        n_classes = layers[-1].n_classes
        if test_y.size and (test_y.min() < 0 or test_y.max() >= n_classes):
            bad = int(test_y.min()) if test_y.min() < 0 else int(test_y.max())
            raise NetworkError(f"{path}: test_y holds label {bad}, but the network outputs "
                               f"{n_classes} classes (labels 0 to {n_classes - 1})")
    return Network(
        hidden=tuple(layers[:-1]), output=layers[-1], input_threshold=threshold, front=front,
        dataset=_string(npz, "dataset", path), description=_string(npz, "description", path),
        test_x_packed=test_x, test_x=test_real,
        test_y=None if test_y is None else test_y.astype(np.int64),
        test_source=_string(npz, "test_source", path))


def _threshold_pair(npz: dict, t_key: str, f_key: str, path: Path, n) -> tuple[np.ndarray, np.ndarray]:
    threshold = _vector(npz, t_key, path, n, "float")
    flip = _vector(npz, f_key, path, n, "bool")
    if flip.shape != threshold.shape:
        raise NetworkError(f"{path}: '{f_key}' has shape {flip.shape}, '{t_key}' {threshold.shape}: "
                           "they must match")
    return threshold, flip


def _load_output(npz: dict, i: int, w: np.ndarray, path: Path) -> OutputLayer:
    n_out = w.shape[0]
    if f"layer{i}_head" in npz:
        if f"layer{i}_scale" in npz:
            raise NetworkError(f"{path}: layer{i} has both 'layer{i}_head' and 'layer{i}_scale': give one")
        head = _get(npz, f"layer{i}_head", path)
        if head.ndim != 2 or head.shape[1] != n_out or head.shape[0] < 1:
            raise NetworkError(f"{path}: 'layer{i}_head' has shape {head.shape}, "
                               f"expected (n_classes, {n_out})")
        return OutputLayer(weights=w, head=_finite(head, f"layer{i}_head", path),
                           shift=_vector(npz, f"layer{i}_shift", path, head.shape[0], "float"))
    return OutputLayer(weights=w, scale=_vector(npz, f"layer{i}_scale", path, n_out, "float"),
                       shift=_vector(npz, f"layer{i}_shift", path, n_out, "float"))


def network_arrays(net: Network) -> dict[str, np.ndarray]:
    """The arrays of ``net`` in the ``.npz`` format (version 1 when the network needs nothing newer)."""
    version = net.format_version
    arrays: dict[str, np.ndarray] = {
        "format_version": np.int64(version),
        "n_layers": np.int64(len(net.layers)),
        "input_threshold": np.float64(net.input_threshold),
        "dataset": np.str_(net.dataset),
        "description": np.str_(net.description),
    }
    if net.front is not None:
        f = net.front
        arrays.update({
            "front_kind": np.str_("real_conv"), "front_weights": f.weights.astype(np.float64),
            **_conv_arrays("front", f.conv, version),
            **{f"front_{k}": getattr(f, k).astype(np.float64)
               for k in ("scale", "shift", "out_scale", "out_shift")}})
    for i, layer in enumerate(net.layers):
        if version >= 2:
            conv = getattr(layer, "conv", None)
            arrays[f"layer{i}_kind"] = np.str_("conv" if conv else "dense")
            if conv:
                arrays.update(_conv_arrays(f"layer{i}", conv, version))
        arrays[f"layer{i}_weights"] = layer.weights.astype(np.int8)
        if isinstance(layer, HiddenLayer):
            arrays[f"layer{i}_threshold"] = layer.threshold.astype(np.float64)
            arrays[f"layer{i}_flip"] = layer.flip.astype(np.bool_)
            if layer.pool_threshold is not None:
                arrays[f"layer{i}_pool_threshold"] = layer.pool_threshold.astype(np.float64)
                arrays[f"layer{i}_pool_flip"] = layer.pool_flip.astype(np.bool_)
        elif layer.head is not None:
            arrays[f"layer{i}_head"] = layer.head.astype(np.float64)
            arrays[f"layer{i}_shift"] = layer.shift.astype(np.float64)
        else:
            arrays[f"layer{i}_scale"] = layer.scale.astype(np.float64)
            arrays[f"layer{i}_shift"] = layer.shift.astype(np.float64)
    if net.test_y is not None:
        if net.front is not None:
            arrays["test_x"] = np.asarray(net.test_x, dtype=np.float32)
        else:
            arrays["test_x_packed"] = net.test_x_packed
        arrays["test_y"] = net.test_y.astype(np.uint8)
        arrays["test_source"] = np.str_(net.test_source)
    return arrays


def _conv_arrays(prefix: str, conv: ConvShape, version: int) -> dict[str, np.ndarray]:
    arrays = {f"{prefix}_input_shape": np.array([conv.in_h, conv.in_w, conv.in_c], dtype=np.int64),
              f"{prefix}_kernel": np.int64(conv.kernel)}
    if version < 3:
        arrays[f"{prefix}_pool"] = np.bool_(conv.pool == "max")
        return arrays
    arrays.update({f"{prefix}_pool": np.str_(conv.pool), f"{prefix}_stride": np.int64(conv.stride),
                   f"{prefix}_padding": np.array(conv.pad, dtype=np.int64),
                   f"{prefix}_pad_value": np.str_(conv.pad_value)})
    if conv.pool in ("max", "avg"):
        arrays[f"{prefix}_pool_size"] = np.int64(conv.pool_size)
        arrays[f"{prefix}_pool_stride"] = np.int64(conv.pool_stride)
    return arrays


def save_network(path: str | Path, net: Network) -> None:
    """Write ``net`` in the ``.npz`` format that ``load_network`` reads."""
    np.savez_compressed(path, **network_arrays(net))


# ------------------------------------------------------------------------------- reference inference


def patches(a: np.ndarray, conv: ConvShape) -> np.ndarray:
    """im2col: the patches of images ``a`` (n, in_h * in_w * in_c), flattened (y, x, c), as rows
    (n * positions, k * k * C) in (image, y, x) order, each flattened (ky, kx, c); same dtype.

    Padded positions hold 1 (``pad_value`` ``"one"``: a +1 input, or bit 1, or 1.0) or 0 (``"zero"``:
    a 0 input, bit 0 -- which a zero-padded layer's sensing never drives)."""
    n = a.shape[0]
    maps = a.reshape(n, conv.in_h, conv.in_w, conv.in_c)
    if any(conv.pad):
        t, b, left, right = conv.pad
        maps = np.pad(maps, ((0, 0), (t, b), (left, right), (0, 0)),
                      constant_values=1 if conv.pad_value == "one" else 0)
    win = np.lib.stride_tricks.sliding_window_view(maps, (conv.kernel, conv.kernel), axis=(1, 2))
    if conv.stride != 1:
        win = win[:, ::conv.stride, ::conv.stride]
    return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n * conv.positions,
                                                                         conv.patch_size)


def _windows(m: np.ndarray, conv: ConvShape):
    """The pool's window offsets as strided views of maps m (n, out_h, out_w, F), one per (dy, dx):
    view[:, y, x] = m[:, y * s + dy, x * s + dx]."""
    h, w, k, s = conv.map_h, conv.map_w, conv.pool_size, conv.pool_stride
    for dy in range(k):
        for dx in range(k):
            yield m[:, dy: dy + s * (h - 1) + 1: s, dx: dx + s * (w - 1) + 1: s, :]


def pool_map(values: np.ndarray, conv: ConvShape, n_images: int) -> np.ndarray:
    """Per-patch values (n * positions, F) -> the output map (n, map_h * map_w * F), flattened
    (y, x, f): the maximum over each pool window when ``conv.pool == "max"``, else unchanged (an
    average pool applies to the thresholded outputs: ``pool_count``)."""
    f = values.shape[1]
    m = values.reshape(n_images, conv.out_h, conv.out_w, f)
    if conv.pool == "max":
        out = None
        for q in _windows(m, conv):
            out = q if out is None else np.maximum(out, q)
        m = out
    return m.reshape(n_images, -1)


def pool_count(fire: np.ndarray, conv: ConvShape, n_images: int) -> np.ndarray:
    """The average pool of a binarized map as a count: #(+1) (``fire`` True) per window and
    channel, int64 (n, map_h * map_w, F), from ``fire`` (n, out_h * out_w, F) bool."""
    f = fire.shape[-1]
    m = fire.reshape(n_images, conv.out_h, conv.out_w, f)
    if conv.pool == "global":
        return m.sum(axis=(1, 2), dtype=np.int64).reshape(n_images, 1, f)
    out = np.zeros((n_images, conv.map_h, conv.map_w, f), dtype=np.int64)
    for q in _windows(m, conv):
        out += q
    return out.reshape(n_images, -1, f)


def doubled_counts(count: np.ndarray, conv: ConvShape, n_images: int) -> np.ndarray:
    """2 e = 2 count + (k * k * C - n_valid) (int64, same shape as ``count`` (n * positions, F)):
    twice the equivalent counts of a zero-padded layer from its counts over the driven rows."""
    missing = np.tile(conv.patch_size - conv.n_valid(), n_images)
    return 2 * count.astype(np.int64) + missing[:, None]


def front_activations(front: RealFront, x: np.ndarray) -> np.ndarray:
    """The +-1 activations (int8, (n, front.n_outputs)) of the real front on real inputs ``x``
    (n, n_in), in float64: the one evaluation used by the reference and by the simulator."""
    x = np.asarray(x, dtype=np.float64)
    n, f = x.shape[0], front.weights.shape[3]
    out = np.empty((n, front.n_outputs), dtype=np.int8)
    w = front.weights.reshape(-1, f)
    for start in range(0, n, 256):
        chunk = x[start: start + 256]
        z = patches(chunk, front.conv) @ w
        v = pool_map(np.maximum(front.scale * z + front.shift, 0.0), front.conv, chunk.shape[0])
        v = v.reshape(chunk.shape[0], -1, f)
        out[start: start + 256] = np.where(front.out_scale * v + front.out_shift >= 0, 1, -1).reshape(
            chunk.shape[0], -1)
    return out


def crossbar_inputs(net: Network, x: np.ndarray) -> np.ndarray:
    """The +-1 inputs (int8) of the first crossbar layer: the front's activations of real inputs, or
    the +-1 inputs themselves."""
    if net.front is not None:
        return front_activations(net.front, x)
    return np.asarray(x, dtype=np.int8)


def _fires(count: np.ndarray, threshold: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """count >= threshold, or count <= threshold where ``flip`` (broadcast), as a bool array.

    Integer counts (every count the crossbar senses, all far below 2**31) are compared exactly in their
    own type against integer bounds: count >= t iff count >= ceil(t), and count <= t iff not
    count >= floor(t) + 1, so one comparison and an exclusive or decide every neuron; other counts
    are compared with the thresholds as given.
    """
    if count.dtype.kind not in "iu":
        return np.where(flip, count <= threshold, count >= threshold)
    return (count >= integer_bounds(threshold, flip, count.dtype)) ^ flip


def integer_bounds(threshold: np.ndarray, flip: np.ndarray, dtype) -> np.ndarray:
    """Integer bounds b of integer type ``dtype`` with: fires iff (count >= b) xor flip, for every
    integer count: ceil(t) for count >= t, floor(t) + 1 for count <= t (clipped to integers the type
    and a float64 hold exactly)."""
    info = np.iinfo(dtype)
    bound = np.where(flip, np.floor(threshold) + 1.0, np.ceil(threshold))
    return np.clip(bound, max(info.min, -2**52), min(info.max, 2**52)).astype(dtype)


def _pm1(fire: np.ndarray) -> np.ndarray:
    """+1 / -1 (int8) from a bool array."""
    out = fire.astype(np.int8)
    out *= 2
    out -= 1
    return out


def neuron_output(popcount: np.ndarray, layer: HiddenLayer) -> np.ndarray:
    """Binary activations (+1/-1 int8) of a dense hidden layer from its XNOR popcounts (n_images, n_out)."""
    return _pm1(_fires(np.asarray(popcount), layer.threshold, layer.flip))


def layer_activations(popcount: np.ndarray, layer: HiddenLayer, n_images: int) -> np.ndarray:
    """A hidden layer's +-1 activations (int8, (n_images, layer.n_outputs)) from its popcounts:
    (n_images, n_out) for a dense layer, (n_images * positions, n_out) for a convolution, whose
    popcounts are max-pooled first (``"max"``) and then thresholded (per filter or per map element),
    or thresholded, then counted per average-pool window and thresholded again (``"avg"``,
    ``"global"``). For a zero-padded convolution ``popcount`` holds ``doubled_counts`` (2 e, against
    twice the thresholds: exact)."""
    if layer.conv is None:
        return neuron_output(popcount, layer)
    conv = layer.conv
    f = layer.weights.shape[0]
    thr = layer.threshold.reshape(-1, f)  # (1, F) per filter or (map positions, F)
    if conv.zero_padded:
        thr = 2.0 * thr
    flip = layer.flip.reshape(-1, f)
    p = pool_map(popcount, conv, n_images).reshape(n_images, -1, f)
    fire = _fires(p, thr, flip)
    if conv.pool in ("avg", "global"):
        counts = pool_count(fire, conv, n_images)
        fire = _fires(counts, layer.pool_threshold.reshape(-1, f), layer.pool_flip.reshape(-1, f))
    return _pm1(fire).reshape(n_images, -1)


def class_scores(popcount: np.ndarray, layer: OutputLayer) -> np.ndarray:
    """Per-class scores (n_images, n_classes) of the output layer from its popcounts."""
    if layer.head is not None:
        return popcount.astype(np.float64) @ layer.head.T + layer.shift
    return layer.scale * popcount + layer.shift


def _dot_pm1(a: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Integer products of +-1 activations with +-1 weights, (n, k) @ (m, k).T -> (n, m) int64.

    Computed in floating point (BLAS): every partial sum is an integer of magnitude <= k, exact in
    float32 while k <= 2**24 (float64 above), and several times faster than numpy's integer matmul,
    which has no BLAS.
    """
    dtype = np.float32 if weights.shape[1] <= 2**24 else np.float64
    return (a.astype(dtype) @ weights.T.astype(dtype)).astype(np.int64)


_REFERENCE_CHUNK = 1024  # images per pass of reference_predict


def reference_predict(net: Network, x: np.ndarray) -> np.ndarray:
    """Ideal inference (no faults): predicted class per image, from +-1 inputs (n_images, n_in), or
    real inputs for a network with a front.

    Deliberately plain: exact integer matrix products give dot = 2 * popcount - n_in, convolutions are
    im2col matrix products (zero padding: 0 inputs, dot = the sum over the valid inputs). The
    simulator's bit-packed kernels must agree with this exactly when all error rates are zero.
    """
    if len(x) > _REFERENCE_CHUNK:  # image by image in effect: chunks keep the im2col rows in cache
        return np.concatenate([reference_predict(net, x[s: s + _REFERENCE_CHUNK])
                               for s in range(0, len(x), _REFERENCE_CHUNK)])
    a = crossbar_inputs(net, x).astype(np.int8)
    n = a.shape[0]
    for layer in net.hidden:
        rows = patches(a, layer.conv) if layer.conv else a  # a zero-padded input is 0: no product
        dot = _dot_pm1(rows, layer.weights)
        if layer.conv is not None and layer.conv.zero_padded:
            popcount = dot + layer.weights.shape[1]  # 2 e = dot + k * k * C
        else:
            popcount = (dot + layer.weights.shape[1]) // 2
        a = layer_activations(popcount, layer, n)
    popcount = (_dot_pm1(a, net.output.weights) + net.output.weights.shape[1]) // 2
    return np.argmax(class_scores(popcount, net.output), axis=1)
