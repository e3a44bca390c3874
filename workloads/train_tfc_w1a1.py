"""Train the shipped ``tfc_w1a1_fashion.onnx``: a Brevitas BNN in FINN's TFC-w1a1 topology
(784-64-64-64-10, 1-bit weights and activations, batch norm between) on Fashion-MNIST, exported as QONNX.

Run from the repository root (needs torch, brevitas, onnx, onnxoptimizer; ``pip install -e .[test]``)::

    python workloads/train_tfc_w1a1.py --out workloads/tfc_w1a1_fashion.onnx

Training set: the 60,000 Fashion-MNIST train images of Debian's ``dataset-fashion-mnist``; test: its
10,000 t10k images. Inputs are binarized inside the network at intensity 0.2 (``x - 0.2`` followed by a
bipolar quantizer: +1 iff intensity >= 0.2), the encoding of ``workloads/fashion_test.npz``, so the
exported network runs on that file exactly. Seeded, CPU, one thread. Prints the test accuracy that
Brevitas itself computes in eval mode (the number quoted in workloads/README.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import torch
from brevitas.export import export_qonnx
from brevitas.quant.binary import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from accelsim.data import bundled_dataset  # noqa: E402

#: Intensity at which an input pixel turns +1 (the threshold of workloads/fashion_test.npz).
INPUT_THRESHOLD = 0.2
HIDDEN = (64, 64, 64)


class TFC(nn.Module):
    """FINN's TFC: binarized input, three QuantLinear(no bias) -> BatchNorm1d -> binary activation
    blocks, a QuantLinear output layer and a BatchNorm1d on the class scores."""

    def __init__(self, n_in: int = 784, hidden: tuple[int, ...] = HIDDEN, n_classes: int = 10,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.input_quant = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
        weight_quant = SignedBinaryWeightPerTensorConst
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [qnn.QuantLinear(n_in, width, bias=False, weight_quant=weight_quant),
                       nn.BatchNorm1d(width),
                       qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst),
                       nn.Dropout(dropout)]
            n_in = width
        layers += [qnn.QuantLinear(n_in, n_classes, bias=False, weight_quant=weight_quant),
                   nn.BatchNorm1d(n_classes)]
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.input_quant(x - INPUT_THRESHOLD))


def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i: i + 1000]).argmax(1) for i in range(0, len(x), 1000)]).numpy()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="workloads/tfc_w1a1_fashion.onnx")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--lr-final", type=float, default=0.0005)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    train, test = bundled_dataset("fashion", "train"), bundled_dataset("fashion", "test")
    if train.binarized or test.binarized:
        raise SystemExit("needs the Debian package dataset-fashion-mnist (intensity IDX files)")
    x_train, y_train = torch.from_numpy(np.array(train.x)), torch.from_numpy(np.array(train.y))
    x_test = torch.from_numpy(np.array(test.x))

    model = TFC()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gamma = (args.lr_final / args.lr) ** (1.0 / max(args.epochs - 1, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    gen = torch.Generator().manual_seed(args.seed)
    loss_fn = nn.CrossEntropyLoss()
    started = time.monotonic()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            idx = order[i: i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        acc = float(np.mean(predict(model, x_test) == test.y))
        print(f"epoch {epoch + 1:2d}  loss {total / len(order):.4f}  test accuracy {100 * acc:.2f} %  "
              f"({time.monotonic() - started:.0f} s)", flush=True)

    model.eval()
    test_pred = predict(model, x_test)
    train_acc = float(np.mean(predict(model, x_train) == train.y))
    test_acc = float(np.mean(test_pred == test.y))
    export_qonnx(model, input_t=torch.zeros(1, 784), export_path=args.out, dynamo=False)
    import onnx

    proto = onnx.load(args.out)
    description = (
        f"Brevitas {__import__('brevitas').__version__} / torch {torch.__version__}: FINN TFC-w1a1 "
        f"784-{'-'.join(map(str, HIDDEN))}-10, inputs binarized at {INPUT_THRESHOLD} in the graph; "
        f"trained by workloads/train_tfc_w1a1.py --epochs {args.epochs} --batch-size {args.batch_size} "
        f"--lr {args.lr} --lr-final {args.lr_final} --seed {args.seed} on the 60,000 Fashion-MNIST train "
        f"images (Debian dataset-fashion-mnist); Brevitas eval-mode accuracy {100 * test_acc:.2f} % on the "
        f"10,000 t10k images, {100 * train_acc:.2f} % on the train set")
    proto.doc_string = description
    onnx.save(proto, args.out)
    print(description)
    print(f"wrote {args.out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
