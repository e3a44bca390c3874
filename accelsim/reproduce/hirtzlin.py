"""Reproductions of Hirtzlin et al., NANOARCH 2019 (000_0b68741c33db5fc2.txt)."""

from __future__ import annotations

from pathlib import Path

from accelsim.plot import save_figure
from accelsim.reproduce.common import mean_std, run_spec
from accelsim.reproduce.registry import Comparison, target


@target("hirtzlin-fig2", paper="000_0b68741c33db5fc2.txt",
        summary="MNIST MLP accuracy vs weight bit-error rate (Fig. 2)")
def fig2(out_dir: Path, quick: bool, seed: int) -> list[Comparison]:
    runs, _ = run_spec("hirtzlin-fig2", out_dir, quick, seed)
    table = mean_std(runs, ["write.ber"], "accuracy_programmed").rename(columns={
        "write.ber": "ber", "mean": "accuracy_mean", "std": "accuracy_std", "count": "n_repeats"})
    table["weight_error_rate"] = mean_std(runs, ["write.ber"], "weight_error_rate")["mean"]
    table.to_csv(out_dir / "hirtzlin-fig2.csv", index=False)
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
