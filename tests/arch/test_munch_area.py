"""`accelsim reproduce munch-area` against 002 Sec. III-D (the paper's numbers live here only)."""

import pandas as pd
import pytest

from accelsim.reproduce.munch import munch_area, savings

# 002 Sec. IV (the Fig. 14 paragraph): "The decrease of the write current from 39 uA to 27 uA saves
# 37% in area for a cell ... the leakage power for activated cells is decreased by 43% per cell ...
# the mix of 90% MTJs with Delta = 40 and 10% with Delta = 60 is able to save 33% in array area ... and
# reduces the possible leakage power of the evaluated array by 39%."
PAPER = {"cell_area_saving": 0.37, "cell_leakage_saving": 0.43,
         "array_area_saving": 0.33, "array_leakage_saving": 0.39}
# The model's gaps to those numbers are 3.3, 3.7, 2.7 and 3.0 points (access transistors sized from
# NVSim's MASTAR 40 nm LP interpolation, nothing fitted to 002: results/reproduce/README.md). Each
# bound is the gap rounded up to the next half point: a change that widens a gap fails here.
BOUND = {"cell_area_saving": 0.035, "cell_leakage_saving": 0.04,
         "array_area_saving": 0.03, "array_leakage_saving": 0.035}


def test_savings_within_half_a_point_of_the_known_gap_to_002():
    got = savings()
    for key, paper in PAPER.items():
        assert abs(got[key] - paper) <= BOUND[key], (key, got[key], paper)
    # the direction of each gap: the model saves less area and more leakage than 002 says
    assert got["cell_area_saving"] < 0.37 and got["array_area_saving"] < 0.33
    assert got["cell_leakage_saving"] > 0.43 and got["array_leakage_saving"] > 0.39
    # the periphery (sense amps, accumulators) does not shrink: the whole tile saves much less
    assert 0 < got["tile_area_saving"] < got["array_area_saving"]
    assert got["w_access_delta40_f"] < got["w_access_delta60_f"]


def test_target_writes_csv_and_png(tmp_path):
    lines = munch_area(tmp_path, True, 0)
    table = pd.read_csv(tmp_path / "munch-area.csv")
    assert list(table.columns[:4]) == list(PAPER)
    assert (tmp_path / "munch-area.png").stat().st_size > 0
    assert [c.paper for c in lines[:4]] == ["37.0 %", "43.0 %", "33.0 %", "39.0 %"]
    assert table["cell_area_saving"].iloc[0] == pytest.approx(savings()["cell_area_saving"])
