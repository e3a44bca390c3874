"""`accelsim reproduce munch-area` against 002 Sec. III-D (the paper's numbers live here only)."""

import pandas as pd
import pytest

from accelsim.reproduce.munch import munch_area, savings

PAPER = {"cell_area_saving": 0.37, "cell_leakage_saving": 0.43,
         "array_area_saving": 0.33, "array_leakage_saving": 0.39}


def test_savings_within_five_points_of_002():
    got = savings()
    for key, paper in PAPER.items():
        assert abs(got[key] - paper) <= 0.05, (key, got[key], paper)
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
