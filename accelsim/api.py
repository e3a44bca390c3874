"""The Python API for scripts and notebooks: ``run``, ``sweep``, ``load_arch``, ``load_network``,
``from_torch``; the ``accelsim run`` and ``sweep`` commands are a thin layer over them.

Inputs are checked as the command line checks them (same errors, ``AccelsimError`` subclasses) before
any work starts. Numerical modules are imported when a function runs, so ``import accelsim`` is quick.
"""

from __future__ import annotations

import io
import json
import re
import socket
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelsim.errors import AccelsimError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from accelsim.config import ArchConfig
    from accelsim.network import Network
    from accelsim.simulate import RunResult
    from accelsim.sweeps import SweepSpec

#: A run's name names its output files: letters, digits and ``_ . + -``.
RUN_NAME = re.compile(r"[A-Za-z0-9_.+-]+")

#: Seconds ``sweep(..., scheduler=...)`` waits for the scheduler's port to accept a connection.
SCHEDULER_CONNECT_TIMEOUT_S = 3.0

#: ``overrides``: a mapping of dotted keys to values, or ``--set`` style ``"key=value"`` strings.
Overrides = Mapping[str, Any] | Sequence[str] | None


class DependencyError(AccelsimError):
    """An optional package a function needs (PyTorch for ``from_torch``) is not installed."""


@dataclass(frozen=True, kw_only=True)
class RunOutcome:
    """What ``run`` measured, as the command line writes it.

    Attributes
    ----------
    run_id
        The run's name (``ARCH_NET_seedN`` unless given): its files are ``<run_id>.csv``,
        ``<run_id>_timeline.csv`` and ``<run_id>.json``.
    summary
        The CSV's one row as a ``pandas.Series`` indexed by its column names
        (``accelsim.report.SUMMARY_COLUMNS``, SI units in the names).
    timeline
        The timeline CSV's rows: one per repeat and retention step.
    report
        The JSON report's content (summary, files and overrides, layer mapping, energies, costs,
        per-repeat accuracies, the validated configuration in SI units).
    result
        The simulator's ``RunResult`` (arrays, engine report, chip costs) for further analysis.
    """

    run_id: str
    report: dict = field(repr=False)
    result: RunResult = field(repr=False)
    arch: ArchConfig = field(repr=False)
    _document: dict = field(repr=False)
    _row: dict = field(repr=False)

    # The DataFrames are built when asked for (pandas is imported then): the command line writes the
    # same rows as CSV without them.
    @property
    def summary(self) -> pd.Series:
        import pandas as pd

        return pd.Series(self._row, name=self.run_id)

    @property
    def timeline(self) -> pd.DataFrame:
        from accelsim.report import timeline_frame

        return timeline_frame(self.result, self.run_id)

    @property
    def row(self) -> dict:
        """The summary row as a dict (column -> value), in the CSV's order."""
        return dict(self._row)

    def save(self, out_dir: str | Path, *, trace: str | Path | None = None) -> list[Path]:
        """Write ``<run_id>.csv``, ``<run_id>_timeline.csv`` and ``<run_id>.json`` into ``out_dir``
        (created if needed), the files ``accelsim run --out DIR`` writes, byte for byte; with
        ``trace``, also the engine's event trace (a run made with ``trace=True``). Returns the paths.

        Raises
        ------
        UsageError
            ``out_dir`` is a file or cannot be written, or a trace is asked of a run made without one.
        OutputError
            A write failed (the previous files, if any, are left as they were).
        """
        from accelsim.outputs import check_output_dir
        from accelsim.report import write_outputs

        out_dir = Path(out_dir)
        check_output_dir("out_dir", out_dir)
        if trace is not None and self.result.trace is None:
            raise UsageError(f"trace {trace}: this run was made without trace=True")
        return write_outputs(out_dir, self.run_id, self._row, self.result, self.arch, {},
                             trace=trace, doc=self._document)


def _override_list(overrides: Overrides) -> list:
    """``overrides`` as ``load_arch`` takes them: ``(key, value)`` pairs or ``key=value`` strings."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        for key in overrides:
            if not isinstance(key, str):
                raise UsageError(f"overrides: key {key!r}: expected a dotted config key (a string)")
        return list(overrides.items())
    pair = lambda o: isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str)  # noqa: E731
    if isinstance(overrides, str) or not all(isinstance(o, str) or pair(o) for o in overrides):
        raise UsageError(f"overrides {overrides!r}: expected a dict of dotted keys to values, or a list "
                         "of 'key=value' strings")
    return list(overrides)


def _override_text(override: Any) -> str:
    """An override as ``--set`` would take it (for the JSON report): ``key=value``."""
    if isinstance(override, str):
        return override
    key, value = override
    return f"{key}={value if isinstance(value, str) else json.dumps(value)}"


def load_arch(path: str | Path, overrides: Overrides = None) -> ArchConfig:
    """Load and validate an architecture YAML file, with ``overrides`` applied first.

    Parameters
    ----------
    path
        The YAML file (e.g. ``arch_configs/mixed_retention.yaml``).
    overrides
        ``{"write.t_pulse": "10 ns", "tile.rows": 256}`` (dotted keys, values as in the YAML), or
        ``--set`` strings ``["tile.rows=256"]``.

    Raises
    ------
    ConfigError
        One line naming the file and the key.
    """
    from accelsim.config import load_arch as _load

    return _load(path, _override_list(overrides))


def load_network(path: str | Path) -> Network:
    """Load and validate a network: accelsim's ``.npz`` format, or an ONNX/QONNX file of a binarized
    network (told apart by content), imported exactly (``accelsim.onnx_import``).

    Raises
    ------
    NetworkError
        One line naming the file (and for ONNX the node) and the problem.
    """
    from accelsim.network import load_network as _load

    return _load(path)


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UsageError(f"{name} {value!r}: expected an integer >= {low}")
    return value


def run(arch: str | Path | ArchConfig, net: str | Path | Network, *, data: str | Path | None = None,
        seed: int = 0, repeats: int = 1, overrides: Overrides = None, name: str | None = None,
        progress: bool = False, trace: bool = False, scheduler: str | None = None,
        chunks: int | None = None) -> RunOutcome:
    """Program, age and evaluate one network on one architecture: ``accelsim run`` as a function.

    Parameters
    ----------
    arch
        An architecture YAML file, or an ``ArchConfig`` from ``load_arch``.
    net
        A network file (``.npz``, ``.onnx``), or a ``Network`` from ``load_network`` / ``from_torch``.
    data
        ``"mnist"``, ``"fashion"`` (the bundled sets), an IDX images file, a directory with an IDX
        pair, or a binarized ``.npz``; None: the network's bundled test set.
    seed, repeats
        Run seed (>= 0; same seed, same results) and independent programming + ageing trials (>= 1).
    overrides
        Config keys to change, as ``--set`` does: ``{"write.t_pulse": "10 ns"}`` (needs ``arch`` as a
        file).
    name
        The run's name (default ``ARCH_NET_seedN``; NET is the network file's stem, ``network`` for a
        loaded one).
    progress
        Show the progress bar on stderr.
    trace
        Keep the engine's event trace of the first repeat (``RunOutcome.save(..., trace=CSV)``).
    scheduler, chunks
        A Dask scheduler's address (``tcp://HOST:PORT``): split the images into ``chunks`` slices
        (default: one per worker) run on its workers, with the one-process run's results
        (``accelsim.split``); refused when read errors chain the images together, and with ``trace``.

    Returns
    -------
    RunOutcome
        ``.summary`` (the CSV row), ``.timeline``, ``.report`` (the JSON), ``.save(dir)``.

    Raises
    ------
    AccelsimError
        Bad input (``ConfigError``, ``NetworkError``, ``DataError``, ``UsageError``) or a run above the
        memory and time limits (``accelsim.limits``), before any work.
    """
    from accelsim.config import ArchConfig
    from accelsim.limits import check_run
    from accelsim.network import Network

    seed = _check_int(seed, "seed", 0)
    repeats = _check_int(repeats, "repeats", 1)
    if chunks is not None:
        if scheduler is None:
            raise UsageError("--chunks: only with --scheduler (it splits the images over the cluster's "
                             "workers)")
        chunks = _check_int(chunks, "chunks", 1)
    if scheduler is not None and trace:
        raise UsageError("--trace with --scheduler: the engine trace is written by one-process runs only")
    pairs = _override_list(overrides)
    if isinstance(arch, ArchConfig):
        if pairs:
            raise UsageError("overrides need the architecture as a file (they apply to its YAML); "
                             "give its path, or load it with load_arch(path, overrides)")
        arch_cfg, arch_file = arch, None
    else:
        arch_cfg, arch_file = load_arch(arch, pairs), str(arch)
    if isinstance(net, Network):
        network, net_file, net_name = net, None, "network"
    else:
        network, net_file, net_name = load_network(net), str(net), Path(net).stem
    from accelsim.workload import load_workload

    workload = load_workload(network, data)
    run_id = name if name is not None else f"{arch_cfg.name}_{net_name}_seed{seed}"
    if not isinstance(run_id, str) or not RUN_NAME.fullmatch(run_id):
        raise UsageError(f"--name {run_id!r}: use letters, digits and _ . + - only")
    check_run(arch_cfg, network, workload.n_images, repeats)

    from accelsim.report import report_document, report_json, summary_row

    if scheduler is None:
        from accelsim.simulate import simulate

        result = simulate(arch_cfg, network, workload, seed=seed, repeats=repeats, trace=trace,
                          progress=progress)
    else:
        from accelsim.split import check_splittable, simulate_split

        check_splittable(arch_cfg)
        check_scheduler(scheduler)
        from dask.distributed import Client

        client = Client(scheduler)
        try:
            result = simulate_split(arch_cfg, network, workload, seed=seed, repeats=repeats,
                                    client=client, n_chunks=chunks)
        finally:
            client.close()
    row = summary_row(result, run_id=run_id, arch=arch_cfg, net_name=net_name, dataset=workload.name,
                      seed=seed)
    extra = {"arch_file": arch_file, "net_file": net_file,
             "overrides": [_override_text(o) for o in pairs]}
    document = report_document(row, result, arch_cfg, extra)
    return RunOutcome(run_id=run_id, report=json.loads(report_json(document)),
                      result=result, arch=arch_cfg, _document=document, _row=row)


def check_scheduler(address: str, timeout_s: float = SCHEDULER_CONNECT_TIMEOUT_S) -> None:
    """``UsageError`` unless ``address`` (``tcp://HOST:PORT``) accepts a TCP connection within
    ``timeout_s`` seconds: an unreachable cluster is reported at once, before any work."""
    m = re.fullmatch(r"(?:(?:tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})", address)
    if m is None or not 0 < int(m[2]) < 65536:
        raise UsageError(f"--scheduler {address!r}: expected a Dask scheduler address tcp://HOST:PORT")
    host, port = m[1].strip("[]"), int(m[2])
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise UsageError(f"--scheduler {address}: no Dask scheduler reachable at {host}:{port} "
                         f"({why}, waited up to {timeout_s:g} s)") from None


def sweep(spec: str | Path | Mapping[str, Any] | SweepSpec, *, out: str | Path | None = None,
          workers: int | None = None, scheduler: str | None = None, resume: bool = False,
          progress: bool = False) -> pd.DataFrame:
    """Run every point of a sweep spec: ``accelsim sweep`` as a function.

    Parameters
    ----------
    spec
        A sweep spec YAML file, the same content as a dict (its relative paths resolve against the
        current directory), or a spec from ``accelsim.sweeps.load_spec``; e.g. ``{"arch":
        "arch_configs/weight_ber.yaml", "net": "workloads/mlp784.npz", "grid": {"write.ber": [1e-3,
        1e-2]}}``.
    out
        The sweep CSV to write (its timeline CSV and ``.spec.json`` go beside it); None: a temporary
        directory, removed before returning.
    workers
        Local single-threaded worker processes (default one per core; 1 runs in this process).
    scheduler
        ``tcp://HOST:PORT`` of a Dask cluster to run on instead.
    resume
        Keep the runs already in ``out`` and run only the missing ones.

    Returns
    -------
    pandas.DataFrame
        The sweep CSV's rows, in spec order.
    """
    from accelsim.outputs import check_output_file
    from accelsim.sweeps import SweepSpec, check_workers, load_spec, load_spec_dict, run_sweep

    if isinstance(spec, SweepSpec):
        loaded = spec
    elif isinstance(spec, Mapping):
        loaded = load_spec_dict(spec, Path.cwd())
    elif isinstance(spec, (str, Path)):
        loaded = load_spec(spec)
    else:
        raise UsageError(f"spec: expected a sweep spec file or a dict, got {type(spec).__name__}")
    if scheduler and workers is not None:
        raise UsageError("--scheduler and --workers: give one (--scheduler runs on an existing cluster's "
                         "workers; --workers starts local ones)")
    n_workers = 1 if scheduler else check_workers(workers)
    if resume and out is None:
        raise UsageError("resume needs the CSV of the sweep to resume: give out")
    if out is not None:
        check_output_file("--out", Path(out), make_parent=True)
    if scheduler:
        check_scheduler(scheduler)
    if out is not None:
        return run_sweep(loaded, out, workers=n_workers, scheduler=scheduler, resume=resume,
                         progress=progress)
    with tempfile.TemporaryDirectory(prefix="accelsim-sweep-") as tmp:
        return run_sweep(loaded, Path(tmp) / f"{loaded.name}.csv", workers=n_workers,
                         scheduler=scheduler, progress=progress)


def from_torch(module: Any, example_input: Any, *, input_threshold: float | None = None,
               name: str | None = None) -> Network:
    """A PyTorch BNN as an accelsim ``Network``: exported to ONNX in memory (``torch.onnx.export``,
    the TorchScript exporter, eval mode) and imported exactly (``accelsim.onnx_import.import_onnx``).

    Parameters
    ----------
    module
        A ``torch.nn.Module`` binarized the usual way (sign on weights and activations), with
        ``nn.Linear``/``nn.Conv2d`` (bias or not), ``BatchNorm1d/2d``, ``MaxPool2d``, flatten.
    example_input
        A tensor of the input's shape (e.g. ``torch.zeros(1, 784)``).
    input_threshold
        Intensity threshold of the input bits when the graph takes +-1 inputs (no binarization of its
        own); see ``import_onnx``.
    name
        Recorded in the network's description.

    Raises
    ------
    DependencyError
        PyTorch is not installed.
    NetworkError
        The graph is not a binarized network accelsim maps (one line naming the node).
    """
    try:
        import torch
    except ImportError:
        raise DependencyError("from_torch needs PyTorch, which is not installed (pip install torch); "
                              "or export the model to ONNX elsewhere and use load_network") from None
    from accelsim.onnx_import import import_onnx

    if not isinstance(module, torch.nn.Module):
        raise UsageError(f"from_torch: module is a {type(module).__name__}, expected a torch.nn.Module")
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    buffer = io.BytesIO()
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, args, buffer, dynamo=False)
    finally:
        module.train(was_training)
    return import_onnx(buffer.getvalue(), input_threshold=input_threshold,
                       name=name or type(module).__name__)
