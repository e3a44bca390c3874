"""The ``accelsim`` command: run | sweep | optimize | plot | reproduce | train | device | inspect | import.

Options are checked here and by the loaders at the edge; an ``AccelsimError`` prints one line on
stderr and exits with status 2 (nothing written), any other exception is a bug (traceback, status 1).
Building the parser imports no numerics (numpy aside): each command's module is imported when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import shutil
import sys
import threading
import time
from pathlib import Path

from accelsim import __version__
from accelsim.api import SCHEDULER_CONNECT_TIMEOUT_S, check_scheduler  # noqa: F401 (re-exported)
from accelsim.errors import AccelsimError, UsageError
from accelsim.outputs import check_output_dir, check_output_file

EXIT_BAD_INPUT = 2

#: Seconds between the "still running" lines of a long reproduction target.
HEARTBEAT_S = 30.0

#: The curves of ``accelsim device`` (computed by ``accelsim.device.command``).
DEVICE_CURVES = {
    "wer-vs-t": "write error rate vs pulse length at a junction voltage",
    "wer-vs-v": "write error rate vs junction voltage at a pulse length",
    "energy-vs-wer": "pulse and energy per bit vs target WER, nominal and with variability",
    "retention": "retention flip probability vs time for several Deltas",
    "endurance": "write cycles to barrier breakdown vs write voltage",
    "read-disturb": "read-disturb probability vs read current",
}


def _nonneg_int(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def _pos_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _lazy(module: str, name: str):
    """A handler that imports ``module`` only when the command runs, then calls its ``name``."""

    def handler(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module), name)(args)

    handler.__qualname__ = handler.__name__ = f"{module}.{name}"
    return handler


def load_description_for(args: argparse.Namespace, arch):
    """(description, network or None) of ``args.net``: an architecture-only YAML description, or a
    network ``.npz`` and the description derived from it."""
    from accelsim.description import describe_network, is_description_file, load_description
    from accelsim.network import load_network

    if is_description_file(args.net):
        return load_description(args.net), None
    net = load_network(args.net)
    return describe_network(net, Path(args.net).stem), net


def cost_activity(args: argparse.Namespace):
    from accelsim.cost import DEFAULT_INPUT_ONE_FRACTION, Activity

    return Activity(ap_fraction=args.ap_fraction,
                    input_one_fraction=(DEFAULT_INPUT_ONE_FRACTION if args.input_one_fraction is None
                                        else args.input_one_fraction))


def cmd_run_cost_only(args: argparse.Namespace) -> int:
    given = [opt for opt, value in (("--data", args.data), ("--seed", args.seed), ("--repeats", args.repeats),
                                    ("--trace", args.trace), ("--scheduler", args.scheduler),
                                    ("--chunks", args.chunks)) if value is not None]
    if given:
        raise UsageError(f"{', '.join(given)} with --cost-only: a cost-only run has no data, draws nothing "
                         "and runs no functional pass; drop the option(s)")
    check_output_dir("--out", Path(args.out))
    from accelsim.config import load_arch
    from accelsim.cost import check_images, cost_only
    from accelsim.report import cost_summary_row, format_cost_summary, write_cost_outputs

    arch = load_arch(args.arch, args.set or ())
    activity = cost_activity(args)
    n_images = args.images if args.images is not None else 1000
    check_images(n_images, arch)
    desc, net = load_description_for(args, arch)
    net_name = Path(args.net).stem
    run_id = args.name or f"{arch.name}_{net_name}_cost-only"
    if not re.fullmatch(r"[A-Za-z0-9_.+-]+", run_id):
        raise UsageError(f"--name {run_id!r}: use letters, digits and _ . + - only")
    result = cost_only(arch, desc, n_images, activity=activity, net=net)
    row = cost_summary_row(result, run_id=run_id, arch=arch, net_name=net_name)
    extra = {"arch_file": str(args.arch), "net_file": str(args.net), "overrides": list(args.set or [])}
    paths = write_cost_outputs(Path(args.out), run_id, row, result, arch, extra)
    if not args.quiet:
        print(format_cost_summary(row, result))
        print("\nwrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if args.cost_only:
        return cmd_run_cost_only(args)
    cost_options = [opt for opt, value in (("--images", args.images), ("--ap-fraction", args.ap_fraction),
                                           ("--input-one-fraction", args.input_one_fraction))
                    if value is not None]
    if cost_options:
        raise UsageError(f"{', '.join(cost_options)}: only with --cost-only (a functional run takes its "
                         "images and activity from the data)")
    from accelsim.description import is_description_file

    if is_description_file(args.net):
        raise UsageError(f"--net {args.net}: an architecture-only description (no weights) cannot run "
                         "functionally: cost it with --cost-only, or accelsim inspect")
    args.seed = 0 if args.seed is None else args.seed
    args.repeats = 1 if args.repeats is None else args.repeats
    check_output_dir("--out", Path(args.out))
    if args.trace is not None:
        check_output_file("--trace", Path(args.trace))
    from accelsim.api import run
    from accelsim.report import format_summary

    outcome = run(args.arch, args.net, data=args.data, seed=args.seed, repeats=args.repeats,
                  overrides=args.set or (), name=args.name, progress=not args.quiet and not args.scheduler,
                  trace=args.trace is not None, scheduler=args.scheduler or None, chunks=args.chunks)
    paths = outcome.save(Path(args.out), trace=args.trace)
    if not args.quiet:
        print(format_summary(outcome.row, outcome.result.off_crossbar, outcome.arch))
        print("\nwrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    import math

    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise UsageError(f"--out {out}: expected a file name ending in .npz")
    check_output_file("--out", out)
    if out.exists() and not args.force:
        raise UsageError(f"--out {out}: the file exists (give --force to replace it)")
    if args.input_threshold is not None and not (math.isfinite(args.input_threshold)
                                                 and 0.0 <= args.input_threshold <= 1.0):
        raise UsageError(f"--input-threshold {args.input_threshold}: expected an intensity in [0, 1]")
    model = Path(args.model)
    if not model.is_file():
        raise UsageError(f"{model}: no such file")
    import numpy as np

    from accelsim.network import network_arrays
    from accelsim.onnx_import import import_onnx
    from accelsim.outputs import atomic_write

    net = import_onnx(model, input_threshold=args.input_threshold, name=model.name)
    arrays = network_arrays(net)
    atomic_write(out, lambda fh: np.savez_compressed(fh, **arrays))
    if not args.quiet:
        print(f"{model} -> {out}: format {net.format_version}, layers "
              f"{'-'.join(map(str, net.shape))}, input threshold {net.input_threshold:g}")
        for line in net.off_crossbar():
            print(f"  off the crossbar: {line}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from accelsim.reproduce.registry import CATALOG

    if "all" in args.names and len(args.names) > 1:
        raise UsageError("reproduce: give 'all' alone or target names, not both")
    names = list(CATALOG) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise UsageError(f"unknown reproduction target(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(CATALOG))}, or all")
    out = Path(args.out)
    check_output_dir("--out", out)
    import pandas as pd

    from accelsim.outputs import atomic_write_text
    from accelsim.reproduce.registry import load_target

    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for i, name in enumerate(names, 1):
        step = f"[{i}/{len(names)}] {name}"
        print(f"{step}: running ({_elapsed(started)} so far)", file=sys.stderr, flush=True)
        begun = time.monotonic()
        target = load_target(name)
        print(f"== {name}: {target.summary} [{target.paper}]")
        with _heartbeat(step, begun):
            comparisons = target.run(out, args.quick, args.seed)
        width = max([len(c.quantity) for c in comparisons] + [8])
        print(f"  {'quantity':<{width}}  {'paper':>14}  {'accelsim':>14}")
        for c in comparisons:
            print(f"  {c.quantity:<{width}}  {c.paper:>14}  {c.ours:>14}")
        table = out / f"{name}_comparison.csv"
        atomic_write_text(table, pd.DataFrame([{"quantity": c.quantity, "paper": c.paper, "accelsim": c.ours}
                                               for c in comparisons]).to_csv(index=False))
        print(f"  wrote {out / (name + '.csv')}, {out / (name + '.png')}, {table}", flush=True)
        print(f"{step}: done in {_elapsed(begun)}", file=sys.stderr, flush=True)
    if len(names) > 1:
        print(f"{len(names)} targets done in {_elapsed(started)}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _heartbeat(step: str, since: float):
    """While the block runs, print ``STEP: still running (T)`` on stderr every ``HEARTBEAT_S`` seconds."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            print(f"{step}: still running ({_elapsed(since)})", file=sys.stderr, flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _elapsed(since: float) -> str:
    seconds = time.monotonic() - since
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def cmd_sweep(args: argparse.Namespace) -> int:
    from accelsim.api import sweep
    from accelsim.sweeps import load_spec, timeline_path

    if args.scheduler and (args.workers is not None or args.cluster):
        other = "--workers" if args.workers is not None else "--cluster"
        raise UsageError(f"--scheduler and {other}: give one (--scheduler runs on an existing cluster's "
                         "workers; --workers starts local ones; --cluster submits batch jobs)")
    if args.cluster_option and not args.cluster:
        raise UsageError("--cluster-option: only with --cluster slurm|pbs|sge")
    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / f"{spec.name}.csv"
    if args.cluster:
        check_output_file("--out", out, make_parent=True)
        frame = _sweep_on_jobqueue(args, spec, out)
    else:
        frame = sweep(spec, out=out, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                      progress=not args.quiet)
    if not args.quiet:
        failed = int(frame["error"].notna().sum()) if "error" in frame.columns else 0
        print(f"{len(frame)} runs -> {out} (+ {timeline_path(out)})"
              + (f"; {failed} failed (their message is in the 'error' column)" if failed else ""))
    return 0


def _sweep_on_jobqueue(args: argparse.Namespace, spec, out: Path):
    """``--cluster KIND``: a dask-jobqueue cluster (scheduler in this process, workers as batch jobs:
    ``--workers`` single-threaded workers, default one job's) runs the sweep, then is closed."""
    from accelsim.cluster import jobqueue_cluster, parse_cluster_options
    from accelsim.sweeps import run_sweep

    cluster = jobqueue_cluster(args.cluster, parse_cluster_options(args.cluster_option or []))
    try:
        if args.workers is None:
            cluster.scale(jobs=1)
        else:
            cluster.scale(n=args.workers)
        if not args.quiet:
            print(f"{args.cluster}: scheduler {cluster.scheduler_address}; waiting for the batch system "
                  "to start the workers", file=sys.stderr, flush=True)
        return run_sweep(spec, out, scheduler=cluster.scheduler_address, resume=args.resume,
                         progress=not args.quiet, worker_wait_s=None)
    finally:
        cluster.close()

def cmd_optimize(args: argparse.Namespace) -> int:
    from accelsim.optimize import FRONT_CSV, TRIALS_CSV, run_study
    from accelsim.optimize_spec import load_spec
    from accelsim.sweeps import check_workers

    if args.scheduler and args.workers is not None:
        raise UsageError("--scheduler and --workers: give one (--scheduler runs on an existing cluster's "
                         "workers; --workers starts local ones)")
    spec = load_spec(args.spec, seed=args.seed, trials=args.trials)
    workers = 1 if args.scheduler else check_workers(args.workers)
    out = Path(args.out) if args.out else Path("results") / "optimize" / spec.name
    check_output_dir("--out", out)
    if args.scheduler:
        check_scheduler(args.scheduler)
    table = run_study(spec, out, workers=workers, scheduler=args.scheduler, resume=args.resume,
                      progress=not args.quiet)
    if not args.quiet:
        n_feasible = int(table["feasible"].sum()) if len(table) else 0
        n_front = int(table["front"].sum()) if len(table) else 0
        print(f"{len(table)} trials ({n_feasible} feasible), {n_front} on the front -> "
              f"{out / TRIALS_CSV}, {out / FRONT_CSV}, {out / 'front.png'}, {out / 'designs'}/")
    return 0


def _read_table(path: Path):
    """The CSV at ``path`` as a DataFrame; ``UsageError`` for a missing, unreadable or empty table."""
    import pandas as pd

    if not path.is_file():
        raise UsageError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path}: not a readable CSV table ({first})") from None
    if table.empty:
        raise UsageError(f"{path}: the table has no rows")
    return table


def cmd_plot(args: argparse.Namespace) -> int:
    from pandas.api.types import is_numeric_dtype

    path = Path(args.csv)
    table = _read_table(path)
    for column in (args.x, args.y, args.hue):
        if column is not None and column not in table.columns:
            raise UsageError(f"{path}: no column {column!r}; columns: {', '.join(table.columns)}")
    named = [("--x", args.x), ("--y", args.y)] + ([("--hue", args.hue)] if args.hue else [])
    for i, (option, column) in enumerate(named):
        for other, same in named[:i]:
            if same == column:
                raise UsageError(f"{other} and {option} are both {column!r}: give different columns")
    y = table[args.y]
    if not is_numeric_dtype(y):
        found = y[y.notna()].iloc[0] if y.notna().any() else None
        raise UsageError(f"{path}: --y {args.y}: expected a numeric column, found {found!r}")
    if y.isna().all():
        raise UsageError(f"{path}: --y {args.y}: the column has no values")
    out = Path(args.out) if args.out else path.with_name(f"{path.stem}_{args.y}_vs_{args.x}.png")
    from accelsim.plot import FIGURE_SUFFIXES, save_figure

    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise UsageError(f"--out {out}: expected a file name ending in {', '.join(FIGURE_SUFFIXES)}")
    check_output_file("--out", out, make_parent=True)
    keys = [k for k in (args.x, args.hue) if k]
    summary = table.groupby(keys, sort=True)[args.y].agg(["mean", "std", "count"]).reset_index()
    summary["std"] = summary["std"].fillna(0.0)
    if summary.empty:
        raise UsageError(f"{path}: no row has values in both {args.x} and {args.y}"
                         + (f" and {args.hue}" if args.hue else ""))
    for option, column, values in (("--logx", args.x, summary[args.x]), ("--logy", args.y, summary["mean"])):
        wanted = args.logx if option == "--logx" else args.logy
        if wanted and not (is_numeric_dtype(values) and (values > 0).all()):
            raise UsageError(f"{option}: column {column} has values that are not positive numbers, "
                             "which a logarithmic axis cannot show")
    written = save_figure(out, summary, x=args.x, y="mean", yerr="std", hue=args.hue,
                          logx=args.logx, logy=args.logy, xlabel=args.x, ylabel=args.y,
                          title=f"{path.stem}: mean +- std over repeats", svg=True)
    print("wrote " + ", ".join(map(str, written)))
    return 0


def add_device_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``accelsim device CURVE [options]`` (handler: ``accelsim.device.command.handler``)."""
    p = subparsers.add_parser(
        "device",
        help="print or write (CSV) a device curve: WER, energy, retention, endurance, read disturb",
        description="Device curves from accelsim.device (SI columns). Curves: "
        + "; ".join(f"{k}: {v}" for k, v in DEVICE_CURVES.items()),
    )
    p.add_argument("curve", nargs="?", metavar="CURVE", help=f"one of {', '.join(DEVICE_CURVES)}")
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
    p.add_argument("--seed", type=_nonneg_int, default=0, metavar="N",
                   help="run seed of the device draw (integer >= 0, default 0)")
    p.add_argument("--endurance", default="tzoufras2019", metavar="PRESET", help="endurance preset")
    p.add_argument("--points", type=int, default=25, metavar="N", help="points per curve (default 25)")
    p.add_argument("--out", metavar="CSV", help="write the table to this CSV file instead of stdout")
    p.set_defaults(func=_lazy("accelsim.device.command", "handler"))
    return p


def _wrap(text: str, indent: str = "", hang: str = "") -> str:
    """``text`` filled to the terminal's width, never broken at the hyphen of a name."""
    import textwrap

    width = max(min(shutil.get_terminal_size().columns, 100) - 2, 40)
    return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=hang or indent,
                         break_on_hyphens=False, break_long_words=False)


def build_parser() -> argparse.ArgumentParser:
    """The ``accelsim`` parser; builds without importing any command's numerical modules."""
    from accelsim.inspect import add_cost_options, add_inspect_parser
    from accelsim.reproduce.registry import CATALOG
    from accelsim.train.command import add_train_parser

    parser = argparse.ArgumentParser(
        prog="accelsim",
        description="Simulate MTJ (STT-MRAM) crossbar accelerators running binarized neural networks.")
    parser.add_argument("--version", action="version", version=f"accelsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run", help="program, age and evaluate one network on one architecture",
        description="Program the network's weights into the architecture's MTJ cells, age them over "
                    "the retention horizon and report accuracy and error rates (CSV + JSON).")
    run.add_argument("--arch", required=True, metavar="YAML",
                     help="architecture file (e.g. arch_configs/mixed_retention.yaml)")
    run.add_argument("--net", required=True, metavar="NET",
                     help="network file: accelsim's .npz format (e.g. workloads/mlp784.npz) or an ONNX / "
                          "QONNX model (imported as by 'accelsim import'); with --cost-only also an "
                          "architecture-only description (workloads/arch_only/*.yaml)")
    run.add_argument("--data", metavar="mnist|fashion|PATH",
                     help="test set instead of the network's bundled one: mnist or fashion (the bundled "
                          "sets), cifar10:DIR / cifar100:DIR (the CIFAR binary version's directory), an "
                          "IDX images file (labels beside it), a directory with an IDX pair, or a "
                          "binarized .npz; the CSV's dataset column repeats it")
    run.add_argument("--seed", type=_nonneg_int, default=None,
                     help="run seed (integer >= 0, default 0); same seed, same results")
    run.add_argument("--repeats", type=_pos_int, default=None,
                     help="independent programming + ageing trials (default 1); the report gives "
                          "their mean and standard deviation")
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override a config key, validated like the file, e.g. "
                          "--set tile.rows=256 --set retention.horizon='1 year' (repeatable)")
    run.add_argument("--out", default="results", metavar="DIR",
                     help="directory for <run>.csv, <run>_timeline.csv and <run>.json "
                          "(default results/)")
    run.add_argument("--name", metavar="RUN", help="run name (default ARCH_NET_seedN)")
    run.add_argument("--trace", metavar="CSV",
                     help="write the engine's event trace of the first repeat (time_cycle, tile, "
                          "activity, images; time in clock cycles) - for small runs")
    run.add_argument("--quiet", action="store_true", help="print nothing on success")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                     help="split the run's images over an existing Dask cluster's workers (identical "
                          "results; needs read.model ideal: misreads and read disturb couple consecutive "
                          "images, and such a run is refused)")
    run.add_argument("--chunks", type=_pos_int, default=None, metavar="N",
                     help="slices of images per repeat with --scheduler (default: one per worker)")
    add_cost_options(run)
    run.add_argument("--cost-only", action="store_true",
                     help="no data, no cells, no functional pass: area, leakage, energy per inference, "
                          "latency, throughput, programming time and energy of the mapped network, from "
                          "stated activity factors; --net may be an architecture-only description "
                          "(workloads/arch_only/*.yaml); writes <run>.csv (accuracy columns empty, "
                          "dataset 'none (cost-only)') and <run>.json")
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser(
        "reproduce", help="regenerate the papers' key results beside the papers' numbers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_wrap("Run named reproductions of the papers' results; each writes DIR/NAME.csv, "
                          "DIR/NAME.png and DIR/NAME_comparison.csv and prints the paper's numbers "
                          "beside accelsim's (progress on stderr)."),
        epilog="targets (paper):\n" + "\n".join(
            _wrap(f"{name}: {info.summary} ({info.paper})", indent="  ", hang="      ")
            for name, info in CATALOG.items()))
    rep.add_argument("names", nargs="+", metavar="NAME", help="targets to run, or 'all'")
    rep.add_argument("--quick", action="store_true", help="fewer repeats/points (for CI)")
    rep.add_argument("--seed", type=_nonneg_int, default=0, help="seed (default 0)")
    rep.add_argument("--out", default="results/reproduce", metavar="DIR",
                     help="output directory (default results/reproduce)")
    rep.set_defaults(func=cmd_reproduce)

    sw = sub.add_parser(
        "sweep", help="run a sweep spec (grid/zip axes over config keys) into one CSV",
        description="Run every point of a sweep spec, in-process, on local worker processes or on a "
                    "Dask cluster, streaming one row per run and repeat into a CSV (and a timeline CSV "
                    "beside it). The CSV is the same whatever runs it.")
    sw.add_argument("spec", metavar="SPEC.yaml", help="sweep spec (see arch_configs/sweeps/)")
    sw.add_argument("--out", metavar="CSV", help="output CSV (default results/<spec name>.csv)")
    sw.add_argument("--workers", type=_pos_int, default=None,
                    help="local single-threaded worker processes (default: one per CPU core; 1 runs "
                         "in-process); with --cluster, the batch workers to start (default one job's)")
    sw.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                    help="run on an existing Dask cluster (its scheduler's address) instead of local "
                         "worker processes; workers need accelsim installed, no shared files")
    sw.add_argument("--cluster", choices=["slurm", "pbs", "sge"],
                    help="submit the workers as batch jobs with dask-jobqueue (pip install "
                         "'accelsim[cluster]'); see --cluster-option")
    sw.add_argument("--cluster-option", action="append", metavar="KEY=VALUE",
                    help="a dask-jobqueue option of each job, repeatable: cores=8 memory='16 GB' "
                         "(both required), queue=..., walltime=01:00:00, account=..., python=...")
    sw.add_argument("--resume", action="store_true",
                    help="keep the runs already in the CSV and run only the missing ones")
    sw.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    sw.set_defaults(func=cmd_sweep)

    op = sub.add_parser(
        "optimize", help="search a design space with Optuna for the best designs under constraints",
        description="Search the dotted config keys of an optimize spec (see arch_configs/optimize/) "
                    "for the designs that minimise or maximise run columns under constraints (TPE for "
                    "one objective, NSGA-II for several); trials run like sweep points. Writes "
                    "trials.csv, runs.csv, front.csv, front.png, designs/trial<N>.yaml and the "
                    "resumable study (study.journal) in --out.")
    op.add_argument("spec", metavar="SPEC.yaml", help="optimize spec (see arch_configs/optimize/)")
    op.add_argument("--out", metavar="DIR", help="output directory (default results/optimize/<spec name>)")
    op.add_argument("--trials", type=_pos_int, default=None,
                    help="total trials of the study, those already run included (default: the spec's)")
    op.add_argument("--workers", type=_pos_int, default=None,
                    help="local single-threaded worker processes (default: one per CPU core; 1 runs "
                         "in-process)")
    op.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                    help="run the trials on an existing Dask cluster instead of local worker processes")
    op.add_argument("--resume", action="store_true",
                    help="continue the study in --out (same spec, seed and input files)")
    op.add_argument("--seed", type=_nonneg_int, default=None,
                    help="seed of the sampler and of every run (default: the spec's `seed`, else 0)")
    op.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    op.set_defaults(func=cmd_optimize)

    pl = sub.add_parser("plot", help="plot a column of a result CSV against a swept key",
                        description="Plot the mean (+- std over repeats) of a CSV column against "
                                    "another; writes PNG and SVG.")
    pl.add_argument("csv", metavar="CSV", help="a sweep or run CSV")
    pl.add_argument("--x", required=True, metavar="KEY", help="column for the x axis (e.g. write.ber)")
    pl.add_argument("--y", required=True, metavar="COLUMN",
                    help="column for the y axis; its unit is its suffix (e.g. accuracy_end_of_life)")
    pl.add_argument("--hue", metavar="KEY", help="one line per value of this column")
    pl.add_argument("--logx", action="store_true", help="logarithmic x axis")
    pl.add_argument("--logy", action="store_true", help="logarithmic y axis")
    pl.add_argument("--out", metavar="PNG", help="output file (default beside the CSV)")
    pl.set_defaults(func=cmd_plot)

    imp = sub.add_parser(
        "import", help="convert a binarized ONNX / QONNX network into accelsim's .npz format",
        description="Import a binarized network exported by PyTorch (torch.onnx.export, either "
                    "exporter) or Brevitas (QONNX): biases, batch norms, scales and binarizers are "
                    "folded into thresholds; graphs accelsim cannot hold are refused in one line. "
                    "See README 'Importing ONNX / QONNX networks'.")
    imp.add_argument("model", metavar="MODEL.onnx", help="the ONNX file (external data beside it)")
    imp.add_argument("--out", required=True, metavar="NPZ", help="network file to write (.npz)")
    imp.add_argument("--input-threshold", type=float, metavar="T",
                     help="input encoding: bit +1 iff intensity >= T (in [0, 1]); replaces the graph's own "
                          "input binarization, needed when the graph takes +-1 inputs")
    imp.add_argument("--force", action="store_true", help="replace --out if it exists")
    imp.add_argument("--quiet", action="store_true", help="print nothing on success")
    imp.set_defaults(func=cmd_import)

    add_train_parser(sub)
    add_device_parser(sub)
    add_inspect_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AccelsimError as exc:
        print(f"accelsim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
