"""The ``accelsim device`` subcommand: print or write as CSV any device curve of accelsim.device.

Owns the option checking (quantities with units, presets by name) and the curve tables; every bad
option raises ``UsageError`` before any file is written. The options themselves are declared in
``accelsim.cli`` (``add_device_parser``), which builds its parser without importing the physics.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

import numpy as np

from accelsim.cli import DEVICE_CURVES as CURVES
from accelsim.cli import add_device_parser
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

__all__ = ["CURVES", "add_device_parser", "handler"]

#: Most devices ``energy-vs-wer`` draws (each working array is then 40 MB per curve point).
MAX_DEVICES = 1_000_000


def handler(args: argparse.Namespace) -> int:
    """Compute the requested curve, then print it or write it to ``--out`` (nothing written on error)."""
    if args.list_presets:
        _print_presets()
        return 0
    if args.curve not in CURVES:
        raise UsageError(f"device: CURVE must be one of {', '.join(CURVES)}, got {args.curve!r}")
    if not 2 <= args.points <= 100_000:
        raise UsageError(f"--points: expected 2..100000, got {args.points}")
    out = None if args.out is None else Path(args.out)
    if out is not None and not out.parent.is_dir():
        if out.parent.exists():
            raise UsageError(f"--out: {str(out.parent)!r} is a file, not a directory")
        raise UsageError(f"--out: directory {str(out.parent)!r} does not exist")
    if out is not None and out.is_dir():
        raise UsageError(f"--out: {str(out)!r} is a directory, expected a CSV file name")
    try:
        header, rows = _TABLES[args.curve](args)
    except UsageError:
        raise
    except AccelsimError as exc:  # unknown preset names and the like
        raise UsageError(str(exc)) from None
    text = _csv_text(header, rows)
    if out is not None:
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
    if not 1 <= args.n_devices <= MAX_DEVICES:
        raise UsageError(f"--n-devices: expected 1..{MAX_DEVICES}, got {args.n_devices}")
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
