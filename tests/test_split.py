"""A run's images split over workers: identical outputs (CSV, timeline, JSON) to the one-process run,
in process and on a local Dask cluster through the CLI; refused where images are coupled."""

from __future__ import annotations

import pytest
from conftest import make_tiny_network
from test_conv import _workload, make_conv_network

from accelsim.cli import main
from accelsim.config import load_arch
from accelsim.errors import UsageError
from accelsim.network import save_network
from accelsim.report import summary_row, write_outputs
from accelsim.simulate import simulate
from accelsim.split import check_splittable, simulate_split
from accelsim.workload import bundled_workload


def _files(tmp_path, name, result, arch):
    row = summary_row(result, run_id="r", arch=arch, net_name="n", dataset="d", seed=3)
    paths = write_outputs(tmp_path / name, "r", row, result, arch, {})
    return [p.read_bytes() for p in paths]


@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_split_in_process_is_identical(tmp_path, tiny_arch_path, rng, chunks):
    """Write errors, retention steps and splits of the 64 images into uneven slices."""
    net = make_tiny_network(rng)
    arch = load_arch(tiny_arch_path, ["write.ber=0.05", "timing.batch_images=16"])
    wl = bundled_workload(net)
    one = simulate(arch, net, wl, seed=3, repeats=2)
    split = simulate_split(arch, net, wl, seed=3, repeats=2, n_chunks=chunks)
    assert one.retention_flips.sum() > 0 and one.n_write_failures > 0
    assert _files(tmp_path, "one", one, arch) == _files(tmp_path, "split", split, arch)


def test_split_conv_network_is_identical(tmp_path, tiny_arch_path, rng):
    net = make_conv_network(rng, front=True, head=True)
    arch = load_arch(tiny_arch_path, ["write.ber=0.02", "timing.batch_images=4"])
    wl = _workload(net, rng, 10)
    one = simulate(arch, net, wl, seed=1)
    split = simulate_split(arch, net, wl, seed=1, n_chunks=3)
    assert _files(tmp_path, "one", one, arch) == _files(tmp_path, "split", split, arch)


def test_coupled_images_are_refused(tiny_arch_path):
    arch = load_arch(tiny_arch_path, ["read.model=device"])
    with pytest.raises(UsageError, match=r"read disturb flips cells while images are read.*must go in order"):
        check_splittable(arch)


def test_cli_scheduler_on_a_local_cluster_is_identical(tmp_path, tiny_arch_path, rng, capsys):
    from dask.distributed import LocalCluster

    net = make_tiny_network(rng)
    save_network(tmp_path / "net.npz", net)
    base = ["run", "--arch", str(tiny_arch_path), "--net", str(tmp_path / "net.npz"), "--seed", "2",
            "--set", "write.ber=0.05", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "one")]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=":0") as cluster:
        assert main([*base, "--out", str(tmp_path / "split"), "--scheduler", cluster.scheduler_address,
                     "--chunks", "3"]) == 0
    for name in ("tiny_net_seed2.csv", "tiny_net_seed2_timeline.csv", "tiny_net_seed2.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "split" / name).read_bytes(), name
    assert main([*base, "--out", str(tmp_path / "o"), "--chunks", "2"]) == 2
    assert "--chunks: only with --scheduler" in capsys.readouterr().err
