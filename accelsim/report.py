"""Run results -> one summary row (CSV), a long-format timeline (CSV), and a JSON document.

Column names carry their SI unit; the column order of ``SUMMARY_COLUMNS`` is part of the interface.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import math
import sys
from pathlib import Path

import numpy as np

from accelsim import __version__
from accelsim.config import ArchConfig, to_plain
from accelsim.outputs import OutputSet, ensure_dir
from accelsim.simulate import RunResult
from accelsim.table import Table, csv_text

#: The libraries whose versions a JSON report records beside accelsim's (results depend on them).
VERSIONED_LIBRARIES = ("numpy", "numba", "scipy", "simpy", "pandas")

SUMMARY_COLUMNS = (
    "run_id", "arch", "net", "dataset", "n_images", "seed", "repeats",
    "accuracy_ideal", "accuracy_programmed", "accuracy_end_of_life",
    "write_ber_measured", "retention_flips",
    "accuracy_programmed_std", "accuracy_end_of_life_std", "weight_error_rate",
    "retention_horizon_s", "n_cells", "n_tiles", "read_ber_measured", "read_disturbs",
    "energy_program_j", "energy_program_junction_j", "energy_per_inference_j",
    "area_m2", "area_cells_m2", "leakage_w",
    "cycles_program", "time_program_s", "cycles_per_inference", "latency_s", "throughput_inf_per_s",
)


def _std(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summary_row(result: RunResult, *, run_id: str, arch: ArchConfig, net_name: str, dataset: str,
                seed: int) -> dict:
    """The run's summary as an ordered dict (keys in ``SUMMARY_COLUMNS`` order)."""
    ber = result.n_write_failures / result.n_switches if result.n_switches else 0.0
    junction = result.energy_program_junction_j if arch.write.model != "constant_ber" else float("nan")
    row = {
        "run_id": run_id, "arch": arch.name, "net": net_name, "dataset": dataset,
        "n_images": result.n_images, "seed": seed, "repeats": result.repeats,
        "accuracy_ideal": result.accuracy_ideal,
        "accuracy_programmed": float(np.mean(result.accuracy_programmed)),
        "accuracy_end_of_life": float(np.mean(result.accuracy_end_of_life)),
        "write_ber_measured": ber,
        "retention_flips": float(np.mean(result.retention_flips)),
        "accuracy_programmed_std": _std(result.accuracy_programmed),
        "accuracy_end_of_life_std": _std(result.accuracy_end_of_life),
        "weight_error_rate": result.n_wrong_cells / (result.n_cells * result.repeats),
        "retention_horizon_s": arch.retention.horizon_s,
        "n_cells": result.n_cells,
        "n_tiles": sum(lm.n_tiles for lm in result.layer_maps),
        "read_ber_measured": result.n_misreads / result.n_reads if result.n_reads else 0.0,
        "read_disturbs": result.n_read_disturbs / result.repeats,
        "energy_program_j": result.energy_program_j,
        # constant_ber has no device write model, hence no junction energy: NaN (an empty cell), not 0.
        "energy_program_junction_j": junction,
        "energy_per_inference_j": result.energy_inference_j / result.n_images,
        "area_m2": result.chip.area_m2,
        "area_cells_m2": result.chip.area_cells_m2,
        "leakage_w": result.chip.leakage_w,
        "cycles_program": result.engine.cycles_program,
        "time_program_s": result.engine.time_program_s,
        "cycles_per_inference": result.engine.cycles_per_inference,
        "latency_s": result.engine.latency_s,
        "throughput_inf_per_s": result.engine.throughput_inf_per_s,
    }
    return {k: row[k] for k in SUMMARY_COLUMNS}


def timeline_table(result: RunResult, run_id: str) -> Table:
    """The run's timeline as written to ``<run_id>_timeline.csv``: ``run_id`` first, then one row per
    repeat and retention step."""
    return result.timeline_table.with_first("run_id", run_id)


def timeline_frame(result: RunResult, run_id: str):
    """``timeline_table`` as a ``pandas.DataFrame``."""
    return timeline_table(result, run_id).frame()


def summary_csv(row: dict) -> str:
    """The text of ``<run_id>.csv``: the header and the one summary ``row``."""
    return csv_text(list(row), [list(row.values())])


def report_document(row: dict, result: RunResult, arch: ArchConfig, extra: dict) -> dict:
    """The content of ``<run_id>.json``: the summary ``row``, ``extra`` (what was run: files,
    overrides), the layer mapping, energies, utilisation, costs, per-repeat accuracies, the config."""
    layers = [{"layer": lm.index, "kind": "conv" if (lm.vectors_per_image > 1
                                                  or lm.inputs_per_image != lm.n_in) else "dense",
               "n_in": lm.n_in, "n_out": lm.n_out, "row_tiles": lm.row_tiles,
               "col_tiles": lm.col_tiles, "vectors_per_image": lm.vectors_per_image,
               "sensing_phases": lm.n_phases,
               "neurons_per_column_group": np.bincount(lm.neuron_group,
                                                       minlength=len(arch.tile.columns)).tolist()}
              for lm in result.layer_maps]
    eng = result.engine
    return {"accelsim_version": __version__, "versions": software_versions(), "summary": row, **extra,
            "layers": layers,
            "off_crossbar": list(result.off_crossbar),
            "energy_per_inference_by_activity_j": {k: v / result.n_images
                                                   for k, v in sorted(result.energy_by_activity_j.items())},
            "tile_utilisation": eng.utilisation,
            "cost_breakdown": _cost_breakdown(result.chip),
            "accuracy_programmed_per_repeat": result.accuracy_programmed.tolist(),
            "accuracy_end_of_life_per_repeat": result.accuracy_end_of_life.tolist(),
            "arch_config": to_plain(arch)}


def report_json(doc: dict) -> str:
    """``doc`` as the text of the JSON report (NumPy scalars as numbers)."""
    return json.dumps(doc, indent=2, default=_json_default) + "\n"


def write_outputs(out_dir: Path, run_id: str, row: dict, result: RunResult, arch: ArchConfig,
                  extra: dict, trace: str | Path | None = None, doc: dict | None = None) -> list[Path]:
    """Write ``<run_id>.csv``, ``<run_id>_timeline.csv`` and ``<run_id>.json`` into ``out_dir`` (and
    the engine's event trace to ``trace``, for a result simulated with ``trace=True``). ``doc``: the
    JSON report's content if already made (``report_document``), else it is made here.

    They appear together or not at all (``accelsim.outputs.OutputSet``); a failed write raises
    ``OutputError`` and leaves the previous files, if any, as they were.
    """
    ensure_dir(out_dir)
    csv_path = out_dir / f"{run_id}.csv"
    timeline_path = out_dir / f"{run_id}_timeline.csv"
    json_path = out_dir / f"{run_id}.json"
    with OutputSet() as files:
        files.write_text(csv_path, summary_csv(row))
        files.write_text(timeline_path, timeline_table(result, run_id).csv())
        if doc is None:
            doc = report_document(row, result, arch, extra)
        files.write_text(json_path, report_json(doc))
        written = [csv_path, timeline_path, json_path]
        if trace is not None:
            if result.trace is None:
                raise ValueError("a trace file needs a result simulated with trace=True")
            written.append(result.trace.write_trace(trace, files))
    return written


def software_versions() -> dict[str, str]:
    """accelsim's version and those of the libraries its results depend on (``VERSIONED_LIBRARIES``)."""
    return {"accelsim": __version__, **{name: _version(name) for name in VERSIONED_LIBRARIES}}


def _version(name: str) -> str:
    """A library's ``__version__`` if it is imported, else its installed distribution's version (read
    from its metadata: a run that does not use pandas does not import it to name its version)."""
    module = sys.modules.get(name)
    if module is not None:
        return module.__version__
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:  # not installed as a distribution of that name
        return importlib.import_module(name).__version__


def _cost_breakdown(chip) -> dict:
    """Area and leakage by component, for the JSON report."""
    t = chip.tile
    ro = t.readout
    return {
        "n_tiles": chip.n_tiles,
        "readout": {"scheme": ro.describe(), "rows_per_read": ro.rows_per_read,
                    "converter": "current sense amplifier" if not ro.parallel else "SAR ADC",
                    "converter_bits": ro.bits, "reads_per_phase": t.reads_per_phase(t.rows),
                    "t_read_s": t.t_read_s, "t_convert_s": t.t_convert_s,
                    "energy_per_conversion_j": t.e_sense_column_j,
                    "energy_accumulate_per_read_j": t.e_accumulate_column_j,
                    "energy_decode_per_read_j": t.e_decode_j,
                    "converter_area_m2": t.area_sense_amps_m2 / t.n_sense_amps,
                    "r_access_read_ohm": t.r_access_ohm},
        "tile_area_m2": {"cells": t.area_cells_m2, "write_drivers": t.area_write_drivers_m2,
                         "wordline_drivers": t.area_wordline_drivers_m2,
                         "sense_amps": t.area_sense_amps_m2, "counters": t.area_counters_m2,
                         "decoders": t.area_decoders_m2, "column_mux": t.area_column_mux_m2},
        "tile_leakage_w": {"cells": t.leakage_cells_w, "write_drivers": t.leakage_write_drivers_w,
                           "wordline_drivers": t.leakage_wordline_drivers_w,
                           "sense_amps": t.leakage_sense_amps_w, "counters": t.leakage_counters_w,
                           "decoders": t.leakage_decoders_w},
        "interconnect": {"kind": "H-tree", "grid": [chip.interconnect.nx, chip.interconnect.ny],
                         "bus_bits": chip.interconnect.bus_bits, "length_m": chip.interconnect.length_m,
                         "path_m": chip.interconnect.path_m, "area_m2": chip.interconnect.area_m2,
                         "energy_per_bit_j": chip.interconnect.e_per_bit_j},
        "layers": [{"layer": lc.index, "area_adders_m2": lc.area_adders_m2,
                    "area_buffer_m2": lc.area_buffer_m2, "leakage_w": lc.leakage_w}
                   for lc in chip.layers],
        "cells": [{"area_m2": g.cell.area_m2, "leakage_w": g.cell.leakage_w,
                   "w_access_m": g.cell.w_access_m, "n_columns": g.n_columns} for g in t.groups],
        "area_m2": chip.area_m2, "leakage_w": chip.leakage_w,
    }


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _si(value: float, unit: str) -> str:
    """A value with an SI prefix for the terminal (e.g. 3.2e-12 J -> '3.20 pJ')."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    if unit == "s" and value >= 86400:
        years = value / (365.25 * 86400)
        return f"{years:.3g} year{'' if f'{years:.3g}' == '1' else 's'}"
    prefixes = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1, ""), (1e3, "k")]
    scale, prefix = prefixes[0]
    for s, p in prefixes:
        if abs(value) >= s:
            scale, prefix = s, p
    return f"{value / scale:.3g} {prefix}{unit}"


RETENTION_README = 'README.md, "Walkthrough: the retention study of 002"'


def retention_assumptions(arch: ArchConfig) -> list[str]:
    """What drives the end-of-life accuracy, for the terminal: the retention model, each used cell
    type's barriers and attempt time, the horizon and its steps, which layers age, and where the
    README explains the choice of attempt time (002's printed 1 ns vs the ~60 ns its figures imply)."""
    r = arch.retention
    if r.horizon_s == 0:
        return ["retention    none (retention.horizon is 0)"]
    from accelsim.device.retention import retention_flip_probability

    cells = []
    for name in dict.fromkeys(column.cell for column in arch.tile.columns):
        c = arch.cells[name]
        lost = retention_flip_probability(r.horizon_s, c.retention_delta_ap, c.retention_tau0_s)
        p_to_ap = ("no P -> AP" if c.retention_delta_p is None
                   else f"P -> AP over Delta_P {c.retention_delta_p:g}")
        cells.append(f"{name} cells: Delta_AP {c.retention_delta_ap:g}, tau0 {_si(c.retention_tau0_s, 's')}: "
                     f"{100 * lost:.3g} % of AP cells flip to P by the end; {p_to_ap}")
    layers = "all layers age" if r.layers == "all" else "only the first layer ages (002's protocol)"
    return [f"retention    {_si(r.horizon_s, 's')} in {r.n_steps} steps, {layers}; Neel-Arrhenius "
            "P = 1 - exp(-(t / tau0) exp(-Delta))",
            *(f"             {c}" for c in cells),
            "             tau0 1 ns is 002's eq. (1) as printed; 002's figures imply ~60 ns "
            "(--set cells.<type>.tau0=\"60 ns\")",
            f"             why: {RETENTION_README}"]


def format_summary(row: dict, off_crossbar: tuple[str, ...] | list[str] = (),
                   arch: ArchConfig | None = None) -> str:
    """A readable multi-line summary of one run for the terminal (``off_crossbar``: what the network
    computed off the crossbar, one line each, ``RunResult.off_crossbar``; ``arch``: the run's
    architecture, whose retention assumptions are stated under the accuracy they drive)."""
    pct = lambda v: f"{100 * v:.2f} %"  # noqa: E731
    lines = [
        f"run          {row['run_id']}",
        f"arch / net   {row['arch']} / {row['net']}   ({row['dataset']}, {row['n_images']} images)",
        f"seed         {row['seed']}   repeats {row['repeats']}   cells {row['n_cells']:,}"
        f"   tiles {row['n_tiles']}",
        "",
        f"accuracy     ideal {pct(row['accuracy_ideal'])}   programmed {pct(row['accuracy_programmed'])}"
        f" (+- {pct(row['accuracy_programmed_std'])})",
        f"             after {_si(row['retention_horizon_s'], 's')}: {pct(row['accuracy_end_of_life'])}"
        f" (+- {pct(row['accuracy_end_of_life_std'])})",
        *(retention_assumptions(arch) if arch is not None else []),
        f"errors       write BER {row['write_ber_measured']:.3g} (per switch)   wrong weights "
        f"{row['weight_error_rate']:.3g}   retention flips {row['retention_flips']:,.1f} per repeat",
        f"             read BER {row['read_ber_measured']:.3g} (per cell read)   read disturbs "
        f"{row['read_disturbs']:,.1f} per repeat",
        f"energy       programming {_si(row['energy_program_j'], 'J')} "
        f"({_si(row['energy_program_j'] / row['n_cells'], 'J')} per cell; junctions "
        + (_si(row["energy_program_junction_j"], "J") if math.isfinite(row["energy_program_junction_j"])
           else "n/a with constant_ber") + ")",
        f"             inference {_si(row['energy_per_inference_j'], 'J')} per image",
        f"area         {row['area_m2'] * 1e6:.4g} mm^2 (cells {row['area_cells_m2'] * 1e6:.4g} mm^2)   "
        f"leakage {_si(row['leakage_w'], 'W')}",
        f"timing       programming {_si(row['time_program_s'], 's')} ({row['cycles_program']:,} cycles)   "
        f"latency {_si(row['latency_s'], 's')}   throughput {row['throughput_inf_per_s']:,.0f} inferences/s",
    ]
    lines += [f"{'off-crossbar' if k == 0 else '':<13}{note}" for k, note in enumerate(off_crossbar)]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ cost-only

#: The columns a cost-only run leaves empty (NaN in pandas, an empty CSV cell, null in JSON): no data,
#: no cells, no functional pass.
COST_ONLY_EMPTY = (
    "seed", "repeats", "accuracy_ideal", "accuracy_programmed", "accuracy_end_of_life",
    "write_ber_measured", "retention_flips", "accuracy_programmed_std", "accuracy_end_of_life_std",
    "weight_error_rate", "retention_horizon_s", "read_ber_measured", "read_disturbs",
    "energy_program_junction_j",
)
#: The ``dataset`` of a cost-only row: how a table tells cost-only rows from measured ones.
COST_ONLY_DATASET = "none (cost-only)"


def cost_summary_row(result, *, run_id: str, arch: ArchConfig, net_name: str) -> dict:
    """A cost-only run (``cost.CostResult``) as a summary row: the columns of ``SUMMARY_COLUMNS``,
    ``COST_ONLY_EMPTY`` empty, ``dataset`` = ``COST_ONLY_DATASET``, ``n_images`` the images of the
    costed campaign."""
    eng = result.engine
    row = {
        "run_id": run_id, "arch": arch.name, "net": net_name, "dataset": COST_ONLY_DATASET,
        "n_images": result.n_images, **{k: None for k in COST_ONLY_EMPTY},
        "n_cells": result.n_cells, "n_tiles": result.chip.n_tiles,
        "energy_program_j": result.energy_program_j,
        "energy_per_inference_j": result.energy_per_inference_j,
        "area_m2": result.chip.area_m2, "area_cells_m2": result.chip.area_cells_m2,
        "leakage_w": result.chip.leakage_w,
        "cycles_program": eng.cycles_program, "time_program_s": eng.time_program_s,
        "cycles_per_inference": eng.cycles_per_inference, "latency_s": eng.latency_s,
        "throughput_inf_per_s": eng.throughput_inf_per_s,
    }
    return {k: row[k] for k in SUMMARY_COLUMNS}


def cost_layers(result) -> list[dict]:
    """Per layer of a cost-only result: geometry, tiles, cycles and energy per image, and their shares
    of the totals (for the JSON report and ``inspect``)."""
    cycles = sum(lc.cycles_total for lc in result.layers) or 1.0
    energy = sum(lc.energy_total_j for lc in result.layers) or 1.0
    tiles = result.chip.n_tiles or 1
    return [{"layer": lc.index, "label": lc.label, "n_in": lm.n_in, "n_out": lm.n_out,
             "row_tiles": lc.row_tiles, "col_tiles": lc.col_tiles, "n_tiles": lc.n_tiles,
             "adder_levels": lc.adder_levels, "vectors_per_image": lc.vectors_per_image,
             "rows_read_per_image": lc.rows_read_per_image, "ap_fraction": lc.ap_fraction,
             "sensing_phases": lm.n_phases,
             "cycles_per_image": lc.cycles_per_image, "energy_per_image_j": lc.energy_per_image_j,
             "share_tiles": lc.n_tiles / tiles, "share_cycles": lc.cycles_total / cycles,
             "share_energy": lc.energy_total_j / energy}
            for lc, lm in zip(result.layers, result.maps)]


def format_cost_layers(result) -> list[str]:
    """The per-layer table of a cost-only result for the terminal."""
    rows = cost_layers(result)
    lines = [f"{'layer':>5} {'rows':>6} {'cols':>5} {'patches':>7} {'tiles':>9} {'adder':>5} "
             f"{'cycles/img':>10} {'share':>6} {'energy/img':>10} {'share':>6}   geometry",
             f"{'':>5} {'':>6} {'':>5} {'/img':>7} {'(r x c)':>9} {'depth':>5} "
             f"{'(stages)':>10} {'':>6} {'':>10} {'':>6}"]
    for r in rows:
        lines.append(
            f"{r['layer']:>5} {r['n_in']:>6} {r['n_out']:>5} {r['vectors_per_image']:>7} "
            f"{r['row_tiles']:>3} x {r['col_tiles']:<3} {r['adder_levels']:>5} "
            f"{sum(r['cycles_per_image'].values()):>10,.0f} {100 * r['share_cycles']:>5.1f}% "
            f"{_si(sum(r['energy_per_image_j'].values()), 'J'):>10} {100 * r['share_energy']:>5.1f}%   "
            f"{r['label']}")
    return lines


def format_cost_summary(row: dict, result) -> str:
    """The terminal summary of a cost-only run: clearly labelled, with its assumptions."""
    from accelsim.cost import activity_statement

    desc = result.description
    lines = [
        f"run          {row['run_id']}   ** COST-ONLY **",
        f"arch / net   {row['arch']} / {row['net']}   ({desc.n_weights:,} binary weights on the crossbar)",
        *([f"source       {desc.source}"] if desc.source else []),
        *(f"{'assumes' if k == 0 else '':<13}{line}" for k, line in enumerate(activity_statement(result))),
        "",
        *format_cost_layers(result),
        "",
        f"cells        {row['n_cells']:,} in {row['n_tiles']} tiles",
        f"energy       programming {_si(row['energy_program_j'], 'J')} "
        f"({_si(row['energy_program_j'] / row['n_cells'], 'J')} per cell)   inference "
        f"{_si(row['energy_per_inference_j'], 'J')} per image",
        f"area         {row['area_m2'] * 1e6:.4g} mm^2 (cells {row['area_cells_m2'] * 1e6:.4g} mm^2)   "
        f"leakage {_si(row['leakage_w'], 'W')}",
        f"timing       programming {_si(row['time_program_s'], 's')} ({row['cycles_program']:,} cycles)   "
        f"latency {_si(row['latency_s'], 's')} (first wave)   throughput {row['throughput_inf_per_s']:,.0f} "
        f"inferences/s ({row['n_images']:,}-image campaign)",
    ]
    lines += [f"{'off-crossbar' if k == 0 else '':<13}{note}" for k, note in enumerate(desc.off_crossbar)]
    return "\n".join(lines)


def write_cost_outputs(out_dir: Path, run_id: str, row: dict, result, arch: ArchConfig,
                       extra: dict) -> list[Path]:
    """Write ``<run_id>.csv`` and ``<run_id>.json`` of a cost-only run (no timeline: nothing ages),
    together or not at all."""
    from accelsim.cost import activity_statement

    ensure_dir(out_dir)
    csv_path, json_path = out_dir / f"{run_id}.csv", out_dir / f"{run_id}.json"
    a = result.activity
    doc = {"accelsim_version": __version__, "versions": software_versions(), "mode": "cost-only",
           "summary": row, **extra,
           "assumptions": activity_statement(result),
           "activity": {"ap_fraction": a.ap_fraction, "ap_fraction_costed": result.ap_fraction,
                        "input_one_fraction": a.input_one_fraction,
                        "ap_fraction_from_weights": a.ap_fraction is None and result.description.has_weights},
           "description": {"name": result.description.name, "source": result.description.source},
           "layers": cost_layers(result),
           "off_crossbar": list(result.description.off_crossbar),
           "energy_per_inference_by_activity_j": {k: v / result.n_images
                                                  for k, v in sorted(result.energy_by_activity_j.items())},
           "tile_utilisation": result.engine.utilisation,
           "cost_breakdown": _cost_breakdown(result.chip),
           "arch_config": to_plain(arch)}
    with OutputSet() as files:
        files.write_text(csv_path, summary_csv(row))
        files.write_text(json_path, json.dumps(doc, indent=2, default=_json_default) + "\n")
    return [csv_path, json_path]
