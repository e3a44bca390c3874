"""Print the README's table of cost-only figures: the three shipped architecture-only descriptions on
the shipped architectures (``accelsim run --cost-only``'s computation, 1,000-image campaigns).

Run from the repository root: python workloads/arch_only/cost_table.py
(tests/test_cost_only.py checks that README.md holds exactly this table.)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ARCHS = ("mixed_retention", "baseline_delta60", "uniform_delta", "weight_ber")
NETS = ("hirtzlin2019_cifar10", "tzoufras2019_nin_cifar10", "binarized_alexnet")
N_IMAGES = 1000


def _eng(value: float, unit: str) -> str:
    for scale, prefix in ((1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, "")):
        if abs(value) < scale * 1000:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def table() -> list[str]:
    from accelsim.config import load_arch
    from accelsim.cost import cost_only
    from accelsim.description import load_description

    lines = ["| network | arch | binary weights | tiles | area | leakage | energy / inference | latency "
             "(wave of 100) | throughput | programming time | programming energy |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for net in NETS:
        desc = load_description(ROOT / "workloads" / "arch_only" / f"{net}.yaml")
        for arch_name in ARCHS:
            arch = load_arch(ROOT / "arch_configs" / f"{arch_name}.yaml")
            r = cost_only(arch, desc, N_IMAGES)
            e = r.engine
            lines.append(
                f"| `{net}` | `{arch_name}` | {desc.n_weights / 1e6:.2f} M | {r.chip.n_tiles} | "
                f"{r.chip.area_m2 * 1e6:.3g} mm^2 | {_eng(r.chip.leakage_w, 'W')} | "
                f"{_eng(r.energy_per_inference_j, 'J')} | {_eng(e.latency_s, 's')} | "
                f"{e.throughput_inf_per_s:,.0f} /s | {_eng(e.time_program_s, 's')} | "
                f"{_eng(r.energy_program_j, 'J')} |")
    return lines


if __name__ == "__main__":
    print("\n".join(table()))
