"""The ``accelsim device`` subcommand: print or write as CSV any device curve of accelsim.device.

Owns the option parsing (quantities with units, presets by name) and the curve tables; every bad
option raises ``UsageError`` before any file is written.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

import numpy as np

from accelsim.device import presets
from accelsim.device.endurance import cycles_to_breakdown, time_to_breakdown_s
from accelsim.device.energy import source_voltage_v, write_energy_j
from accelsim.device.read import read_disturb_probability
from accelsim.device.retention import retention_flip_probability
from accelsim.device.variability import (
    array_write_energy_j,
    array_write_error_rate,
    draw_devices,
    pulse_for_array_wer_s,
)
from accelsim.device.write import pulse_for_wer_s, write_error_rate, write_model
from accelsim.errors import AccelsimError, UsageError
from accelsim.rng import stream
from accelsim.units import parse_quantity

CURVES = {
    "wer-vs-t": "write error rate vs pulse length at a junction voltage",
    "wer-vs-v": "write error rate vs junction voltage at a pulse length",
    "energy-vs-wer": "pulse and energy per bit vs target WER, nominal and with variability",
    "retention": "retention flip probability vs time for several Deltas",
    "endurance": "write cycles to barrier breakdown vs write voltage",
    "read-disturb": "read-disturb probability vs read current",
}


def add_device_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``accelsim device CURVE [options]`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "device",
        help="print or write (CSV) a device curve: WER, energy, retention, endurance, read disturb",
        description="Device curves from accelsim.device (SI columns). Curves: "
        + "; ".join(f"{k}: {v}" for k, v in CURVES.items()),
    )
    p.add_argument("curve", nargs="?", metavar="CURVE", help=f"one of {', '.join(CURVES)}")
    p.add_argument(
        "--list-presets", action="store_true", help="list the MTJ, driver, variability and endurance presets"
    )
    p.add_argument(
        "--mtj", default="hirtzlin-32nm", metavar="PRESET", help="MTJ preset (default hirtzlin-32nm)"
    )
    p.add_argument("--model", default="gamma", metavar="NAME", help="write model: gamma or fokker-planck")
    p.add_argument("--polarity", default="p_to_ap", metavar="DIR", help="p_to_ap (default) or ap_to_p")
    p.add_argument("--voltage", metavar="V", help="junction voltage with unit, e.g. '0.38 V' (default 2 Vc0)")
    p.add_argument("--overdrive", type=float, metavar="X", help="junction voltage as a multiple of Vc0")
    p.add_argument("--pulse", metavar="T", help="pulse length with unit, e.g. '10 ns'")
    p.add_argument("--t-min", metavar="T", help="first time/pulse with unit, e.g. '1 ns' or '1 s'")
    p.add_argument("--t-max", metavar="T", help="last time/pulse with unit, e.g. '30 ns' or '10 years'")
    p.add_argument("--v-min", metavar="V", help="first voltage with unit, e.g. '0.2 V'")
    p.add_argument("--v-max", metavar="V", help="last voltage with unit, e.g. '0.8 V'")
    p.add_argument("--i-max", metavar="I", help="largest read current with unit, e.g. '20 uA' (read-disturb)")
    p.add_argument(
        "--wer-min", type=float, default=1e-10, metavar="P", help="lowest target WER (energy-vs-wer)"
    )
    p.add_argument(
        "--wer-max", type=float, default=0.1, metavar="P", help="highest target WER (energy-vs-wer)"
    )
    p.add_argument(
        "--deltas", default="40,45,50,60", metavar="LIST", help="comma-separated Deltas (retention)"
    )
    p.add_argument(
        "--tau0", default="1 ns", metavar="T", help="attempt time with unit (retention), default '1 ns'"
    )
    p.add_argument(
        "--driver", default="locatelli-28nm", metavar="PRESET", help="driver preset (energy-vs-wer)"
    )
    p.add_argument(
        "--variability", default="locatelli2018", metavar="PRESET", help="variability preset (energy-vs-wer)"
    )
    p.add_argument(
        "--n-devices", type=int, default=20000, metavar="N", help="devices drawn for the array mean"
    )
    p.add_argument("--seed", type=int, default=0, metavar="N", help="run seed of the device draw (default 0)")
    p.add_argument("--endurance", default="tzoufras2019", metavar="PRESET", help="endurance preset")
    p.add_argument("--points", type=int, default=25, metavar="N", help="points per curve (default 25)")
    p.add_argument("--out", metavar="CSV", help="write the table to this CSV file instead of stdout")
    p.set_defaults(func=handler)
    return p


def handler(args: argparse.Namespace) -> int:
    """Compute the requested curve, then print it or write it to ``--out`` (nothing written on error)."""
    if args.list_presets:
        _print_presets()
        return 0
    if args.curve not in CURVES:
        raise UsageError(f"device: CURVE must be one of {', '.join(CURVES)}, got {args.curve!r}")
    if not 2 <= args.points <= 100_000:
        raise UsageError(f"--points: expected 2..100000, got {args.points}")
    try:
        header, rows = _TABLES[args.curve](args)
    except UsageError:
        raise
    except AccelsimError as exc:  # unknown preset names and the like
        raise UsageError(str(exc)) from None
    text = _csv_text(header, rows)
    if args.out:
        out = Path(args.out)
        if not out.parent.exists():
            raise UsageError(f"--out: directory {str(out.parent)!r} does not exist")
        out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# --- option parsing ------------------------------------------------------------------------------
def _quantity(option: str, text: str | None, dimension: str, default: float | None = None) -> float:
    if text is None:
        if default is None:
            raise UsageError(f"{option}: required for this curve (a number with a unit)")
        return default
    try:
        value = parse_quantity(text, dimension)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if not value > 0:
        raise UsageError(f"{option}: expected a positive quantity, got {text!r}")
    return value


def _range(args, lo_opt: str, hi_opt: str, dimension: str, lo_default: float, hi_default: float):
    lo = _quantity(f"--{lo_opt.replace('_', '-')}", getattr(args, lo_opt), dimension, lo_default)
    hi = _quantity(f"--{hi_opt.replace('_', '-')}", getattr(args, hi_opt), dimension, hi_default)
    if not lo < hi:
        raise UsageError(f"--{lo_opt.replace('_', '-')} must be below --{hi_opt.replace('_', '-')}")
    return lo, hi


def _model(args):
    try:
        return write_model(args.model)
    except AccelsimError:
        raise UsageError(f"--model: expected gamma or fokker-planck, got {args.model!r}") from None


def _polarity(args) -> str:
    if args.polarity not in ("p_to_ap", "ap_to_p"):
        raise UsageError(f"--polarity: expected p_to_ap or ap_to_p, got {args.polarity!r}")
    return args.polarity


def _junction_voltage(args, mtj) -> float:
    if args.voltage is not None and args.overdrive is not None:
        raise UsageError("give --voltage or --overdrive, not both")
    if args.overdrive is not None:
        if not args.overdrive > 0:
            raise UsageError(f"--overdrive: expected > 0, got {args.overdrive}")
        return args.overdrive * mtj.vc_v
    return _quantity("--voltage", args.voltage, "V", 2.0 * mtj.vc_v)


# --- tables --------------------------------------------------------------------------------------
def _wer_vs_t(args):
    mtj = presets.mtj_preset(args.mtj)
    model, polarity = _model(args), _polarity(args)
    v = _junction_voltage(args, mtj)
    lo, hi = _range(args, "t_min", "t_max", "s", 1e-9, 30e-9)
    ts = np.geomspace(lo, hi, args.points)
    rows = [(t, write_error_rate(v, t, mtj, model, polarity)) for t in ts]
    return ["t_pulse_s", "wer"], rows


def _wer_vs_v(args):
    mtj = presets.mtj_preset(args.mtj)
    model, polarity = _model(args), _polarity(args)
    t = _quantity("--pulse", args.pulse, "s", 10e-9)
    lo, hi = _range(args, "v_min", "v_max", "V", 0.5 * mtj.vc_v, 4.0 * mtj.vc_v)
    vs = np.linspace(lo, hi, args.points)
    wer = write_error_rate(vs, t, mtj, model, polarity)
    return ["v_junction_v", "v_over_vc", "wer"], [(v, v / mtj.vc_v, w) for v, w in zip(vs, wer)]


def _energy_vs_wer(args):
    mtj = presets.mtj_preset(args.mtj)
    driver = presets.driver_preset(args.driver)
    variability = presets.variability_preset(args.variability)
    model, polarity = _model(args), _polarity(args)
    if not 0 < args.wer_min < args.wer_max < 1:
        raise UsageError(f"--wer-min/--wer-max: need 0 < min < max < 1, got {args.wer_min}, {args.wer_max}")
    if not args.n_devices >= 1:
        raise UsageError(f"--n-devices: expected >= 1, got {args.n_devices}")
    v_j = _junction_voltage(args, mtj)
    state = "p" if polarity == "p_to_ap" else "ap"
    v_src = float(source_voltage_v(v_j, mtj, driver, state))
    devices = draw_devices(mtj, variability, args.n_devices, stream(args.seed, "variation"), driver)
    rows = []
    for wer in np.geomspace(args.wer_min, args.wer_max, args.points):
        t = float(pulse_for_wer_s(wer, v_j, mtj, model, polarity))
        e = float(write_energy_j(v_src, t, mtj, driver, polarity))
        t_var = pulse_for_array_wer_s(wer, v_src, devices, mtj, model, polarity)
        e_var = array_write_energy_j(v_src, t_var, devices, mtj, driver, polarity)
        rows.append(
            (wer, t, e, t_var, e_var, array_write_error_rate(v_src, t, devices, mtj, model, polarity))
        )
    header = ["wer", "pulse_s", "energy_j", "pulse_var_s", "energy_var_j", "wer_var_at_pulse"]
    return header, rows


def _retention(args):
    try:
        deltas = [float(x) for x in args.deltas.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--deltas: expected comma-separated numbers, got {args.deltas!r}") from None
    if not deltas or any(not 0 < d <= 200 for d in deltas):
        raise UsageError(f"--deltas: expected values in (0, 200], got {args.deltas!r}")
    tau0 = _quantity("--tau0", args.tau0, "s")
    lo, hi = _range(args, "t_min", "t_max", "s", 1.0, 10 * 365.25 * 86400.0)
    ts = np.geomspace(lo, hi, args.points)
    rows = [(d, t, p) for d in deltas for t, p in zip(ts, retention_flip_probability(ts, d, tau0))]
    return ["delta", "t_s", "p_flip"], rows


def _endurance(args):
    endurance = presets.endurance_preset(args.endurance)
    t = _quantity("--pulse", args.pulse, "s", 10e-9)
    lo, hi = _range(args, "v_min", "v_max", "V", 0.3, endurance.v_ref_v)
    vs = np.linspace(lo, hi, args.points)
    n = cycles_to_breakdown(vs, t, endurance)
    t_bd = time_to_breakdown_s(vs, endurance)
    return ["v_v", "cycles_to_breakdown", "t_bd_s"], list(zip(vs, n, t_bd))


def _read_disturb(args):
    mtj = presets.mtj_preset(args.mtj)
    model, polarity = _model(args), _polarity(args)
    t = _quantity("--pulse", args.pulse, "s", 10e-9)
    ic = mtj.vc_v / mtj.r_p_ohm
    i_max = _quantity("--i-max", args.i_max, "A", 0.6 * ic)
    currents = np.linspace(i_max / args.points, i_max, args.points)
    state = "p" if polarity == "p_to_ap" else "ap"
    p = read_disturb_probability(currents, t, mtj, model, state)
    return ["i_read_a", "p_disturb"], list(zip(currents, p))


_TABLES = {
    "wer-vs-t": _wer_vs_t,
    "wer-vs-v": _wer_vs_v,
    "energy-vs-wer": _energy_vs_wer,
    "retention": _retention,
    "endurance": _endurance,
    "read-disturb": _read_disturb,
}


def _csv_text(header, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_fmt(x) for x in row])
    return buf.getvalue()


def _fmt(x) -> str:
    x = float(x)
    return repr(x) if math.isfinite(x) else str(x)


def _print_presets() -> None:
    for kind, table in (
        ("mtj", presets.MTJ_PRESETS),
        ("driver", presets.DRIVER_PRESETS),
        ("variability", presets.VARIABILITY_PRESETS),
        ("endurance", presets.ENDURANCE_PRESETS),
    ):
        for name in sorted(table):
            print(f"{kind}\t{name}")
