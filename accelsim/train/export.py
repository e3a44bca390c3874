"""Export a trained binarized MLP to the accelsim network ``.npz`` format (batch norm folded into
integer popcount thresholds and per-class affine scores), and a numpy reference of its inference.
"""

from __future__ import annotations

import os

import numpy as np

from accelsim.data import pack_bits
from accelsim.outputs import atomic_write
from accelsim.train.bnn import BN_EPS, Layer, Model, bn_affine

#: Version of the network ``.npz`` format written here.
NETWORK_FORMAT_VERSION = 1


def fold_hidden(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """Fold a hidden layer's eval-mode batch norm and sign into a popcount threshold.

    The float inference outputs +1 iff ``bn_affine(dot) >= 0`` with dot = 2 p - n_in, p the XNOR
    popcount. That float expression is evaluated here at every p in 0..n_in, so the fold is exact by
    construction, rounding included. It is monotone in p (non-decreasing for gamma >= 0, non-increasing
    for gamma < 0: each float operation rounds monotonically), so:

    - gamma >= 0: output +1 iff p >= T, T = the smallest p giving +1 (n_in + 1 if none), flip False;
      gamma == 0 gives a constant output: T = 0 if beta >= 0 (always +1), else n_in + 1 (always -1).
    - gamma < 0: output +1 iff p <= T, T = the largest p giving +1 (-1 if none), flip True.

    T is an integer held in a float64. For gamma > 0 it equals ceil((n_in + mu - beta sigma/gamma)/2)
    up to float rounding at exact ties.

    Returns
    -------
    (threshold float64 (n_out,), flip bool (n_out,))
    """
    return fold_threshold(layer.gamma, layer.beta, layer.mean, layer.var, layer.w.shape[1])


def fold_threshold(
    gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray, n_in: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fold_hidden` on batch-norm parameters (one per neuron, or per output-map element of a
    convolution) of a binary layer with ``n_in`` inputs per neuron: +1 iff ``bn_affine(2 p - n_in) >= 0``."""
    p = np.arange(n_in + 1, dtype=np.float64)
    z = bn_affine(gamma[:, None], beta[:, None], mean[:, None], var[:, None], 2.0 * p - n_in)
    on = z >= 0  # (n_out, n_in + 1)
    flip = gamma < 0
    n_on = on.sum(axis=1)
    first_on = np.where(n_on > 0, np.argmax(on, axis=1), n_in + 1)
    threshold = np.where(flip, n_on - 1, first_on).astype(np.float64)
    expected = np.where(flip[:, None], p[None, :] <= threshold[:, None], p[None, :] >= threshold[:, None])
    if not np.array_equal(on, expected):
        bad = int(np.flatnonzero(np.any(on != expected, axis=1))[0])
        raise RuntimeError(f"batch norm of neuron {bad} is not monotone in the popcount (a bug)")
    return threshold, flip


def fold_output(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """Fold the output layer's batch norm: score = scale * p + shift, scale = 2 gamma / sigma,
    shift = beta - gamma (n_in + mu) / sigma, sigma = sqrt(var + eps). Returns float64 (scale, shift)."""
    n_in = layer.w.shape[1]
    gamma = layer.gamma.astype(np.float64)
    sigma = np.sqrt(layer.var + BN_EPS)
    scale = 2.0 * gamma / sigma
    shift = layer.beta.astype(np.float64) - gamma * (n_in + layer.mean) / sigma
    return scale, shift


def network_arrays(
    model: Model,
    *,
    dataset: str,
    description: str,
    test_x_pm1: np.ndarray,
    test_y: np.ndarray,
    test_source: str,
) -> dict[str, np.ndarray]:
    """The arrays of the network ``.npz`` format for ``model`` (keys and dtypes: workloads/README.md)."""
    n_layers = len(model.layers)
    arrays: dict[str, np.ndarray] = {
        "format_version": np.int64(NETWORK_FORMAT_VERSION),
        "n_layers": np.int64(n_layers),
        "input_threshold": np.float64(model.input_threshold),
        "dataset": np.str_(dataset),
        "description": np.str_(description),
    }
    for i, layer in enumerate(model.layers):
        arrays[f"layer{i}_weights"] = layer.w_binary
        if i < n_layers - 1:
            arrays[f"layer{i}_threshold"], arrays[f"layer{i}_flip"] = fold_hidden(layer)
        else:
            arrays[f"layer{i}_scale"], arrays[f"layer{i}_shift"] = fold_output(layer)
    test_x_pm1 = np.asarray(test_x_pm1)
    if test_x_pm1.ndim != 2 or test_x_pm1.shape[1] != model.sizes[0]:
        raise ValueError(
            f"test inputs have shape {test_x_pm1.shape}, the network takes {model.sizes[0]} inputs"
        )
    arrays["test_x_packed"] = pack_bits(test_x_pm1)
    arrays["test_y"] = np.asarray(test_y).astype(np.uint8)
    arrays["test_source"] = np.str_(test_source)
    return arrays


def save_network(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays with ``np.savez_compressed``, atomically (``accelsim.outputs``: a temporary file,
    fsynced and renamed into place)."""
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))


def predict_folded(npz: dict[str, np.ndarray] | np.lib.npyio.NpzFile, x_pm1: np.ndarray) -> np.ndarray:
    """Reference integer inference of a network ``.npz`` (a dict of its arrays or an open NpzFile).

    p = #{k : w[j, k] == x[k]} (XNOR popcount); hidden neuron = +1 iff p >= T (p <= T if flip), else -1;
    output score_c = scale_c p_c + shift_c; prediction = argmax (first index on ties).

    Parameters
    ----------
    npz
        The network arrays.
    x_pm1
        (n, n_in) input bits, +1/-1.

    Returns
    -------
    numpy.ndarray
        int64 (n,) predicted classes.
    """
    n_layers = int(npz["n_layers"])
    h = np.asarray(x_pm1, dtype=np.float32)
    for i in range(n_layers):
        w = np.asarray(npz[f"layer{i}_weights"], dtype=np.float32)
        n_in = w.shape[1]
        p = ((h @ w.T + n_in) / 2).astype(np.float64)  # sums of +-1 in float32 are exact
        if i < n_layers - 1:
            threshold, flip = npz[f"layer{i}_threshold"], npz[f"layer{i}_flip"]
            on = np.where(flip, p <= threshold, p >= threshold)
            h = np.where(on, np.float32(1.0), np.float32(-1.0))
        else:
            score = npz[f"layer{i}_scale"] * p + npz[f"layer{i}_shift"]
            return np.argmax(score, axis=1)
    raise ValueError("network has no layers")
