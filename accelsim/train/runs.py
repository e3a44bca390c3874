"""The ``accelsim train --model lenet`` and ``--model approx-mlp`` handlers: options -> data ->
training -> a network ``.npz`` (LeNet, format version 2) or a result CSV + JSON (approximate memory).

Options are checked before training starts, so a bad one stops in a second with one line (UsageError,
DataError) and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from accelsim import __version__
from accelsim.data import Dataset, dataset_from_spec
from accelsim.errors import UsageError
from accelsim.network import network_arrays, reference_predict
from accelsim.outputs import OutputSet
from accelsim.train.approx import ApproxConfig, ApproxData, ApproxEpoch, train_approx
from accelsim.train.command import _number, _test_set
from accelsim.train.export import save_network
from accelsim.train.lenet import LeNetConfig, LeNetEpoch, as_images, predict, train_lenet
from accelsim.train.lenet_export import lenet_network, predict_float64


def _out(args: argparse.Namespace, suffix: str) -> Path:
    out = Path(args.out)
    if out.suffix != suffix:
        raise UsageError(f"--out: {out} must end in {suffix} for --model {args.model}")
    if not out.parent.is_dir():
        raise UsageError(f"--out: folder {out.parent} does not exist")
    return out


def _value(args: argparse.Namespace, attr: str, kind: type, default):
    return default if getattr(args, attr) is None else _number(args, attr, kind)


def _seed(args: argparse.Namespace) -> int:
    seed = _number(args, "seed", int)
    if seed < 0:
        raise UsageError(f"--seed: expected an integer >= 0, got {args.seed!r}")
    return seed


def _width(args: argparse.Namespace, default: int) -> int:
    if args.hidden is None:
        return default
    try:
        return int(args.hidden)
    except ValueError:
        raise UsageError(
            f"--hidden: expected one width (an integer) for --model {args.model}, got {args.hidden!r}"
        ) from None


def _data(args: argparse.Namespace) -> tuple[Dataset, Dataset]:
    """Training split (its first --train-images images) and test split."""
    train_set = dataset_from_spec(args.data, "train")
    test_set = _test_set(args, train_set)
    if args.train_images is not None:
        n = _number(args, "train_images", int)
        if not 1 <= n <= train_set.n_images:
            raise UsageError(
                f"--train-images: expected 1..{train_set.n_images} (the training split), got {n}"
            )
        train_set = train_set.subset(slice(0, n))
    return train_set, test_set


def _spelled(parts: list[tuple[str, object]]) -> str:
    return " ".join(["accelsim train", *(f"{opt} {value}" for opt, value in parts if value is not None)])


# ----------------------------------------------------------------------------------------- LeNet


def lenet_config(args: argparse.Namespace) -> LeNetConfig:
    d = LeNetConfig()
    c1, c2 = d.channels1, d.channels2
    if args.channels is not None:
        try:
            c1, c2 = (int(v) for v in args.channels.split(","))
        except ValueError:
            raise UsageError(
                f"--channels: expected two filter counts like 16,32, got {args.channels!r}"
            ) from None
    return LeNetConfig(
        channels1=c1,
        channels2=c2,
        hidden=_width(args, d.hidden),
        kernel=_value(args, "kernel", int, d.kernel),
        epochs=_value(args, "epochs", int, d.epochs),
        batch_size=_value(args, "batch_size", int, d.batch_size),
        lr=_value(args, "lr", float, d.lr),
        lr_final=_value(args, "lr_final", float, d.lr_final),
        activation_ber=_value(args, "activation_ber", float, d.activation_ber),
    )


def run_lenet(args: argparse.Namespace) -> int:
    """Train the binarized LeNet-4 (``accelsim.train.lenet``), export it (format version 2) after
    checking that the exported integer network equals the float64 evaluation of the trained
    parameters on every test image, and write ``--out``."""
    out = _out(args, ".npz")
    cfg = lenet_config(args)
    seed = _seed(args)
    train_set, test_set = _data(args)
    as_images(train_set), as_images(test_set)  # square intensity images, or a DataError now

    def progress(e: LeNetEpoch) -> None:
        print(
            f"epoch {e.epoch}/{cfg.epochs}  loss {e.loss:.4f}  train acc {100 * e.train_acc:.2f}%  "
            f"test acc {100 * e.test_acc:.2f}%  seed {seed}  ({e.seconds:.1f} s)",
            flush=True,
        )

    result = train_lenet(cfg, train_set, test_set, seed, progress=None if args.quiet else progress)
    side = math.isqrt(train_set.n_features)
    command = _spelled(
        [
            ("--model", "lenet"),
            ("--data", args.data),
            ("--test-data", args.test_data),
            ("--train-images", args.train_images),
            ("--channels", f"{cfg.channels1},{cfg.channels2}"),
            ("--kernel", cfg.kernel),
            ("--hidden", cfg.hidden),
            ("--epochs", cfg.epochs),
            ("--batch-size", cfg.batch_size),
            ("--lr", f"{cfg.lr:g}"),
            ("--lr-final", f"{cfg.lr_final:g}"),
            ("--activation-ber", f"{cfg.activation_ber:g}"),
            ("--seed", seed),
            ("--out", args.out),
        ]
    )
    net = lenet_network(result, side=side, dataset=train_set.name, description="", test=test_set)
    folded = reference_predict(net, test_set.x)
    if not np.array_equal(folded, predict_float64(result.params, result.stats, test_set.x, side)):
        raise RuntimeError("the exported integer LeNet differs from its float64 evaluation (a bug)")
    float32 = predict(result.params, result.stats, as_images(test_set))
    test_acc = float(np.mean(folded == test_set.y))
    train_acc = float(np.mean(reference_predict(net, train_set.x) == train_set.y))
    description = (
        f"{command}; trained {cfg.epochs} epochs on {train_set.n_images} images of {train_set.source}; "
        f"network {'-'.join(map(str, net.shape))} (real conv {cfg.kernel}x{cfg.kernel}x{cfg.channels1} "
        f"off-crossbar, binary conv {cfg.kernel}x{cfg.kernel}x{cfg.channels2}, binary dense {cfg.hidden}, "
        f"real read-out); eval-mode accuracy of the exported network (running batch-norm statistics, "
        f"folded): train {100 * train_acc:.2f}%, test {100 * test_acc:.2f}% on {test_set.n_images} images, "
        f"equal to the float64 evaluation of the trained parameters on every test image and to the "
        f"float32 training-time network on {100 * np.mean(folded == float32):.2f}% of them; "
        f"{result.seconds:.0f} s of training"
    )
    net = lenet_network(result, side=side, dataset=train_set.name, description=description, test=test_set)
    save_network(out, network_arrays(net))
    if not args.quiet:
        print(
            f"wrote {out}: {'-'.join(map(str, net.shape))}, train acc {100 * train_acc:.2f}%, "
            f"test acc {100 * test_acc:.2f}% ({test_set.n_images} images), {result.seconds:.0f} s"
        )
    return 0


# ------------------------------------------------------------------------- approximate memory


#: Column order of the approx-mlp result CSV (SI units in the names).
APPROX_COLUMNS = (
    "model",
    "data",
    "n_train",
    "n_test",
    "seed",
    "hidden",
    "epochs",
    "batch_size",
    "n_bits",
    "frac_bits",
    "encoding",
    "ber_hsb",
    "ber_lsb",
    "n_lsb",
    "accuracy_test",
    "accuracy_train",
    "n_weights",
    "n_writes",
    "n_switched_hsb",
    "n_switched_lsb",
    "n_failed_hsb",
    "n_failed_lsb",
    "write_ber_measured_hsb",
    "write_ber_measured_lsb",
    "energy_bit_hsb_j",
    "energy_bit_lsb_j",
    "energy_per_weight_write_j",
    "energy_training_per_weight_j",
    "energy_program_j",
    "energy_program_changed_bits_j",
    "time_s",
)


def approx_config(args: argparse.Namespace) -> ApproxConfig:
    d = ApproxConfig()
    return ApproxConfig(
        hidden=_width(args, d.hidden),
        epochs=_value(args, "epochs", int, d.epochs),
        batch_size=_value(args, "batch_size", int, d.batch_size),
        lr=_value(args, "lr", float, d.lr),
        lr_final=_value(args, "lr_final", float, d.lr_final),
        n_bits=_value(args, "n_bits", int, d.n_bits),
        frac_bits=_value(args, "frac_bits", int, d.frac_bits),
        encoding=d.encoding if args.encoding is None else args.encoding,
        ber_hsb=_value(args, "ber_hsb", float, d.ber_hsb),
        ber_lsb=_value(args, "ber_lsb", float, d.ber_lsb),
        n_lsb=_value(args, "n_lsb", int, d.n_lsb),
    )


def run_approx(args: argparse.Namespace) -> int:
    """Train 003's MLP with every weight update written to simulated MRAM at the configured per-bit
    error rates (``accelsim.train.approx.train_approx``); write the result row to ``--out`` (CSV) and
    the row, the per-epoch history and the configuration to the JSON beside it."""
    out = _out(args, ".csv")
    cfg = approx_config(args)
    seed = _seed(args)
    train_set, test_set = _data(args)
    rates = f"BER hsb {cfg.ber_hsb:g}" + (f" lsb {cfg.ber_lsb:g} ({cfg.n_lsb} LSBs)" if cfg.n_lsb else "")
    decay = ((cfg.lr if cfg.lr_final is None else cfg.lr_final) / cfg.lr) ** (1.0 / max(cfg.epochs - 1, 1))

    def progress(e: ApproxEpoch) -> None:
        print(
            f"epoch {e.epoch}/{cfg.epochs}  loss {e.loss:.4f}  test acc {100 * e.test_acc:.2f}%  "
            f"lr {cfg.lr * decay ** (e.epoch - 1):.2e}  {rates}  seed {seed}  ({e.seconds:.1f} s)",
            flush=True,
        )

    result = train_approx(
        cfg, ApproxData(train=train_set, test=test_set), seed, progress=None if args.quiet else progress
    )
    row = {
        "model": "approx-mlp",
        "data": str(args.data),
        "n_train": train_set.n_images,
        "n_test": test_set.n_images,
        "seed": seed,
        "hidden": cfg.hidden,
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "n_bits": cfg.n_bits,
        "frac_bits": cfg.frac_bits,
        "encoding": cfg.encoding,
        "ber_hsb": cfg.ber_hsb,
        "ber_lsb": cfg.ber_lsb,
        "n_lsb": cfg.n_lsb,
        "accuracy_test": result.test_acc,
        "accuracy_train": result.train_acc,
        "n_weights": result.n_weights,
        "n_writes": result.n_writes,
        "n_switched_hsb": result.counts.n_changed_hsb,
        "n_switched_lsb": result.counts.n_changed_lsb,
        "n_failed_hsb": result.counts.n_failed_hsb,
        "n_failed_lsb": result.counts.n_failed_lsb,
        "write_ber_measured_hsb": result.measured_ber_hsb,
        "write_ber_measured_lsb": result.measured_ber_lsb,
        "energy_bit_hsb_j": result.energy_bit_hsb_j,
        "energy_bit_lsb_j": result.energy_bit_lsb_j,
        "energy_per_weight_write_j": result.energy_per_write_j,
        "energy_training_per_weight_j": result.training_energy_per_weight_j,
        "energy_program_j": result.energy_j,
        "energy_program_changed_bits_j": result.energy_changed_bits_j,
        "time_s": result.seconds,
    }
    command = _spelled(
        [
            ("--model", "approx-mlp"),
            ("--data", args.data),
            ("--test-data", args.test_data),
            ("--train-images", args.train_images),
            ("--hidden", cfg.hidden),
            ("--epochs", cfg.epochs),
            ("--batch-size", cfg.batch_size),
            ("--lr", f"{cfg.lr:g}"),
            ("--lr-final", None if cfg.lr_final is None else f"{cfg.lr_final:g}"),
            ("--n-bits", cfg.n_bits),
            ("--frac-bits", cfg.frac_bits),
            ("--encoding", cfg.encoding),
            ("--ber-hsb", f"{cfg.ber_hsb:g}"),
            ("--ber-lsb", f"{cfg.ber_lsb:g}"),
            ("--n-lsb", cfg.n_lsb),
            ("--seed", seed),
            ("--out", args.out),
        ]
    )
    e = cfg.energy
    doc = {
        "accelsim_version": __version__,
        "command": command,
        "summary": row,
        "history": [
            {"epoch": h.epoch, "loss": h.loss, "accuracy_test": h.test_acc, "time_s": h.seconds}
            for h in result.history
        ],
        "energy_model": {
            "mtj": e.mtj,
            "driver": e.driver,
            "overdrive": e.overdrive,
            "variability": e.variability,
            "n_devices": e.n_devices,
            "device_seed": e.device_seed,
            "reference_ber": e.reference_ber,
        },
        "train_source": train_set.source,
        "test_source": test_set.source,
    }
    json_path = out.with_suffix(".json")
    with OutputSet() as files:  # the CSV and its JSON appear together
        files.write_text(out, pd.DataFrame([row], columns=list(APPROX_COLUMNS)).to_csv(index=False))
        files.write_text(json_path, json.dumps(doc, indent=2, default=_plain) + "\n")
    if not args.quiet:
        print(
            f"wrote {out}, {json_path}: test acc {100 * result.test_acc:.2f}%, "
            f"{result.energy_per_write_j * 1e12:.3g} pJ per weight write, "
            f"{result.training_energy_per_weight_j * 1e12:.3g} pJ per weight over the training"
        )
    return 0


def _plain(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if math.isnan(obj) else float(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
