"""The shipped VGG-style Fashion-MNIST BNN (workloads/vgg_fashion.npz, format version 3): PyTorch's
eval-mode predictions (its own convolutions, padding, stride, pooling and batch norms, from the
parameters saved beside it) equal accelsim's reference and its fault-free crossbar image by image,
and the accuracy workloads/README.md states is the shipped file's on the bundled test set."""

import dataclasses
import re
import sys

import numpy as np
import pytest
from conftest import ROOT

from accelsim.config import load_arch
from accelsim.network import load_network, reference_predict
from accelsim.simulate import simulate
from accelsim.workload import load_workload

NET = ROOT / "workloads" / "vgg_fashion.npz"
TORCH = ROOT / "workloads" / "pytorch" / "vgg_fashion.npz"


def _workload():
    return load_workload(load_network(NET), "fashion")


def test_shipped_network_has_the_layers_the_issue_asks_for():
    net = load_network(NET)
    convs = [layer.conv for layer in net.hidden if layer.conv is not None]
    assert net.format_version == 3 and net.input_threshold == 0.2
    assert any(c.kernel == 3 and c.zero_padded for c in convs)
    assert any(c.stride == 2 for c in convs) and any(c.kernel == 1 for c in convs)


def test_pytorch_eval_predictions_equal_accelsim_image_by_image():
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "workloads"))
    try:
        import train_vgg_fashion as tv
    finally:
        sys.path.remove(str(ROOT / "workloads"))
    torch.set_num_threads(1)
    net = load_network(NET)
    wl = _workload()
    x, y = wl.x[:400], wl.y[:400]
    pred_torch = tv.torch_predict(tv.load_torch_arrays(TORCH), x)
    assert np.array_equal(reference_predict(net, x), pred_torch)
    # the crossbar, every error rate zero, on the first 120 images
    arch = load_arch(ROOT / "arch_configs" / "weight_ber.yaml", (("write.ber", 0.0),))
    part = dataclasses.replace(wl, x_pm1=x[:120], y=pred_torch[:120])
    res = simulate(arch, net, part, seed=0, repeats=1)
    assert res.n_wrong_cells == 0 and res.accuracy_programmed[0] == 1.0
    assert np.mean(pred_torch == y) > 0.8


def _note_accuracy() -> float:
    text = re.sub(r"\s+", " ", (ROOT / "workloads" / "README.md").read_text())
    m = re.search(r"vgg_fashion\.npz.*?fault-free accuracy on the 10,000 test images: ([0-9.]+) %", text)
    assert m, "workloads/README.md: no vgg_fashion accuracy sentence"
    return float(m.group(1))


def test_shipped_accuracy_is_the_notes():
    wl = _workload()
    assert len(wl.y) == 10_000
    accuracy = 100 * np.mean(reference_predict(load_network(NET), wl.x) == wl.y)
    assert f"{accuracy:.2f}" == f"{_note_accuracy():.2f}"


def test_readme_ber_table_is_the_committed_sweep():
    """README "Deep convolutional BNNs": each weight-BER row is the mean programmed accuracy over the
    repeats of results/vgg-fashion-ber.csv (made by `accelsim sweep
    arch_configs/sweeps/vgg-fashion-ber.yaml`), printed to two decimals."""
    import pandas as pd

    df = pd.read_csv(ROOT / "results" / "vgg-fashion-ber.csv")
    means = df.groupby("write.ber")["accuracy_programmed"].mean()
    assert len(means) == 7 and (df.groupby("write.ber").size() == 3).all()
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        m = re.match(r"\| vgg weight BER ([0-9.e+-]+) \| ([0-9.]+) % \|", line)
        if m:
            rows[float(m.group(1))] = m.group(2)
    assert sorted(rows) == sorted(means.index)
    for ber, mean in means.items():
        assert rows[ber] == f"{100 * mean:.2f}", ber
