"""Export a trained binarized LeNet-4 (``accelsim.train.lenet``) to the network ``.npz`` format
(version 2), and the float64 evaluation of its trained parameters that the export must reproduce.

Block I (real conv, batch norm, ReLU, pool, batch norm, sign) becomes the off-crossbar ``front``;
block II (binary conv, pool) a conv layer whose per-element batch norm III folds into integer
thresholds on the pooled popcount; block III's binary dense layer the output layer, whose popcounts
batch norm IV and the real classifier read out through a real ``head`` (off-crossbar).
"""

from __future__ import annotations

import numpy as np

from accelsim.data import Dataset
from accelsim.network import (
    ConvShape,
    HiddenLayer,
    Network,
    OutputLayer,
    RealFront,
    front_activations,
    patches,
)
from accelsim.network import pool_map as _pool
from accelsim.train.bnn import BN_EPS, bn_affine
from accelsim.train.export import fold_threshold
from accelsim.train.lenet import LeNetResult


def _sign(w: np.ndarray) -> np.ndarray:
    return np.where(w >= 0, 1, -1).astype(np.int8)


def _bn(params: dict, stats: dict, i: int) -> tuple[np.ndarray, ...]:
    return params[f"bn{i}_gamma"], params[f"bn{i}_beta"], stats[f"bn{i}_mean"], stats[f"bn{i}_var"]


def _affine(params: dict, stats: dict, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Batch norm i as scale * v + shift in float64 (the front's form)."""
    gamma, beta, mean, var = (np.asarray(a, dtype=np.float64) for a in _bn(params, stats, i))
    scale = gamma / np.sqrt(var + BN_EPS)
    return scale, beta - mean * scale


def _geometry(params: dict, side: int) -> tuple[ConvShape, ConvShape]:
    k, _, _, c1 = params["conv1_w"].shape
    front = ConvShape(in_h=side, in_w=side, in_c=1, kernel=k, pool=True)
    conv = ConvShape(in_h=front.map_h, in_w=front.map_w, in_c=c1, kernel=k, pool=True)
    return front, conv


def _front(params: dict, stats: dict, side: int) -> RealFront:
    geometry, _ = _geometry(params, side)
    scale, shift = _affine(params, stats, 1)
    out_scale, out_shift = _affine(params, stats, 2)
    return RealFront(
        weights=np.asarray(params["conv1_w"], dtype=np.float64),
        conv=geometry,
        scale=scale,
        shift=shift,
        out_scale=out_scale,
        out_shift=out_shift,
    )


def _conv_rows(params: dict) -> np.ndarray:
    """Binary conv weights (k, k, c1, c2) -> crossbar rows (c2, k * k * c1) in (ky, kx, c) order."""
    w = _sign(params["conv2_w"])
    return np.ascontiguousarray(w.reshape(-1, w.shape[3]).T)


def predict_float64(params: dict, stats: dict, x: np.ndarray, side: int) -> np.ndarray:
    """int64 classes of the trained LeNet evaluated in float64 with its batch norms unfolded:
    the float inference the exported integer network must equal image for image. Block I is
    ``network.front_activations`` (the off-crossbar evaluation itself)."""
    front, conv = _geometry(params, side)
    a = front_activations(_front(params, stats, side), x).astype(np.float64)
    w2 = _conv_rows(params).astype(np.float64)
    dot = _pool(patches(a, conv) @ w2.T, conv, len(x))  # (n, map * c2), (y, x, f) order
    a3 = np.where(bn_affine(*_bn(params, stats, 3), dot) >= 0, 1.0, -1.0)
    d3 = a3 @ _sign(params["dense3_w"]).T.astype(np.float64)
    z4 = bn_affine(*_bn(params, stats, 4), d3)
    scores = z4 @ np.asarray(params["dense4_w"], dtype=np.float64).T + params["dense4_b"].astype(np.float64)
    return np.argmax(scores, axis=1)


def lenet_network(
    result: LeNetResult, *, side: int, dataset: str, description: str, test: Dataset | None
) -> Network:
    """The exported network: a real front, one binary conv layer, a binary dense output layer with a
    real read-out head. ``test`` (intensity images) is embedded as ``test_x`` if given."""
    params, stats = result.params, result.stats
    _, conv = _geometry(params, side)
    w2 = _conv_rows(params)
    threshold, flip = fold_threshold(*_bn(params, stats, 3), w2.shape[1])
    w3 = _sign(params["dense3_w"])
    n3 = w3.shape[1]
    gamma4, beta4, mean4, var4 = (np.asarray(a, dtype=np.float64) for a in _bn(params, stats, 4))
    sigma4 = np.sqrt(var4 + BN_EPS)
    w4 = np.asarray(params["dense4_w"], dtype=np.float64)
    # score = W4 (gamma (2 p - n3 - mu) / sigma + beta) + b4 = head p + shift
    head = w4 * (2.0 * gamma4 / sigma4)[None, :]
    shift = w4 @ (beta4 - gamma4 * (n3 + mean4) / sigma4) + params["dense4_b"].astype(np.float64)
    return Network(
        front=_front(params, stats, side),
        hidden=(HiddenLayer(weights=w2, threshold=threshold, flip=flip, conv=conv),),
        output=OutputLayer(weights=w3, head=head, shift=shift),
        input_threshold=float("nan"),
        dataset=dataset,
        description=description,
        test_x=None if test is None else np.asarray(test.x, dtype=np.float32),
        test_y=None if test is None else np.asarray(test.y, dtype=np.int64),
        test_source="" if test is None else test.source,
    )
