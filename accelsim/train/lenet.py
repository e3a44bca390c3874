"""The binarized LeNet-4 of Tzoufras et al. (001 Sec. II A) in numpy, trained with bit errors in its
binary activations: im2col convolution, 2x2 max-pooling, batch norm, sign activations with
straight-through gradients, Adam.

Architecture (001 Sec. II A, "a modified LeNet-4"):

I.   real convolution (1 -> ``channels1``, k x k, valid) -> batch norm -> ReLU -> 2x2 max-pool;
II.  batch norm -> binary activation (sign, flipped at ``activation_ber`` in training) -> binary
     convolution (``channels1`` -> ``channels2``, sign weights) -> 2x2 max-pool;
III. batch norm -> binary activation (flipped likewise) -> binary dense layer (-> ``hidden``);
IV.  batch norm -> real dense layer (-> classes) -> softmax.

Only the binary activations see errors, only during training; the weights are error-free and the
test set is classified without errors (001 Sec. I: "we only allow for bit errors in the binary
activations during training"; Sec. II A: "the filter weights were left error-free").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from accelsim import rng as rng_streams
from accelsim.data import Dataset
from accelsim.errors import DataError, UsageError

#: Batch-norm epsilon (added to the variance), as in ``accelsim.train.bnn``.
BN_EPS = 1e-4
#: Momentum of the running batch-norm statistics used in eval mode.
BN_MOMENTUM = 0.1
#: Sub-stream key of ``rng.stream(seed, "train", ...)`` for LeNet runs (distinct from the MLP trainer's
#: keys 0 and 1 and from ``approx``'s).
STREAM_KEY = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class LeNetConfig:
    """Hyper-parameters of a binarized LeNet-4 run; checked on construction (``UsageError``)."""

    channels1: int = 16
    """Filters of the real first convolution (>= 1). 001 does not give its widths; we keep them small
    so that a run fits a 2-core machine."""
    channels2: int = 32
    """Filters of the binary second convolution (>= 1)."""
    hidden: int = 64
    """Width of the binary dense layer III (>= 1); LeNet's fully connected layer."""
    kernel: int = 5
    """Side of the square convolution kernels (>= 1, odd or even), LeNet's 5 x 5."""
    epochs: int = 5
    """Passes over the training set (>= 1)."""
    batch_size: int = 100
    """Images per mini-batch (>= 2: batch norm needs a batch variance)."""
    lr: float = 0.01
    """Adam learning rate at the first epoch (> 0)."""
    lr_final: float = 0.001
    """Learning rate at the last epoch; geometric decay per epoch (> 0)."""
    activation_ber: float = 0.0
    """Probability that a binary activation is flipped during training, in [0, 0.5] (001's BER;
    0.5 makes the activations random)."""

    def __post_init__(self) -> None:
        for key in ("channels1", "channels2", "hidden", "kernel", "epochs"):
            value = getattr(self, key)
            if not isinstance(value, int | np.integer) or value < 1:
                raise UsageError(f"lenet {key}: must be an integer >= 1, got {value!r}")
        if self.batch_size < 2:
            raise UsageError(f"lenet batch_size: must be >= 2 (batch norm), got {self.batch_size}")
        for key in ("lr", "lr_final"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise UsageError(f"lenet {key}: must be a positive number, got {value!r}")
        if not 0.0 <= self.activation_ber <= 0.5:
            raise UsageError(
                f"lenet activation_ber: must be a probability in [0, 0.5], got {self.activation_ber!r}"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class LeNetEpoch:
    """One epoch of a run (accuracies are fractions in [0, 1])."""

    epoch: int
    loss: float
    """Mean cross-entropy over the epoch's training batches (as trained: batch statistics, flips)."""
    train_acc: float
    """Accuracy on the training batches as trained."""
    test_acc: float | None
    """Accuracy of the eval-mode network (running BN statistics, no flips) on the test set."""
    seconds: float


@dataclass(frozen=True, kw_only=True, slots=True)
class LeNetResult:
    """The trained parameters, batch-norm statistics and per-epoch history of a run."""

    config: LeNetConfig
    seed: int
    params: dict[str, np.ndarray]
    """Parameters: ``conv1_w`` (k, k, 1, c1) is real; the latent ``conv2_w`` (k, k, c1, c2) and
    ``dense3_w`` (hidden, n3) are binarized by sign in the forward pass; ``dense4_w`` (classes,
    hidden) and ``dense4_b`` are real; ``bnI_gamma``/``bnI_beta`` for I in 1..4. n3 is the length of the
    flattened (side, side, c2) output of block II."""
    stats: dict[str, np.ndarray]
    """Running batch-norm statistics ``bnI_mean``/``bnI_var`` (eval mode)."""
    history: tuple[LeNetEpoch, ...]
    test_acc: float | None
    seconds: float


# ------------------------------------------------------------------------------ building blocks


def sign(a: np.ndarray) -> np.ndarray:
    """float32 +1/-1 with sign(0) = +1 (STYLE.md)."""
    return np.where(a >= 0, np.float32(1.0), np.float32(-1.0))


def im2col(x: np.ndarray, k: int) -> np.ndarray:
    """Patches of a valid, stride-1 convolution as rows (channels-last layout).

    Parameters
    ----------
    x : ndarray, (n, h, w, c)
    k : int
        Kernel side.

    Returns
    -------
    ndarray, (n * oh * ow, k * k * c), oh = h - k + 1, ow = w - k + 1
        Row ``(i, y, x)`` holds ``x[i, y:y+k, x:x+k, :]`` flattened in (ky, kx, c) order, the order of
        ``w.reshape(-1, c_out)`` for weights (k, k, c, c_out).
    """
    n, h, w, c = x.shape
    if k > h or k > w:
        raise ValueError(f"kernel {k} larger than the {h} x {w} input")
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))  # (n, oh, ow, c, k, k)
    oh, ow = h - k + 1, w - k + 1
    return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n * oh * ow, k * k * c)


def col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], k: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: adds each row back onto the pixels its patch came from.

    ``col2im(im2col(x, k), x.shape, k)`` is ``x`` times the number of patches covering each pixel.
    """
    n, h, w, c = x_shape
    oh, ow = h - k + 1, w - k + 1
    patches = cols.reshape(n, oh, ow, k, k * c)  # a patch row (kx, c) is contiguous in the image row
    out = np.zeros((n, h, w * c), dtype=cols.dtype)
    for ky in range(k):
        for x0 in range(ow):
            out[:, ky : ky + oh, x0 * c : (x0 + k) * c] += patches[:, :, x0, ky, :]
    return out.reshape(x_shape)


def conv2d(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valid, stride-1 cross-correlation, channels last:
    ``out[i, y, x, o] = sum_{ky, kx, c} w[ky, kx, c, o] x[i, y + ky, x + kx, c]``.

    ``x`` is (n, h, w, c), ``w`` is (k, k, c, c_out). Returns ``(out (n, oh, ow, c_out), cols)``;
    ``cols`` is the im2col matrix, kept for the backward pass.
    """
    n, h, wd, _ = x.shape
    k, _, _, c_out = w.shape
    cols = im2col(x, k)
    out = cols @ w.reshape(-1, c_out)
    return out.reshape(n, h - k + 1, wd - k + 1, c_out), cols


def conv2d_backward(
    dout: np.ndarray, cols: np.ndarray, w: np.ndarray, x_shape: tuple[int, int, int, int] | None
) -> tuple[np.ndarray | None, np.ndarray]:
    """Gradients ``(dx, dw)`` of :func:`conv2d` given ``dout`` (n, oh, ow, c_out); ``dx`` is None when
    ``x_shape`` is None (the input layer needs no input gradient)."""
    k, _, _, c_out = w.shape
    d2 = dout.reshape(-1, c_out)
    dw = (cols.T @ d2).reshape(w.shape)
    dx = None if x_shape is None else col2im(d2 @ w.reshape(-1, c_out).T, x_shape, k)
    return dx, dw


def maxpool2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2 x 2 max-pooling, stride 2, channels last (odd trailing rows/columns dropped).

    Returns ``(out (n, h // 2, w // 2, c), arg)``; ``arg`` (uint8) is the index 0..3 (row-major in the
    window) of the first maximum, so that ties (frequent on the integer outputs of a binary
    convolution) route the gradient to one input only.
    """
    h2, w2 = x.shape[1] // 2, x.shape[2] // 2
    q = [x[:, dy : 2 * h2 : 2, dx : 2 * w2 : 2, :] for dy in (0, 1) for dx in (0, 1)]
    out = np.maximum(np.maximum(q[0], q[1]), np.maximum(q[2], q[3]))
    arg = np.where(q[0] == out, 0, np.where(q[1] == out, 1, np.where(q[2] == out, 2, 3))).astype(np.uint8)
    return out, arg


def maxpool2_backward(dout: np.ndarray, arg: np.ndarray, x_shape: tuple[int, int, int, int]) -> np.ndarray:
    """Gradient of :func:`maxpool2` with respect to its input (zero off the selected maxima)."""
    h2, w2 = dout.shape[1], dout.shape[2]
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for j, (dy, dxx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        dx[:, dy : 2 * h2 : 2, dxx : 2 * w2 : 2, :] = np.where(arg == j, dout, 0)
    return dx


def binary_activation(
    z: np.ndarray, ber: float, gen: np.random.Generator | None, *, training: bool
) -> tuple[np.ndarray, np.ndarray]:
    """sign(z), each entry flipped with probability ``ber`` in training mode only (001 eq. 2-3 with
    p_-1 = p_+1 = 1 - BER: a write error of the stored binary activation, ignored, not corrected).

    Returns ``(a, factor)`` with ``a = sign(z) * factor`` and ``factor`` in {+1, -1} (all +1 in eval
    mode or at BER 0). ``gen`` is needed only when flips can happen.
    """
    factor = np.ones(z.shape, dtype=np.float32)
    if training and ber > 0:
        if gen is None:
            raise ValueError("binary_activation: a Generator is needed for flips in training mode")
        factor[gen.random(z.shape, dtype=np.float32) < ber] = -1.0
    return sign(z) * factor, factor


def batchnorm_train(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Batch norm with the batch's statistics, per channel (last axis): images (n, h, w, c) or
    vectors (n, f) [Ioffe & Szegedy 2015].

    Returns ``(y, cache)``; ``cache`` holds (xhat, 1/sigma, batch mean, batch variance, number of
    values per channel).
    """
    x2 = x.reshape(-1, x.shape[-1])
    mu = x2.mean(axis=0)
    centred = x2 - mu
    var = np.einsum("ij,ij->j", centred, centred) / np.float32(x2.shape[0])
    inv = (1.0 / np.sqrt(var + np.float32(BN_EPS))).astype(np.float32)
    xhat = centred * inv
    return (gamma * xhat + beta).reshape(x.shape), (xhat, inv, mu, var, x2.shape[0])


def batchnorm_eval(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray
) -> np.ndarray:
    """Batch norm with running statistics: gamma (x - mean) / sqrt(var + eps) + beta (float32)."""
    inv = (1.0 / np.sqrt(var + BN_EPS)).astype(np.float32)
    scale = gamma * inv
    shift = beta - mean.astype(np.float32) * scale
    return x * scale + shift


def batchnorm_backward(dy: np.ndarray, gamma: np.ndarray, cache: tuple) -> tuple[np.ndarray, ...]:
    """Gradients ``(dx, dgamma, dbeta)`` of :func:`batchnorm_train`."""
    xhat, inv, _, _, m = cache
    dy2 = dy.reshape(-1, dy.shape[-1])
    dgamma = np.einsum("ij,ij->j", dy2, xhat)
    dbeta = dy2.sum(axis=0)
    dx = (gamma * inv / np.float32(m)) * (m * dy2 - dbeta - xhat * dgamma)
    return dx.reshape(dy.shape), dgamma, dbeta


# ---------------------------------------------------------------------------------------- network


def init_params(
    config: LeNetConfig, image_side: int, n_classes: int, gen: np.random.Generator
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Initial parameters and BN statistics.

    Real weights: He-normal (fan-in) for conv I, Glorot-uniform for the classifier. Binary layers:
    Glorot-uniform latent weights (their signs are the weights): small latents let the signs move
    within the few hundred steps of a short run (BinaryNet's initialisation, 001 ref. 4).
    """
    k, c1, c2 = config.kernel, config.channels1, config.channels2
    n3 = c2 * _side_after(image_side, k) ** 2
    h = config.hidden
    f32 = np.float32
    params = {
        "conv1_w": (gen.standard_normal((k, k, 1, c1)) * math.sqrt(2.0 / (k * k))).astype(f32),
        "conv2_w": _glorot(gen, (k, k, c1, c2), k * k * c1, k * k * c2),
        "dense3_w": _glorot(gen, (h, n3), n3, h),
        "dense4_w": _glorot(gen, (n_classes, h), h, n_classes),
        "dense4_b": np.zeros(n_classes, dtype=f32),
    }
    stats = {}
    for i, width in ((1, c1), (2, c1), (3, n3), (4, h)):
        params[f"bn{i}_gamma"] = np.ones(width, dtype=f32)
        params[f"bn{i}_beta"] = np.zeros(width, dtype=f32)
        stats[f"bn{i}_mean"] = np.zeros(width, dtype=np.float64)
        stats[f"bn{i}_var"] = np.ones(width, dtype=np.float64)
    return params, stats


def _glorot(gen: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    """float32 uniform in +-sqrt(6 / (fan_in + fan_out)) [Glorot & Bengio 2010]."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return gen.uniform(-bound, bound, shape).astype(np.float32)


def _side_after(side: int, k: int) -> int:
    """Image side after conv I, pool, conv II, pool."""
    s = (side - k + 1) // 2
    return (s - k + 1) // 2


#: Layers whose latent weights are binarized by sign in the forward pass.
BINARY_WEIGHTS = ("conv2_w", "dense3_w")


def forward_eval(
    params: dict[str, np.ndarray], stats: dict[str, np.ndarray], x: np.ndarray, batch: int = 500
) -> np.ndarray:
    """Class scores (float32 logits, (n, n_classes)) of the eval-mode network: running BN
    statistics, no activation errors. ``x``: intensities (n, side, side, 1)."""
    w2, w3 = sign(params["conv2_w"]), sign(params["dense3_w"])
    out = []

    def bn(i: int, v: np.ndarray) -> np.ndarray:
        return batchnorm_eval(
            v, params[f"bn{i}_gamma"], params[f"bn{i}_beta"], stats[f"bn{i}_mean"], stats[f"bn{i}_var"]
        )

    for start in range(0, x.shape[0], batch):
        h = np.asarray(x[start : start + batch], dtype=np.float32)
        h, _ = conv2d(h, params["conv1_w"])
        h, _ = maxpool2(np.maximum(bn(1, h), 0.0))
        h, _ = conv2d(sign(bn(2, h)), w2)
        h, _ = maxpool2(h)
        h = h.reshape(h.shape[0], -1)
        h = sign(bn(3, h)) @ w3.T
        out.append(bn(4, h) @ params["dense4_w"].T + params["dense4_b"])
    return np.concatenate(out) if out else np.zeros((0, params["dense4_b"].size), dtype=np.float32)


def predict(params: dict[str, np.ndarray], stats: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """int64 predicted classes (argmax of :func:`forward_eval`)."""
    return np.argmax(forward_eval(params, stats, x), axis=1)


def train_step(
    params: dict[str, np.ndarray],
    stats: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    ber: float,
    gen: np.random.Generator,
) -> tuple[float, int, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Forward (training mode: batch statistics, activation flips at ``ber``) and backward on a batch.

    Returns ``(loss, n_correct, grads, new_stats)``: gradients of the mean cross-entropy for every
    entry of ``params`` (straight-through estimators for the sign functions: 1_{|z| <= 1} for the
    activations, 1_{|w| <= 1} for the latent binary weights [Courbariaux & Bengio 2016, 001 ref. 4]),
    and the running BN statistics after this batch. ``params`` and ``stats`` are not modified.
    """
    f32 = np.float32
    bsz = x.shape[0]
    w2, w3 = sign(params["conv2_w"]), sign(params["dense3_w"])
    caches: dict[str, tuple] = {}
    # I: real conv -> BN -> ReLU -> pool
    c1, cols1 = conv2d(x, params["conv1_w"])
    b1, caches["bn1"] = batchnorm_train(c1, params["bn1_gamma"], params["bn1_beta"])
    r1 = np.maximum(b1, 0.0)
    p1, arg1 = maxpool2(r1)
    # II: BN -> binary activation (errors) -> binary conv -> pool
    b2, caches["bn2"] = batchnorm_train(p1, params["bn2_gamma"], params["bn2_beta"])
    a2, f2 = binary_activation(b2, ber, gen, training=True)
    c2, cols2 = conv2d(a2, w2)
    p2, arg2 = maxpool2(c2)
    flat = p2.reshape(bsz, -1)
    # III: BN -> binary activation (errors) -> binary dense
    b3, caches["bn3"] = batchnorm_train(flat, params["bn3_gamma"], params["bn3_beta"])
    a3, f3 = binary_activation(b3, ber, gen, training=True)
    d3 = a3 @ w3.T
    # IV: BN -> real dense -> softmax
    b4, caches["bn4"] = batchnorm_train(d3, params["bn4_gamma"], params["bn4_beta"])
    logits = b4 @ params["dense4_w"].T + params["dense4_b"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    prob = np.exp(shifted)
    prob /= prob.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(prob[np.arange(bsz), y] + 1e-30)))
    correct = int(np.sum(np.argmax(logits, axis=1) == y))

    grads: dict[str, np.ndarray] = {}
    dlog = prob
    dlog[np.arange(bsz), y] -= 1.0
    dlog /= f32(bsz)
    grads["dense4_w"] = dlog.T @ b4
    grads["dense4_b"] = dlog.sum(axis=0)
    db4 = dlog @ params["dense4_w"]
    dd3, grads["bn4_gamma"], grads["bn4_beta"] = batchnorm_backward(db4, params["bn4_gamma"], caches["bn4"])
    grads["dense3_w"] = (dd3.T @ a3) * (np.abs(params["dense3_w"]) <= 1.0)
    db3 = (dd3 @ w3) * f3 * (np.abs(b3) <= 1.0)
    dflat, grads["bn3_gamma"], grads["bn3_beta"] = batchnorm_backward(db3, params["bn3_gamma"], caches["bn3"])
    dc2 = maxpool2_backward(dflat.reshape(p2.shape), arg2, c2.shape)
    da2, dw2 = conv2d_backward(dc2, cols2, w2, a2.shape)
    grads["conv2_w"] = dw2 * (np.abs(params["conv2_w"]) <= 1.0)
    db2 = da2 * f2 * (np.abs(b2) <= 1.0)
    dp1, grads["bn2_gamma"], grads["bn2_beta"] = batchnorm_backward(db2, params["bn2_gamma"], caches["bn2"])
    dr1 = maxpool2_backward(dp1, arg1, r1.shape)
    db1 = dr1 * (b1 > 0)
    dc1, grads["bn1_gamma"], grads["bn1_beta"] = batchnorm_backward(db1, params["bn1_gamma"], caches["bn1"])
    _, grads["conv1_w"] = conv2d_backward(dc1, cols1, params["conv1_w"], None)

    new_stats = {}
    for i in range(1, 5):
        _, _, mu, var, m = caches[f"bn{i}"]
        unbiased = var.astype(np.float64) * m / max(m - 1, 1)
        new_stats[f"bn{i}_mean"] = (1 - BN_MOMENTUM) * stats[f"bn{i}_mean"] + BN_MOMENTUM * mu
        new_stats[f"bn{i}_var"] = (1 - BN_MOMENTUM) * stats[f"bn{i}_var"] + BN_MOMENTUM * unbiased
    return loss, correct, grads, new_stats


class _Adam:
    """Adam (beta1 0.9, beta2 0.999, eps 1e-8) over a dict of float32 arrays, updated in place."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        for key, p in params.items():
            g, m, v = grads[key], self.m[key], self.v[key]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            p -= np.float32(lr / c1) * m / (np.sqrt(v / c2) + np.float32(eps))


def as_images(data: Dataset) -> np.ndarray:
    """float32 (n, side, side, 1) intensities (channels last) of a square-image, non-binarized set."""
    side = math.isqrt(data.n_features)
    if side * side != data.n_features:
        raise DataError(f"{data.source}: LeNet needs square images, these have {data.n_features} pixels")
    if data.binarized:
        raise DataError(f"{data.source}: LeNet's first layer is real-valued; give intensity images")
    return data.x.reshape(-1, side, side, 1)


def train_lenet(
    config: LeNetConfig,
    train: Dataset,
    test: Dataset | None,
    seed: int,
    progress: Callable[[LeNetEpoch], None] | None = None,
) -> LeNetResult:
    """Train the binarized LeNet-4 with activation errors (001 Sec. II A).

    Parameters
    ----------
    config
        Widths, schedule and the activation BER.
    train, test
        Intensity images (square); ``test`` (optional) is classified after every epoch, error-free.
    seed
        Run seed: initial weights, batch order and activation flips come from
        ``rng.stream(seed, "train", STREAM_KEY, ...)``.
    progress
        Called with each epoch's record.

    Returns
    -------
    LeNetResult
    """
    t0 = time.perf_counter()
    x = as_images(train)
    side = x.shape[1]
    if _side_after(side, config.kernel) < 1:
        raise UsageError(f"lenet kernel: {config.kernel} is too large for {side} x {side} images")
    n_classes = int(train.y.max()) + 1
    if test is not None:
        x_test = as_images(test)
        if x_test.shape[1] != side:
            raise DataError(f"{test.source}: test images are {x_test.shape[1]} px wide, training {side}")
        n_classes = max(n_classes, int(test.y.max()) + 1)
    n_batches = x.shape[0] // config.batch_size
    if n_batches == 0:
        raise UsageError(f"lenet batch_size: {config.batch_size} is larger than the {x.shape[0]} images")
    params, stats = init_params(config, side, n_classes, rng_streams.stream(seed, "train", STREAM_KEY, 0))
    adam = _Adam(params)
    decay = (config.lr_final / config.lr) ** (1.0 / max(config.epochs - 1, 1))
    history = []
    test_acc = None
    for epoch in range(config.epochs):
        te = time.perf_counter()
        lr = config.lr * decay**epoch
        gen = rng_streams.stream(seed, "train", STREAM_KEY, 1, epoch)
        order = gen.permutation(x.shape[0])
        loss_sum, correct = 0.0, 0
        for b in range(n_batches):
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            loss, ok, grads, stats = train_step(
                params, stats, x[idx], train.y[idx], config.activation_ber, gen
            )
            adam.step(params, grads, lr)
            for key in BINARY_WEIGHTS:
                np.clip(params[key], -1.0, 1.0, out=params[key])
            loss_sum += loss
            correct += ok
        if test is not None:
            test_acc = float(np.mean(predict(params, stats, x_test) == test.y))
        record = LeNetEpoch(
            epoch=epoch + 1,
            loss=loss_sum / n_batches,
            train_acc=correct / (n_batches * config.batch_size),
            test_acc=test_acc,
            seconds=time.perf_counter() - te,
        )
        history.append(record)
        if progress is not None:
            progress(record)
    return LeNetResult(
        config=config,
        seed=seed,
        params=params,
        stats=stats,
        history=tuple(history),
        test_acc=test_acc,
        seconds=time.perf_counter() - t0,
    )
