"""`accelsim inspect` on the tiny architecture and network of tests/conftest.py."""

import re

import numpy as np

from accelsim.cli import main
from accelsim.config import load_arch
from accelsim.mapping import map_network, weights_to_states
from accelsim.network import load_network


def test_inspect_prints_mapping_hrs_and_costs(tiny_arch_path, tiny_net_path, capsys):
    code = main(["inspect", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path), "--images", "10"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    arch, net = load_arch(tiny_arch_path), load_network(tiny_net_path)
    maps = map_network(net, arch)
    for lm, layer in zip(maps, net.layers):
        line = next(s for s in out.splitlines() if re.match(rf"\s+{lm.index}\s+{lm.n_in}\s+{lm.n_out}\s", s))
        assert f"{lm.row_tiles} x {lm.col_tiles}" in line
        util = lm.n_in * lm.n_out / (lm.n_tiles * 7 * 5)
        assert f"{100 * util:.1f}%" in line
        hrs = weights_to_states(layer.weights, arch.mapping).sum(axis=1)
        for g, name in enumerate(("weak", "strong")):
            sel = lm.neuron_group == g
            assert f"{name}: {int(hrs[sel].sum()):,} in {int(np.sum(sel))} cols" in line
    assert "tile   area" in out and "chip   " in out and "timing" in out


def test_inspect_errors_exit_2_before_printing(tiny_arch_path, tiny_net_path, capsys):
    for bad in (["--set", "cells.weak.mtj=nosuch"], ["--set", "tech=n7"], ["--images", "0"]):
        code = main(["inspect", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path), *bad])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and err.count("\n") == 1, bad


def test_inspect_says_when_the_first_layer_is_unipolar(tiny_arch_path, tiny_net_path, capsys):
    args = ["inspect", "--arch", str(tiny_arch_path), "--net", str(tiny_net_path), "--images", "4"]
    assert main(args) == 0
    assert "unipolar" not in capsys.readouterr().out
    assert main([*args, "--set", "mapping.input_encoding=unipolar"]) == 0
    assert "inputs       unipolar (0/1)" in capsys.readouterr().out
