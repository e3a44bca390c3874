"""The ``.npz`` network format: load, validate, save, and the reference (ideal, fault-free) inference.

A network is a chain of binarized dense layers with batch norm folded into an integer threshold on the
XNOR popcount (hidden layers) or a per-class affine score (output layer). See README "Network format".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelsim.errors import NetworkError

FORMAT_VERSION = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class HiddenLayer:
    """A binarized dense layer: output +1 iff popcount >= threshold (``flip``: popcount <= threshold).

    ``weights`` is int8 (n_out, n_in) of +-1; popcount = #{k : w[j, k] == x[k]} (XNOR popcount).
    """

    weights: np.ndarray
    threshold: np.ndarray  # float64 (n_out,)
    flip: np.ndarray  # bool (n_out,)


@dataclass(frozen=True, kw_only=True, slots=True)
class OutputLayer:
    """The last layer: score_c = scale_c * popcount_c + shift_c; the prediction is argmax(score)."""

    weights: np.ndarray
    scale: np.ndarray  # float64 (n_out,)
    shift: np.ndarray  # float64 (n_out,)


@dataclass(frozen=True, kw_only=True, slots=True)
class Network:
    """A binarized MLP as stored in a ``.npz`` file, plus its bundled test set if it has one."""

    hidden: tuple[HiddenLayer, ...]
    output: OutputLayer
    input_threshold: float
    dataset: str = ""
    description: str = ""
    test_x_packed: np.ndarray | None = None  # uint8 packbits of +1 bits, (n, ceil(n_in / 8))
    test_y: np.ndarray | None = None  # uint8 (n,)
    test_source: str = ""

    @property
    def layers(self) -> tuple[HiddenLayer | OutputLayer, ...]:
        return (*self.hidden, self.output)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].weights.shape[1]

    @property
    def shape(self) -> tuple[int, ...]:
        """Layer widths, input first: e.g. (784, 1024, 1024, 10)."""
        return (self.n_inputs, *(layer.weights.shape[0] for layer in self.layers))


def _get(npz: dict, key: str, path: Path) -> np.ndarray:
    if key not in npz:
        raise NetworkError(f"{path}: missing key '{key}'")
    return npz[key]


def _vector(npz: dict, key: str, path: Path, n: int, kind: str) -> np.ndarray:
    arr = _get(npz, key, path)
    if arr.shape != (n,):
        raise NetworkError(f"{path}: '{key}' has shape {arr.shape}, expected ({n},)")
    if kind == "bool":
        if arr.dtype != np.bool_:
            raise NetworkError(f"{path}: '{key}' has dtype {arr.dtype}, expected bool")
        return arr.astype(np.bool_)
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
        raise NetworkError(f"{path}: '{key}' must hold finite numbers")
    return arr.astype(np.float64)


def load_network(path: str | Path) -> Network:
    """Load and validate a network ``.npz``.

    Raises
    ------
    NetworkError
        Missing file, unreadable archive, wrong format version, missing keys, weights that are not
        +-1, shapes that do not chain from layer to layer, vectors of the wrong length.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            npz = {k: archive[k] for k in archive.files}
    except (OSError, ValueError) as exc:
        raise NetworkError(f"{path}: not a readable .npz archive ({exc})") from None
    version = int(_get(npz, "format_version", path))
    if version != FORMAT_VERSION:
        raise NetworkError(f"{path}: format_version {version}, this accelsim reads {FORMAT_VERSION}")
    n_layers = int(_get(npz, "n_layers", path))
    if n_layers < 1:
        raise NetworkError(f"{path}: n_layers = {n_layers}, expected >= 1")
    layers: list[HiddenLayer | OutputLayer] = []
    n_in = None
    for i in range(n_layers):
        w = _get(npz, f"layer{i}_weights", path)
        if w.ndim != 2:
            raise NetworkError(f"{path}: layer{i}_weights has shape {w.shape}, expected (n_out, n_in)")
        if n_in is not None and w.shape[1] != n_in:
            raise NetworkError(
                f"{path}: layer{i}_weights has shape {w.shape}: its {w.shape[1]} inputs do not chain "
                f"with the {n_in} outputs of layer{i - 1}")
        if not np.issubdtype(w.dtype, np.number) or not np.all(np.abs(w) == 1):
            bad = w[np.abs(w) != 1].ravel()[:3] if np.issubdtype(w.dtype, np.number) else w.dtype
            raise NetworkError(f"{path}: layer{i}_weights must be +1/-1 only, found {bad}")
        w = np.ascontiguousarray(w, dtype=np.int8)
        n_out = w.shape[0]
        if i < n_layers - 1:
            layers.append(HiddenLayer(
                weights=w,
                threshold=_vector(npz, f"layer{i}_threshold", path, n_out, "float"),
                flip=_vector(npz, f"layer{i}_flip", path, n_out, "bool")))
        else:
            layers.append(OutputLayer(
                weights=w,
                scale=_vector(npz, f"layer{i}_scale", path, n_out, "float"),
                shift=_vector(npz, f"layer{i}_shift", path, n_out, "float")))
        n_in = n_out
    threshold = float(_get(npz, "input_threshold", path))
    test_x = npz.get("test_x_packed")
    test_y = npz.get("test_y")
    if (test_x is None) != (test_y is None):
        raise NetworkError(f"{path}: 'test_x_packed' and 'test_y' must come together")
    if test_x is not None:
        n_in0 = layers[0].weights.shape[1]
        if test_x.ndim != 2 or test_x.shape[1] != (n_in0 + 7) // 8 or test_x.dtype != np.uint8:
            raise NetworkError(f"{path}: test_x_packed has shape {test_x.shape} {test_x.dtype}, "
                               f"expected (n, {(n_in0 + 7) // 8}) uint8 for {n_in0} inputs")
        if test_y.shape != (test_x.shape[0],):
            raise NetworkError(f"{path}: test_y has shape {test_y.shape}, expected ({test_x.shape[0]},)")
    return Network(
        hidden=tuple(layers[:-1]), output=layers[-1], input_threshold=threshold,
        dataset=str(npz.get("dataset", "")), description=str(npz.get("description", "")),
        test_x_packed=test_x, test_y=None if test_y is None else test_y.astype(np.int64),
        test_source=str(npz.get("test_source", "")))


def save_network(path: str | Path, net: Network) -> None:
    """Write ``net`` in the ``.npz`` format that ``load_network`` reads."""
    arrays: dict[str, np.ndarray] = {
        "format_version": np.int64(FORMAT_VERSION),
        "n_layers": np.int64(len(net.layers)),
        "input_threshold": np.float64(net.input_threshold),
        "dataset": np.str_(net.dataset),
        "description": np.str_(net.description),
    }
    for i, layer in enumerate(net.layers):
        arrays[f"layer{i}_weights"] = layer.weights.astype(np.int8)
        if isinstance(layer, HiddenLayer):
            arrays[f"layer{i}_threshold"] = layer.threshold.astype(np.float64)
            arrays[f"layer{i}_flip"] = layer.flip.astype(np.bool_)
        else:
            arrays[f"layer{i}_scale"] = layer.scale.astype(np.float64)
            arrays[f"layer{i}_shift"] = layer.shift.astype(np.float64)
    if net.test_x_packed is not None:
        arrays["test_x_packed"] = net.test_x_packed
        arrays["test_y"] = net.test_y.astype(np.uint8)
        arrays["test_source"] = np.str_(net.test_source)
    np.savez_compressed(path, **arrays)


def neuron_output(popcount: np.ndarray, layer: HiddenLayer) -> np.ndarray:
    """Binary activations (+1/-1 int8) of a hidden layer from its XNOR popcounts (n_images, n_out)."""
    fire = np.where(layer.flip, popcount <= layer.threshold, popcount >= layer.threshold)
    return np.where(fire, 1, -1).astype(np.int8)


def class_scores(popcount: np.ndarray, layer: OutputLayer) -> np.ndarray:
    """Per-class scores (n_images, n_classes) of the output layer from its popcounts."""
    return layer.scale * popcount + layer.shift


def reference_predict(net: Network, x_pm1: np.ndarray) -> np.ndarray:
    """Ideal inference (no faults): predicted class per image, from +-1 inputs (n_images, n_in).

    Deliberately plain: integer matrix products give dot = 2 * popcount - n_in. The simulator's
    bit-packed kernels must agree with this exactly when all error rates are zero.
    """
    a = np.asarray(x_pm1, dtype=np.int32)
    for layer in net.hidden:
        popcount = (a @ layer.weights.T.astype(np.int32) + layer.weights.shape[1]) // 2
        a = neuron_output(popcount, layer).astype(np.int32)
    popcount = (a @ net.output.weights.T.astype(np.int32) + net.output.weights.shape[1]) // 2
    return np.argmax(class_scores(popcount, net.output), axis=1)
