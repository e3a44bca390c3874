"""What the reproduction targets share: each is a sweep spec in ``arch_configs/sweeps/`` that a user
can read and edit, run on the sweep machinery, then aggregated over repeats."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from accelsim.sweep import load_spec, run_sweep, timeline_path

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
