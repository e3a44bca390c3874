"""Sweeps: expansion order, validation before running, Dask == in-process, resume == uninterrupted."""

import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from accelsim.errors import ConfigError
from accelsim.sweeps import expand, load_spec, run_sweep, spec_record_path, timeline_path


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
    from accelsim.sweeps import point_arch

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
    shutil.copy(spec_record_path(one), spec_record_path(cut))  # the record of the spec that wrote it
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
    ("device:\n  quantities: [cost]\n  polarity: ap_to_p\n", "key 'device.polarity': only the write"),
    ("device:\n  quantities: [cost]\n  endurance: x\n", "key 'device.endurance': only the write"),
    ("device:\n  quantities: [cost]\n  devices: 10\n", "key 'device.devices': only the write"),
])
def test_bad_device_specs_fail_before_running(tmp_path, extra, match):
    path = tmp_path / "d.yaml"
    path.write_text(f"name: d\nmeasure: device\narch: {WRITE_2VC}\n" + extra)
    with pytest.raises(ConfigError, match=match):
        load_spec(path)


SMALL = "repeats: 2\ngrid:\n  tile.rows: [4, 9]\n  write.ber: [0.0, 0.05]\n"


def test_resume_refuses_a_csv_of_another_spec_or_other_inputs(tmp_path, tiny_arch_path, tiny_net_path):
    from accelsim.errors import UsageError

    out = tmp_path / "s.csv"
    run_sweep(load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, SMALL)), out, progress=False)
    kept = out.read_bytes()
    other = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, SMALL.replace("[0.0, 0.05]", "[0.1]")))
    with pytest.raises(UsageError, match=r"^resume: .*s\.csv: another spec or other input files wrote it"):
        run_sweep(other, out, resume=True, progress=False)
    assert out.read_bytes() == kept
    # the same spec text over another architecture file (same path, other content) is another sweep
    tiny_arch_path.write_text(tiny_arch_path.read_text().replace("n_steps: 3", "n_steps: 2"))
    same_text = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, SMALL))
    with pytest.raises(UsageError, match="another spec or other input files"):
        run_sweep(same_text, out, resume=True, progress=False)
    spec_record_path(out).unlink()
    with pytest.raises(UsageError, match=r"s\.csv\.spec\.json is missing"):
        run_sweep(same_text, out, resume=True, progress=False)
    assert out.read_bytes() == kept
    frame = run_sweep(other, out, progress=False)  # without resume: starts over
    assert set(frame["write.ber"]) == {0.1} and spec_record_path(out).exists()


def test_resume_drops_torn_and_invalid_lines_and_reruns_their_tasks(tmp_path, tiny_arch_path,
                                                                      tiny_net_path):
    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, SMALL))
    ref = tmp_path / "ref.csv"
    run_sweep(spec, ref, progress=False)
    lines = ref.read_text().splitlines(keepends=True)  # header + 8 rows, in spec order
    tl_lines = timeline_path(ref).read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.csv"
    shutil.copy(spec_record_path(ref), spec_record_path(cut))
    # rows 0 and 1 complete, row 2 with a field missing (not a kill's doing, still not a result),
    # row 5 complete, row 3 killed halfway through its line (no newline)
    broken = lines[3].rsplit(",", 1)[0] + "\n"
    cut.write_text(lines[0] + lines[1] + lines[2] + broken + lines[6] + lines[4][: len(lines[4]) // 2])
    # the timeline: the tasks above, and the last one torn as well
    timeline_path(cut).write_text("".join(tl_lines[:-1]) + tl_lines[-1][:5])
    run_sweep(spec, cut, resume=True, progress=False)
    assert cut.read_bytes() == ref.read_bytes()
    assert timeline_path(cut).read_bytes() == timeline_path(ref).read_bytes()
    # a file cut inside its header is no run at all: everything reruns
    cut.write_text(lines[0][:10])
    timeline_path(cut).unlink()
    run_sweep(spec, cut, resume=True, progress=False)
    assert cut.read_bytes() == ref.read_bytes()
    assert timeline_path(cut).read_bytes() == timeline_path(ref).read_bytes()


def test_a_second_sweep_on_the_same_out_is_refused_and_a_dead_owners_lock_is_taken_over(
        tmp_path, tiny_arch_path, tiny_net_path):
    import os
    import subprocess
    import sys

    from accelsim.outputs import OutputError, OutputLock

    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, "grid:\n  tile.rows: [4, 9]\n"))
    out = tmp_path / "s.csv"
    lock = out.with_name("s.csv.lock")
    with OutputLock(out):
        assert lock.read_text() == f"{os.getpid()}\n"
        with pytest.raises(OutputError,
                           match=rf"s\.csv: in use by another accelsim process \(pid {os.getpid()}"):
            run_sweep(spec, out, progress=False)
    assert not out.exists() and not lock.exists()
    # a lock file left by a process that died holding it
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout
    lock.write_text(dead)
    assert len(run_sweep(spec, out, progress=False)) == 2 and not lock.exists()


def test_the_spec_record_follows_the_data_files_an_idx_pair_included(tmp_path, tiny_arch_path,
                                                                       tiny_net_path):
    import dataclasses

    from accelsim.sweeps import spec_fingerprint

    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, SMALL))
    data = tmp_path / "idx"
    data.mkdir()
    images, labels = data / "t10k-images-idx3-ubyte", data / "t10k-labels-idx1-ubyte"
    images.write_bytes(b"images")
    labels.write_bytes(b"labels")
    (data / "train-labels-idx1-ubyte").write_bytes(b"another split")
    by_file = dataclasses.replace(spec, data=images)
    by_dir = dataclasses.replace(spec, data=data)
    before = {s.data: spec_fingerprint(s)["sha256"] for s in (spec, by_file, by_dir)}
    assert len(set(before.values())) == 3
    labels.write_bytes(b"other labels")  # the images file is named; its labels count too
    assert spec_fingerprint(by_file)["sha256"] != before[images]
    assert spec_fingerprint(by_dir)["sha256"] != before[data]
    labels.write_bytes(b"labels")
    assert spec_fingerprint(by_file)["sha256"] == before[images]  # same content, same record
    (data / "train-labels-idx1-ubyte").write_bytes(b"changed")  # another split: not this data
    assert spec_fingerprint(by_file)["sha256"] == before[images]
    assert spec_fingerprint(dataclasses.replace(by_file, repeats=3))["sha256"] != before[images]


def test_resume_refuses_rows_with_other_columns(tmp_path, tiny_arch_path, tiny_net_path):
    """Same spec, but the CSV's columns are not the ones this accelsim writes (another version)."""
    from accelsim.errors import UsageError

    spec = load_spec(_spec(tmp_path, tiny_arch_path, tiny_net_path, SMALL))
    out = tmp_path / "s.csv"
    run_sweep(spec, out, progress=False)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text(lines[0].replace("accuracy_ideal,", "accuracy_ideal_old,") + lines[1] + lines[2])
    with pytest.raises(UsageError, match=r"s\.csv: its columns differ from this sweep's"):
        run_sweep(spec, out, resume=True, progress=False)
    assert out.read_text() == lines[0].replace("accuracy_ideal,", "accuracy_ideal_old,") + lines[1] + lines[2]
