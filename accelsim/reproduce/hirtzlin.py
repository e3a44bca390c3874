"""Reproductions of Hirtzlin et al., NANOARCH 2019 (000_0b68741c33db5fc2.txt)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from accelsim.outputs import atomic_write_text
from accelsim.plot import save_figure
from accelsim.reproduce.common import mean_std, run_spec
from accelsim.reproduce.registry import Comparison, target


@target("hirtzlin-fig2")
def fig2(out_dir: Path, quick: bool, seed: int) -> list[Comparison]:
    runs, _ = run_spec("hirtzlin-fig2", out_dir, quick, seed)
    table = mean_std(runs, ["write.ber"], "accuracy_programmed").rename(columns={
        "write.ber": "ber", "mean": "accuracy_mean", "std": "accuracy_std", "count": "n_repeats"})
    table["weight_error_rate"] = mean_std(runs, ["write.ber"], "weight_error_rate")["mean"]
    atomic_write_text(out_dir / "hirtzlin-fig2.csv", table.to_csv(index=False))
    save_figure(out_dir / "hirtzlin-fig2.png", table.assign(ber=table.ber.replace(0.0, 1e-7)),
                x="ber", y="accuracy_mean", yerr="accuracy_std", logx=True,
                xlabel="weight bit error rate (0 drawn at 1e-7)", ylabel="test accuracy",
                title="MNIST MLP 784-1024-1024-10 vs weight BER (000 Fig. 2)")
    acc = dict(zip(table.ber, table.accuracy_mean))
    pct = lambda v: f"{100 * v:.2f} %"
    return [
        Comparison(quantity="accuracy, no errors", paper="98.3 %", ours=pct(acc[0.0])),
        Comparison(quantity="accuracy at BER 1e-4", paper="98.3 % (flat)", ours=pct(acc[1e-4])),
        Comparison(quantity="accuracy at BER 1e-3", paper="~98.3 % (flat)", ours=pct(acc[1e-3])),
        Comparison(quantity="accuracy at BER 1e-2", paper="98.1 %", ours=pct(acc[1e-2])),
        Comparison(quantity="drop 0 -> 1e-2", paper="0.2 points",
                   ours=f"{100 * (acc[0.0] - acc[1e-2]):.2f} points"),
    ]


@target("hirtzlin-fig5")
def fig5(out_dir: Path, quick: bool, seed: int) -> list[Comparison]:
    """The accuracy-vs-BER sweep of Fig. 2 put on the energy axis of Fig. 4: each weight BER costs
    the energy per bit the device model needs to reach it at 2.0 Vc (000 Sec. IV), from the device
    sweep ``hirtzlin-fig4`` run at Fig. 2's bit error rates."""
    from accelsim.reproduce.device_targets import energy_vs_ber

    runs, _ = run_spec("hirtzlin-fig2", out_dir, quick, seed)
    acc = mean_std(runs, ["write.ber"], "accuracy_programmed").rename(
        columns={"write.ber": "ber", "mean": "accuracy_mean", "std": "accuracy_std", "count": "n_repeats"})
    clean = float(acc.loc[acc.ber == 0.0, "accuracy_mean"].iloc[0])
    acc = acc[acc.ber > 0].reset_index(drop=True)
    curve = energy_vs_ber("hirtzlin-fig4", out_dir, quick, seed, bers=acc.ber.to_numpy(),
                          runs_name="hirtzlin-fig5_energy")
    table = acc.assign(energy_j=curve["energy_j"], energy_var_j=curve["energy_var_j"])
    atomic_write_text(out_dir / "hirtzlin-fig5.csv", table.to_csv(index=False))
    long = pd.concat([table.assign(energy=table.energy_j, device="no variability"),
                      table.assign(energy=table.energy_var_j, device="with variability")])
    save_figure(out_dir / "hirtzlin-fig5.png", long.assign(energy_pj=long.energy * 1e12),
                x="energy_pj", y="accuracy_mean", yerr="accuracy_std", hue="device",
                xlabel="programming energy per bit [pJ]", ylabel="test accuracy",
                title="MNIST MLP accuracy vs programming energy per bit (000 Fig. 5)")
    # The cheapest BER that costs no accuracy: within 0.1 point of the error-free network.
    free = table[table.accuracy_mean >= clean - 0.001]
    cheapest = free.loc[free.ber.idxmax()]
    reference = table.loc[table.ber.idxmin()]
    ratios = [reference[k] / cheapest[k] for k in ("energy_j", "energy_var_j")]
    return [
        Comparison(quantity="largest BER with no accuracy loss (< 0.1 point)", paper="~1e-3 .. 1e-2",
                   ours=f"{cheapest.ber:g}"),
        Comparison(quantity=f"energy saved vs BER {reference.ber:g} (no variability / with)",
                   paper="a factor of two", ours=f"{ratios[0]:.2f}x / {ratios[1]:.2f}x"),
        Comparison(quantity="accuracy there vs error-free", paper="no loss",
                   ours=f"{100 * cheapest.accuracy_mean:.2f} % vs {100 * clean:.2f} %"),
    ]
