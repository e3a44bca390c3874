"""What the reproduction targets share: each is a sweep spec in ``arch_configs/sweeps/`` that a user
can read and edit, run on the sweep machinery, then aggregated over repeats (network sweeps) or
post-processed point by point (device sweeps)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from accelsim.sweeps import SweepSpec, check, load_spec, run_sweep, timeline_path

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = ROOT / "arch_configs" / "sweeps"


def run_spec(name: str, out_dir: Path, quick: bool, seed: int, *, quick_repeats: int = 2,
             workers: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``arch_configs/sweeps/<name>.yaml`` with ``seed``; returns (runs, timeline) tables.

    The raw per-run CSVs are kept beside the target's output as ``<name>_runs.csv`` (+ timeline).
    ``quick`` caps the repeats at ``quick_repeats``.
    """
    spec = load_spec(SWEEPS / f"{name}.yaml")
    repeats = min(spec.repeats, quick_repeats) if quick else spec.repeats
    spec = dataclasses.replace(spec, seeds=(seed,), repeats=repeats)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs_csv = out_dir / f"{name}_runs.csv"
    runs = run_sweep(spec, runs_csv, workers=workers, progress=False)
    return runs, pd.read_csv(timeline_path(runs_csv))


def mean_std(table: pd.DataFrame, by: list[str], column: str) -> pd.DataFrame:
    """Mean, sample std and count of ``column`` over repeats, per ``by`` group."""
    grouped = table.groupby(by, sort=True)[column]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def run_device_spec(name: str, out_dir: Path, seed: int, *, quick_devices: int | None = None,
                    keep: Callable[[str, Any], bool] | None = None, fixed: dict[str, Any] | None = None,
                    grid: dict[str, list] | None = None, runs_name: str | None = None) -> pd.DataFrame:
    """Run the device sweep ``arch_configs/sweeps/<name>.yaml`` with ``seed``; returns its CSV as a table.

    ``quick_devices`` caps the devices drawn; ``keep(key, value)`` filters axis values; ``fixed`` adds
    keys set for every point and ``grid`` replaces or adds grid axes (all validated like the spec's
    own). The CSV is kept as ``<runs_name or name>_runs.csv`` beside the target's output.
    """
    spec = load_spec(SWEEPS / f"{name}.yaml")
    spec = dataclasses.replace(spec, seeds=(seed,))
    if quick_devices is not None:
        spec = dataclasses.replace(
            spec, device=dataclasses.replace(spec.device, devices=min(spec.device.devices, quick_devices)))
    if fixed:
        spec = dataclasses.replace(spec, fixed=spec.fixed + tuple(fixed.items()))
    if grid:
        axes = dict(spec.grid) | {k: tuple(v) for k, v in grid.items()}
        spec = dataclasses.replace(spec, grid=tuple(axes.items()))
    if keep is not None:
        spec = _filtered(spec, keep)
    check(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    return run_sweep(spec, out_dir / f"{runs_name or name}_runs.csv", workers=1, progress=False)


def _filtered(spec: SweepSpec, keep: Callable[[str, Any], bool]) -> SweepSpec:
    grid = tuple((k, tuple(v for v in values if keep(k, v))) for k, values in spec.grid)
    return dataclasses.replace(spec, grid=grid)


def cell_column(table: pd.DataFrame, quantity: str) -> str:
    """The one ``<cell>.<quantity>`` column of a device sweep table (an architecture of one cell type)."""
    names = [c for c in table.columns if c.endswith(f".{quantity}")]
    if len(names) != 1:
        raise ValueError(f"expected one column '<cell>.{quantity}', found {names}")
    return names[0]
