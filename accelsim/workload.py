"""The images a run classifies: a network's bundled test set, or a data set given with ``--data``,
binarized with the network's input rule (or kept real for a network with a real front) and checked
against its input size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelsim.errors import DataError, UsageError
from accelsim.network import Network


@dataclass(frozen=True, kw_only=True, slots=True)
class Workload:
    """Inputs, integer labels (n_images,), and where they came from.

    ``x_pm1`` +-1 inputs (n_images, n_in) int8 for a binarized-input network, or ``x_real`` float32
    intensities (n_images, n_in) for a network with a real front (exactly one of them is set).
    """

    y: np.ndarray
    name: str
    x_pm1: np.ndarray | None = None
    x_real: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.x_pm1 is None) == (self.x_real is None):
            raise ValueError("a Workload holds x_pm1 or x_real, exactly one of them")

    @property
    def x(self) -> np.ndarray:
        """The network's inputs: ``x_real`` if set, else ``x_pm1``."""
        return self.x_real if self.x_real is not None else self.x_pm1

    @property
    def n_images(self) -> int:
        return len(self.y)


def check_labels(y: np.ndarray, net: Network, source: str) -> None:
    """Refuse labels the network cannot output (a label >= its number of classes would count as an
    error on every image, and the accuracy would say nothing)."""
    n_classes = net.output.n_classes
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        count = int(np.count_nonzero((y < 0) | (y >= n_classes)))
        raise DataError(f"{source}: label {bad} ({count} of {y.size} images) is not a class of the "
                        f"network, which outputs {n_classes} classes (labels 0 to {n_classes - 1})")


def bundled_workload(net: Network) -> Workload:
    """The test set stored inside the network file."""
    if net.test_y is None:
        raise UsageError("this network has no bundled test set: give one with --data PATH")
    name = net.test_source or "bundled test set"
    y = np.asarray(net.test_y, dtype=np.int64)
    check_labels(y, net, "the network's bundled test set")
    if net.real_input:
        return Workload(x_real=np.asarray(net.test_x, dtype=np.float32), y=y, name=name)
    bits = np.unpackbits(net.test_x_packed, axis=1, count=net.n_inputs)
    x = np.where(bits == 1, 1, -1).astype(np.int8)
    return Workload(x_pm1=x, y=y, name=name)


def load_workload(net: Network, data: str | Path | None) -> Workload:
    """``data`` (IDX images file or directory, binarized .npz, or a bundled set's name ``mnist`` /
    ``fashion`` when no file of that name exists) if given, else the network's bundled test set."""
    if data is None:
        return bundled_workload(net)
    from accelsim.data import binarize, dataset_from_spec

    dataset = dataset_from_spec(str(data))
    if dataset.n_images == 0:
        raise DataError(f"{data}: no images: a run needs at least one")
    if dataset.x.shape[1] != net.n_inputs:
        raise DataError(f"{data}: images have {dataset.x.shape[1]} features, "
                        f"the network takes {net.n_inputs}")
    y = np.asarray(dataset.y, dtype=np.int64)
    check_labels(y, net, str(data))
    if net.real_input:
        if dataset.binarized:
            raise DataError(f"{data}: binarized images, but the network's first block is real-valued: "
                            "give intensity images (IDX)")
        return Workload(x_real=np.asarray(dataset.x, dtype=np.float32), y=y, name=dataset.name)
    x = binarize(dataset, net.input_threshold)
    return Workload(x_pm1=x.astype(np.int8), y=y, name=dataset.name)
