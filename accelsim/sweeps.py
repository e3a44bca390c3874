"""Design-space exploration: a sweep spec (YAML) -> runs (in-process, local worker processes or a Dask
cluster) -> one CSV. A point is a network run (``measure: network``) or a device evaluation (``device``).

Rows stream to disk as runs finish (an interrupted sweep keeps them; ``resume`` skips them) and the
file is rewritten in spec order at the end, so the CSV does not depend on the number of workers.
``<out>.spec.json`` names the spec a CSV belongs to (``resume`` refuses another's) and ``<out>.lock``
keeps a second sweep off the same CSV while one runs.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from accelsim import __version__, limits, sweep_device
from accelsim.cluster import WORKER_WAIT_S
from accelsim.config import ArchConfig, load_arch, read_yaml, show
from accelsim.data import BUNDLED_NAMES, bundled_files, dataset_from_spec
from accelsim.description import is_description_file
from accelsim.errors import AccelsimError, ClusterError, ConfigError, UsageError
from accelsim.network import Network, load_network
from accelsim.outputs import (
    OutputError,
    OutputLock,
    OutputSet,
    append_line,
    atomic_write_text,
    ensure_dir,
    read_csv_records,
)
from accelsim.report import summary_row
from accelsim.simulate import simulate
from accelsim.sweep_device import TARGET_WER, DeviceMeasure
from accelsim.workload import Workload, load_workload

_SPEC_KEYS = ("name", "description", "measure", "arch", "net", "data", "device", "repeats", "seeds",
              "set", "grid", "zip")
_MEASURES = ("network", "device")
#: A spec's name names its output files: the characters of ``accelsim run --name``.
_NAME = re.compile(r"[A-Za-z0-9_.+-]+")
#: Memory per point of a sweep (its SweepPoint, its rows, its checks), for the points limit.
_BYTES_PER_POINT = 4096
#: Memory per device drawn by a device point (its parameters, write error rates, energies, pulses).
_BYTES_PER_DEVICE = 512
#: Seeds are written to int64 CSV columns.
_MAX_SEED = 2**63 - 1
#: A network sweep may vary the network itself: ``net`` in ``grid`` or ``zip``, paths relative to the spec.
NET_AXIS = "net"
#: The column of a failed run's message (present only when some run of the sweep failed).
ERROR_COLUMN = "error"
#: Environment of local worker processes: one core each, all the way down (numba's and BLAS's own
#: thread pools would otherwise oversubscribe the cores the other workers are using).
_SINGLE_THREADED = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True, kw_only=True, slots=True)
class SweepSpec:
    """A sweep: a base architecture and network, axes over dotted config keys, repeats and seeds.

    ``set`` fixes keys for every point; ``grid`` axes form a cartesian product; ``zip`` axes advance
    in lock-step (equal lengths) and are crossed with the grid. Paths are relative to the spec file.
    ``measure: device`` points are evaluated by ``accelsim.sweep_device`` (no network; ``device``
    says what to measure) and may sweep ``target_wer``. A network sweep may sweep ``net`` (network
    files relative to the spec; the top-level ``net`` is then only the default).
    """

    name: str
    path: Path
    arch: Path
    net: Path | None
    data: Path | str | None  # a path, or a bundled data set's name (mnist, fashion)
    repeats: int
    seeds: tuple[int, ...]
    fixed: tuple[tuple[str, Any], ...]
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    zipped: tuple[tuple[str, tuple[Any, ...]], ...]
    measure: str = "network"
    device: DeviceMeasure | None = None

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.grid) + tuple(k for k, _ in self.zipped)

    @property
    def has_timeline(self) -> bool:
        """Network runs write a timeline CSV (retention steps); device points have none."""
        return self.measure == "network"


@dataclass(frozen=True, kw_only=True, slots=True)
class SweepPoint:
    """One architecture of the sweep: its index in spec order, swept values, seed."""

    index: int
    values: tuple[tuple[str, Any], ...]
    seed: int


def _axes(raw: Any, where: str, path: Path) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: key '{where}': expected a mapping of dotted config keys to lists")
    axes = []
    for key, values in raw.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: key '{where}.{key}': expected a non-empty list of values")
        axes.append((str(key), tuple(values)))
    return tuple(axes)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep spec; every point's architecture is validated before anything runs."""
    path = Path(path)
    return _spec_from_raw(read_yaml(path), path, path.stem)


#: How a spec given as a mapping is named in messages (its paths resolve against a base directory).
DICT_SPEC = "<sweep spec dict>"


def load_spec_dict(raw: Mapping[str, Any], base: str | Path) -> SweepSpec:
    """A sweep spec given as a mapping (the content of a spec file), its relative paths resolved
    against ``base``; checked as ``load_spec`` checks a file (default name ``sweep``)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{DICT_SPEC}: expected a mapping of spec keys, got {type(raw).__name__}")
    return _spec_from_raw(dict(raw), Path(base) / DICT_SPEC, "sweep")


def _spec_from_raw(raw: dict, path: Path, default_name: str) -> SweepSpec:
    """Check the keys of a spec read from ``path`` and build it (paths relative to its folder)."""
    for key in raw:
        if key not in _SPEC_KEYS:
            raise ConfigError(f"{path}: key '{key}': unknown key; allowed: {', '.join(_SPEC_KEYS)}")
    measure = raw.get("measure", "network")
    if measure not in _MEASURES:
        raise ConfigError(f"{path}: key 'measure': expected one of {', '.join(_MEASURES)}, got {measure!r}")
    device = raw.get("device")
    if measure == "device":
        for key in ("net", "data", "repeats"):
            if key in raw:
                raise ConfigError(f"{path}: key '{key}': not used by a device sweep (measure: device); "
                                  "vary 'seeds' for independent device draws")
        device = sweep_device.load_measure(device, path)
    elif device is not None:
        raise ConfigError(f"{path}: key 'device': only for a device sweep (measure: device)")
    for key in ("arch", "net") if measure == "network" else ("arch",):
        if not isinstance(raw.get(key), str):
            raise ConfigError(f"{path}: key '{key}': missing required key (a path)")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{path}: key 'name': {name!r}: use letters, digits and _ . + - only "
                          "(it names the output files)")
    if raw.get("data") is not None and not isinstance(raw["data"], str):
        raise ConfigError(f"{path}: key 'data': expected a path, got {raw['data']!r}")
    for key in ("grid", "zip"):
        if key in raw and not raw[key]:
            raise ConfigError(f"{path}: key '{key}': empty ({raw[key]!r}): give at least one axis "
                              "(a dotted config key and its list of values), or leave the key out")
    repeats = raw.get("repeats", 1)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"{path}: key 'repeats': expected an integer >= 1, got {repeats!r}")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= _MAX_SEED for s in seeds):
        raise ConfigError(f"{path}: key 'seeds': expected a non-empty list of integers from 0 to "
                          f"{_MAX_SEED}")
    zipped = _axes(raw.get("zip"), "zip", path)
    if len({len(v) for _, v in zipped}) > 1:
        raise ConfigError(f"{path}: key 'zip': lists must have equal lengths, got "
                          + ", ".join(f"{k}: {len(v)}" for k, v in zipped))
    fixed = raw.get("set") or {}
    if not isinstance(fixed, dict):
        raise ConfigError(f"{path}: key 'set': expected a mapping of dotted config keys to values")
    base = path.parent
    spec = SweepSpec(
        name=name, path=path, arch=base / raw["arch"],
        net=base / raw["net"] if measure == "network" else None,
        data=_data_spec(raw.get("data"), base), repeats=repeats, seeds=tuple(seeds),
        fixed=tuple((str(k), v) for k, v in fixed.items()),
        grid=_axes(raw.get("grid"), "grid", path), zipped=zipped, measure=measure, device=device)
    if len(set(spec.axes)) != len(spec.axes):
        raise ConfigError(f"{path}: a key is swept twice: {', '.join(spec.axes)}")
    if NET_AXIS in spec.axes and measure != "network":
        raise ConfigError(f"{path}: key 'grid.{NET_AXIS}': only a network sweep can vary the network")
    if any(k == NET_AXIS for k, _ in spec.fixed):
        raise ConfigError(f"{path}: key 'set.{NET_AXIS}': give the network as the top-level 'net'")
    check(spec)
    return spec


def _data_spec(data: str | None, base: Path) -> Path | str | None:
    """A spec's ``data``: a bundled name (``mnist``, ``fashion``) when no file of that name is beside
    the spec (as ``--data``), else a path relative to the spec's folder."""
    if not data:
        return None
    if data in BUNDLED_NAMES and not (base / data).exists():
        return data
    return base / data


def check(spec: SweepSpec) -> None:
    """Validate every point's architecture (and device measurement) before anything runs, and each
    network point's size against the memory and time limits (``accelsim.limits``)."""
    n_points = math.prod(len(v) for _, v in spec.grid) * (len(spec.zipped[0][1]) if spec.zipped else 1)
    n_points *= len(spec.seeds)
    limits.check_memory(n_points * _BYTES_PER_POINT, f"{spec.path}: {n_points:,} points", ConfigError)
    if spec.device is not None:
        devices = spec.device.devices
        limits.check_memory(devices * _BYTES_PER_DEVICE,
                            f"{spec.path}: key 'device.devices': {devices:,} devices", ConfigError)
    for net in {point_net(spec, point) for point in expand(spec)} - {None}:
        if not net.is_file():
            raise ConfigError(f"{spec.path}: key '{NET_AXIS}': no such network file {net}")
    sizes: dict[Path, tuple[Network, int]] = {}
    resolved: dict[str, ArchConfig] = {}  # points that differ only in seed or network share theirs
    for point in expand(spec):
        key = arch_key(spec, point)
        if key not in resolved:  # raises ConfigError naming the spec's key and the bad value
            resolved[key] = point_arch(spec, point)
        arch = resolved[key]
        if spec.measure == "network":
            net_path = point_net(spec, point)
            if net_path not in sizes:
                if is_description_file(net_path):
                    raise ConfigError(f"{spec.path}: network {net_path} is an architecture-only description "
                                      "(no weights): a sweep runs networks functionally; cost it with "
                                      "accelsim run --cost-only")
                net = load_network(net_path)
                sizes[net_path] = (net, _n_images(net, spec.data))
            net, n_images = sizes[net_path]
            try:
                limits.check_run(arch, net, n_images, spec.repeats, where=f"point {point.index}")
            except UsageError as exc:
                raise ConfigError(f"{spec.path}: {exc}") from None
        if spec.measure == "device":
            try:
                target_wer(spec, point)
                sweep_device.check_arch(arch, spec.device)
            except (ValueError, ConfigError) as exc:
                raise ConfigError(f"{spec.path}: point {point.index} ({_describe(point)}): {exc}") from None


def _n_images(net: Network, data: Path | str | None) -> int:
    """Images a point classifies: the data file's count (read from its header), else the bundled set's."""
    if isinstance(data, str):
        return dataset_from_spec(data).n_images
    if data is not None:
        from accelsim.data import count_images

        return count_images(data)
    return 0 if net.test_y is None else len(net.test_y)


def expand(spec: SweepSpec) -> list[SweepPoint]:
    """All points in spec order: grid (last axis fastest) x zip rows x seeds."""
    grid_keys = [k for k, _ in spec.grid]
    grid_rows = list(itertools.product(*[v for _, v in spec.grid])) or [()]
    zip_keys = [k for k, _ in spec.zipped]
    zip_rows = list(zip(*[v for _, v in spec.zipped])) or [()]
    points = []
    for g in grid_rows:
        for z in zip_rows:
            for seed in spec.seeds:
                values = tuple(zip(grid_keys, g)) + tuple(zip(zip_keys, z))
                points.append(SweepPoint(index=len(points), values=values, seed=seed))
    return points


def _overrides(spec: SweepSpec, point: SweepPoint) -> tuple[tuple[str, Any], ...]:
    """The config keys a point sets (``target_wer`` is not one: it is the device measurement's)."""
    pairs = spec.fixed + point.values
    not_config = NET_AXIS if spec.measure == "network" else TARGET_WER
    return tuple((k, v) for k, v in pairs if k != not_config)


def arch_key(spec: SweepSpec, point: SweepPoint) -> str:
    """What a point's architecture depends on besides the spec's file: points with equal keys (they
    differ in seed or network only) have the same ``point_arch``."""
    return repr(_overrides(spec, point))


def point_net(spec: SweepSpec, point: SweepPoint) -> Path | None:
    """The network file of a point: its swept ``net`` (relative to the spec), else the spec's."""
    values = dict(point.values)
    return spec.path.parent / str(values[NET_AXIS]) if NET_AXIS in values else spec.net


def point_arch(spec: SweepSpec, point: SweepPoint) -> ArchConfig:
    try:
        return load_arch(spec.arch, _overrides(spec, point))
    except ConfigError as exc:
        raise ConfigError(f"{spec.path}: point {point.index} ({_describe(point)}): {exc}") from None


def target_wer(spec: SweepSpec, point: SweepPoint) -> float | None:
    """The point's ``target_wer`` (device sweeps), or None; raises ``ValueError`` if out of range."""
    values = dict(spec.fixed + point.values)
    return sweep_device.check_target(values[TARGET_WER]) if TARGET_WER in values else None


def _describe(point: SweepPoint) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in point.values) or "base"


def _short(value: Any) -> str:
    """A swept value for a message: as written when short, else cut (aliases can nest it deeply)."""
    text = str(value) if isinstance(value, (str, int, float, bool)) else show(value)
    return text if len(text) <= 120 else text[:117] + "..."


@functools.lru_cache(maxsize=4)
def _network_and_workload(net_path: str, data_path: str | None) -> tuple[Network, Workload]:
    """Loaded once per process (a worker runs many points of one sweep)."""
    net = load_network(net_path)
    return net, load_workload(net, data_path)


def _cell(value: Any) -> Any:
    """A swept value as a CSV cell: scalars as they are, lists and mappings as one-line YAML."""
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6).strip()
    return value


def run_task(spec: SweepSpec, point: SweepPoint, repeat: int) -> tuple[dict, pd.DataFrame | None]:
    """One (point, repeat) of the sweep: its CSV row and its timeline rows (None for a device point).
    A point that raises an ``AccelsimError`` gives its error row (``error_row``) instead."""
    try:
        arch = point_arch(spec, point)
        if spec.measure == "device":
            return run_point(spec, point, repeat, arch)
        net_path = point_net(spec, point)
        net, workload = _network_and_workload(str(net_path), None if spec.data is None else str(spec.data))
        return run_point(spec, point, repeat, arch, net, workload, net_path.stem)
    except AccelsimError as exc:
        return error_row(point, repeat, exc), None


def run_point(spec: SweepSpec, point: SweepPoint, repeat: int, arch: ArchConfig, net: Network | None = None,
              workload: Workload | None = None, net_name: str = "") -> tuple[dict, pd.DataFrame | None]:
    """One (point, repeat) from inputs already loaded: the point's architecture and, for a network
    point, its network, workload and network name (what a cluster worker is shipped)."""
    row = {"point": point.index, "repeat": repeat, **{k: _cell(v) for k, v in point.values}}
    if spec.measure == "device":
        row.update({"arch": arch.name, "seed": point.seed})
        row.update(sweep_device.evaluate(arch, spec.device, target_wer(spec, point), point.seed))
        return row, None
    result = simulate(arch, net, workload, seed=point.seed, repeats=1, first_repeat=repeat)
    run_id = f"{spec.name}_p{point.index}_r{repeat}"
    row.update(summary_row(result, run_id=run_id, arch=arch, net_name=net_name,
                           dataset=workload.name, seed=point.seed))
    timeline = result.timeline.drop(columns="repeat")
    timeline.insert(0, "repeat", repeat)
    timeline.insert(0, "point", point.index)
    return row, timeline


def error_row(point: SweepPoint, repeat: int, exc: AccelsimError) -> dict:
    """The row of a (point, repeat) that failed: its keys and swept values, and the message in
    ``ERROR_COLUMN`` (every run column is left empty)."""
    return {"point": point.index, "repeat": repeat, **{k: _cell(v) for k, v in point.values},
            ERROR_COLUMN: str(exc)}


def timeline_path(out_csv: Path) -> Path:
    return out_csv.with_name(out_csv.stem + "_timeline.csv")


def errors_path(out_csv: Path) -> Path:
    """The rows of the runs that failed, as they finish: ``<out>.errors.csv`` (kept for ``resume``)."""
    return out_csv.with_name(out_csv.name + ".errors.csv")


def spec_record_path(out_csv: Path) -> Path:
    """The sidecar naming the spec a sweep CSV belongs to: ``<out>.spec.json``."""
    return out_csv.with_name(out_csv.name + ".spec.json")


def spec_fingerprint(spec: SweepSpec) -> dict:
    """What a sweep's rows depend on: the spec's content (not its paths) and the SHA-256 of its
    architecture, network(s) and data files; ``sha256`` hashes all of it (canonical JSON)."""
    content = {"name": spec.name, "measure": spec.measure, "repeats": spec.repeats,
               "seeds": list(spec.seeds), "set": [[k, v] for k, v in spec.fixed],
               "grid": [[k, list(v)] for k, v in spec.grid], "zip": [[k, list(v)] for k, v in spec.zipped],
               "device": None if spec.device is None else dataclasses.asdict(spec.device)}
    nets = [n for n in dict.fromkeys(point_net(spec, p) for p in expand(spec)) if n is not None]
    files = {"arch": _sha256_files([spec.arch]), "net": [_sha256_files([n]) for n in nets],
             "data": None if spec.data is None else _sha256_files(_data_files(spec.data))}
    canonical = json.dumps({"spec": content, "files": files}, sort_keys=True, default=str)
    return {"sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest(), "spec": content,
            "files": files}


def _data_files(path: Path | str) -> list[Path]:
    """A data set's files: a directory's files, or a file and its IDX partner(s) beside it (a bundled
    name's: ``accelsim.data.bundled_files``)."""
    if isinstance(path, str):
        return bundled_files(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file())
    m = re.match(r"^(.+)-(images|labels)[-.]idx[13]-ubyte(\.gz)?$", path.name)
    if m is None or not path.parent.is_dir():
        return [path]
    return [path] + sorted(p for p in path.parent.iterdir()
                           if p != path and p.is_file() and p.name.startswith(m[1] + "-"))


def _sha256_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest()


def _check_same_spec(out_csv: Path, fingerprint: dict) -> None:
    """``resume`` only continues a CSV written by this very spec (content and input files)."""
    record = spec_record_path(out_csv)
    try:
        previous = json.loads(record.read_text()).get("sha256")
    except FileNotFoundError:
        previous = None
        why = f"{record} is missing, so which spec wrote it is unknown"
    except (OSError, ValueError, AttributeError):
        previous = None
        why = f"{record} is unreadable"
    else:
        why = (f"another spec or other input files wrote it (spec sha256 {str(previous)[:12]}, this "
               f"spec {fingerprint['sha256'][:12]}; {record})")
    if previous != fingerprint["sha256"]:
        raise UsageError(f"resume: {out_csv}: {why}; run without --resume to start over, or choose "
                         "another --out")


def _restore(path: Path, allowed: set[tuple[int, int]], unique: bool,
             results: bool = False) -> tuple[list[str] | None, set, str | None]:
    """The complete, valid records of a streamed CSV whose (point, repeat) is ``allowed`` (once each
    if ``unique``), without the others (a torn last line, a task whose row was never written).

    A finished results CSV (``results``) with an ``error`` column (some runs failed) gives back its
    streamed form: the rows that ran, without the column (the failed ones are in ``errors_path``).
    Returns the header, the (point, repeat) pairs kept and the file's new text (None if unchanged);
    nothing is written here.
    """
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    header, header_text, records = read_csv_records(text)
    keys: set[tuple[int, int]] = set()
    kept = []
    if header is not None and header[:2] == ["point", "repeat"]:
        finished_with_errors = results and header[-1] == ERROR_COLUMN
        for fields, raw in records:
            try:
                key = (int(fields[0]), int(fields[1]))
            except ValueError:
                continue
            if finished_with_errors:
                if fields[-1] != "" or not raw.endswith(",\n"):
                    continue  # a failed run (its row is in errors_path)
                raw = raw[:-2] + "\n"
            if key in allowed and not (unique and key in keys):
                keys.add(key)
                kept.append(raw)
        if finished_with_errors:
            header = header[:-1]
            header_text = header_text[: header_text.rindex(",")] + "\n"
    if header is None or header[:2] != ["point", "repeat"] or not kept:
        header, header_text = None, ""
    valid = header_text + "".join(kept)
    return header, keys, None if valid == text else valid


class _Stream:
    """Rows appended to a streamed CSV as tasks finish: whole lines, flushed and fsynced (a kill
    leaves at most a torn last line, which ``_restore`` drops). The header goes with the first rows."""

    def __init__(self, path: Path, header: list[str] | None) -> None:
        self.path, self.header, self._fh = path, header, None

    def append(self, frame: pd.DataFrame) -> None:
        columns = [str(c) for c in frame.columns]
        if self.header is not None and columns != self.header:
            raise UsageError(f"resume: {self.path}: its columns differ from this sweep's (written by "
                             "another version of accelsim?); run without --resume to start over")
        if self._fh is None:
            try:
                self._fh = open(self.path, "ab")
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot write ({exc.strerror or exc})") from None
        text = frame.to_csv(index=False, header=self.header is None)
        try:
            append_line(self._fh, text)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write ({exc.strerror or exc})") from None
        self.header = columns

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def run_sweep(spec: SweepSpec, out_csv: str | Path, *, workers: int = 1, scheduler: str | None = None,
              resume: bool = False, progress: bool = True,
              worker_wait_s: float | None = WORKER_WAIT_S) -> pd.DataFrame:
    """Run every (point, repeat) of ``spec`` and write ``out_csv`` (+ ``_timeline.csv``).

    ``workers`` > 1 runs the tasks on that many local single-threaded worker processes;
    ``scheduler`` ("tcp://host:port") sends them to an existing Dask cluster instead
    (``accelsim.cluster``: inputs shipped from here, versions checked first; it waits up to
    ``worker_wait_s`` seconds for a worker, None: as long as it takes).
    ``<out>.spec.json`` records the spec the CSV belongs to; ``resume`` refuses a CSV of another
    spec, drops a torn last line and reruns its task. A second sweep on the same ``out_csv`` while
    one runs is refused (``OutputError``). A run that raises an ``AccelsimError`` is recorded as a row
    with its message in the ``error`` column (``<out>.errors.csv`` keeps them; ``resume`` does not
    rerun them) and the sweep goes on. Nothing at ``out_csv`` is removed or rewritten before the first
    run has finished (a cluster that cannot be reached leaves the previous results as they were); a
    cluster lost later raises ``ClusterError`` with the finished rows kept for ``resume``.
    """
    out_csv = Path(out_csv)
    tl_csv, err_csv = timeline_path(out_csv), errors_path(out_csv)
    fingerprint = spec_fingerprint(spec)
    ensure_dir(out_csv.parent)
    with OutputLock(out_csv):
        tasks = [(p, r) for p in expand(spec) for r in range(spec.repeats)]
        allowed = {(p.index, r) for p, r in tasks}
        done: set[tuple[int, int]] = set()
        failed: set[tuple[int, int]] = set()
        header = tl_header = err_header = None
        removals = [] if spec.has_timeline else [tl_csv]  # once a run is in: files to remove,
        writes: dict[Path, str] = {}  # and files to (re)write with their new text
        if resume and out_csv.exists() and out_csv.stat().st_size > 0:
            _check_same_spec(out_csv, fingerprint)
            err_header, failed, writes[err_csv] = _restore(err_csv, allowed, unique=True)
            header, done, writes[out_csv] = _restore(out_csv, allowed - failed, unique=True,
                                                         results=True)
            if spec.has_timeline:  # drop timeline rows of a task killed before its CSV row was written
                tl_header, _, writes[tl_csv] = _restore(tl_csv, done, unique=False)
            writes = {path: text for path, text in writes.items() if text is not None}
        else:
            record = {"sha256": fingerprint["sha256"], "spec_file": str(spec.path),
                      "accelsim_version": __version__, "spec": fingerprint["spec"],
                      "files": fingerprint["files"]}
            removals += [out_csv, tl_csv, err_csv]
            writes[spec_record_path(out_csv)] = json.dumps(record, indent=2, sort_keys=True,
                                                            default=str) + "\n"
        todo = [(p, r) for p, r in tasks if (p.index, r) not in done | failed]
        bar = _progress(len(tasks), len(tasks) - len(todo), progress)
        streams = {"rows": _Stream(out_csv, header), "timeline": _Stream(tl_csv, tl_header),
                   "errors": _Stream(err_csv, err_header)}
        finished, applied = 0, False
        try:
            results = _execute(spec, todo, workers, scheduler, worker_wait_s)
            first = next(results, None)  # the cluster answered and a run is in: now the files change
            for path in removals:
                path.unlink(missing_ok=True)
            for path, text in writes.items():
                atomic_write_text(path, text)
            applied = True
            for row, timeline in itertools.chain([first] if first is not None else [], results):
                if ERROR_COLUMN in row:
                    streams["errors"].append(pd.DataFrame([row]))
                else:
                    if timeline is not None:  # timeline first: a row in the CSV means its task is complete
                        streams["timeline"].append(timeline)
                    streams["rows"].append(pd.DataFrame([row]))
                finished += 1
                bar.update(1)
        except ClusterError as exc:
            kept = len(tasks) - len(todo) + finished
            raise ClusterError(f"{exc}; {kept} of {len(tasks)} runs are kept in {out_csv}: run the same "
                               "command with --resume to continue (against a new scheduler)"
                               if applied else
                               f"{exc}; nothing at {out_csv} was changed") from None
        finally:
            for stream in streams.values():
                stream.close()
            bar.close()
        return _finalise(out_csv, tl_csv if spec.has_timeline else None, err_csv)


def _finalise(out_csv: Path, tl_csv: Path | None, err_csv: Path) -> pd.DataFrame:
    """Rewrite the streamed CSV (and timeline) in spec order, both replaced together; the rows of
    failed runs, if any, join the CSV with their message in the ``error`` column."""
    frame, errors = (pd.read_csv(p) if p.exists() and p.stat().st_size else None for p in (out_csv, err_csv))
    if errors is not None and len(errors):
        parts = [_nullable_ints(f) for f in (frame, errors) if f is not None]
        columns = list(dict.fromkeys(c for f in parts for c in f.columns if c != ERROR_COLUMN))
        frame = pd.concat(parts, ignore_index=True)[columns + [ERROR_COLUMN]]
    frame = frame.sort_values(["point", "repeat"], kind="stable").reset_index(drop=True)
    with OutputSet() as files:
        files.write_text(out_csv, frame.to_csv(index=False))
        if tl_csv is not None and tl_csv.exists() and tl_csv.stat().st_size:
            timeline = pd.read_csv(tl_csv).sort_values(["point", "repeat", "step"], kind="stable")
            files.write_text(tl_csv, timeline.reset_index(drop=True).to_csv(index=False))
    return frame


def _nullable_ints(frame: pd.DataFrame) -> pd.DataFrame:
    """Integer columns as pandas' nullable integers, so that the empty cells of failed runs leave the
    other rows' integers written as integers (not as floats)."""
    ints = {c: "Int64" for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])}
    return frame.astype(ints)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="run", desc="sweep", disable=not enabled,
                file=sys.stderr, dynamic_ncols=True)


def _run(task: tuple[SweepSpec, SweepPoint, int]) -> tuple[dict, pd.DataFrame | None]:
    return run_task(*task)


def _execute(spec: SweepSpec, todo: list, workers: int, scheduler: str | None,
             worker_wait_s: float | None = WORKER_WAIT_S):
    """Yield (row, timeline) per task as tasks finish: in-process (1 worker), on local worker
    processes, or on a Dask cluster (``scheduler``; ``accelsim.cluster``)."""
    if not todo:
        return
    if scheduler is None and workers == 1:
        for point, repeat in todo:
            yield run_task(spec, point, repeat)
        return
    if scheduler is None:
        yield from _execute_local(spec, todo, workers)
        return
    from accelsim.cluster import execute

    yield from execute(spec, todo, scheduler, worker_wait_s)


def _execute_local(spec: SweepSpec, todo: list, workers: int):
    """``workers`` single-threaded processes (spawned, so no thread or lock of this process is
    inherited), each taking the next task as it finishes one: no scheduler, nanny or heartbeat
    process competing with them for the cores, nothing to start but the interpreters, and a
    worker's network stays loaded for its next points (``_network_and_workload``)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    saved = {k: os.environ.get(k) for k in _SINGLE_THREADED}
    os.environ.update(_SINGLE_THREADED)  # the children's environment, read as they start
    try:
        pool = ctx.Pool(processes=min(workers, len(todo)))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        yield from pool.imap_unordered(_run, [(spec, p, r) for p, r in todo], chunksize=1)
    except BaseException:  # an error, an interrupt, or the consumer stopping early: kill the workers
        pool.terminate()
        raise
    else:  # all done: let the workers exit by themselves (a terminated worker leaks its semaphores)
        pool.close()
    finally:
        pool.join()


def check_workers(workers: int | None) -> int:
    """``--workers``: default one per core."""
    if workers is None:
        return os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers {workers}: expected >= 1")
    return workers
