"""Shared fixtures: a seeded generator, a tiny architecture file and a tiny network."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from accelsim.network import HiddenLayer, Network, OutputLayer, save_network

ROOT = Path(__file__).resolve().parents[1]

TINY_ARCH = """\
name: tiny
cells:
  weak:
    mtj: muench-delta40
    delta_ap: 40
    tau0: 1 ns
  strong:
    mtj: muench-delta60
    delta_ap: 60
    tau0: 1 ns
tile:
  rows: 7
  cols: 5
  columns:
    - cell: weak
      fraction: 0.6
    - cell: strong
      fraction: 0.4
mapping:
  convention: plus_one_ap
  sort_columns_by_hrs: true
write:
  model: constant_ber
  ber: 0.0
  t_pulse: 15 ns
retention:
  horizon: 10 years
  n_steps: 3
"""


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_arch_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_ARCH)
    return path


def write_yaml(tmp_path: Path, text: str, name: str = "arch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def make_tiny_network(rng: np.random.Generator, shape=(20, 12, 9, 4), n_test: int = 64) -> Network:
    """A random +-1 network with thresholds near the middle of each popcount range, and a random
    +-1 test set (for kernel/pipeline equivalence tests; accuracy is meaningless here)."""
    hidden = []
    for n_in, n_out in zip(shape[:-2], shape[1:-1]):
        hidden.append(HiddenLayer(
            weights=np.where(rng.random((n_out, n_in)) < 0.5, 1, -1).astype(np.int8),
            threshold=rng.integers(n_in // 3, 2 * n_in // 3 + 1, n_out).astype(np.float64),
            flip=rng.random(n_out) < 0.3))
    n_in, n_out = shape[-2], shape[-1]
    output = OutputLayer(weights=np.where(rng.random((n_out, n_in)) < 0.5, 1, -1).astype(np.int8),
                         scale=rng.uniform(0.5, 2.0, n_out), shift=rng.normal(0, 1, n_out))
    x = rng.random((n_test, shape[0])) < 0.5
    return Network(hidden=tuple(hidden), output=output, input_threshold=0.5, dataset="random",
                   test_x_packed=np.packbits(x, axis=1), test_y=rng.integers(0, n_out, n_test),
                   test_source="random bits")


@pytest.fixture
def tiny_net_path(tmp_path: Path, rng: np.random.Generator) -> Path:
    path = tmp_path / "tiny.npz"
    save_network(path, make_tiny_network(rng))
    return path
