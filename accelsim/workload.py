"""The images a run classifies: a network's bundled test set, or a data set given with ``--data``,
binarized with the network's input rule and checked against its input size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelsim.errors import DataError, UsageError
from accelsim.network import Network


@dataclass(frozen=True, kw_only=True, slots=True)
class Workload:
    """+-1 inputs (n_images, n_in) int8, integer labels (n_images,), and where they came from."""

    x_pm1: np.ndarray
    y: np.ndarray
    name: str


def bundled_workload(net: Network) -> Workload:
    """The test set stored inside the network file."""
    if net.test_x_packed is None:
        raise UsageError("this network has no bundled test set: give one with --data PATH")
    bits = np.unpackbits(net.test_x_packed, axis=1, count=net.n_inputs)
    x = np.where(bits == 1, 1, -1).astype(np.int8)
    return Workload(x_pm1=x, y=np.asarray(net.test_y, dtype=np.int64),
                    name=net.test_source or "bundled test set")


def load_workload(net: Network, data: str | Path | None) -> Workload:
    """``data`` (IDX images file or directory, or binarized .npz) if given, else the bundled set."""
    if data is None:
        return bundled_workload(net)
    from accelsim.data import binarize, load_dataset

    dataset = load_dataset(data)
    x = binarize(dataset, net.input_threshold)
    if x.shape[1] != net.n_inputs:
        raise DataError(f"{data}: images have {x.shape[1]} features, the network takes {net.n_inputs}")
    return Workload(x_pm1=x.astype(np.int8), y=np.asarray(dataset.y, dtype=np.int64), name=dataset.name)
