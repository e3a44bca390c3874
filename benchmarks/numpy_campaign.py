"""The plain numpy fault study a researcher would write instead of using accelsim: the reference side of
benchmarks/run.py (figures 1 and 4). Imports numpy only.

Crude on purpose, but the same shape of work as ``accelsim run`` on a retention study:
- programming: every weight of every layer flips with a constant write error probability (one
  Bernoulli draw per cell);
- retention: at each of ``--steps`` steps every +1 weight (stored as AP/HRS, the retention-prone
  state) flips to -1 with the Neel-Arrhenius probability 1 - exp(-dt / (tau0 exp(Delta))), where the
  10 % of neurons with the most +1 weights get Delta 60 and the rest Delta 40 (the mixed array of 002);
- inference: a full float32 pass (BLAS) over every test image after programming and after every step.

Run: python benchmarks/numpy_campaign.py [--net workloads/mlp784.npz] [--repeats 1] [--ber 2.4e-5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
YEAR_S = 365.25 * 24 * 3600.0


def load(path: Path) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Layers (weights as float32 +-1, threshold, flip / scale, shift) and the bundled test set."""
    z = np.load(path)
    layers = []
    for i in range(int(z["n_layers"])):
        layer = {"w": z[f"layer{i}_weights"].astype(np.float32)}
        for key in ("threshold", "flip", "scale", "shift"):
            if f"layer{i}_{key}" in z.files:
                layer[key] = z[f"layer{i}_{key}"]
        layers.append(layer)
    n_in = layers[0]["w"].shape[1]
    bits = np.unpackbits(z["test_x_packed"], axis=1, count=n_in)
    x = np.where(bits == 1, 1.0, -1.0).astype(np.float32)
    return layers, x, z["test_y"].astype(np.int64)


def forward(weights: list[np.ndarray], layers: list[dict], x: np.ndarray) -> np.ndarray:
    """Predicted class per image: float32 matrix products, XNOR popcount = (dot + n_in) / 2."""
    a = x
    for w, layer in zip(weights[:-1], layers[:-1]):
        pop = (a @ w.T + w.shape[1]) * 0.5
        fire = np.where(layer["flip"], pop <= layer["threshold"], pop >= layer["threshold"])
        a = np.where(fire, np.float32(1), np.float32(-1))
    w = weights[-1]
    pop = (a @ w.T + w.shape[1]) * 0.5
    return np.argmax(layers[-1]["scale"] * pop + layers[-1]["shift"], axis=1)


def step_flip_probability(weights: list[np.ndarray], dt_s: float, tau0_s: float,
                          delta_low: float, delta_high: float, high_fraction: float) -> list[np.ndarray]:
    """Per-neuron probability that a +1 cell flips in one step (Delta-60 for the HRS-heaviest neurons)."""
    out = []
    for w in weights:
        n_plus = (w > 0).sum(axis=1)
        n_high = int(round(high_fraction * len(w)))
        delta = np.full(len(w), delta_low)
        if n_high:
            delta[np.argsort(-n_plus, kind="stable")[:n_high]] = delta_high
        out.append(-np.expm1(-dt_s / (tau0_s * np.exp(delta))))
    return out


def campaign(layers: list[dict], x: np.ndarray, y: np.ndarray, *, ber: float, steps: int,
             horizon_s: float, tau0_s: float, delta_low: float, delta_high: float,
             high_fraction: float, repeats: int, seed: int) -> np.ndarray:
    """Accuracy (repeats, steps + 1): after programming, then after each retention step."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((repeats, steps + 1))
    for r in range(repeats):
        weights = []
        for layer in layers:
            w = layer["w"].copy()
            fail = rng.random(w.shape) < ber
            w[fail] = -w[fail]
            weights.append(w)
        p_step = step_flip_probability(weights, horizon_s / steps, tau0_s, delta_low, delta_high,
                                       high_fraction) if steps else []
        acc[r, 0] = np.mean(forward(weights, layers, x) == y)
        for s in range(1, steps + 1):
            for w, p in zip(weights, p_step):
                flip = (w > 0) & (rng.random(w.shape) < p[:, None])
                w[flip] = -1.0
            acc[r, s] = np.mean(forward(weights, layers, x) == y)
    return acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--net", default=str(ROOT / "workloads" / "mlp784.npz"))
    parser.add_argument("--ber", type=float, default=2.4e-5,
                        help="write error probability per cell (default: what the gamma model of "
                             "mixed_retention.yaml measures)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--tau0", type=float, default=1e-9, help="attempt time [s]")
    parser.add_argument("--delta-low", type=float, default=40.0)
    parser.add_argument("--delta-high", type=float, default=60.0)
    parser.add_argument("--high-fraction", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    layers, x, y = load(Path(args.net))
    acc = campaign(layers, x, y, ber=args.ber, steps=args.steps, horizon_s=args.years * YEAR_S,
                   tau0_s=args.tau0, delta_low=args.delta_low, delta_high=args.delta_high,
                   high_fraction=args.high_fraction, repeats=args.repeats, seed=args.seed)
    print(f"accuracy after programming {acc[:, 0].mean():.4f}, end of life {acc[:, -1].mean():.4f} "
          f"({args.repeats} repeat(s), {args.steps} steps, {len(y)} images, "
          f"{time.perf_counter() - t0:.2f} s after imports)")


if __name__ == "__main__":
    main()
