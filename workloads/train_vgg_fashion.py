"""Train a small VGG-style BNN on the full Fashion-MNIST training set and export it to accelsim's
network format (version 3), folding batch norm exactly in float64.

Network (PyTorch order; every convolution binarized, +-1 weights and activations, zero padding):

    input 28x28x1 bits (+1 iff intensity >= 0.2, the bundled fashion_test.npz encoding)
    conv 3x3 /2 pad 1, 16 -> BN -> sign   (stride 2)        14x14x16
    conv 3x3 pad 1, 32   -> max-pool 2x2/2 -> BN -> sign        7x7x32
    conv 3x3 pad 1, 64   -> BN -> sign                         7x7x64
    conv 3x3 /2 pad 1, 64 -> BN -> sign   (stride 2)            4x4x64
    conv 1x1, 32         -> BN -> sign                         4x4x32
    dense 512 -> 128    -> BN -> sign
    dense 128 -> 10      -> BN  (class scores)

Folding: a hidden layer's BN output gamma (v - mu) / sigma + beta >= 0 (sign(0) = +1) with v the
layer's (zero-padded) dot product is v >= T_v (gamma > 0) or v <= T_v (gamma < 0, flip), T_v = mu -
beta sigma / gamma; accelsim thresholds the equivalent count e = (v + k k C) / 2, so T = (T_v + k k C)
/ 2. The output layer's scores are scale * p + shift with p = (v + n) / 2: scale = 2 gamma / sigma,
shift = beta - gamma (n + mu) / sigma. PyTorch flattens (c, y, x), accelsim (y, x, c): the dense
layer's columns are permuted. Evaluation of the PyTorch model is in float64 (``model.double()``),
so that both sides decide every neuron on the same exact comparison.

Usage (needs torch and Debian's dataset-fashion-mnist):

    PYTHONPATH=. python workloads/train_vgg_fashion.py --epochs 2 --seed 0 \
        --out workloads/vgg_fashion.npz --torch-out workloads/pytorch/vgg_fashion.npz
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from accelsim.data import binarize, bundled_dataset
from accelsim.network import (
    ConvShape,
    HiddenLayer,
    Network,
    OutputLayer,
    reference_predict,
    save_network,
)

INPUT_THRESHOLD = 0.2  # the encoding of workloads/fashion_test.npz
#: (in_c, out_c, kernel, stride, padding, max-pool after the conv) of the binarized convolutions
CONVS = ((1, 16, 3, 2, 1, False), (16, 32, 3, 1, 1, True), (32, 64, 3, 1, 1, False),
         (64, 64, 3, 2, 1, False), (64, 32, 1, 1, 0, False))
SIDE = 28
HIDDEN = 128
CLASSES = 10


class _Sign(torch.autograd.Function):
    """+1 where x >= 0 else -1; straight-through gradient inside [-1, 1]."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign(x: torch.Tensor) -> torch.Tensor:
    return _Sign.apply(x)


class BinConv2d(nn.Conv2d):
    def forward(self, x):
        return nn.functional.conv2d(x, sign(self.weight), None, self.stride, self.padding)


class BinLinear(nn.Linear):
    def forward(self, x):
        return nn.functional.linear(x, sign(self.weight))


class VGGBNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(BinConv2d(i, o, k, stride=s, padding=p, bias=False)
                                   for i, o, k, s, p, _ in CONVS)
        self.conv_bns = nn.ModuleList(nn.BatchNorm2d(o) for _, o, *_ in CONVS)
        side = self.map_side()
        self.fc = BinLinear(side * side * CONVS[-1][1], HIDDEN, bias=False)
        self.fc_bn = nn.BatchNorm1d(HIDDEN)
        self.out = BinLinear(HIDDEN, CLASSES, bias=False)
        self.out_bn = nn.BatchNorm1d(CLASSES)

    @staticmethod
    def map_side() -> int:
        side = SIDE
        for _, _, k, s, p, pool in CONVS:
            side = (side + 2 * p - k) // s + 1
            side = side // 2 if pool else side
        return side

    def forward(self, x):
        a = x.reshape(-1, 1, SIDE, SIDE)
        for conv, bn, spec in zip(self.convs, self.conv_bns, CONVS):
            v = conv(a)
            if spec[5]:
                v = nn.functional.max_pool2d(v, 2)
            a = sign(bn(v))
        a = sign(self.fc_bn(self.fc(a.flatten(1))))
        return self.out_bn(self.out(a))


def _bn64(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[np.ndarray, ...]:
    g, b = (t.detach().double().numpy() for t in (bn.weight, bn.bias))
    mu = bn.running_mean.double().numpy()
    sigma = np.sqrt(bn.running_var.double().numpy() + bn.eps)
    return g, b, mu, sigma


def _fold(bn, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Threshold on the equivalent count and flip of sign(BN(v)) for dot products v of n_in terms."""
    g, b, mu, sigma = _bn64(bn)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_v = mu - b * sigma / g
    # gamma == 0: the output is sign(beta) for every input: always (-n_in - 1) or never (n_in + 1)
    t_v = np.where(g == 0, np.where(b >= 0, -n_in - 1.0, n_in + 1.0), t_v)
    return (t_v + n_in) / 2, g < 0


def _signs(w: torch.Tensor) -> np.ndarray:
    return np.where(w.detach().numpy() >= 0, 1, -1).astype(np.int8)


def export(model: VGGBNN, *, description: str = "", test=None) -> Network:
    """The trained model as an accelsim network (format version 3), folded in float64."""
    hidden = []
    side, c_in = SIDE, 1
    for conv, bn, (_, o, k, s, p, pool) in zip(model.convs, model.conv_bns, CONVS):
        shape = ConvShape(in_h=side, in_w=side, in_c=c_in, kernel=k, stride=s, pad=p,
                          pool="max" if pool else "none")
        w = _signs(conv.weight).transpose(0, 2, 3, 1).reshape(o, -1)  # (F, ky, kx, c)
        thr, flip = _fold(bn, shape.patch_size)
        hidden.append(HiddenLayer(weights=w, threshold=thr, flip=flip, conv=shape))
        side, c_in = shape.map_h, o
    w = _signs(model.fc.weight).reshape(HIDDEN, c_in, side, side).transpose(0, 2, 3, 1).reshape(HIDDEN, -1)
    thr, flip = _fold(model.fc_bn, w.shape[1])
    hidden.append(HiddenLayer(weights=w, threshold=thr, flip=flip))
    g, b, mu, sigma = _bn64(model.out_bn)
    out = OutputLayer(weights=_signs(model.out.weight), scale=2 * g / sigma,
                      shift=b - g * (HIDDEN + mu) / sigma)
    extra = {}
    if test is not None:
        x, y = test
        extra = dict(test_x_packed=np.packbits(x > 0, axis=1), test_y=y.astype(np.uint8),
                     test_source="Fashion-MNIST t10k (Debian dataset-fashion-mnist), binarized at 0.2")
    return Network(hidden=tuple(hidden), output=out, input_threshold=INPUT_THRESHOLD,
                   dataset="fashion-mnist", description=description, **extra)


def torch_predict(model: VGGBNN, x_pm1: np.ndarray, batch: int = 1000) -> np.ndarray:
    """PyTorch's eval-mode predictions, computed in float64."""
    model = model.double().eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x_pm1), batch):
            xb = torch.from_numpy(x_pm1[start: start + batch].astype(np.float64))
            out.append(model(xb).argmax(dim=1).numpy())
    model.float()
    return np.concatenate(out)


def torch_arrays(model: VGGBNN) -> dict[str, np.ndarray]:
    """The parameters PyTorch's forward uses: weight signs (int8) and batch norms (float32)."""
    arrays = {}
    for name, t in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        v = t.detach().numpy()
        binary = name.endswith("weight") and v.ndim > 1
        arrays[name] = np.where(v >= 0, 1, -1).astype(np.int8) if binary else v
    return arrays


def load_torch_arrays(path: str | Path) -> VGGBNN:
    """A VGGBNN from ``torch_arrays`` (the binarized weights are all its forward pass reads)."""
    model = VGGBNN()
    with np.load(path) as z:
        state = {k: torch.from_numpy(z[k].astype(np.float32)) for k in z.files}
    model.load_state_dict(state, strict=False)
    return model.eval()


def fashion(split: str) -> tuple[np.ndarray, np.ndarray]:
    data = bundled_dataset("fashion", split)
    return binarize(data, INPUT_THRESHOLD), data.y.astype(np.int64)


def train(epochs: int, seed: int, batch: int = 100, lr: float = 3e-3) -> VGGBNN:
    torch.manual_seed(seed)
    x, y = fashion("train")
    model = VGGBNN()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(x) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = np.random.default_rng(seed)
    xt = torch.from_numpy(x.astype(np.float32))
    yt = torch.from_numpy(y)
    for epoch in range(epochs):
        model.train()
        order = gen.permutation(len(x))
        t0, total = time.time(), 0.0
        for start in range(0, len(x) - batch + 1, batch):
            idx = torch.from_numpy(order[start: start + batch])
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():  # latent weights stay in [-1, 1]
                for m in model.modules():
                    if isinstance(m, (BinConv2d, BinLinear)):
                        m.weight.clamp_(-1, 1)
            total += float(loss.detach()) * batch
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} ({time.time() - t0:.0f} s)", flush=True)
    return model.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="workloads/vgg_fashion.npz")
    p.add_argument("--torch-out", default="workloads/pytorch/vgg_fashion.npz")
    args = p.parse_args()
    torch.set_num_threads(1)
    model = train(args.epochs, args.seed)
    x, y = fashion("test")
    pred_torch = torch_predict(model, x)
    desc = (f"VGG-style BNN (5 binarized convs, zero padding: 3x3/2 pad 1, 3x3 pad 1 + 2x2 max-pool, "
            "3x3 pad 1, 3x3/2 pad 1, 1x1; "
            f"dense 128; out 10), Fashion-MNIST 60,000 train, {args.epochs} epochs, seed {args.seed}, "
            "workloads/train_vgg_fashion.py")
    net = export(model, description=desc, test=(x, y))
    pred = reference_predict(net, x)
    mismatches = int(np.sum(pred != pred_torch))
    print(f"PyTorch (float64 eval) test accuracy {np.mean(pred_torch == y):.4%}; accelsim reference "
          f"{np.mean(pred == y):.4%}; {mismatches} of {len(y)} predictions differ")
    if mismatches:
        raise SystemExit("export does not reproduce PyTorch: not written")
    save_network(args.out, net)
    np.savez_compressed(args.torch_out, **torch_arrays(model))
    print(f"wrote {args.out}, {args.torch_out}")


if __name__ == "__main__":
    main()
