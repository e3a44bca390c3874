"""The CIFAR-10/100 binary-version loader, on files written in that format here (record by record,
byte by byte), against the pixels and labels read back with plain loops."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.data import count_images, dataset_from_spec, load_cifar
from accelsim.errors import DataError


def _write_batches(path, rng, n, kind):
    """Write ``n`` random records of the binary version to ``path``; return (images (n, 3, 32, 32)
    uint8, labels used, coarse labels or None)."""
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    fine = rng.integers(0, 10 if kind == "cifar10" else 100, n)
    coarse = rng.integers(0, 20, n) if kind == "cifar100" else None
    with open(path, "wb") as fh:
        for i in range(n):
            head = bytes([fine[i]]) if kind == "cifar10" else bytes([coarse[i], fine[i]])
            fh.write(head)
            for c in range(3):  # red, green, blue planes, each 32 rows of 32 bytes
                for row in range(32):
                    fh.write(bytes(int(v) for v in images[i, c, row]))
    return images, fine, coarse


def _expected_x(images):
    """(n, 3072) in accelsim's map order (y, x, channel), by plain loops."""
    n = len(images)
    out = np.empty((n, 3072), dtype=np.float64)
    for i in range(n):
        for yy in range(32):
            for xx in range(32):
                for c in range(3):
                    out[i, (yy * 32 + xx) * 3 + c] = images[i, c, yy, xx] / 255.0
    return out


def test_cifar10_test_and_train_batches(tmp_path, rng):
    test_imgs, test_y, _ = _write_batches(tmp_path / "test_batch.bin", rng, 3, "cifar10")
    a_imgs, a_y, _ = _write_batches(tmp_path / "data_batch_1.bin", rng, 2, "cifar10")
    b_imgs, b_y, _ = _write_batches(tmp_path / "data_batch_2.bin", rng, 4, "cifar10")
    (tmp_path / "batches.meta.txt").write_text("airplane\n")
    test = dataset_from_spec(f"cifar10:{tmp_path}")
    assert test.name == "cifar-10" and not test.binarized and test.x.shape == (3, 3072)
    np.testing.assert_allclose(test.x, _expected_x(test_imgs), rtol=1e-6)
    assert test.y.tolist() == test_y.tolist()
    train = dataset_from_spec(f"cifar10:{tmp_path}", "train")
    np.testing.assert_allclose(train.x, _expected_x(np.concatenate([a_imgs, b_imgs])), rtol=1e-6)
    assert train.y.tolist() == a_y.tolist() + b_y.tolist()
    assert count_images(f"cifar10:{tmp_path}") == 3 and count_images(f"cifar10:{tmp_path}", "train") == 6


def test_cifar100_uses_the_fine_label(tmp_path, rng):
    imgs, fine, coarse = _write_batches(tmp_path / "test.bin", rng, 5, "cifar100")
    data = load_cifar("cifar100", tmp_path)
    assert data.y.tolist() == fine.tolist() and data.y.tolist() != coarse.tolist()
    np.testing.assert_allclose(data.x, _expected_x(imgs), rtol=1e-6)
    assert (tmp_path / "test.bin").stat().st_size == 5 * 3074


def test_cifar_sizes_and_labels_are_checked_before_use(tmp_path, rng):
    _write_batches(tmp_path / "test_batch.bin", rng, 2, "cifar10")
    with (tmp_path / "test_batch.bin").open("ab") as fh:
        fh.write(b"\0" * 10)
    with pytest.raises(DataError, match=r"6,156 bytes is not a whole number of cifar10 records of 3,073"):
        dataset_from_spec(f"cifar10:{tmp_path}")
    # a CIFAR-100 file read as CIFAR-10: 3,073 records of 3,074 bytes are 3,074 records of 3,073, and
    # the labels give it away
    recs = rng.integers(0, 256, (3073, 3074), dtype=np.uint8)
    recs[:, 0], recs[:, 1] = rng.integers(0, 20, 3073), rng.integers(0, 100, 3073)
    (tmp_path / "c100.bin").write_bytes(recs.tobytes())
    with pytest.raises(DataError, match=r"expected a label below 10"):
        load_cifar("cifar10", tmp_path / "c100.bin")
    (tmp_path / "other").mkdir()
    with pytest.raises(DataError, match=r"no test_batch.bin in this directory"):
        dataset_from_spec(f"cifar10:{tmp_path / 'other'}")
    with pytest.raises(DataError, match=r"give the directory"):
        dataset_from_spec("cifar100:")
    with pytest.raises(DataError, match=r"no such file or directory"):
        dataset_from_spec(f"cifar100:{tmp_path / 'missing'}")


def test_cifar_memory_limit_is_checked_before_reading(tmp_path, rng, monkeypatch):
    _write_batches(tmp_path / "test_batch.bin", rng, 2, "cifar10")
    monkeypatch.setenv("ACCELSIM_MAX_MEMORY", "1000")
    with pytest.raises(DataError, match=r"2 images needs about .* above the memory limit"):
        dataset_from_spec(f"cifar10:{tmp_path}")


def test_run_reads_cifar_through_data(tmp_path, rng, tiny_arch_path, capsys):
    from accelsim.cli import main
    from accelsim.network import save_network
    from tests.conftest import make_tiny_network

    data = tmp_path / "cifar"
    data.mkdir()
    imgs, y, _ = _write_batches(data / "test_batch.bin", rng, 6, "cifar10")
    net = make_tiny_network(rng, shape=(3072, 6, 10), n_test=2)
    save_network(tmp_path / "net.npz", net)
    assert main(["run", "--arch", str(tiny_arch_path), "--net", str(tmp_path / "net.npz"), "--data",
                 f"cifar10:{data}", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    import pandas as pd

    row = pd.read_csv(tmp_path / "out" / "tiny_net_seed0.csv").iloc[0]
    assert row["dataset"] == f"cifar10:{data}" and row["n_images"] == 6  # the --data value, as for IDX paths
    # the ideal accuracy is the reference inference on the binarized pixels (threshold 0.5)
    from accelsim.network import reference_predict

    x = np.where(_expected_x(imgs) >= 0.5, 1, -1).astype(np.int8)
    assert row["accuracy_ideal"] == pytest.approx(np.mean(reference_predict(net, x) == y))
