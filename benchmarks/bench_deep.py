"""Deep-path speed: 000's CIFAR-10 BNN (workloads/arch_only/hirtzlin2019_cifar10.yaml, 47.5 M binary
weights, 59 tiles of 1024 x 1024) costed and run.

1. cost-only (``accelsim run --cost-only``'s computation): seconds for a 10,000-image campaign and per
   image;
2. a full functional campaign (programming every cell with write errors, one inference campaign,
   000's weight-error setting arch_configs/weight_ber.yaml) on the same network with RANDOM +-1
   weights and mid-range thresholds drawn here from ``--seed`` (no trained CIFAR weights or CIFAR
   images exist here; random 32x32x3 intensities stand in for the images: the work per image does not
   depend on their values), measured on a few images and extrapolated to 10,000: the fixed part
   (programming, mapping) from the smallest run, the per-image slope between the two runs. Target: one
   campaign of 10,000 images within 10 minutes on this machine. The memory a 10,000-image campaign
   would need (the simulator holds a campaign's patches at once) is printed beside it;
3. images per second through the crossbar for the shipped VGG workload (workloads/vgg_fashion.npz,
   Fashion-MNIST test images), when it is there.

Run: python benchmarks/bench_deep.py [--images 4,20] [--seed 0]   (about 3 minutes)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CIFAR = ROOT / "workloads" / "arch_only" / "hirtzlin2019_cifar10.yaml"
VGG = ROOT / "workloads" / "vgg_fashion.npz"
TARGET_S = 600.0
TRIES = 2
CAMPAIGN = 10_000


def random_network(path: Path, seed: int):
    """A format-v3 network with the layer list of the description at ``path`` (square symmetric
    padding, unpadded pools only), random +-1 weights and thresholds in the middle third of each
    count, a real first layer as the real front, scale/shift read-out; from ``seed``."""
    from accelsim.network import ConvShape, HiddenLayer, Network, OutputLayer, RealFront

    rng = np.random.default_rng(seed)
    doc = yaml.safe_load(path.read_text())
    dims = tuple(doc["input"])
    blocks = []  # [kind, spec, pool spec or None]
    for spec in doc["layers"]:
        if spec["type"] in ("maxpool", "avgpool"):
            if spec.get("padding", 0):
                raise ValueError("padded pools have no format-v3 equivalent")
            blocks[-1][2] = spec
        else:
            blocks.append([spec["type"], spec, None])
    front, hidden = None, []
    for k, (kind, spec, pool) in enumerate(blocks):
        last = k == len(blocks) - 1
        if kind == "conv":
            pool_kw = {}
            if pool is not None:
                pool_kw = dict(pool="max" if pool["type"] == "maxpool" else "avg", pool_size=pool["size"],
                               pool_stride=pool.get("stride", pool["size"]))
            conv = ConvShape(in_h=dims[0], in_w=dims[1], in_c=dims[2], kernel=spec["kernel"],
                             stride=spec.get("stride", 1), pad=spec.get("padding", 0), **pool_kw)
            f = spec["filters"]
            if spec.get("real"):
                if k != 0:
                    raise ValueError("only a real first layer is supported here")
                front = RealFront(weights=rng.normal(0, 1, (conv.kernel, conv.kernel, conv.in_c, f)),
                                  conv=conv, scale=np.ones(f), shift=np.zeros(f), out_scale=np.ones(f),
                                  out_shift=-np.full(f, 0.5))
            else:
                n_in = conv.patch_size
                hidden.append(HiddenLayer(
                    weights=np.where(rng.random((f, n_in)) < 0.5, 1, -1).astype(np.int8),
                    threshold=rng.integers(n_in // 3, 2 * n_in // 3 + 1, f).astype(np.float64),
                    flip=np.zeros(f, bool), conv=conv))
            dims = (conv.map_h, conv.map_w, f)
        else:
            n_in, units = int(np.prod(dims)), spec["units"]
            w = np.where(rng.random((units, n_in)) < 0.5, 1, -1).astype(np.int8)
            if last:
                output = OutputLayer(weights=w, scale=np.ones(units), shift=np.zeros(units))
            else:
                hidden.append(HiddenLayer(weights=w, flip=np.zeros(units, bool),
                                          threshold=rng.integers(n_in // 3, 2 * n_in // 3 + 1,
                                                                 units).astype(np.float64)))
            dims = (units,)
    return Network(hidden=tuple(hidden), output=output, front=front,
                   input_threshold=float("nan") if front is not None else 0.5,
                   dataset=f"random +-1 weights, seed {seed}")


def cost_only_figure() -> float:
    """Prints and returns the seconds per image of a 10,000-image cost-only campaign."""
    from accelsim.config import load_arch
    from accelsim.cost import cost_only
    from accelsim.description import load_description

    arch = load_arch(ROOT / "arch_configs" / "weight_ber.yaml")
    desc = load_description(CIFAR)
    cost_only(arch, desc, 100)  # warm-up (imports)
    t0 = time.perf_counter()
    result = cost_only(arch, desc, CAMPAIGN)
    dt = time.perf_counter() - t0
    print(f"1. cost-only, 000's CIFAR-10 BNN ({desc.n_weights:,} weights, {result.chip.n_tiles} tiles), "
          f"{CAMPAIGN:,} images: {dt:.2f} s = {dt / CAMPAIGN * 1e6:.1f} us per image")
    return dt / CAMPAIGN


def functional_figure(images: list[int], seed: int) -> tuple[float, float]:
    """Prints the figures; returns (seconds per image, extrapolated seconds of a 10,000-image campaign)."""
    from accelsim.config import load_arch
    from accelsim.limits import check_run, run_estimate
    from accelsim.network import reference_predict
    from accelsim.simulate import simulate
    from accelsim.workload import Workload

    arch = load_arch(ROOT / "arch_configs" / "weight_ber.yaml")
    t0 = time.perf_counter()
    net = random_network(CIFAR, seed)
    t_build = time.perf_counter() - t0
    rng = np.random.default_rng(seed + 1)
    warm = rng.random((1, net.n_inputs)).astype(np.float32)  # warm-up: kernels loaded, pages touched
    simulate(arch, net, Workload(x_real=warm, y=np.zeros(1, np.int64), name="warm-up"), seed=seed)
    reference_predict(net, warm)
    times, refs = [], []
    n_cells = sum(layer.weights.size for layer in net.layers)
    for n in images:
        x = rng.random((n, net.n_inputs)).astype(np.float32)
        wl = Workload(x_real=x, y=np.zeros(n, np.int64), name="random intensities")
        check_run(arch, net, n, 1)
        t_sim, t_ref = [], []
        for _ in range(TRIES):  # the least of a few: on a shared machine the others ran with it
            t0 = time.perf_counter()
            simulate(arch, net, wl, seed=seed)
            t_sim.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            reference_predict(net, x)  # the run's ideal accuracy, timed apart: it is inside simulate()
            t_ref.append(time.perf_counter() - t0)
        times.append(min(t_sim))
        refs.append(min(t_ref))
        print(f"2. functional campaign, 000's CIFAR-10 BNN with random +-1 weights (seed {seed}), {n} "
              f"images: {times[-1]:.1f} s (least of {TRIES}; programming {n_cells:,} cells and the "
              f"reference inference {refs[-1]:.1f} s included)")
    slope = (times[-1] - times[0]) / (images[-1] - images[0])
    ref_slope = (refs[-1] - refs[0]) / (images[-1] - images[0])
    fixed = times[0] - slope * images[0]
    total = fixed + slope * CAMPAIGN
    crossbar = fixed + (slope - ref_slope) * CAMPAIGN
    print(f"   per image {slope:.3f} s, of which the float reference inference (accuracy_ideal) "
          f"{ref_slope:.3f} s and the crossbar {slope - ref_slope:.3f} s; fixed {fixed:.1f} s "
          f"(programming; network built in {t_build:.1f} s, not counted)")
    print(f"   {CAMPAIGN:,} images extrapolated: {total:.0f} s = {total / 60:.1f} min "
          f"({crossbar / 60:.1f} min without the reference inference) | target <= {TARGET_S / 60:.0f} min | "
          f"{'MET' if total <= TARGET_S else 'NOT MET'} (extrapolated)")
    layers = []
    for layer in net.layers:
        n_out, n_in = layer.weights.shape
        conv = getattr(layer, "conv", None)
        layers.append((n_in, n_out, conv.positions if conv else 1, layer.n_outputs))
    memory, _ = run_estimate(layers, CAMPAIGN, 1, 1, arch.write.model != "constant_ber")
    print(f"   memory of one {CAMPAIGN:,}-image campaign (limits.run_estimate): {memory / 1e9:.0f} GB, so "
          f"it runs as image chunks of the same seed (identical cells) or split over workers")
    return slope, total


def vgg_figure() -> None:
    if not VGG.exists():
        print(f"3. {VGG.relative_to(ROOT)} is not in this checkout: no VGG figure")
        return
    from accelsim.config import load_arch
    from accelsim.network import load_network, reference_predict
    from accelsim.simulate import simulate
    from accelsim.workload import load_workload

    arch = load_arch(ROOT / "arch_configs" / "weight_ber.yaml")
    net = load_network(VGG)
    wl = load_workload(net, None)
    simulate(arch, net, wl)  # warm-up: kernels compiled / loaded
    t0 = time.perf_counter()
    simulate(arch, net, wl)
    dt = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference_predict(net, wl.x)  # inside simulate() (accuracy_ideal): timed apart
    t_ref = time.perf_counter() - t0
    print(f"3. VGG workload ({VGG.name}, {net.shape}), {wl.n_images:,} images, programming + one "
          f"campaign: {dt:.1f} s = {wl.n_images / dt:,.0f} images/s; without the reference inference "
          f"of accuracy_ideal ({t_ref:.1f} s): {wl.n_images / (dt - t_ref):,.0f} images/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", default="4,20", help="image counts of the functional runs (two or more)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights and images")
    ap.add_argument("--skip-functional", action="store_true")
    args = ap.parse_args()
    images = [int(v) for v in args.images.split(",")]
    print(f"bench_deep: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    cost_only_figure()
    if not args.skip_functional:
        functional_figure(images, args.seed)
    vgg_figure()


if __name__ == "__main__":
    main()
