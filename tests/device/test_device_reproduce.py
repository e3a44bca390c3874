"""The device reproduction targets: table shape (fast) and the full quick runs (slow)."""

import csv

import numpy as np
import pytest

from accelsim.reproduce import TARGETS
from accelsim.reproduce.device_targets import energy_vs_ber


def test_energy_curve_shape_and_ordering():
    curve = energy_vs_ber(np.array([1e-8, 1e-4, 1e-2]), 3000, seed=0)
    assert set(curve) == {"ber", "pulse_s", "energy_j", "pulse_var_s", "energy_var_j"}
    assert np.all(np.diff(curve["energy_j"]) < 0) and np.all(curve["pulse_var_s"] > curve["pulse_s"])
    penalty = curve["pulse_var_s"] / curve["pulse_s"] - 1
    assert np.all(np.diff(penalty) < 0)  # variability costs more at low BER (003)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["locatelli-fig2", "hirtzlin-fig4", "tzoufras-table1"])
def test_targets_write_csv_and_png(name, tmp_path):
    lines = TARGETS[name].run(tmp_path, True, 0)
    assert lines and (tmp_path / f"{name}.png").stat().st_size > 0
    with open(tmp_path / f"{name}.csv") as fh:
        header = next(csv.reader(fh))
    if name != "tzoufras-table1":
        assert header == ["ber", "pulse_s", "energy_j", "pulse_var_s", "energy_var_j"]
