"""Reproductions of the retention study of Muench, Bishnoi, Tahoori (002_ea6f7b7a5028ee47.txt):
accuracy over 10 years vs Delta (Figs. 7, 9) and on the mixed-retention array (Fig. 14)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from accelsim.plot import save_figure
from accelsim.reproduce.common import mean_std, run_spec
from accelsim.reproduce.registry import Comparison, target

YEAR_S = 365.25 * 86400.0


def _over_time(name: str, key: str, label: str, out_dir: Path, quick: bool, seed: int) -> pd.DataFrame:
    """Per (swept value, time): accuracy mean/std over repeats and mean HRS cells; CSV + PNG."""
    runs, timeline = run_spec(name, out_dir, quick, seed)
    timeline = timeline.merge(runs[["point", "repeat", key]], on=["point", "repeat"])
    acc = mean_std(timeline, [key, "time_s"], "accuracy")
    hrs = timeline.groupby([key, "time_s"], sort=True)["hrs_cells"].mean().reset_index()
    table = acc.merge(hrs, on=[key, "time_s"]).rename(columns={
        key: label, "mean": "accuracy_mean", "std": "accuracy_std", "count": "n_repeats"})
    table = table[[label, "time_s", "accuracy_mean", "accuracy_std", "hrs_cells", "n_repeats"]]
    table.to_csv(out_dir / f"{name}.csv", index=False)
    save_figure(out_dir / f"{name}.png", table.assign(time_years=table.time_s / YEAR_S),
                x="time_years", y="accuracy_mean", yerr="accuracy_std", hue=label,
                xlabel="storage time [years]", ylabel="test accuracy",
                title=f"{name}: accuracy over 10 years (002)")
    return table


def _at(table: pd.DataFrame, label: str, value, column: str, last: bool) -> float:
    rows = table[table[label] == value].sort_values("time_s")
    return float(rows[column].iloc[-1 if last else 0])


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _delta_study(name: str, out_dir: Path, quick: bool, seed: int, hrs_paper: str,
                 verdicts: dict[int, str]) -> list[Comparison]:
    t = _over_time(name, "cells.mtj.delta_ap", "delta", out_dir, quick, seed)
    n_cells = 784 * 1024  # A_1, the first array (the one that ages)
    clean = _at(t, "delta", 60, "accuracy_mean", False)
    return [
        Comparison(quantity="clean accuracy", paper="92 %", ours=_pct(clean)),
        Comparison(quantity="HRS share of A_1 at t = 0", paper=hrs_paper,
                   ours=_pct(_at(t, "delta", 60, "hrs_cells", False) / n_cells)),
        *[Comparison(quantity=f"accuracy after 10 years, Delta {d}", paper=verdict,
                     ours=_pct(_at(t, "delta", d, "accuracy_mean", True)))
          for d, verdict in verdicts.items()],
    ]


@target("munch-fig7", paper="002_ea6f7b7a5028ee47.txt",
        summary="conventional 784-1024-10 network: accuracy and HRS cells over 10 years vs Delta (Fig. 7)")
def fig7(out_dir: Path, quick: bool, seed: int) -> list[Comparison]:
    verdicts = {30: "collapses", 35: "collapses", 40: "moderate drop", 45: "minimal impact",
                50: "minimal impact", 60: "minimal impact"}
    return _delta_study("munch-fig7", out_dir, quick, seed, "~50 % (400k/800k)", verdicts)


@target("munch-fig9", paper="002_ea6f7b7a5028ee47.txt",
        summary="HRS-minimised 784-1024-10 network: accuracy and HRS cells over 10 years vs Delta (Fig. 9)")
def fig9(out_dir: Path, quick: bool, seed: int) -> list[Comparison]:
    verdicts = {d: "worse than Fig. 7" for d in (30, 35, 40, 45, 50, 60)}
    return _delta_study("munch-fig9", out_dir, quick, seed, "~2.5 % (20k/800k)", verdicts)


@target("munch-fig14", paper="002_ea6f7b7a5028ee47.txt",
        summary="HRS-minimised network on the 90/10 mixed array vs all-Delta-40, over 10 years (Fig. 14)")
def fig14(out_dir: Path, quick: bool, seed: int) -> list[Comparison]:
    t = _over_time("munch-fig14", "cells.delta60.delta_ap", "high_delta_columns", out_dir, quick, seed)
    t.insert(0, "array", t["high_delta_columns"].map({60: "mixed 90/10 (Delta 40/60)", 40: "all Delta 40"}))
    t.to_csv(out_dir / "munch-fig14.csv", index=False)
    drop = {d: _at(t, "high_delta_columns", d, "accuracy_mean", False)
            - _at(t, "high_delta_columns", d, "accuracy_mean", True) for d in (60, 40)}
    return [
        Comparison(quantity="10-year accuracy drop, mixed array", paper="insignificant",
                   ours=f"{100 * drop[60]:.1f} points"),
        Comparison(quantity="10-year accuracy drop, all Delta 40", paper="large (Fig. 9b)",
                   ours=f"{100 * drop[40]:.1f} points"),
    ]
