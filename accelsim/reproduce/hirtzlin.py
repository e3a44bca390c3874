"""Reproductions of Hirtzlin et al., NANOARCH 2019 (000_0b68741c33db5fc2.txt)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from accelsim.config import load_arch
from accelsim.network import load_network
from accelsim.plot import save_figure
from accelsim.reproduce.registry import Comparison, target
from accelsim.simulate import simulate
from accelsim.workload import bundled_workload

ROOT = Path(__file__).resolve().parents[2]
FIG2_BERS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)


@target("hirtzlin-fig2", paper="000_0b68741c33db5fc2.txt",
        summary="MNIST MLP accuracy vs weight bit-error rate (Fig. 2)")
def fig2(out_dir: Path, quick: bool, seed: int) -> list[Comparison]:
    net = load_network(ROOT / "workloads" / "mlp784.npz")
    workload = bundled_workload(net)
    repeats = 2 if quick else 5
    rows = []
    for ber in FIG2_BERS:
        arch = load_arch(ROOT / "arch_configs" / "weight_ber.yaml", [f"write.ber={ber!r}"])
        result = simulate(arch, net, workload, seed=seed, repeats=repeats)
        acc = result.accuracy_programmed
        rows.append({"ber": ber, "accuracy_mean": float(np.mean(acc)),
                     "accuracy_std": float(np.std(acc, ddof=1)), "n_repeats": repeats,
                     "weight_error_rate": result.n_wrong_cells / (result.n_cells * repeats)})
    table = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "hirtzlin-fig2.csv", index=False)
    save_figure(out_dir / "hirtzlin-fig2.png", table.assign(ber=table.ber.replace(0.0, 1e-7)),
                x="ber", y="accuracy_mean", yerr="accuracy_std", logx=True,
                xlabel="weight bit error rate (0 drawn at 1e-7)", ylabel="test accuracy",
                title="MNIST MLP 784-1024-1024-10 vs weight BER (000 Fig. 2)")
    acc = dict(zip(table.ber, table.accuracy_mean))
    pct = lambda v: f"{100 * v:.2f} %"  # noqa: E731
    return [
        Comparison(quantity="accuracy, no errors", paper="98.3 %", ours=pct(acc[0.0])),
        Comparison(quantity="accuracy at BER 1e-4", paper="98.3 % (flat)", ours=pct(acc[1e-4])),
        Comparison(quantity="accuracy at BER 1e-3", paper="~98.3 % (flat)", ours=pct(acc[1e-3])),
        Comparison(quantity="accuracy at BER 1e-2", paper="98.1 %", ours=pct(acc[1e-2])),
        Comparison(quantity="drop 0 -> 1e-2", paper="0.2 points",
                   ours=f"{100 * (acc[0.0] - acc[1e-2]):.2f} points"),
    ]
