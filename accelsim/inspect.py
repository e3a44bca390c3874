"""``accelsim inspect --arch A --net N``: how a network lands on an architecture -- tiles per layer,
cell utilisation, HRS cells per column group -- and what that chip costs (area, leakage, timing), with
a per-layer cost-only view (tiles, patches, cycles, energy and each one's share of the total).

Reads only; writes nothing. Everything comes from the architecture file (with ``--set`` overrides,
e.g. ``--set cells.delta40.mtj=muench-delta60 --set tech=n28``).
"""

from __future__ import annotations

import argparse

from accelsim.errors import UsageError

#: Images of the timing estimate without --images or --data.
DEFAULT_IMAGES = 1000


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], got {text!r}")
    return value


def add_cost_options(p: argparse.ArgumentParser, *, images_default: int | None = None) -> None:
    """The options of a cost-only campaign (``run --cost-only``, ``inspect``)."""
    p.add_argument("--images", type=int, default=images_default, metavar="N",
                   help="images of the costed inference campaign (default 1000; cost-only)")
    p.add_argument("--ap-fraction", type=_fraction, default=None, metavar="P",
                   help="share of cells in the AP (HRS) state, whose reads cost differently (default: "
                        "counted from the weights, 0.5 for a description without weights; cost-only)")
    p.add_argument("--input-one-fraction", type=_fraction, default=None, metavar="P",
                   help="share of 1 inputs of a unipolar (0/1) first layer, whose 0 rows are not read "
                        "(default 0.5; cost-only)")


def add_inspect_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``inspect`` sub-command (the CLI calls ``args.func(args)``)."""
    p = subparsers.add_parser(
        "inspect", help="show how a network maps onto an architecture and what the chip costs",
        description="Print tiles per layer, cell utilisation, HRS cells per column group, and the "
                    "area, leakage and timing of the mapped chip. Writes no files.")
    p.add_argument("--arch", required=True, metavar="YAML", help="architecture file")
    p.add_argument("--net", required=True, metavar="NET",
                   help="network file (.npz or ONNX), or an architecture-only description "
                        "(workloads/arch_only/*.yaml)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    p.add_argument("--data", metavar="PATH",
                   help="a test set (mnist, fashion, cifar10:DIR, an IDX file or directory, a binarized "
                        ".npz): checked against the network, and its images are those of the timing estimate")
    add_cost_options(p)
    p.set_defaults(func=handler)
    return p


def _si(value: float, unit: str) -> str:
    prefixes = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""), (1e3, "k"),
                (1e6, "M"), (1e9, "G")]
    scale, prefix = prefixes[0]
    for s, p in prefixes:
        if abs(value) >= s:
            scale, prefix = s, p
    return f"{value / scale:.3g} {prefix}{unit}"


def handler(args: argparse.Namespace) -> int:
    import numpy as np

    from accelsim.cli import cost_activity, load_description_for
    from accelsim.config import load_arch
    from accelsim.cost import activity_statement, check_images, cost_only
    from accelsim.mapping import column_types, weights_to_states
    from accelsim.report import format_cost_layers

    arch = load_arch(args.arch, args.set or ())
    activity = cost_activity(args)
    desc, net = load_description_for(args, arch)
    workload = None
    if args.data is not None:
        if net is None:
            raise UsageError(f"--data with {args.net}: an architecture-only description has no inputs to "
                             "check a test set against; drop --data")
        from accelsim.workload import load_workload

        workload = load_workload(net, args.data)
    n_images = args.images if args.images is not None else (
        workload.n_images if workload is not None else DEFAULT_IMAGES)
    check_images(n_images, arch)
    result = cost_only(arch, desc, n_images, activity=activity, net=net)
    maps, chip = result.maps, result.chip
    tile = arch.tile
    groups = [g.cell for g in tile.columns]
    timing = arch.engine_timing
    counts = np.bincount(column_types(tile), minlength=len(groups))

    print(f"arch {arch.name}: tiles of {tile.rows} x {tile.cols}, columns "
          + ", ".join(f"{n} {g}" for g, n in zip(groups, counts)))
    shape = net.shape if net is not None else desc.name
    print(f"net  {shape}  ({sum(lm.n_in * lm.n_out for lm in maps):,} weights)")
    if net is None:
        print(f"     architecture-only description: {desc.source}")
    if workload is not None:
        print(f"data {workload.name}: {workload.n_images:,} images of {net.n_inputs} inputs, labels "
              f"fit the network's {net.output.n_classes} classes")
    print()
    for note in desc.off_crossbar:
        print(f"off-crossbar {note}")
    if maps and maps[0].n_phases == 1:
        print("inputs       unipolar (0/1): layer 0 reads only the rows of 1 inputs, one sensing phase")
    print(f"{'layer':>5} {'n_in':>6} {'n_out':>6} {'vec/img':>7} {'tiles':>9} {'utilisation':>11}   "
          "HRS cells per column group")
    layers = net.layers if net is not None else [None] * len(maps)
    for lm, layer in zip(maps, layers):
        per_group = []
        hrs = weights_to_states(layer.weights, arch.mapping).sum(axis=1) if layer is not None else None
        for g, name in enumerate(groups):
            sel = lm.neuron_group == g
            n = int(sel.sum())
            if hrs is None:
                per_group.append(f"{name}: {n} cols")
                continue
            mean = hrs[sel].mean() if n else 0.0
            per_group.append(f"{name}: {int(hrs[sel].sum()):,} in {n} cols ({mean:.0f}/col)")
        util = lm.n_in * lm.n_out / (lm.n_tiles * tile.rows * tile.cols)
        print(f"{lm.index:>5} {lm.n_in:>6} {lm.n_out:>6} {lm.vectors_per_image:>7} "
              f"{lm.row_tiles:>3} x {lm.col_tiles:<3} "
              f"{100 * util:>10.1f}%   " + "; ".join(per_group))

    print()
    tc, tech = chip.tile, chip.tech
    print(f"technology {tech.name}: {tech.description}")
    ro = tc.readout
    conv = "sense amps" if not ro.parallel else "converters"
    print(f"readout {ro.describe()}")
    passes = ("reads of a full tile per input vector (each row once, in the phase its input selects)"
              if not ro.parallel else "reads per phase of a full tile")
    print(f"       {tc.reads_per_phase(tc.rows)} {passes}, "
          f"{_si(tc.t_read_s, 's')} each ({timing.t_sense_s * 1e9:g} ns read pulse"
          + (f" + {tc.t_convert_s * 1e9:g} ns conversion)" if ro.parallel else ")")
          + f"; per column and read {_si(tc.e_sense_column_j, 'J')} "
          + ("conversion" if ro.parallel else "sense decision")
          + f" + {_si(tc.e_accumulate_column_j, 'J')} accumulation; "
          f"{conv[:-1]} {tc.area_sense_amps_m2 / tc.n_sense_amps * 1e12:.3g} um^2 each; "
          f"access transistor {_si(tc.r_access_ohm, 'Ohm')} in reads")
    print(f"tile   area {tc.area_m2 * 1e12:.4g} um^2 (cells {100 * tc.area_cells_m2 / tc.area_m2:.1f} %, "
          f"{conv} {100 * tc.area_sense_amps_m2 / tc.area_m2:.1f} %, accumulators "
          f"{100 * tc.area_counters_m2 / tc.area_m2:.1f} %, drivers "
          f"{100 * (tc.area_write_drivers_m2 + tc.area_wordline_drivers_m2) / tc.area_m2:.1f} %, decoders "
          f"and muxes {100 * (tc.area_decoders_m2 + tc.area_column_mux_m2) / tc.area_m2:.1f} %)   "
          f"leakage {_si(tc.leakage_w, 'W')} (cells {_si(tc.leakage_cells_w, 'W')})")
    for gc, name in zip(tc.groups, groups):
        f = tech.feature_size_m
        print(f"cell   {name}: W {gc.cell.w_access_m / f:.2f} F, {gc.cell.area_m2 / f**2:.2f} F^2, "
              f"leakage {_si(gc.cell.leakage_w, 'W')}, write {_si(gc.cell.i_write_a, 'A')}, "
              f"{_si(gc.e_write_j, 'J')} per write")
    ic = chip.interconnect
    print(f"chip   {chip.n_tiles} tiles, area {chip.area_m2 * 1e6:.4g} mm^2 (H-tree "
          f"{100 * ic.area_m2 / chip.area_m2:.1f} %: {ic.bus_bits} wires over {ic.length_m * 1e3:.3g} mm, "
          f"{_si(ic.e_per_bit_j, 'J')} per bit to a tile), leakage {_si(chip.leakage_w, 'W')}")
    rep = result.engine
    print(f"timing {_si(timing.clock_hz, 'Hz')} clock: programming {rep.cycles_program:,} cycles "
          f"({_si(rep.time_program_s, 's')}); {n_images} images in {rep.cycles_inference:,} cycles, "
          f"latency {_si(rep.latency_s, 's')} per wave of {timing.batch_images}, "
          f"{rep.throughput_inf_per_s:,.0f} inferences/s")
    busiest = max(rep.utilisation.values())
    print(f"       busiest tile senses {100 * busiest:.1f} % of the time")
    print()
    print(f"cost-only, per image ({n_images:,}-image campaign): "
          f"{_si(result.energy_per_inference_j, 'J')} per inference, programming "
          f"{_si(result.energy_program_j, 'J')}")
    for line in format_cost_layers(result):
        print(line)
    for k, line in enumerate(activity_statement(result)):
        print(f"{'assumes' if k == 0 else '':<8}{line}")
    return 0
