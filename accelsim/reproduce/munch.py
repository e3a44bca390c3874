"""Reproduction of the area and leakage savings of Muench, Bishnoi, Tahoori (002_ea6f7b7a5028ee47.txt,
Sec. III-D): Delta-40 vs Delta-60 cells, and the 90 % / 10 % mixed-retention array vs all Delta 60.

The MTJs and operating point are 002's inputs (Table I, Sec. III-A); the savings come from
``accelsim.arch`` (cell sizing, tile model) on the 40 nm LP technology file, through the device sweep
``arch_configs/sweeps/munch-area.yaml`` (its mixed array first, the all-Delta-60 reference second).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from accelsim.arch.cell import MTJElectrical, design_cell
from accelsim.arch.tech import load_tech
from accelsim.arch.tile import CircuitConfig, tile_cost
from accelsim.arch.timing import TimingConfig
from accelsim.device.presets import mtj_preset
from accelsim.outputs import atomic_write_text
from accelsim.plot import write_figure  # (also sets the headless backend)
from accelsim.reproduce.common import run_device_spec
from accelsim.reproduce.registry import Comparison, target

# 002 inputs: the Table I junctions (device presets citing 002) and the Sec. III-A operating point.
MTJ_PRESET = {40: "muench-delta40", 60: "muench-delta60"}
WRITE_FACTOR = 2.0  # 002 Sec. III-A: "a write current of twice the critical write current"
TILE = 1024  # 002's A_1 is one 784 x 1024 crossbar; a square tile of that width
MIX = {40: 0.9, 60: 0.1}  # 002 Sec. III-D: "the mix of 90% MTJs with Delta = 40 and 10% with Delta = 60"

# 002's reported savings (Sec. III-D), for comparison only.
PAPER = {"cell_area_saving": 0.37, "cell_leakage_saving": 0.43,
         "array_area_saving": 0.33, "array_leakage_saving": 0.39}


def table_i_mtj(delta: int) -> MTJElectrical:
    """002 Table I junction (RA 6.12 Ohm.um^2, TMR 123 %): R_P = RA / (pi r^2) = 2.32 / 2.67 kOhm,
    R_AP = 5.17 / 5.96 kOhm (Table I rounds to 2.3/5.1 and 2.6/5.9); TMR(V) with V_h 0.5 V."""
    return MTJElectrical.from_device(mtj_preset(MTJ_PRESET[delta]))


CELL = {40: "delta40", 60: "delta60"}  # the cell types of arch_configs/mixed_retention.yaml


def savings(tech_name: str = "lp40") -> dict[str, float]:
    """Cell, array (cell matrix) and whole-tile savings of Delta 40 / the mixed array vs Delta 60,
    straight from the arch models (the test's cross-check of the munch-area sweep)."""
    tech = load_tech(tech_name)
    circuit = CircuitConfig(write_current_factor=WRITE_FACTOR)
    timing = TimingConfig()
    m40, m60 = table_i_mtj(40), table_i_mtj(60)
    c40 = design_cell(m40, tech, write_current_factor=WRITE_FACTOR)
    c60 = design_cell(m60, tech, write_current_factor=WRITE_FACTOR)
    n60 = round(MIX[60] * TILE)
    mixed = tile_cost(TILE, [(m40, TILE - n60), (m60, n60)], tech, circuit, timing)
    ref = tile_cost(TILE, [(m60, TILE)], tech, circuit, timing)
    f = tech.feature_size_m
    return {
        "cell_area_saving": 1 - c40.area_m2 / c60.area_m2,
        "cell_leakage_saving": 1 - c40.leakage_w / c60.leakage_w,
        "array_area_saving": 1 - mixed.area_array_m2 / ref.area_array_m2,
        "array_leakage_saving": 1 - mixed.leakage_array_w / ref.leakage_array_w,
        "tile_area_saving": 1 - mixed.area_m2 / ref.area_m2,
        "tile_leakage_saving": 1 - mixed.leakage_w / ref.leakage_w,
        "w_access_delta40_f": c40.w_access_m / f, "w_access_delta60_f": c60.w_access_m / f,
        "cell_area_delta40_f2": c40.area_m2 / f**2, "cell_area_delta60_f2": c60.area_m2 / f**2,
        "i_write_delta40_a": c40.i_write_a, "i_write_delta60_a": c60.i_write_a,
        "r_ap_write_delta40_ohm": c40.r_ap_write_ohm, "r_ap_write_delta60_ohm": c60.r_ap_write_ohm,
    }


@target("munch-area")
def munch_area(out_dir: Path, quick: bool, seed: int) -> list[Comparison]:
    result = sweep_savings(out_dir, seed)
    atomic_write_text(out_dir / "munch-area.csv", pd.DataFrame([result]).to_csv(index=False))
    _bar_chart(out_dir / "munch-area.png", result)
    pct = lambda v: f"{100 * v:.1f} %"  # noqa: E731
    names = {"cell_area_saving": "cell area saved (D40 vs D60)",
             "cell_leakage_saving": "cell leakage saved (D40 vs D60)",
             "array_area_saving": "array area saved (90/10 vs D60)",
             "array_leakage_saving": "array leakage saved (90/10 vs D60)"}
    lines = [Comparison(quantity=names[k], paper=pct(v), ours=pct(result[k])) for k, v in PAPER.items()]
    lines.append(Comparison(quantity="tile area saved, with periphery", paper="-",
                            ours=pct(result["tile_area_saving"])))
    lines.append(Comparison(quantity="tile leakage saved, with periphery", paper="-",
                            ours=pct(result["tile_leakage_saving"])))
    return lines


def sweep_savings(out_dir: Path, seed: int) -> dict[str, float]:
    """``savings`` from the device sweep munch-area: its first point is the mixed array, the second
    the all-Delta-60 reference; the cell columns are the same in both."""
    runs = run_device_spec("munch-area", out_dir, seed)
    if len(runs) != 2:
        raise ValueError(f"munch-area: expected 2 points (mixed array, all-Delta-60 reference), "
                         f"got {len(runs)}")
    mixed, ref = runs.iloc[0], runs.iloc[1]
    c40, c60 = (lambda q: mixed[f"{CELL[40]}.{q}"]), (lambda q: mixed[f"{CELL[60]}.{q}"])
    f = mixed["feature_size_m"]
    return {
        "cell_area_saving": 1 - c40("cell_area_m2") / c60("cell_area_m2"),
        "cell_leakage_saving": 1 - c40("cell_leakage_w") / c60("cell_leakage_w"),
        "array_area_saving": 1 - mixed["array_area_m2"] / ref["array_area_m2"],
        "array_leakage_saving": 1 - mixed["array_leakage_w"] / ref["array_leakage_w"],
        "tile_area_saving": 1 - mixed["tile_area_m2"] / ref["tile_area_m2"],
        "tile_leakage_saving": 1 - mixed["tile_leakage_w"] / ref["tile_leakage_w"],
        "w_access_delta40_f": c40("w_access_m") / f, "w_access_delta60_f": c60("w_access_m") / f,
        "cell_area_delta40_f2": c40("cell_area_m2") / f**2,
        "cell_area_delta60_f2": c60("cell_area_m2") / f**2,
        "i_write_delta40_a": c40("i_write_a"), "i_write_delta60_a": c60("i_write_a"),
        "r_ap_write_delta40_ohm": c40("r_ap_write_ohm"), "r_ap_write_delta60_ohm": c60("r_ap_write_ohm"),
    }


def _bar_chart(path: Path, result: dict[str, float]) -> None:
    import matplotlib.pyplot as plt

    keys = list(PAPER)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    x = range(len(keys))
    ax.bar([i - 0.2 for i in x], [100 * PAPER[k] for k in keys], width=0.4, label="002 (paper)")
    ax.bar([i + 0.2 for i in x], [100 * result[k] for k in keys], width=0.4, label="accelsim")
    ax.set_xticks(list(x), [k.replace("_saving", "").replace("_", "\n") for k in keys])
    ax.set_ylabel("saving vs all Delta 60 [%]")
    ax.set_title("002 Sec. III-D: Delta 40 cells and 90/10 mixed array (40 nm LP)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    write_figure(fig, path)
    plt.close(fig)
