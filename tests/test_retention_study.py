"""002's retention study on the shipped 784-1024-10 networks: which one ages worse depends on how the
first layer reads its input pixels (results/reproduce/README.md, "Which network ages worse")."""

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from conftest import ROOT

from accelsim.config import load_arch
from accelsim.device.retention import retention_flip_probability
from accelsim.network import load_network
from accelsim.simulate import simulate
from accelsim.workload import bundled_workload

# Delta 40 for 10 years in one step; tau0 25 ns flips 5 % of the AP (HRS) cells of A_1.
AGEING = (("cells.mtj.tau0", "25 ns"), ("retention.n_steps", 1))


def _drop(net_name: str, encoding: str) -> float:
    net = load_network(ROOT / "workloads" / net_name)
    arch = load_arch(ROOT / "arch_configs" / "uniform_delta.yaml",
                     (*AGEING, ("mapping.input_encoding", encoding)))
    result = simulate(arch, net, bundled_workload(net), seed=0, repeats=1)
    return float(result.accuracy_programmed[0] - result.accuracy_end_of_life[0])


@pytest.fixture(scope="module")
def drops():
    return {(net, enc): _drop(net, enc) for net in ("mlp784x1024x10.npz", "mlp784_hrsmin.npz")
            for enc in ("bipolar", "unipolar")}


def test_unipolar_inputs_give_002s_ordering(drops):
    # 0/1 pixels: a flipped +1 weight on a background row is never read, so the conventional network
    # ages moderately and the HRS-minimised one, whose few +1 weights sit on the ink, ages worse (002).
    conventional, hrs_min = drops["mlp784x1024x10.npz", "unipolar"], drops["mlp784_hrsmin.npz", "unipolar"]
    assert conventional < 0.02
    assert hrs_min > conventional + 0.01


def test_bipolar_inputs_reverse_it(drops):
    # +-1 pixels: every flip on a background row adds one to its neuron's count; the conventional network,
    # with five times the HRS cells, takes the larger common shift and collapses first.
    assert drops["mlp784x1024x10.npz", "bipolar"] > drops["mlp784_hrsmin.npz", "bipolar"] + 0.1


def test_fault_free_encodings_agree():
    net = load_network(ROOT / "workloads" / "mlp784_hrsmin.npz")
    workload = bundled_workload(net)
    accuracy = {}
    for encoding in ("bipolar", "unipolar"):
        arch = load_arch(ROOT / "arch_configs" / "uniform_delta.yaml",
                         (("retention.horizon", "0 s"), ("mapping.input_encoding", encoding)))
        result = simulate(arch, net, workload, seed=0, repeats=1)
        accuracy[encoding] = result.accuracy_programmed[0]
    assert accuracy["bipolar"] == accuracy["unipolar"] == result.accuracy_ideal


def test_the_reproduce_readme_quotes_these_drops(drops):
    """results/reproduce/README.md quotes this file's four drops and its flip rate, as printed."""
    text = re.sub(r"\s+", " ", (ROOT / "results" / "reproduce" / "README.md").read_text())
    found = re.search(r"checks both orderings at a ([0-9]+) % flip rate \(Delta 40, tau0 25 ns\): unipolar, "
                      r"conventional ([0-9.]+) vs HRS-minimised ([0-9.]+) points; bipolar, ([0-9.]+) vs "
                      r"([0-9.]+)\.", text)
    rate = retention_flip_probability(10 * 365.25 * 86400, 40.0, 25e-9)
    # a drop is k images of 2,000, i.e. k x 0.05 points: round the exact value half up, as printed
    def half_up(drop: float) -> str:
        return str((Decimal(round(drop * 2000)) * Decimal("0.05")).quantize(Decimal("0.1"), ROUND_HALF_UP))

    pct = [half_up(drops[net, enc]) for enc in ("unipolar", "bipolar")
           for net in ("mlp784x1024x10.npz", "mlp784_hrsmin.npz")]
    assert found.groups() == (f"{100 * rate:.0f}", *pct)
