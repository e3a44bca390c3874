"""Design-space exploration: a sweep spec (YAML) -> runs (in-process or on a Dask cluster) -> one CSV.

Rows stream to disk as runs finish (an interrupted sweep keeps them; ``resume`` skips them) and the
file is rewritten in spec order at the end, so the CSV does not depend on the number of workers.
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from accelsim.config import ArchConfig, load_arch, read_yaml
from accelsim.errors import ConfigError, UsageError
from accelsim.network import Network, load_network
from accelsim.report import summary_row
from accelsim.simulate import simulate
from accelsim.workload import Workload, load_workload

_SPEC_KEYS = ("name", "description", "arch", "net", "data", "repeats", "seeds", "set", "grid", "zip")


@dataclass(frozen=True, kw_only=True, slots=True)
class SweepSpec:
    """A sweep: a base architecture and network, axes over dotted config keys, repeats and seeds.

    ``set`` fixes keys for every point; ``grid`` axes form a cartesian product; ``zip`` axes advance
    in lock-step (equal lengths) and are crossed with the grid. Paths are relative to the spec file.
    """

    name: str
    path: Path
    arch: Path
    net: Path
    data: Path | None
    repeats: int
    seeds: tuple[int, ...]
    fixed: tuple[tuple[str, Any], ...]
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    zipped: tuple[tuple[str, tuple[Any, ...]], ...]

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.grid) + tuple(k for k, _ in self.zipped)


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
    raw = read_yaml(path)
    for key in raw:
        if key not in _SPEC_KEYS:
            raise ConfigError(f"{path}: key '{key}': unknown key; allowed: {', '.join(_SPEC_KEYS)}")
    for key in ("arch", "net"):
        if not isinstance(raw.get(key), str):
            raise ConfigError(f"{path}: key '{key}': missing required key (a path)")
    repeats = raw.get("repeats", 1)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"{path}: key 'repeats': expected an integer >= 1, got {repeats!r}")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ConfigError(f"{path}: key 'seeds': expected a non-empty list of integers >= 0")
    zipped = _axes(raw.get("zip"), "zip", path)
    if len({len(v) for _, v in zipped}) > 1:
        raise ConfigError(f"{path}: key 'zip': lists must have equal lengths, got "
                          + ", ".join(f"{k}: {len(v)}" for k, v in zipped))
    fixed = raw.get("set") or {}
    if not isinstance(fixed, dict):
        raise ConfigError(f"{path}: key 'set': expected a mapping of dotted config keys to values")
    base = path.parent
    spec = SweepSpec(
        name=str(raw.get("name", path.stem)), path=path, arch=base / raw["arch"], net=base / raw["net"],
        data=base / raw["data"] if raw.get("data") else None, repeats=repeats, seeds=tuple(seeds),
        fixed=tuple((str(k), v) for k, v in fixed.items()),
        grid=_axes(raw.get("grid"), "grid", path), zipped=zipped)
    if len(set(spec.axes)) != len(spec.axes):
        raise ConfigError(f"{path}: a key is swept twice: {', '.join(spec.axes)}")
    for point in expand(spec):
        point_arch(spec, point)  # raises ConfigError naming the spec's key and the bad value
    return spec


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


def point_arch(spec: SweepSpec, point: SweepPoint) -> ArchConfig:
    try:
        return load_arch(spec.arch, spec.fixed + point.values)
    except ConfigError as exc:
        raise ConfigError(f"{spec.path}: point {point.index} ({_describe(point)}): {exc}") from None


def _describe(point: SweepPoint) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.values) or "base"


@functools.lru_cache(maxsize=4)
def _network_and_workload(net_path: str, data_path: str | None) -> tuple[Network, Workload]:
    """Loaded once per process (a worker runs many points of one sweep)."""
    net = load_network(net_path)
    return net, load_workload(net, data_path)


def run_task(spec: SweepSpec, point: SweepPoint, repeat: int) -> tuple[dict, pd.DataFrame]:
    """One (point, repeat) of the sweep: its CSV row and its timeline rows."""
    arch = point_arch(spec, point)
    net, workload = _network_and_workload(str(spec.net), None if spec.data is None else str(spec.data))
    result = simulate(arch, net, workload, seed=point.seed, repeats=1, first_repeat=repeat)
    run_id = f"{spec.name}_p{point.index}_r{repeat}"
    row = {"point": point.index, "repeat": repeat, **{k: v for k, v in point.values}}
    row.update(summary_row(result, run_id=run_id, arch=arch, net_name=spec.net.stem,
                           dataset=workload.name, seed=point.seed))
    timeline = result.timeline.drop(columns="repeat")
    timeline.insert(0, "repeat", repeat)
    timeline.insert(0, "point", point.index)
    return row, timeline


def timeline_path(out_csv: Path) -> Path:
    return out_csv.with_name(out_csv.stem + "_timeline.csv")


def _append(path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, mode="a", header=not path.exists() or path.stat().st_size == 0, index=False)


def _finalise(path: Path, order: list[str]) -> pd.DataFrame:
    """Rewrite a streamed CSV in spec order (atomically)."""
    frame = pd.read_csv(path).sort_values(order, kind="stable").reset_index(drop=True)
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return frame


def run_sweep(spec: SweepSpec, out_csv: str | Path, *, workers: int = 1, scheduler: str | None = None,
              resume: bool = False, progress: bool = True) -> pd.DataFrame:
    """Run every (point, repeat) of ``spec`` and write ``out_csv`` (+ ``_timeline.csv``).

    ``workers`` > 1 starts a local Dask cluster of that many single-threaded processes;
    ``scheduler`` ("tcp://host:port") uses an existing Dask cluster instead.
    """
    out_csv = Path(out_csv)
    tl_csv = timeline_path(out_csv)
    tasks = [(p, r) for p in expand(spec) for r in range(spec.repeats)]
    done: set[tuple[int, int]] = set()
    if resume and out_csv.exists() and out_csv.stat().st_size > 0:
        previous = pd.read_csv(out_csv, usecols=["point", "repeat"])
        done = set(zip(previous["point"], previous["repeat"]))
        if tl_csv.exists():  # drop timeline rows of a task killed before its CSV row was written
            tl = pd.read_csv(tl_csv)
            keep = [(p, r) in done for p, r in zip(tl["point"], tl["repeat"])]
            tl[keep].to_csv(tl_csv, index=False)
    elif out_csv.exists() or tl_csv.exists():
        if not resume:
            out_csv.unlink(missing_ok=True)
            tl_csv.unlink(missing_ok=True)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    todo = [(p, r) for p, r in tasks if (p.index, r) not in done]
    bar = _progress(len(tasks), len(tasks) - len(todo), progress)
    for row, timeline in _execute(spec, todo, workers, scheduler):
        _append(tl_csv, timeline)  # timeline first: a row in the CSV means its task is complete
        _append(out_csv, pd.DataFrame([row]))
        bar.update(1)
    bar.close()
    frame = _finalise(out_csv, ["point", "repeat"])
    _finalise(tl_csv, ["point", "repeat", "step"])
    return frame


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="run", desc="sweep", disable=not enabled,
                file=sys.stderr, dynamic_ncols=True)


def _execute(spec: SweepSpec, todo: list, workers: int, scheduler: str | None):
    """Yield (row, timeline) per task as tasks finish."""
    if not todo:
        return
    if scheduler is None and workers == 1:
        for point, repeat in todo:
            yield run_task(spec, point, repeat)
        return
    from dask.distributed import Client, LocalCluster, as_completed

    if scheduler is not None:
        client = Client(scheduler)
        cluster = None
    else:
        # One process per core, each single-threaded all the way down: numba's and BLAS's own thread
        # pools would otherwise oversubscribe the cores the other workers are using.
        single = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, env=single)
        client = Client(cluster)
    try:
        futures = [client.submit(run_task, spec, p, r, pure=False) for p, r in todo]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def check_workers(workers: int | None) -> int:
    """``--workers``: default one per core."""
    if workers is None:
        return os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers {workers}: expected >= 1")
    return workers
