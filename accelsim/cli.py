"""The ``accelsim`` command: run | reproduce | train | device | inspect.

Options are checked here and by the loaders at the edge; an ``AccelsimError`` prints one line on
stderr and exits with status 2 (nothing written), any other exception is a bug (traceback, status 1).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from accelsim import __version__
from accelsim.device.command import add_device_parser
from accelsim.errors import AccelsimError, UsageError
from accelsim.inspect import add_inspect_parser
from accelsim.train.command import add_train_parser

EXIT_BAD_INPUT = 2


def _nonneg_int(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def _pos_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    from accelsim.config import load_arch
    from accelsim.network import load_network
    from accelsim.report import format_summary, summary_row, write_outputs
    from accelsim.simulate import simulate
    from accelsim.workload import load_workload

    arch = load_arch(args.arch, args.set or ())
    net = load_network(args.net)
    workload = load_workload(net, args.data)
    net_name = Path(args.net).stem
    run_id = args.name or f"{arch.name}_{net_name}_seed{args.seed}"
    if not re.fullmatch(r"[A-Za-z0-9_.+-]+", run_id):
        raise UsageError(f"--name {run_id!r}: use letters, digits and _ . + - only")
    result = simulate(arch, net, workload, seed=args.seed, repeats=args.repeats,
                      trace=args.trace is not None)
    row = summary_row(result, run_id=run_id, arch=arch, net_name=net_name, dataset=workload.name,
                      seed=args.seed)
    extra = {"arch_file": str(args.arch), "net_file": str(args.net), "overrides": list(args.set or [])}
    paths = write_outputs(Path(args.out), run_id, row, result, arch, extra)
    if args.trace is not None:
        paths.append(result.trace.write_trace(args.trace))
    if not args.quiet:
        print(format_summary(row, result.off_crossbar))
        print("\nwrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    import pandas as pd

    from accelsim.outputs import atomic_write_text
    from accelsim.reproduce import TARGETS

    names = list(TARGETS) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise UsageError(f"unknown reproduction target(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(TARGETS))}")
    out = Path(args.out)
    for name in names:
        target = TARGETS[name]
        print(f"== {name}: {target.summary} [{target.paper}]")
        comparisons = target.run(out, args.quick, args.seed)
        width = max([len(c.quantity) for c in comparisons] + [8])
        print(f"  {'quantity':<{width}}  {'paper':>14}  {'accelsim':>14}")
        for c in comparisons:
            print(f"  {c.quantity:<{width}}  {c.paper:>14}  {c.ours:>14}")
        table = out / f"{name}_comparison.csv"
        atomic_write_text(table, pd.DataFrame([{"quantity": c.quantity, "paper": c.paper, "accelsim": c.ours}
                                               for c in comparisons]).to_csv(index=False))
        print(f"  wrote {out / (name + '.csv')}, {out / (name + '.png')}, {table}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from accelsim.sweep import check_workers, load_spec, run_sweep, timeline_path

    spec = load_spec(args.spec)
    workers = 1 if args.scheduler else check_workers(args.workers)
    out = Path(args.out) if args.out else Path("results") / f"{spec.name}.csv"
    frame = run_sweep(spec, out, workers=workers, scheduler=args.scheduler, resume=args.resume,
                      progress=not args.quiet)
    if not args.quiet:
        print(f"{len(frame)} runs -> {out} (+ {timeline_path(out)})")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    import pandas as pd

    from accelsim.plot import save_figure

    path = Path(args.csv)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    table = pd.read_csv(path)
    for column in (args.x, args.y, args.hue):
        if column is not None and column not in table.columns:
            raise UsageError(f"{path}: no column {column!r}; columns: {', '.join(table.columns)}")
    keys = [k for k in (args.x, args.hue) if k]
    summary = table.groupby(keys, sort=True)[args.y].agg(["mean", "std", "count"]).reset_index()
    summary["std"] = summary["std"].fillna(0.0)
    out = Path(args.out) if args.out else path.with_name(f"{path.stem}_{args.y}_vs_{args.x}.png")
    written = save_figure(out, summary, x=args.x, y="mean", yerr="std", hue=args.hue,
                          logx=args.logx, logy=args.logy, xlabel=args.x, ylabel=args.y,
                          title=f"{path.stem}: mean +- std over repeats", svg=True)
    print("wrote " + ", ".join(map(str, written)))
    return 0


def _target_names() -> list[str]:
    from accelsim.reproduce import TARGETS

    return list(TARGETS)


def build_parser() -> argparse.ArgumentParser:
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
    run.add_argument("--net", required=True, metavar="NPZ",
                     help="network file in accelsim's .npz format (e.g. workloads/mlp784.npz)")
    run.add_argument("--data", metavar="PATH",
                     help="test set instead of the network's bundled one: an IDX images file "
                          "(labels beside it), a directory with an IDX pair, or a binarized .npz")
    run.add_argument("--seed", type=_nonneg_int, default=0,
                     help="run seed (integer >= 0, default 0); same seed, same results")
    run.add_argument("--repeats", type=_pos_int, default=1,
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
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser(
        "reproduce", help="regenerate the papers' key results beside the papers' numbers",
        description="Run named reproductions of the papers' results; each writes DIR/NAME.csv, "
                    "DIR/NAME.png and DIR/NAME_comparison.csv and prints the paper's numbers beside "
                    "accelsim's. Targets: " + ", ".join(sorted(_target_names())) + ".")
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
                         "in-process)")
    sw.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                    help="run on an existing Dask cluster (its scheduler's address) instead of local "
                         "worker processes")
    sw.add_argument("--resume", action="store_true",
                    help="keep the runs already in the CSV and run only the missing ones")
    sw.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    sw.set_defaults(func=cmd_sweep)

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
