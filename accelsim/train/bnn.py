"""The binarized MLP and its training loop (numpy, float32): sign weights and activations with
straight-through gradients, batch norm after every layer, dropout, softmax cross-entropy, Adam.

Hardware-aware options: ``hrs_penalty`` (paper 002, fewer +1 weights) and ``activation_ber`` (paper 001,
random flips of the hidden binary activations during training).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from accelsim import rng as rng_streams
from accelsim.errors import UsageError

#: Batch-norm epsilon (added to the variance).
BN_EPS = 1e-4


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig:
    """Hyper-parameters of a training run. Checked on construction (``UsageError`` naming the option)."""

    hidden: tuple[int, ...] = (1024, 1024)
    """Widths of the hidden layers (>= 1 each); may be empty (a single binarized layer)."""
    epochs: int = 30
    """Passes over the training set (>= 1)."""
    batch_size: int = 100
    """Images per mini-batch (>= 2: batch norm needs a batch variance)."""
    lr: float = 0.01
    """Adam learning rate of the latent weights at the first epoch (> 0)."""
    lr_final: float = 1e-4
    """Learning rate at the last epoch; decays geometrically per epoch from ``lr`` (> 0)."""
    bn_lr_scale: float = 1.0
    """Batch-norm gamma/beta learn at ``bn_lr_scale`` times the weight learning rate (> 0)."""
    dropout: float = 0.2
    """Probability of dropping a hidden activation during training, in [0, 1)."""
    dropout_input: float = 0.0
    """Probability of dropping an input bit during training, in [0, 1)."""
    input_threshold: float = 0.5
    """Input intensity threshold in [0, 1]: bit = +1 iff x >= threshold."""
    hrs_penalty: float = 0.0
    """alpha of paper 002: loss J' = J + alpha * sum(w_latent) / N_weights (see train/README)."""
    activation_ber: float = 0.0
    """Probability of flipping each hidden binary activation during training, in [0, 0.5]."""
    shift_pixels: int = 0
    """Augmentation: each training image, each time it is drawn, is translated by a random whole-pixel
    offset in [-shift_pixels, shift_pixels] along each axis, uncovered pixels set to -1 (background).
    Needs square images. 0 (default) trains on the images as they are."""
    seed: int = 0
    """Run seed: initial weights, batch order, dropout and flips come from rng stream 'train'."""

    def __post_init__(self) -> None:
        if any(int(h) < 1 for h in self.hidden):
            raise UsageError(f"--hidden: layer widths must be >= 1, got {list(self.hidden)}")
        if self.epochs < 1:
            raise UsageError(f"--epochs: must be >= 1, got {self.epochs}")
        if self.batch_size < 2:
            raise UsageError(f"--batch-size: must be >= 2 (batch norm), got {self.batch_size}")
        for key, value in (
            ("--lr", self.lr),
            ("--lr-final", self.lr_final),
            ("bn_lr_scale", self.bn_lr_scale),
        ):
            if not (math.isfinite(value) and value > 0):
                raise UsageError(f"{key}: must be a positive number, got {value}")
        for key, value in (("--dropout", self.dropout), ("--dropout-input", self.dropout_input)):
            if not 0.0 <= value < 1.0:
                raise UsageError(f"{key}: must be in [0, 1), got {value}")
        if not 0.0 <= self.input_threshold <= 1.0:
            raise UsageError(f"--input-threshold: must be an intensity in [0, 1], got {self.input_threshold}")
        if not math.isfinite(self.hrs_penalty):
            raise UsageError(f"--hrs-penalty: must be a finite number, got {self.hrs_penalty}")
        if self.shift_pixels < 0:
            raise UsageError(f"--shift-pixels: must be >= 0, got {self.shift_pixels}")
        if not 0.0 <= self.activation_ber <= 0.5:
            raise UsageError(
                f"--activation-ber: must be a probability in [0, 0.5], got {self.activation_ber}"
            )


@dataclass(kw_only=True, slots=True)
class Layer:
    """One dense layer with batch norm: latent weights (n_out, n_in) and BN parameters and statistics."""

    w: np.ndarray
    """float32 latent weights in [-1, 1]; the binary weight is sign(w) with sign(0) = +1."""
    gamma: np.ndarray
    """float32 (n_out,) BN scale."""
    beta: np.ndarray
    """float32 (n_out,) BN shift."""
    mean: np.ndarray
    """float64 (n_out,) population mean of the pre-activation (dot = 2 popcount - n_in)."""
    var: np.ndarray
    """float64 (n_out,) population variance of the pre-activation."""

    @property
    def w_binary(self) -> np.ndarray:
        """int8 (n_out, n_in) of +1/-1."""
        return np.where(self.w >= 0, np.int8(1), np.int8(-1))


@dataclass(kw_only=True, slots=True)
class Model:
    """A binarized MLP: ``layers[-1]`` is the output layer (its BN output is the class score)."""

    layers: list[Layer]
    input_threshold: float

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.layers[0].w.shape[1], *(layer.w.shape[0] for layer in self.layers))


@dataclass(kw_only=True, slots=True)
class EpochStats:
    """What one epoch did (accuracies are fractions in [0, 1])."""

    epoch: int
    loss: float
    """Mean training loss (cross-entropy plus the HRS penalty term) over the epoch's batches."""
    train_acc: float
    """Accuracy on the training batches as trained (batch statistics, dropout, flips)."""
    test_acc: float | None
    """Accuracy of the eval-mode network (running BN statistics) on the test set."""
    lr: float
    seconds: float


@dataclass(kw_only=True, slots=True)
class TrainResult:
    """The trained model, its exact eval-mode accuracies and the per-epoch history."""

    model: Model
    config: TrainConfig
    history: list[EpochStats] = field(default_factory=list)
    train_acc: float = 0.0
    test_acc: float | None = None
    seconds: float = 0.0


def init_model(sizes: tuple[int, ...], input_threshold: float, gen: np.random.Generator) -> Model:
    """Latent weights uniform in [-1, 1] (their signs are the binary weights), gamma = 1, beta = 0."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers.append(
            Layer(
                w=gen.uniform(-1.0, 1.0, size=(n_out, n_in)).astype(np.float32),
                gamma=np.ones(n_out, dtype=np.float32),
                beta=np.zeros(n_out, dtype=np.float32),
                mean=np.zeros(n_out, dtype=np.float64),
                var=np.ones(n_out, dtype=np.float64),
            )
        )
    return Model(layers=layers, input_threshold=float(input_threshold))


def _sign(a: np.ndarray) -> np.ndarray:
    """float32 +1/-1 with sign(0) = +1."""
    return np.where(a >= 0, np.float32(1.0), np.float32(-1.0))


def bn_affine(
    gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray, dot: np.ndarray
) -> np.ndarray:
    """Eval-mode batch norm in float64, evaluated in the order gamma * (dot - mean) / sqrt(var + eps) + beta.

    The one definition used by the float inference and by the export's folding (arrays broadcast).
    """
    gamma = np.asarray(gamma, dtype=np.float64)
    sigma = np.sqrt(np.asarray(var, dtype=np.float64) + BN_EPS)
    return gamma * (np.asarray(dot, dtype=np.float64) - mean) / sigma + np.asarray(beta, dtype=np.float64)


def _bn_eval(layer: Layer, dot: np.ndarray) -> np.ndarray:
    return bn_affine(layer.gamma, layer.beta, layer.mean, layer.var, dot)


def forward_eval(model: Model, x_pm1: np.ndarray, batch: int = 1000) -> np.ndarray:
    """Class scores (float64, (n, n_classes)) of the eval-mode network: running BN statistics, no dropout.

    ``x_pm1`` holds the input bits (+1/-1). The dot products are float32 sums of +-1 (exact).
    """
    out = []
    wbs = [layer.w_binary.astype(np.float32) for layer in model.layers]
    for start in range(0, x_pm1.shape[0], batch):
        h = np.asarray(x_pm1[start : start + batch], dtype=np.float32)
        for i, layer in enumerate(model.layers):
            z = _bn_eval(layer, h @ wbs[i].T)
            h = _sign(z) if i < len(model.layers) - 1 else z
        out.append(h)
    return np.concatenate(out) if out else np.zeros((0, model.sizes[-1]))


def predict(model: Model, x_pm1: np.ndarray) -> np.ndarray:
    """int64 predicted classes of the eval-mode network (argmax, first index on ties)."""
    return np.argmax(forward_eval(model, x_pm1), axis=1)


def calibrate_bn(model: Model, x_pm1: np.ndarray, batch: int = 1000) -> None:
    """Set every layer's BN mean/var to the exact population statistics of its pre-activation over
    ``x_pm1`` (the training inputs), layer by layer, each with the eval-mode layers before it."""
    wbs = [layer.w_binary.astype(np.float32) for layer in model.layers]
    for i, layer in enumerate(model.layers):
        total = np.zeros(layer.w.shape[0], dtype=np.float64)
        total_sq = np.zeros_like(total)
        for start in range(0, x_pm1.shape[0], batch):
            h = np.asarray(x_pm1[start : start + batch], dtype=np.float32)
            for j in range(i):
                h = _sign(_bn_eval(model.layers[j], h @ wbs[j].T))
            dot = (h @ wbs[i].T).astype(np.float64)
            total += dot.sum(axis=0)
            total_sq += (dot * dot).sum(axis=0)
        n = x_pm1.shape[0]
        layer.mean = total / n
        layer.var = np.maximum(total_sq / n - layer.mean**2, 0.0)


class _Adam:
    """Adam (beta1 0.9, beta2 0.999, eps 1e-8) over a list of float32 arrays, updated in place."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], lrs: list[float]) -> None:
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        for p, g, m, v, lr in zip(params, grads, self.m, self.v, lrs):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            p -= (lr / c1) * m / (np.sqrt(v / c2) + eps)


def _shift_images(xb: np.ndarray, side: int, max_shift: int, gen: np.random.Generator) -> np.ndarray:
    """Translate each (side x side) image of ``xb`` (rows of +-1) by a random offset in [-s, s]^2."""
    n = xb.shape[0]
    padded = np.pad(
        xb.reshape(n, side, side),
        ((0, 0), (max_shift, max_shift), (max_shift, max_shift)),
        constant_values=-1.0,
    )
    dy, dx = gen.integers(0, 2 * max_shift + 1, size=(2, n))
    rows = (dy[:, None] + np.arange(side))[:, :, None]
    cols = (dx[:, None] + np.arange(side))[:, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols].reshape(n, side * side)


def _train_step(
    model: Model,
    xb: np.ndarray,
    yb: np.ndarray,
    cfg: TrainConfig,
    gen: np.random.Generator,
    n_weights: int,
) -> tuple[float, int, list[np.ndarray]]:
    """Forward and backward on one batch. Returns (loss, n correct, grads [w, gamma, beta per layer])."""
    n_layers = len(model.layers)
    bsz = xb.shape[0]
    h = xb
    if cfg.dropout_input > 0:
        h = (
            h
            * (gen.random(h.shape, dtype=np.float32) >= cfg.dropout_input)
            / np.float32(1 - cfg.dropout_input)
        )
    cache = []
    wbs = [_sign(layer.w) for layer in model.layers]
    for i, layer in enumerate(model.layers):
        a = h @ wbs[i].T
        mu = a.mean(axis=0)
        var = a.var(axis=0)
        inv = 1.0 / np.sqrt(var + np.float32(BN_EPS))
        xhat = (a - mu) * inv
        z = layer.gamma * xhat + layer.beta
        # running statistics for the per-epoch test accuracy (replaced by calibrate_bn at the end)
        layer.mean = 0.9 * layer.mean + 0.1 * mu.astype(np.float64)
        layer.var = 0.9 * layer.var + 0.1 * var.astype(np.float64) * bsz / (bsz - 1)
        if i < n_layers - 1:
            factor = np.ones_like(z)
            if cfg.activation_ber > 0:
                factor = np.where(gen.random(z.shape, dtype=np.float32) < cfg.activation_ber, -factor, factor)
            if cfg.dropout > 0:
                keep = gen.random(z.shape, dtype=np.float32) >= cfg.dropout
                factor = factor * keep / np.float32(1 - cfg.dropout)
            cache.append((h, xhat, inv, z, factor))
            h = _sign(z) * factor
        else:
            cache.append((h, xhat, inv, z, None))
            logits = z
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    prob = exp / exp.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(prob[np.arange(bsz), yb] + 1e-30)))
    loss += cfg.hrs_penalty * sum(float(layer.w.sum(dtype=np.float64)) for layer in model.layers) / n_weights
    correct = int(np.sum(np.argmax(logits, axis=1) == yb))

    dz = prob
    dz[np.arange(bsz), yb] -= 1.0
    dz /= np.float32(bsz)
    grads: list[np.ndarray] = [None] * (3 * n_layers)  # type: ignore[list-item]
    for i in range(n_layers - 1, -1, -1):
        layer = model.layers[i]
        h_in, xhat, inv, z, factor = cache[i]
        if factor is not None:
            dz = dz * factor * (np.abs(z) <= 1.0)  # straight-through estimator of sign (hard tanh)
        grads[3 * i + 1] = np.sum(dz * xhat, axis=0)
        grads[3 * i + 2] = np.sum(dz, axis=0)
        dxhat = dz * layer.gamma
        da = inv / np.float32(bsz) * (bsz * dxhat - dxhat.sum(axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
        dw = da.T @ h_in
        dw *= np.abs(layer.w) <= 1.0  # straight-through estimator of sign for the weights
        if cfg.hrs_penalty:
            dw += np.float32(cfg.hrs_penalty / n_weights)
        grads[3 * i] = dw
        if i > 0:
            dz = da @ wbs[i]
    return loss, correct, grads


def train(
    cfg: TrainConfig,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    n_classes: int | None = None,
    progress: Callable[[EpochStats], None] | None = None,
) -> TrainResult:
    """Train a binarized MLP.

    Parameters
    ----------
    cfg
        Hyper-parameters and seed.
    x_train, y_train
        Input bits (+1/-1, (n, n_in), any numeric dtype) and labels (int, (n,)).
    x_test, y_test
        Optional test bits and labels, for the per-epoch and final test accuracy.
    n_classes
        Output width; default max label + 1.
    progress
        Called with each epoch's ``EpochStats``.

    Returns
    -------
    TrainResult
        The model with BN statistics calibrated exactly on the training set (see ``calibrate_bn``) and
        the eval-mode accuracies of that model.
    """
    t0 = time.perf_counter()
    x_train = np.asarray(x_train, dtype=np.float32)
    y_train = np.asarray(y_train, dtype=np.int64)
    n_classes = int(n_classes if n_classes is not None else y_train.max() + 1)
    sizes = (x_train.shape[1], *cfg.hidden, n_classes)
    model = init_model(sizes, cfg.input_threshold, rng_streams.stream(cfg.seed, "train", 0))
    n_weights = sum(layer.w.size for layer in model.layers)
    params = [p for layer in model.layers for p in (layer.w, layer.gamma, layer.beta)]
    adam = _Adam(params)
    history = []
    n = x_train.shape[0]
    side = math.isqrt(x_train.shape[1])
    if cfg.shift_pixels and side * side != x_train.shape[1]:
        raise UsageError(f"--shift-pixels: needs square images, these have {x_train.shape[1]} pixels")
    n_batches = n // cfg.batch_size
    if n_batches == 0:
        raise UsageError(f"--batch-size: {cfg.batch_size} is larger than the {n} training images")
    decay = (cfg.lr_final / cfg.lr) ** (1.0 / max(cfg.epochs - 1, 1))
    for epoch in range(cfg.epochs):
        te = time.perf_counter()
        lr = cfg.lr * decay**epoch
        lrs = [lr, lr * cfg.bn_lr_scale, lr * cfg.bn_lr_scale] * len(model.layers)
        gen = rng_streams.stream(cfg.seed, "train", 1, epoch)
        order = gen.permutation(n)
        loss_sum, correct = 0.0, 0
        for b in range(n_batches):
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            xb = x_train[idx]
            if cfg.shift_pixels:
                xb = _shift_images(xb, side, cfg.shift_pixels, gen)
            loss, ok, grads = _train_step(model, xb, y_train[idx], cfg, gen, n_weights)
            adam.step(params, grads, lrs)
            for layer in model.layers:
                np.clip(layer.w, -1.0, 1.0, out=layer.w)
            loss_sum += loss
            correct += ok
        test_acc = None
        if x_test is not None and y_test is not None:
            test_acc = float(np.mean(predict(model, x_test) == y_test))
        stats = EpochStats(
            epoch=epoch + 1,
            loss=loss_sum / n_batches,
            train_acc=correct / (n_batches * cfg.batch_size),
            test_acc=test_acc,
            lr=lr,
            seconds=time.perf_counter() - te,
        )
        history.append(stats)
        if progress is not None:
            progress(stats)
    calibrate_bn(model, x_train)
    result = TrainResult(model=model, config=cfg, history=history)
    result.train_acc = float(np.mean(predict(model, x_train) == y_train))
    if x_test is not None and y_test is not None:
        result.test_acc = float(np.mean(predict(model, x_test) == y_test))
    result.seconds = time.perf_counter() - t0
    return result
