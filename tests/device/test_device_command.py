"""The `accelsim device` subcommand: curves as CSV, bad options as UsageError, no partial files."""

import argparse
import csv
import io

import pytest

from accelsim.device.command import add_device_parser
from accelsim.errors import UsageError


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="accelsim")
    add_device_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["device", *argv])
    rc = args.func(args)
    return rc, capsys.readouterr().out


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_wer_vs_t_at_two_vc(capsys):
    rc, out = run(
        ["wer-vs-t", "--overdrive", "2", "--t-min", "5 ns", "--t-max", "15 ns", "--points", "3"], capsys
    )
    table = rows(out)
    assert rc == 0 and [float(r["t_pulse_s"]) for r in table] == pytest.approx([5e-9, 8.660254e-9, 15e-9])
    assert float(table[-1]["wer"]) == pytest.approx(1e-10, rel=0.01)  # the 003 calibration point


def test_retention_and_endurance_tables(capsys):
    _, out = run(
        ["retention", "--deltas", "40,60", "--t-min", "1 year", "--t-max", "10 years", "--points", "2"],
        capsys,
    )
    table = rows(out)
    assert [r["delta"] for r in table] == ["40.0", "40.0", "60.0", "60.0"]
    assert float(table[0]["p_flip"]) == pytest.approx(0.125, rel=0.03)
    _, out = run(["endurance", "--v-min", "0.6 V", "--v-max", "0.75 V", "--points", "2"], capsys)
    n = [float(r["cycles_to_breakdown"]) for r in rows(out)]
    assert n[0] / n[1] == pytest.approx(0.8**-62, rel=1e-9)


def test_energy_vs_wer_writes_csv(tmp_path, capsys):
    out = tmp_path / "e.csv"
    run(
        [
            "energy-vs-wer",
            "--wer-min",
            "1e-6",
            "--wer-max",
            "1e-2",
            "--points",
            "3",
            "--n-devices",
            "2000",
            "--out",
            str(out),
        ],
        capsys,
    )
    table = rows(out.read_text())
    assert list(table[0]) == ["wer", "pulse_s", "energy_j", "pulse_var_s", "energy_var_j", "wer_var_at_pulse"]
    for r in table:
        assert float(r["pulse_var_s"]) > float(r["pulse_s"]) and float(r["energy_var_j"]) > float(
            r["energy_j"]
        )


@pytest.mark.parametrize(
    "argv, match",
    [
        (["bogus"], "CURVE must be one of"),
        (["wer-vs-v", "--pulse", "10"], "missing unit"),
        (["wer-vs-v", "--pulse", "10 V"], "not a unit of s"),
        (["wer-vs-t", "--t-min", "20 ns", "--t-max", "10 ns"], "must be below"),
        (["wer-vs-t", "--mtj", "nope"], "unknown MTJ preset"),
        (["wer-vs-t", "--model", "sun"], "--model"),
        (["wer-vs-t", "--voltage", "0.4 V", "--overdrive", "2"], "not both"),
        (["retention", "--deltas", "40,x"], "--deltas"),
        (["energy-vs-wer", "--wer-min", "0.5", "--wer-max", "0.1"], "--wer-min"),
    ],
)
def test_bad_options_raise_usage_error(argv, match, capsys):
    with pytest.raises(UsageError, match=match):
        run(argv, capsys)


def test_no_file_on_error(tmp_path, capsys):
    out = tmp_path / "x.csv"
    with pytest.raises(UsageError):
        run(["wer-vs-v", "--pulse", "-1 ns", "--out", str(out)], capsys)
    assert not out.exists()


def test_list_presets(capsys):
    _, out = run(["--list-presets"], capsys)
    assert "mtj\thirtzlin-32nm" in out and "variability\tlocatelli2018" in out
