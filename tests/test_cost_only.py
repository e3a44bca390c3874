"""Cost at scale: architecture-only descriptions (geometry against PyTorch's shape arithmetic and plain
loops), cost-only campaigns against the functional run (equal energies, cycles and areas fault-free),
the papers' networks' tiles, adder depths and cells worked out by hand, and the CLI's cost-only mode."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, make_tiny_network
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_conv import _workload, make_conv_network

from accelsim.cli import main
from accelsim.config import load_arch
from accelsim.cost import Activity, cost_only
from accelsim.description import describe_network, load_description
from accelsim.errors import NetworkError
from accelsim.report import COST_ONLY_EMPTY, SUMMARY_COLUMNS
from accelsim.simulate import simulate
from accelsim.workload import bundled_workload

ARCH_ONLY = ROOT / "workloads" / "arch_only"
DESCRIPTIONS = ("hirtzlin2019_cifar10", "tzoufras2019_nin_cifar10", "binarized_alexnet")


def _torch_shapes(path):
    """Per crossbar layer, (inputs, outputs after its pooling, patches, rows driven) from PyTorch modules
    built from the YAML's layer list: shapes by running a tensor of ones, rows driven by convolving
    ones with a ones kernel (zero padding: a padded tap adds 0)."""
    import torch
    import yaml

    doc = yaml.safe_load(path.read_text())
    h, w, c = doc["input"]
    x = torch.ones(1, c, h, w)
    out, current = [], None
    for spec in doc["layers"]:
        t = spec["type"]
        if t == "conv":
            conv = torch.nn.Conv2d(x.shape[1], spec["filters"], spec["kernel"], spec.get("stride", 1),
                                   spec.get("padding", 0), bias=False)
            torch.nn.init.ones_(conv.weight)
            with torch.no_grad():
                y = conv(torch.ones_like(x))
            rows = int(y[0, 0].sum().item())  # sum over positions of the taps inside, x channels
            current = None if spec.get("real") else [x.numel(), None, y.shape[2] * y.shape[3], rows]
            if current:
                out.append(current)
            x = y
        elif t in ("maxpool", "avgpool"):
            cls = torch.nn.MaxPool2d if t == "maxpool" else torch.nn.AvgPool2d
            x = cls(spec["size"], spec.get("stride", spec["size"]), spec.get("padding", 0))(x)
        else:
            n = x.numel()
            x = torch.ones(1, spec["units"])
            current = None if spec.get("real") else [n, None, 1, n]
            if current:
                out.append(current)
        if current is not None:
            current[1] = x.numel()
    return [tuple(v) for v in out]


@pytest.mark.parametrize("name", DESCRIPTIONS)
def test_description_geometry_agrees_with_pytorch(name):
    path = ARCH_ONLY / f"{name}.yaml"
    desc = load_description(path)
    got = [(g.inputs_per_image, g.outputs_per_image, g.vectors_per_image, g.rows_read_per_image)
           for g in desc.layers]
    assert got == _torch_shapes(path)


def test_papers_networks_tiles_adder_depth_and_cells_by_hand():
    """000's CIFAR-10 BNN on 1024 x 1024 tiles: rows = 9 x C_in (the dense layer 4 x 4 x 1536), tiles
    ceil(rows / 1024) x ceil(cols / 1024), adder tree depth ceil(log2(row tiles))."""
    arch = load_arch(ROOT / "arch_configs" / "mixed_retention.yaml")
    desc = load_description(ARCH_ONLY / "hirtzlin2019_cifar10.yaml")
    result = cost_only(arch, desc, 100)
    rows = [9 * 384, 9 * 384, 9 * 384, 9 * 768, 9 * 768, 4 * 4 * 1536, 1024, 1024]
    cols = [384, 384, 768, 768, 1536, 1024, 1024, 10]
    assert [(lm.n_in, lm.n_out) for lm in result.maps] == list(zip(rows, cols))
    assert [lm.n_tiles for lm in result.maps] == [4, 4, 4, 7, 14, 24, 1, 1]
    assert [lc.adder_levels for lc in result.layers] == [2, 2, 2, 3, 3, 5, 0, 0]
    assert result.chip.n_tiles == 59
    assert result.n_cells == sum(r * c for r, c in zip(rows, cols)) == 47_458_304
    assert [lm.vectors_per_image for lm in result.maps] == [1024, 256, 256, 64, 64, 1, 1, 1]
    # the busiest tile of the first binary layer senses 1024 patches x 1024 row-serial reads
    # (read.rows_per_read 1: its 1024 rows one at a time, each once, in the phase its input selects)
    # x 5 cycles (10 ns at 500 MHz) per image; its inputs travel 1024 rows per patch over a 64-bit link
    assert arch.read.rows_per_read == 1
    assert result.layers[0].cycles_per_image["sense"] == 1024 * 1024 * 5
    assert result.layers[0].cycles_per_image["link_in"] == 1024 * 1024 / 64
    assert result.layers[0].cycles_per_image["link_out"] == 1024 * 384 * 11 / 64  # 11-bit counts
    # zero padding: a 32 x 32 map with a 3x3 kernel has 30 x 30 full patches, the border ones fewer taps
    assert result.layers[0].rows_read_per_image == (3 * 30 + 2 * 2) ** 2 * 384


@pytest.mark.parametrize("rows, cols", [(7, 5), (3, 2), (64, 64)])
def test_cost_only_equals_the_functional_run_fault_free_dense(tiny_arch_path, rng, rows, cols):
    net = make_tiny_network(rng)
    arch = load_arch(tiny_arch_path, [f"tile.rows={rows}", f"tile.cols={cols}", "write.ber=0",
                                      "retention.horizon=0 s", "timing.batch_images=16"])
    wl = bundled_workload(net)
    functional = simulate(arch, net, wl)
    cost = cost_only(arch, describe_network(net), wl.n_images, net=net)
    _same_costs(cost, functional)


@pytest.mark.parametrize("rows, cols", [(7, 5), (64, 64)])
def test_cost_only_equals_the_functional_run_fault_free_conv(tiny_arch_path, rng, rows, cols):
    net = make_conv_network(rng, front=True, head=True)
    arch = load_arch(tiny_arch_path, [f"tile.rows={rows}", f"tile.cols={cols}", "write.ber=0",
                                      "retention.horizon=0 s", "timing.batch_images=8"])
    wl = _workload(net, rng, 20)
    functional = simulate(arch, net, wl)
    cost = cost_only(arch, describe_network(net), wl.n_images, net=net)
    _same_costs(cost, functional)
    assert cost.energy_by_activity_j["pool"] > 0  # the pooled conv's comparisons are charged


def _same_costs(cost, functional):
    assert cost.engine.cycles_inference == functional.engine.cycles_inference
    assert cost.engine.cycles_program == functional.engine.cycles_program
    assert cost.chip.area_m2 == functional.chip.area_m2 and cost.chip.n_tiles == functional.chip.n_tiles
    assert cost.energy_program_j == pytest.approx(functional.energy_program_j, rel=1e-12)
    assert cost.energy_inference_j == pytest.approx(functional.energy_inference_j, rel=1e-9)
    for k, v in functional.energy_by_activity_j.items():
        assert cost.energy_by_activity_j.get(k, 0.0) == pytest.approx(v, rel=1e-9, abs=1e-30), k
    # per-layer energies add up to the campaign's
    total = sum(lc.energy_total_j for lc in cost.layers) * cost.n_images
    assert total == pytest.approx(cost.energy_inference_j, rel=1e-9)


def test_ap_fraction_moves_only_the_cell_read_energy(tiny_arch_path, rng):
    """Reading an AP (HRS) cell draws less current than a P one: more AP cells, less read energy,
    linear in the fraction; everything else unchanged."""
    net = make_tiny_network(rng)
    arch = load_arch(tiny_arch_path, ["retention.horizon=0 s"])
    desc = describe_network(net)
    e = {f: cost_only(arch, desc, 64, activity=Activity(ap_fraction=f), net=net).energy_by_activity_j
         for f in (0.0, 0.5, 1.0)}
    assert e[1.0]["sense_cells"] < e[0.5]["sense_cells"] < e[0.0]["sense_cells"]
    middle = (e[0.0]["sense_cells"] + e[1.0]["sense_cells"]) / 2
    assert e[0.5]["sense_cells"] == pytest.approx(middle, rel=1e-9)
    for k in e[0.5]:
        if k != "sense_cells":
            assert e[0.0][k] == e[0.5][k] == e[1.0][k]


def test_cli_cost_only_run_labels_its_outputs(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--cost-only", "--arch", str(ROOT / "arch_configs" / "mixed_retention.yaml"),
                 "--net", str(ARCH_ONLY / "tzoufras2019_nin_cifar10.yaml"), "--images", "200",
                 "--out", str(out)]) == 0
    screen = capsys.readouterr().out
    assert "COST-ONLY" in screen and "AP (HRS) cells: 0.5" in screen and "off-crossbar" in screen
    run = "mixed_retention_tzoufras2019_nin_cifar10_cost-only"
    assert sorted(p.name for p in out.iterdir()) == [f"{run}.csv", f"{run}.json"]
    row = pd.read_csv(out / f"{run}.csv").iloc[0]
    assert tuple(row.index) == SUMMARY_COLUMNS
    assert row["dataset"] == "none (cost-only)" and row["n_images"] == 200
    assert all(pd.isna(row[k]) for k in COST_ONLY_EMPTY)
    assert row["n_cells"] == 160 * 192 + 96 * 160 + 192 * 2400 + 2 * 192 * 192 + 192 * 1728 + 192 * 192
    doc = json.loads((out / f"{run}.json").read_text())
    assert doc["mode"] == "cost-only" and doc["activity"]["ap_fraction_costed"] == 0.5
    assert doc["summary"]["accuracy_ideal"] is None
    assert [lay["n_tiles"] for lay in doc["layers"]] == [1, 1, 3, 1, 1, 2, 1]
    assert sum(lay["share_energy"] for lay in doc["layers"]) == pytest.approx(1.0)


def test_cli_refusals(tmp_path, capsys, tiny_arch_path):
    desc = str(ARCH_ONLY / "binarized_alexnet.yaml")
    cases = [
        (["run", "--arch", str(tiny_arch_path), "--net", desc],
         r"architecture-only description \(no weights\) cannot run functionally: cost it with --cost-only"),
        (["run", "--cost-only", "--arch", str(tiny_arch_path), "--net", desc, "--seed", "1"],
         r"--seed with --cost-only"),
        (["run", "--arch", str(tiny_arch_path), "--net", desc, "--ap-fraction", "0.3"],
         r"--ap-fraction: only with --cost-only"),
        (["inspect", "--arch", str(tiny_arch_path), "--net", str(tmp_path / "none.yaml")], r"no such file"),
    ]
    for argv, match in cases:
        assert main([*argv, "--out", str(tmp_path / "o")] if argv[0] == "run" else argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert re.search(match, captured.err), captured.err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("edit, match", [
    ("format: other", r"'format' is 'other'"),
    ("layers: []", r"'layers' must be a non-empty list"),
    ("layers: [{type: conv, filters: 4, kernel: 3, dilation: 2}]", r"layers\[0\]: unknown key\(s\) dilation"),
    ("layers: [{type: conv, filters: 4, kernel: 9}]", r"does not fit the 4x4 map"),
    ("layers: [{type: conv, filters: 4, kernel: 3, padding: 3}]", r"padding 3 is not below the kernel 3"),
    ("layers: [{type: maxpool, size: 2}]", r"a pooling layer must follow a conv layer"),
    ("layers: [{type: dense, units: 4, real: true}, {type: dense, units: 3}, {type: dense, units: 2, "
     "real: true}, {type: dense, units: 2}]", r"layers\[3\]: a binarized layer after a real one"),
    ("layers: [{type: dense, units: 0}]", r"'units' is 0"),
    ("layers: [{type: dense, units: 4, real: true}]", r"no binarized layer"),
])
def test_bad_descriptions_are_refused(tmp_path, edit, match):
    text = ("format: accelsim-description\nformat_version: 1\nname: t\nsource: test\ninput: [4, 4, 2]\n"
            "layers: [{type: dense, units: 3}]\n")
    key = edit.split(":")[0]
    lines = [ln for ln in text.splitlines() if not ln.startswith(key + ":")] + [edit]
    path = tmp_path / "d.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(NetworkError, match=match):
        load_description(path)


def test_rows_read_by_plain_loops():
    """Zero-padded stride-2 convolution on a non-square map: taps inside the map, counted one by one."""
    from accelsim.description import conv_geometry

    h, w, c, k, s, p = 7, 5, 3, 3, 2, 1
    g, (oh, ow, _) = conv_geometry(0, h, w, c, 4, k, s, p, "zero")
    count = 0
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(k):
                for kx in range(k):
                    y, x = oy * s - p + ky, ox * s - p + kx
                    count += (0 <= y < h and 0 <= x < w) * c
    assert (oh, ow) == (math.floor((h + 2 * p - k) / s) + 1, math.floor((w + 2 * p - k) / s) + 1) == (4, 3)
    assert g.rows_read_per_image == count
    g1, _ = conv_geometry(0, h, w, c, 4, k, s, p, "one")
    assert g1.rows_read_per_image == oh * ow * k * k * c
    assert np.int64(g.vectors_per_image) == oh * ow


@pytest.mark.parametrize("maker", ["network_a", "network_b", "network_front"])
@pytest.mark.parametrize("rows, cols", [(7, 5), (64, 64)])
def test_cost_only_equals_the_functional_run_on_format_v3(tiny_arch_path, rng, maker, rows, cols):
    """Zero and +1 padding, stride, 1x1, max / average / global pools: the rows a zero-padded patch
    drives and the cells they read are counted exactly, from the weights and the geometry."""
    import test_conv_v3

    from accelsim.workload import Workload

    net = getattr(test_conv_v3, maker)(rng)
    arch = load_arch(tiny_arch_path, [f"tile.rows={rows}", f"tile.cols={cols}", "write.ber=0",
                                      "retention.horizon=0 s", "timing.batch_images=8"])
    x = test_conv_v3._inputs(net, rng, 12)
    wl = (Workload(x_real=x, y=np.zeros(12, np.int64), name="random") if net.front is not None
          else Workload(x_pm1=x, y=np.zeros(12, np.int64), name="random"))
    functional = simulate(arch, net, wl)
    cost = cost_only(arch, describe_network(net), wl.n_images, net=net)
    _same_costs(cost, functional)


def test_readme_cost_table_is_the_scripts_output():
    """README.md quotes `python workloads/arch_only/cost_table.py` verbatim."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("cost_table", ARCH_ONLY / "cost_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text()
    lines = module.table()
    assert "\n".join(lines) in readme


def test_cost_only_equals_the_functional_run_on_the_shipped_vgg():
    """workloads/vgg_fashion.npz (zero-padded 3x3, stride 2, 1x1, max-pool) on 40 of its images."""
    from accelsim.network import load_network
    from accelsim.split import _slice

    net = load_network(ROOT / "workloads" / "vgg_fashion.npz")
    arch = load_arch(ROOT / "arch_configs" / "weight_ber.yaml", ["write.ber=0", "timing.batch_images=16"])
    wl = _slice(bundled_workload(net), 0, 40)
    functional = simulate(arch, net, wl)
    cost = cost_only(arch, describe_network(net), wl.n_images, net=net)
    _same_costs(cost, functional)


_VALUES = [0, 1, 2, 3, -1, 7, 2**21, 1.5, True, None, "x", "zero", "one", "conv", "maxpool", [], [3], {}]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 20), st.sampled_from(
    ["type", "filters", "kernel", "stride", "padding", "padding_mode", "real", "units", "size", "extra"]),
    st.sampled_from(_VALUES)), max_size=4),
    shape=st.sampled_from([[32, 32, 3], [5, 5, 1], [100], [0, 3, 3], "x", [2, 2]]))
def test_mutated_descriptions_load_or_give_one_network_error(tmp_path, edits, shape):
    """Random edits of a valid description: a description whose geometry is positive and chains, or
    one NetworkError (never another exception)."""
    import yaml

    doc = yaml.safe_load((ARCH_ONLY / "tzoufras2019_nin_cifar10.yaml").read_text())
    doc["input"] = shape
    for index, key, value in edits:
        layer = doc["layers"][index % len(doc["layers"])]
        layer[key] = value
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        desc = load_description(path)
    except NetworkError as exc:
        assert "\n" not in str(exc)
        return
    for g in desc.layers:
        assert min(g.n_in, g.n_out, g.vectors_per_image, g.outputs_per_image) >= 1
        assert 0 < g.rows_read_per_image <= g.n_in * g.vectors_per_image
    for a, b in zip(desc.layers, desc.layers[1:]):
        assert b.inputs_per_image == a.outputs_per_image or b.kind == "dense"


def test_a_sweep_over_a_description_is_refused(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: s\narch: {ROOT / 'arch_configs' / 'mixed_retention.yaml'}\n"
                    f"net: {ARCH_ONLY / 'binarized_alexnet.yaml'}\ngrid:\n  write.t_pulse: [10 ns, 15 ns]\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "s.csv"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "architecture-only description (no weights): a sweep runs networks functionally" in err
    assert not (tmp_path / "s.csv").exists()
