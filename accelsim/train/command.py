"""The ``accelsim train`` subcommand: options -> data -> training -> exported network ``.npz``.

``add_train_parser(subparsers)`` registers it on an argparse subparsers object; ``run_train(args)`` is
its handler (returns the exit code; bad options raise UsageError, bad data DataError).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from accelsim.data import BUNDLED_NAMES, Dataset, binarize, dataset_from_spec
from accelsim.errors import DataError, UsageError
from accelsim.train.approx import ApproxConfig
from accelsim.train.bnn import EpochStats, TrainConfig, predict, train
from accelsim.train.export import network_arrays, predict_folded, save_network
from accelsim.train.lenet import LeNetConfig

_DEFAULTS = TrainConfig()
_LENET = LeNetConfig()
_APPROX = ApproxConfig()

#: The models ``--model`` takes, and the options that apply to only some of them.
MODELS = ("mlp", "lenet", "approx-mlp")
_ONLY = {
    "dropout": ("mlp",),
    "dropout_input": ("mlp",),
    "input_threshold": ("mlp",),
    "hrs_penalty": ("mlp",),
    "shift_pixels": ("mlp",),
    "activation_ber": ("mlp", "lenet"),
    "channels": ("lenet",),
    "kernel": ("lenet",),
    "train_images": ("lenet", "approx-mlp"),
    "ber_hsb": ("approx-mlp",),
    "ber_lsb": ("approx-mlp",),
    "n_lsb": ("approx-mlp",),
    "n_bits": ("approx-mlp",),
    "frac_bits": ("approx-mlp",),
    "encoding": ("approx-mlp",),
}
#: MLP defaults of the options whose default depends on the model.
_MLP_DEFAULTS = {
    "hidden": ",".join(map(str, _DEFAULTS.hidden)),
    "epochs": str(_DEFAULTS.epochs),
    "batch_size": str(_DEFAULTS.batch_size),
    "lr": str(_DEFAULTS.lr),
    "lr_final": str(_DEFAULTS.lr_final),
    "dropout": str(_DEFAULTS.dropout),
    "dropout_input": str(_DEFAULTS.dropout_input),
    "hrs_penalty": str(_DEFAULTS.hrs_penalty),
    "activation_ber": str(_DEFAULTS.activation_ber),
    "shift_pixels": str(_DEFAULTS.shift_pixels),
}


def add_train_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand on ``subparsers`` (handler in ``args.func``)."""
    p = subparsers.add_parser(
        "train",
        help="train a binarized MLP or LeNet (numpy) and export it, or train 003's MLP in approximate MRAM",
        description="--model mlp (default): train a binarized MLP (sign weights and activations, batch "
        "norm, dropout, Adam) and export it to the accelsim network .npz format with its test set "
        "embedded. --model lenet: the binarized LeNet-4 of 001 (real first convolution off-crossbar, "
        "binary convolution and dense layer, real read-out), exported to format version 2. --model "
        "approx-mlp: 003's tanh MLP whose fixed-point weights are written to simulated MRAM at a "
        "per-bit error rate after every mini-batch; writes a one-row CSV (and a JSON beside it) of "
        "accuracy and programming energy. Defaults of the shared options depend on the model.",
    )
    p.add_argument(
        "--model",
        default="mlp",
        metavar="mlp|lenet|approx-mlp",
        help="what to train (default mlp)",
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="PATH|NAME",
        help=f"training data: a bundled name ({', '.join(BUNDLED_NAMES)}), a directory of IDX pairs "
        "(train-* is used), an IDX images file, or a binarized .npz",
    )
    p.add_argument(
        "--test-data",
        metavar="PATH",
        help="test data (default: the test split of --data when it is a bundled name or a directory)",
    )
    p.add_argument(
        "--hidden",
        default=None,
        metavar="W,W",
        help="mlp: hidden layer widths (default 1024,1024); lenet: width of the binary dense layer (default "
        f"{_LENET.hidden}); approx-mlp: hidden tanh neurons (default {_APPROX.hidden})",
    )
    p.add_argument(
        "--epochs",
        default=None,
        metavar="N",
        help=f"passes over the training set (default {_DEFAULTS.epochs})",
    )
    p.add_argument(
        "--batch-size",
        default=None,
        metavar="N",
        help=f"images per mini-batch (default {_DEFAULTS.batch_size})",
    )
    p.add_argument(
        "--lr",
        default=None,
        metavar="LR",
        help=f"Adam learning rate at the first epoch (default {_DEFAULTS.lr:g})",
    )
    p.add_argument(
        "--lr-final",
        default=None,
        metavar="LR",
        help=f"learning rate at the last epoch, geometric decay (default {_DEFAULTS.lr_final:g})",
    )
    p.add_argument(
        "--dropout",
        default=None,
        metavar="P",
        help=f"dropout of hidden activations (default {_DEFAULTS.dropout:g})",
    )
    p.add_argument(
        "--dropout-input",
        default=None,
        metavar="P",
        help=f"dropout of input bits (default {_DEFAULTS.dropout_input:g})",
    )
    p.add_argument(
        "--input-threshold",
        default=None,
        metavar="X",
        help=f"input bit = +1 iff intensity >= this (default {_DEFAULTS.input_threshold}, "
        "or the threshold of binarized data)",
    )
    p.add_argument(
        "--hrs-penalty",
        default=None,
        metavar="ALPHA",
        help="loss + ALPHA * sum(latent weights) / number of weights: fewer +1 (HRS) weights (paper 002)",
    )
    p.add_argument(
        "--activation-ber",
        default=None,
        metavar="P",
        help="flip each hidden binary activation with probability P while training (paper 001)",
    )
    p.add_argument(
        "--shift-pixels",
        default=None,
        metavar="S",
        help="augmentation: translate each training image by a random offset of up to S pixels per axis",
    )
    p.add_argument(
        "--channels",
        default=None,
        metavar="C1,C2",
        help=f"lenet: filters of the real and the binary convolution (default {_LENET.channels1},"
        f"{_LENET.channels2})",
    )
    p.add_argument(
        "--kernel",
        default=None,
        metavar="K",
        help=f"lenet: convolution kernel side (default {_LENET.kernel})",
    )
    p.add_argument(
        "--train-images",
        default=None,
        metavar="N",
        help="lenet, approx-mlp: train on the first N images of the training split (default all)",
    )
    p.add_argument(
        "--ber-hsb",
        default=None,
        metavar="P",
        help="approx-mlp: write error rate of the high significance bits, in [0, 1] (default 0)",
    )
    p.add_argument(
        "--ber-lsb",
        default=None,
        metavar="P",
        help="approx-mlp: write error rate of the --n-lsb low significance bits, in [0, 1] (default 0)",
    )
    p.add_argument(
        "--n-lsb",
        default=None,
        metavar="N",
        help="approx-mlp: low significance bits written at --ber-lsb, 0..n-bits (default 0: uniform)",
    )
    p.add_argument(
        "--n-bits",
        default=None,
        metavar="N",
        help=f"approx-mlp: bits per weight word (default {_APPROX.n_bits})",
    )
    p.add_argument(
        "--frac-bits",
        default=None,
        metavar="N",
        help=f"approx-mlp: fractional bits of the word (default {_APPROX.frac_bits})",
    )
    p.add_argument(
        "--encoding",
        default=None,
        metavar="E",
        help=f"approx-mlp: sign_magnitude or twos_complement (default {_APPROX.encoding})",
    )
    p.add_argument(
        "--seed", type=_seed_text, default="0", metavar="N", help="run seed (integer >= 0, default 0)"
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="mlp, lenet: network file to write (.npz); approx-mlp: result CSV (.csv; PATH.json beside it)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line per epoch")
    p.set_defaults(func=run_train)
    return p


def _seed_text(text: str) -> str:
    """``--seed`` as given, once it is known to be an integer >= 0 (argparse reports it otherwise)."""
    if not text.strip().isdecimal():
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return text


def _number(args: argparse.Namespace, attr: str, kind: type) -> float | int:
    text = getattr(args, attr)
    option = "--" + attr.replace("_", "-")
    try:
        value = kind(text)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        raise UsageError(f"{option}: expected {what}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise UsageError(f"{option}: expected a finite number, got {text!r}")
    return value


def _hidden(text: str) -> tuple[int, ...]:
    if text.strip() in ("", "none"):
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--hidden: expected comma-separated widths like 1024,1024, got {text!r}") from None


def config_from_args(args: argparse.Namespace, data_threshold: float | None = None) -> TrainConfig:
    """The TrainConfig of parsed options; ``data_threshold`` is the threshold of binarized training data."""
    threshold = _DEFAULTS.input_threshold if data_threshold is None else data_threshold
    if args.input_threshold is not None:
        threshold = _number(args, "input_threshold", float)
        if data_threshold is not None and threshold != data_threshold:
            raise UsageError(
                f"--input-threshold {threshold}: the training data were binarized at {data_threshold}"
            )
    return TrainConfig(
        hidden=_hidden(args.hidden),
        epochs=_number(args, "epochs", int),
        batch_size=_number(args, "batch_size", int),
        lr=_number(args, "lr", float),
        lr_final=_number(args, "lr_final", float),
        dropout=_number(args, "dropout", float),
        dropout_input=_number(args, "dropout_input", float),
        input_threshold=threshold,
        hrs_penalty=_number(args, "hrs_penalty", float),
        activation_ber=_number(args, "activation_ber", float),
        shift_pixels=_number(args, "shift_pixels", int),
        seed=_number(args, "seed", int),
    )


def command_line(cfg: TrainConfig, data: str, test_data: str | None, out: str) -> str:
    """The full ``accelsim train`` command that reproduces ``cfg`` (every option spelled out)."""
    parts = [
        "accelsim train",
        f"--data {data}",
        *([f"--test-data {test_data}"] if test_data else []),
        f"--hidden {','.join(map(str, cfg.hidden)) or 'none'}",
        f"--epochs {cfg.epochs}",
        f"--batch-size {cfg.batch_size}",
        f"--lr {cfg.lr:g}",
        f"--lr-final {cfg.lr_final:g}",
        f"--dropout {cfg.dropout:g}",
        f"--dropout-input {cfg.dropout_input:g}",
        f"--input-threshold {cfg.input_threshold:g}",
        f"--hrs-penalty {cfg.hrs_penalty:g}",
        f"--activation-ber {cfg.activation_ber:g}",
        f"--shift-pixels {cfg.shift_pixels}",
        f"--seed {cfg.seed}",
        f"--out {out}",
    ]
    return " ".join(parts)


def _test_set(args: argparse.Namespace, train_set: Dataset) -> Dataset:
    if args.test_data is not None:
        return dataset_from_spec(args.test_data, "test")
    is_bundled = args.data in BUNDLED_NAMES and not Path(args.data).exists()
    if is_bundled or Path(args.data).is_dir():
        test_set = dataset_from_spec(args.data, "test")
        if test_set.source != train_set.source:
            return test_set
    raise UsageError(
        f"--test-data: needed, {args.data} gives no separate test split (the network embeds its test set)"
    )


def run_train(args: argparse.Namespace) -> int:
    """Handler of ``accelsim train``: returns 0 after writing ``--out``."""
    model = getattr(args, "model", "mlp")
    if model not in MODELS:
        raise UsageError(f"--model {model!r}: expected one of {', '.join(MODELS)}")
    for attr, models in _ONLY.items():
        if getattr(args, attr, None) is not None and model not in models:
            raise UsageError(
                f"--{attr.replace('_', '-')}: applies to --model {' or '.join(models)}, not {model}"
            )
    if model != "mlp":
        from accelsim.train import runs

        return runs.run_lenet(args) if model == "lenet" else runs.run_approx(args)
    for attr, default in _MLP_DEFAULTS.items():
        if getattr(args, attr, None) is None:
            setattr(args, attr, default)
    out = Path(args.out)
    if out.suffix != ".npz":
        raise UsageError(f"--out: {out} must end in .npz")
    if not out.parent.is_dir():
        raise UsageError(f"--out: folder {out.parent} does not exist")
    train_set = dataset_from_spec(args.data, "train")
    cfg = config_from_args(args, train_set.threshold if train_set.binarized else None)
    test_set = _test_set(args, train_set)
    if test_set.n_features != train_set.n_features:
        raise DataError(
            f"{test_set.source}: {test_set.n_features} features per image, "
            f"the training data ({train_set.source}) have {train_set.n_features}"
        )
    n_classes = int(train_set.y.max()) + 1
    if test_set.y.max() >= n_classes:
        raise DataError(
            f"{test_set.source}: label {int(test_set.y.max())}, the training data have {n_classes} classes"
        )
    x_train = binarize(train_set, cfg.input_threshold)
    x_test = binarize(test_set, cfg.input_threshold)

    def progress(s: EpochStats) -> None:
        print(
            f"epoch {s.epoch}/{cfg.epochs}  loss {s.loss:.4f}  train acc {100 * s.train_acc:.2f}%  "
            f"test acc {100 * s.test_acc:.2f}%  lr {s.lr:.2e}  ({s.seconds:.1f} s)",
            flush=True,
        )

    result = train(
        cfg,
        x_train,
        train_set.y,
        x_test,
        test_set.y,
        n_classes=n_classes,
        progress=None if args.quiet else progress,
    )
    plus = sum(int((layer.w >= 0).sum()) for layer in result.model.layers)
    total = sum(layer.w.size for layer in result.model.layers)
    description = (
        f"{command_line(cfg, args.data, args.test_data, args.out)}; "
        f"trained {cfg.epochs} epochs on {train_set.n_images} images of {train_set.source}; "
        f"network {'-'.join(map(str, result.model.sizes))}; eval-mode accuracy (batch norm statistics "
        f"of the training set, folded): train {100 * result.train_acc:.2f}%, "
        f"test {100 * result.test_acc:.2f}% on {test_set.n_images} images; "
        f"+1 weights {100 * plus / total:.2f}%; {result.seconds:.0f} s of training"
    )
    arrays = network_arrays(
        result.model,
        dataset=train_set.name,
        description=description,
        test_x_pm1=x_test,
        test_y=test_set.y,
        test_source=test_set.source,
    )
    if not np.array_equal(predict_folded(arrays, x_test), predict(result.model, x_test)):
        raise RuntimeError("the folded integer inference differs from the float inference (a bug)")
    save_network(out, arrays)
    if not args.quiet:
        sizes = "-".join(map(str, result.model.sizes))
        print(
            f"wrote {out}: {sizes}, train acc {100 * result.train_acc:.2f}%, "
            f"test acc {100 * result.test_acc:.2f}% ({test_set.n_images} images), {result.seconds:.0f} s"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m accelsim.train [options]``: the same as ``accelsim train [options]``."""
    from accelsim.errors import AccelsimError

    parser = argparse.ArgumentParser(prog="python -m accelsim.train")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except AccelsimError as exc:
        print(f"accelsim train: {exc}", file=sys.stderr)
        return 2
