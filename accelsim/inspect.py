"""``accelsim inspect --arch A --net N``: how a network lands on an architecture -- tiles per layer,
cell utilisation, HRS cells per column group -- and what that chip costs (area, leakage, timing).

Reads only; writes nothing. Everything comes from the architecture file (with ``--set`` overrides,
e.g. ``--set cells.delta40.mtj=muench-delta60 --set tech=n28``).
"""

from __future__ import annotations

import argparse

from accelsim.errors import UsageError

#: Most waves of images the timing estimate simulates (about 10 s of engine time).
MAX_WAVES = 100_000


def add_inspect_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``inspect`` sub-command (the CLI calls ``args.func(args)``)."""
    p = subparsers.add_parser(
        "inspect", help="show how a network maps onto an architecture and what the chip costs",
        description="Print tiles per layer, cell utilisation, HRS cells per column group, and the "
                    "area, leakage and timing of the mapped chip. Writes no files.")
    p.add_argument("--arch", required=True, metavar="YAML", help="architecture file")
    p.add_argument("--net", required=True, metavar="NPZ", help="network file (.npz)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)")
    p.add_argument("--images", type=int, default=1000, metavar="N",
                   help="images for the timing estimate (default 1000)")
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

    from accelsim.arch.chip import build_chip
    from accelsim.config import load_arch
    from accelsim.engine import Engine, OpEnergies, readout_timing
    from accelsim.mapping import column_types, map_network, weights_to_states
    from accelsim.network import load_network

    if args.images < 1:
        raise UsageError(f"--images {args.images}: expected an integer >= 1")
    arch = load_arch(args.arch, args.set or ())
    net = load_network(args.net)
    maps = map_network(net, arch)
    tile = arch.tile
    groups = [g.cell for g in tile.columns]
    timing = arch.engine_timing
    waves = -(-args.images // timing.batch_images)
    if waves > MAX_WAVES:
        raise UsageError(f"--images {args.images}: at most {MAX_WAVES * timing.batch_images:,} "
                         f"({MAX_WAVES:,} waves of {timing.batch_images}); the timing is steady long before")
    counts = np.bincount(column_types(tile), minlength=len(groups))

    print(f"arch {arch.name}: tiles of {tile.rows} x {tile.cols}, columns "
          + ", ".join(f"{n} {g}" for g, n in zip(groups, counts)))
    print(f"net  {net.shape}  ({sum(lm.n_in * lm.n_out for lm in maps):,} weights)")
    print()
    for note in net.off_crossbar():
        print(f"off-crossbar {note}")
    if maps and maps[0].n_phases == 1:
        print("inputs       unipolar (0/1): layer 0 reads only the rows of 1 inputs, one sensing phase")
    print(f"{'layer':>5} {'n_in':>6} {'n_out':>6} {'vec/img':>7} {'tiles':>9} {'utilisation':>11}   "
          "HRS cells per column group")
    for lm, layer in zip(maps, net.layers):
        hrs = weights_to_states(layer.weights, arch.mapping).sum(axis=1)
        per_group = []
        for g, name in enumerate(groups):
            sel = lm.neuron_group == g
            n = int(sel.sum())
            mean = hrs[sel].mean() if n else 0.0
            per_group.append(f"{name}: {int(hrs[sel].sum()):,} in {n} cols ({mean:.0f}/col)")
        util = lm.n_in * lm.n_out / (lm.n_tiles * tile.rows * tile.cols)
        print(f"{lm.index:>5} {lm.n_in:>6} {lm.n_out:>6} {lm.vectors_per_image:>7} "
              f"{lm.row_tiles:>3} x {lm.col_tiles:<3} "
              f"{100 * util:>10.1f}%   " + "; ".join(per_group))

    print()
    chip = build_chip(arch, maps)
    tc, tech = chip.tile, chip.tech
    print(f"technology {tech.name}: {tech.description}")
    ro = tc.readout
    conv = "sense amps" if not ro.parallel else "converters"
    print(f"readout {ro.describe()}")
    print(f"       {tc.reads_per_phase(tc.rows)} reads per phase of a full tile, "
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
    energies = OpEnergies.from_chip(chip)
    engine = Engine(maps, tile_rows=tile.rows, tile_cols=tile.cols, timing=timing, energies=energies,
                    **readout_timing(chip, timing))
    engine.program()
    engine.infer(args.images)
    rep = engine.report()
    print(f"timing {_si(timing.clock_hz, 'Hz')} clock: programming {rep.cycles_program:,} cycles "
          f"({_si(rep.time_program_s, 's')}); {args.images} images in {rep.cycles_inference:,} cycles, "
          f"latency {_si(rep.latency_s, 's')} per wave of {timing.batch_images}, "
          f"{rep.throughput_inf_per_s:,.0f} inferences/s")
    busiest = max(rep.utilisation.values())
    print(f"       busiest tile senses {100 * busiest:.1f} % of the time")
    return 0
