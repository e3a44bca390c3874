"""Sweeps: expansion order, validation before running, Dask == in-process, resume == uninterrupted."""

import textwrap

import pandas as pd
import pytest

from accelsim.errors import ConfigError
from accelsim.sweep import expand, load_spec, run_sweep, timeline_path


def _spec(tmp_path, tiny_arch_path, tiny_net_path, body):
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: t\narch: {tiny_arch_path.name}\nnet: {tiny_net_path.name}\n"
                    + textwrap.dedent(body))
    return path


THREE_AXES = """\
repeats: 2
seeds: [0, 1]
grid:
  write.ber: [0.0, 0.05]
  retention.horizon: [1 year, 30 years]
zip:
  tile.rows: [4, 9]
  tile.cols: [3, 5]
"""


def test_expansion_order_and_counts(tmp_path, tiny_arch_path, tiny_net_path):
    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, THREE_AXES))
    points = expand(spec)
    assert len(points) == 2 * 2 * 2 * 2  # grid 2 x 2, zip rows 2, seeds 2
    assert dict(points[0].values) == {"write.ber": 0.0, "retention.horizon": "1 year",
                                      "tile.rows": 4, "tile.cols": 3}
    assert points[1].seed == 1 and dict(points[2].values)["tile.rows"] == 9
    assert dict(points[4].values)["retention.horizon"] == "30 years"


def test_fixed_keys_apply_to_every_point(tmp_path, tiny_arch_path, tiny_net_path):
    from accelsim.sweep import point_arch

    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path,
                           "set:\n  write.ber: 0.25\ngrid:\n  tile.rows: [4, 9]\n"))
    archs = [point_arch(spec, p) for p in expand(spec)]
    assert [a.write.ber for a in archs] == [0.25, 0.25] and [a.tile.rows for a in archs] == [4, 9]


@pytest.mark.parametrize("body, match", [
    ("grid:\n  tile.rows: [4, -1]\n", r"point 1 \(tile.rows=-1\).*key 'tile.rows': value -1 out of range"),
    ("grid:\n  tile.rowz: [4]\n", "unknown key"),
    ("zip:\n  tile.rows: [4, 5]\n  tile.cols: [3]\n", "lists must have equal lengths"),
    ("seeds: [-1]\n", "key 'seeds'"),
    ("colour: red\n", "key 'colour': unknown key"),
])
def test_bad_specs_fail_before_running(tmp_path, tiny_arch_path, tiny_net_path, body, match):
    with pytest.raises(ConfigError, match=match):
        load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, body))


def test_dask_workers_and_resume_give_the_same_csv(tmp_path, tiny_arch_path, tiny_net_path):
    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, THREE_AXES))
    one = tmp_path / "one.csv"
    frame = run_sweep(spec, one, workers=1, progress=False)
    assert len(frame) == 16 * 2
    assert list(frame.columns[:6]) == ["point", "repeat", "write.ber", "retention.horizon",
                                       "tile.rows", "tile.cols"]
    two = tmp_path / "two.csv"
    run_sweep(spec, two, workers=2, progress=False)
    assert one.read_bytes() == two.read_bytes()
    assert timeline_path(one).read_bytes() == timeline_path(two).read_bytes()

    # An interrupted sweep: rows finished out of order; the timeline (written before each row) also
    # holds the task that was killed between its two writes.
    cut = tmp_path / "cut.csv"
    rows = pd.read_csv(one).iloc[[5, 0, 11, 3]]
    rows.to_csv(cut, index=False)
    tl = pd.read_csv(timeline_path(one))
    started = set(zip(rows.point, rows.repeat)) | {(7, 0)}
    tl[[(p, r) in started for p, r in zip(tl.point, tl.repeat)]].to_csv(timeline_path(cut), index=False)
    run_sweep(spec, cut, workers=1, resume=True, progress=False)
    assert cut.read_bytes() == one.read_bytes()
    assert timeline_path(cut).read_bytes() == timeline_path(one).read_bytes()
