"""Sweeps: expansion order, validation before running, Dask == in-process, resume == uninterrupted."""

import textwrap
from pathlib import Path

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


def test_a_sweep_can_vary_the_network(tmp_path, tiny_arch_path, tiny_net_path):
    import dataclasses

    import numpy as np

    from accelsim.network import load_network, reference_predict, save_network
    from accelsim.workload import load_workload

    net = load_network(tiny_net_path)
    flipped = dataclasses.replace(net.output, weights=(-net.output.weights).astype(np.int8))
    save_network(tmp_path / "other.npz", dataclasses.replace(net, output=flipped))
    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path,
                           f"grid:\n  net: [{tiny_net_path.name}, other.npz]\n"))
    frame = run_sweep(spec, tmp_path / "nets.csv", workers=1, progress=False)
    assert list(frame.net) == ["tiny", "other"]  # the report's network name (file stem)
    for path, accuracy in zip((tiny_net_path, tmp_path / "other.npz"), frame.accuracy_ideal):
        n = load_network(path)
        wl = load_workload(n, None)
        assert accuracy == np.mean(reference_predict(n, wl.x) == wl.y)
    assert frame.accuracy_ideal.iloc[0] != frame.accuracy_ideal.iloc[1]
    with pytest.raises(ConfigError, match="no such network file"):
        load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, "grid:\n  net: [missing.npz]\n"))


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


def test_dask_scheduler_gives_the_same_csv(tmp_path, tiny_arch_path, tiny_net_path):
    from dask.distributed import LocalCluster

    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, THREE_AXES))
    one, dask = tmp_path / "one.csv", tmp_path / "dask.csv"
    run_sweep(spec, one, workers=1, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        run_sweep(spec, dask, scheduler=cluster.scheduler_address, progress=False)
    assert one.read_bytes() == dask.read_bytes()
    assert timeline_path(one).read_bytes() == timeline_path(dask).read_bytes()


WRITE_2VC = Path(__file__).resolve().parents[1] / "arch_configs" / "write_2vc.yaml"
DEVICE = f"""\
name: d
measure: device
arch: {WRITE_2VC}
device:
  quantities: [write]
  devices: 400
seeds: [0, 1]
grid:
  write.t_pulse: [8 ns, 20 ns]
  target_wer: [1.0e-4, 1.0e-2]
"""


def test_device_sweep_rows_follow_the_physics_and_the_workers_do_not_matter(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(DEVICE)
    spec = load_spec(path)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    t = run_sweep(spec, one, workers=1, progress=False)
    run_sweep(spec, two, workers=2, progress=False)
    assert one.read_bytes() == two.read_bytes() and not timeline_path(one).exists()
    assert list(t.columns[:5]) == ["point", "repeat", "write.t_pulse", "target_wer", "arch"]
    by = t.set_index(["write.t_pulse", "target_wer", "seed"])
    short, long = by.loc[("8 ns", 1e-2, 0)], by.loc[("20 ns", 1e-2, 0)]
    assert long["mtj.wer"] < short["mtj.wer"] and long["mtj.energy_j"] > short["mtj.energy_j"]
    # the pulse for a target does not depend on the point's pulse; the drive for it falls with the pulse
    assert long["mtj.pulse_for_target_s"] == short["mtj.pulse_for_target_s"]
    assert long["mtj.drive_for_target"] < short["mtj.drive_for_target"]
    assert by.loc[("8 ns", 1e-4, 0), "mtj.pulse_for_target_s"] > short["mtj.pulse_for_target_s"]
    # variability: another seed draws other devices; the nominal columns stay
    other = by.loc[("8 ns", 1e-2, 1)]
    assert other["mtj.wer"] == short["mtj.wer"] and other["mtj.wer_var"] != short["mtj.wer_var"]
    assert short["mtj.pulse_for_target_var_s"] > short["mtj.pulse_for_target_s"]


@pytest.mark.parametrize("extra, match", [
    ("net: x.npz\n", "key 'net': not used by a device sweep"),
    ("repeats: 2\n", "key 'repeats': not used by a device sweep"),
    ("device:\n  devices: 0\n", "key 'device.devices'"),
    ("device:\n  colour: red\n", "key 'device.colour': unknown key"),
    ("set:\n  target_wer: 1.5\n", r"point 0 \(base\): key 'target_wer'"),
    ("set:\n  write.model: constant_ber\n", "write quantities need a device write model"),
])
def test_bad_device_specs_fail_before_running(tmp_path, extra, match):
    path = tmp_path / "d.yaml"
    path.write_text(f"name: d\nmeasure: device\narch: {WRITE_2VC}\n" + extra)
    with pytest.raises(ConfigError, match=match):
        load_spec(path)
