"""accelsim vs DNN_NeuroSim V1.4 on ``mlp784``, component by component, for several readout schemes;
and the NeuroSim trace files that let anyone re-run NeuroSim's side.

    python benchmarks/neurosim_compare.py                    # accelsim's side of the table (markdown)
    python benchmarks/neurosim_compare.py --images 2000      # energies over more images
    python benchmarks/neurosim_compare.py --traces DIR       # also write NeuroSim's input files

accelsim's side: ``arch_configs/mixed_retention.yaml`` on ``workloads/mlp784.npz`` with the readout set
to k = 1 (row-serial) and k = 128 rows per read with 2-, 5- and 8-bit converters (and k = 64, 7 bits);
retention off (only one inference campaign is priced). Areas from the chip cost model; energies per
inference from a run over the first ``--images`` test images (the split by activity).

NeuroSim's side: the figures measured on 2026-12-01 (shared/anchors/neurosim_mlp784.md), printed
beside accelsim's. To re-run NeuroSim:

1. ``git clone https://github.com/neurosim/DNN_NeuroSim_V1.4; cd DNN_NeuroSim_V1.4/Inference_pytorch/
   NeuroSIM; make`` (g++ and make; builds ``main``).
2. In ``Param.cpp`` set: ``memcelltype = 2`` (RRAM: NeuroSim has no STT-MRAM type; its 1T1R eNVM),
   ``accesstype = 1`` (CMOS access), ``deviceroadmap = 2`` (LSTP), ``technode = 45`` (or 32),
   ``resistanceOn = 2.3e3``, ``resistanceOff = 5.1e3`` (the Delta-40 junction of 002 Table I),
   ``cellBit = 1``, ``numRowSubArray = numColSubArray = 256``, ``numColMuxed = 1`` (a converter per
   column), ``SARADC = false`` with ``levelOutput = 4`` (its smallest working multilevel sense amp;
   ``SARADC = true`` for the SAR model accelsim uses) or the bits of the k > 1 rows below,
   ``readPulseWidth = 10e-9``, ``pipeline = true``, ``novelMapping = false``; rebuild.
3. ``python benchmarks/neurosim_compare.py --traces layer_record`` writes, per sensing phase,
   ``layer_record/phase{1,2}/`` with ``NetWork_mlp784.csv`` (one row per layer: IFM 1 x 1 x n_in,
   kernel 1 x 1, n_out channels, no pooling, stride 1), ``weight{L}.csv`` (n_in x n_out: -1 for a +1
   weight, i.e. HRS, 0 for -1/LRS; NeuroSim's 1-bit normaliser maps +1 to 0) and ``input{L}.csv``
   (n_in rows, 1 where the row is read in that phase: the +1 inputs in phase 1, the -1 inputs in
   phase 2, for test image 0 and the activations the network computes from it), and
   ``trace_command.sh`` with the command line (``./main NetWork_mlp784.csv 1 1 256 <k> weight0.csv
   input0.csv ...``, k = rows read in parallel).
4. Run ``trace_command.sh`` of both phases from the NeuroSIM directory and add the two runs' area
   (once), energy and latency (both) by component.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accelsim.arch.chip import build_chip  # noqa: E402
from accelsim.config import load_arch  # noqa: E402
from accelsim.mapping import map_network  # noqa: E402
from accelsim.network import load_network, neuron_output  # noqa: E402
from accelsim.simulate import simulate  # noqa: E402
from accelsim.workload import bundled_workload  # noqa: E402

ARCH = ROOT / "arch_configs" / "mixed_retention.yaml"
NET = ROOT / "workloads" / "mlp784.npz"
SCHEMES = [("k = 1 (row-serial, 1-bit SA)", ["read.rows_per_read=1"]),
           ("k = 64, 7-bit SAR", ["read.rows_per_read=64"]),
           ("k = 128, 2-bit SAR", ["read.rows_per_read=128", "read.adc_bits=2"]),
           ("k = 128, 5-bit SAR", ["read.rows_per_read=128", "read.adc_bits=5"]),
           ("k = 128, 8-bit SAR", ["read.rows_per_read=128", "read.adc_bits=8"])]

# Measured with NeuroSim V1.4 at 45 nm, both sensing phases (shared/anchors/neurosim_mlp784.md):
# reference figures for the comparison table, not inputs to any accelsim result.
NEUROSIM_45NM = {
    "area_mm2": {"cells": 0.713, "converters": 1.937, "accumulation": 0.250,
                 "drivers, decoders, muxes, buffers": 0.518, "interconnect": 2.962, "total": 6.69},
    "energy_nj": {"cell reads + converters": 6.34, "accumulation": 0.32, "buffers": 0.34,
                  "interconnect": 3.09, "decoders etc.": 0.23, "total": 10.3},
    "throughput_per_s": 1.37e6,
}


def accelsim_side(overrides: list[str], n_images: int) -> dict:
    """Areas [mm2], energies per inference [nJ] and throughput of one readout scheme."""
    arch = load_arch(ARCH, [*overrides, "retention.horizon=0 s"])
    net = load_network(NET)
    maps = map_network(net, arch)
    chip = build_chip(arch, maps)
    t = chip.tile
    n = chip.n_tiles
    mm2 = 1e6
    area = {
        "cells": n * t.area_cells_m2 * mm2,
        "converters": n * t.area_sense_amps_m2 * mm2,
        "accumulation": (n * t.area_counters_m2 + sum(lc.area_adders_m2 for lc in chip.layers)) * mm2,
        "drivers, decoders, muxes, buffers": (
            n * (t.area_write_drivers_m2 + t.area_wordline_drivers_m2 + t.area_decoders_m2
                 + t.area_column_mux_m2) + sum(lc.area_buffer_m2 for lc in chip.layers)) * mm2,
        "interconnect": chip.area_interconnect_m2 * mm2,
        "total": chip.area_m2 * mm2}
    wl = bundled_workload(net)
    wl = dataclasses.replace(wl, y=wl.y[:n_images], x_pm1=wl.x_pm1[:n_images])
    run = simulate(arch, net, wl, seed=0)
    by = {k: v * 1e9 / run.n_images for k, v in run.energy_by_activity_j.items()}  # nJ per inference
    # the "sense" activity holds conversions + accumulation + decoding; split it by the per-read costs
    reads = by.get("sense", 0.0)
    per_read = t.e_sense_column_j * t.cols + t.e_accumulate_column_j * t.cols + t.e_decode_j
    energy = {
        "cell reads (and word lines)": by.get("sense_cells", 0.0),
        "converters": reads * t.e_sense_column_j * t.cols / per_read,
        "cell reads + converters": (by.get("sense_cells", 0.0)
                                    + reads * t.e_sense_column_j * t.cols / per_read),
        "accumulation": reads * t.e_accumulate_column_j * t.cols / per_read + by.get("adder", 0.0),
        "buffers": by.get("buffer", 0.0),
        "interconnect": by.get("link_in", 0.0) + by.get("link_out", 0.0),
        "decoders etc.": reads * t.e_decode_j / per_read,
        "leakage": by.get("leakage", 0.0)}
    energy["total"] = sum(v for k, v in energy.items()
                          if k not in ("cell reads (and word lines)", "converters"))
    return {"area": area, "energy": energy, "throughput": run.engine.throughput_inf_per_s,
            "accuracy": float(np.mean(run.accuracy_programmed)),
            "cycles_per_phase": t.reads_per_phase(t.rows) * math.ceil(t.t_read_s * arch.timing.clock_hz)}


def table(n_images: int) -> str:
    sides = [(name, accelsim_side(o, n_images)) for name, o in SCHEMES]
    head = "| component | NeuroSim 45 nm | " + " | ".join(n for n, _ in sides) + " |"
    rule = "|---" * (2 + len(sides)) + "|"
    out = ["Area [mm2]", "", head, rule]
    for comp, ref in NEUROSIM_45NM["area_mm2"].items():
        out.append(f"| {comp} | {ref:.3g} | "
                   + " | ".join(f"{s['area'][comp]:.3g}" for _, s in sides) + " |")
    out += ["", f"Energy per inference [nJ] (first {n_images} test images)", "", head, rule]
    for comp in ("cell reads (and word lines)", "converters", "cell reads + converters", "accumulation",
                 "buffers", "interconnect", "decoders etc.",
                 "leakage", "total"):
        ref = NEUROSIM_45NM["energy_nj"].get(comp)
        out.append(f"| {comp} | {'-' if ref is None else f'{ref:.3g}'} | "
                   + " | ".join(f"{s['energy'][comp]:.3g}" for _, s in sides) + " |")
    out += ["", head, rule,
            f"| throughput [1/s] | {NEUROSIM_45NM['throughput_per_s']:.3g} | "
            + " | ".join(f"{s['throughput']:.3g}" for _, s in sides) + " |",
            "| cycles per read pass of a full tile (k = 1: one pass; k > 1: per phase) | - | "
            + " | ".join(str(s["cycles_per_phase"]) for _, s in sides) + " |",
            "| accuracy (programmed) | - | " + " | ".join(f"{100 * s['accuracy']:.2f} %" for _, s in sides)
            + " |"]
    return "\n".join(out)


def write_traces(out: Path, image: int = 0, rows_parallel: int = 256) -> list[Path]:
    """NeuroSim's network, weight and input files for test image ``image``, one directory per phase."""
    from accelsim.kernels.xnor import pack_bits, xnor_popcount

    net = load_network(NET)
    if net.format_version != 1:
        raise SystemExit("trace files are written for dense binarized networks only")
    wl = bundled_workload(net)
    x = wl.x_pm1[image:image + 1].astype(np.int64)
    layers = [*net.hidden, net.output]
    acts = [x]
    for layer in net.hidden:
        words = pack_bits((acts[-1] > 0).astype(np.uint8))
        pop = xnor_popcount(words, pack_bits((layer.weights > 0).astype(np.uint8)), layer.weights.shape[1])
        acts.append(np.where(neuron_output(pop, layer) == 1, 1, -1))
    written = []
    for phase, sign in ((1, 1), (2, -1)):
        d = out / f"phase{phase}"
        d.mkdir(parents=True, exist_ok=True)
        rows = [f"1,1,{lay.weights.shape[1]},1,1,{lay.weights.shape[0]},0,1" for lay in layers]
        (d / "NetWork_mlp784.csv").write_text("\n".join(rows) + "\n")
        args = []
        for i, (lay, a) in enumerate(zip(layers, acts)):
            w = np.where(lay.weights.T > 0, -1, 0)  # n_in x n_out; +1 (HRS) -> -1, -1 (LRS) -> 0
            np.savetxt(d / f"weight{i}.csv", w, delimiter=",", fmt="%d")
            np.savetxt(d / f"input{i}.csv", (a[0] == sign).astype(int)[:, None], delimiter=",", fmt="%d")
            args += [f"weight{i}.csv", f"input{i}.csv"]
            written += [d / f"weight{i}.csv", d / f"input{i}.csv"]
        cmd = (f"./main {d / 'NetWork_mlp784.csv'} 1 1 256 {rows_parallel} "
               + " ".join(str(d / a) for a in args))
        (d / "trace_command.sh").write_text(cmd + "\n")
        written += [d / "NetWork_mlp784.csv", d / "trace_command.sh"]
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=1000, help="test images for the energy split")
    p.add_argument("--traces", type=Path, help="write NeuroSim trace files into this directory")
    p.add_argument("--rows-parallel", type=int, default=256, help="NeuroSim's numRowParallel (argv 5)")
    args = p.parse_args(argv)
    if args.traces is not None:
        for path in write_traces(args.traces, rows_parallel=args.rows_parallel):
            print(f"wrote {path}", file=sys.stderr)
    print(table(args.images))
    return 0


if __name__ == "__main__":
    sys.exit(main())
