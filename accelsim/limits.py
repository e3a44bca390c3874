"""Resource limits checked at the edge, before anything large is allocated: the memory and run-time
estimates of a run, and ``.npz`` archives read member by member with their ``.npy`` headers first.

The limits come from the environment, so a user can raise them: ``ACCELSIM_MAX_MEMORY`` (bytes, or a
size such as ``64 GB``, ``512 MiB``; default three quarters of the machine's physical memory) and
``ACCELSIM_MAX_TIME`` (a duration such as ``3 days``, ``12 h``; default 1 day, the lower-bound
estimate of one run's compute time).
"""

from __future__ import annotations

import math
import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import AccelsimError, UsageError
from accelsim.units import parse_quantity

MEMORY_ENV = "ACCELSIM_MAX_MEMORY"
TIME_ENV = "ACCELSIM_MAX_TIME"

#: Default run-time limit [s]: one day of (optimistically estimated) compute for one run.
DEFAULT_MAX_TIME_S = 86400.0
#: Default memory limit when the physical memory cannot be read [bytes].
FALLBACK_MAX_MEMORY = 8 * 2**30

_SIZE = re.compile(r"^\s*(?P<num>\d+(\.\d*)?([eE][-+]?\d+)?)\s*(?P<unit>[KMGT]?i?B?|[kmgt]i?b?)\s*$")
_SIZE_UNITS = {"": 1, "B": 1, "K": 1e3, "KB": 1e3, "KIB": 2**10, "M": 1e6, "MB": 1e6, "MIB": 2**20,
               "G": 1e9, "GB": 1e9, "GIB": 2**30, "T": 1e12, "TB": 1e12, "TIB": 2**40}

# Bytes the simulator holds per unit of work (rough, on the generous side, measured on mlp784):
# per cell of every layer (states, retention flip probabilities), per cell of the largest layer while
# it is programmed (device model: per-cell draws, write error rates and energies), per image and
# activation (inputs, packed words, popcounts, the float64 reference), per timeline row.
_BYTES_PER_CELL = 24
_BYTES_PER_PROGRAMMED_CELL = 120
_BYTES_PER_ACTIVATION = 24
_BYTES_PER_TIMELINE_ROW = 400
#: Optimistic throughput of the XNOR/popcount sensing (cell reads per second, bit-packed, all cores),
#: so the time estimate is a lower bound: a run refused by it would take at least that long.
_CELL_READS_PER_S = 1e11
#: Optimistic cell writes (draws and kernel) per second when programming.
_CELL_WRITES_PER_S = 1e9


def format_bytes(n: float) -> str:
    """``n`` bytes for a message: ``4.0 GB``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def _format_time(t_s: float) -> str:
    for unit, size in (("year", 365.25 * 86400), ("day", 86400), ("h", 3600), ("min", 60)):
        if t_s >= size:
            value = f"{t_s / size:.3g}"
            return f"{value} {unit}" + ("s" if unit in ("year", "day") and value != "1" else "")
    return f"{t_s:.3g} s"


def parse_size(text: str, where: str) -> float:
    """A size in bytes from ``"64 GB"``, ``"512MiB"``, ``"1e9"``; ``where`` names it in the error."""
    match = _SIZE.match(text)
    unit = match["unit"].upper() if match else ""
    if match is None or unit not in _SIZE_UNITS or float(match["num"]) <= 0:
        raise UsageError(f"{where}={text!r}: expected a positive size in bytes, e.g. '64 GB' or "
                         "'512 MiB'")
    return float(match["num"]) * _SIZE_UNITS[unit]


def max_memory_bytes() -> float:
    """The memory limit: ``ACCELSIM_MAX_MEMORY``, else 3/4 of the physical memory."""
    text = os.environ.get(MEMORY_ENV)
    if text:
        return parse_size(text, MEMORY_ENV)
    try:
        return 0.75 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return float(FALLBACK_MAX_MEMORY)


def max_time_s() -> float:
    """The run-time limit: ``ACCELSIM_MAX_TIME`` (a duration with a unit), else 1 day."""
    text = os.environ.get(TIME_ENV)
    if not text:
        return DEFAULT_MAX_TIME_S
    try:
        value = parse_quantity(text, "s")
    except ValueError as exc:
        raise UsageError(f"{TIME_ENV}={text!r}: {exc} (e.g. '3 days', '12 h')") from None
    if not value > 0 or not math.isfinite(value):
        raise UsageError(f"{TIME_ENV}={text!r}: expected a positive duration, e.g. '3 days'")
    return value


def check_memory(needed: float, what: str, error: type[AccelsimError]) -> None:
    """Raise ``error`` naming ``what`` when ``needed`` bytes exceed the memory limit."""
    limit = max_memory_bytes()
    if needed > limit:
        raise error(f"{what} needs about {format_bytes(needed)}, above the memory limit of "
                    f"{format_bytes(limit)} (raise it with {MEMORY_ENV}, e.g. {MEMORY_ENV}='64 GB')")


# ------------------------------------------------------------------------------------- a run's cost


def run_estimate(layers: Sequence[tuple[int, int, int, int]], n_images: int, repeats: int,
                 n_evaluations: int, device_write: bool) -> tuple[float, float]:
    """(bytes, seconds) of a run, estimated from its sizes before anything is allocated.

    Parameters
    ----------
    layers
        Per crossbar layer: (n_in, n_out, vectors per image, activations out per image).
    n_images, repeats
        Images of the workload; repeats of the run.
    n_evaluations
        Inferences per repeat over the whole workload: 1 + retention steps (with a horizon > 0).
    device_write
        A device write model (per-cell draws), as opposed to a constant BER.
    """
    cells = [n_in * n_out for n_in, n_out, _, _ in layers]
    per_image = sum(n_in * v + out for n_in, _, v, out in layers)
    memory = (sum(cells) * _BYTES_PER_CELL
              + max(cells, default=0) * (_BYTES_PER_PROGRAMMED_CELL if device_write else 16)
              + n_images * per_image * _BYTES_PER_ACTIVATION
              + repeats * n_evaluations * _BYTES_PER_TIMELINE_ROW)
    reads = sum(n_in * n_out * v for n_in, n_out, v, _ in layers)
    seconds = repeats * (sum(cells) / _CELL_WRITES_PER_S
                         + n_evaluations * n_images * reads / _CELL_READS_PER_S)
    return float(memory), float(seconds)


def check_run(arch: Any, net: Any, n_images: int, repeats: int = 1, where: str = "run") -> None:
    """Refuse a run (``arch`` an ``ArchConfig``, ``net`` a ``Network``) whose estimated memory or
    lower-bound compute time exceeds the limits; call it before ``simulate``.

    Raises
    ------
    UsageError
        One line with the estimate, the limit and the environment variable that raises it.
    """
    layers = []
    for layer in net.layers:
        n_out, n_in = layer.weights.shape
        conv = getattr(layer, "conv", None)
        layers.append((n_in, n_out, conv.positions if conv else 1, layer.n_outputs))
    ageing = arch.retention.horizon_s > 0
    n_eval = 1 + (arch.retention.n_steps if ageing else 0)
    memory, seconds = run_estimate(layers, n_images, repeats, n_eval, arch.write.model != "constant_ber")
    sizes = (f"{repeats} repeat(s) x {n_eval} evaluation(s) x {n_images} image(s) on "
             f"{sum(a * b for a, b, _, _ in layers):,} cells")
    check_memory(memory, f"{where}: {sizes}", UsageError)
    limit = max_time_s()
    if seconds > limit:
        raise UsageError(f"{where}: {sizes} takes at least {_format_time(seconds)}, above the time limit "
                         f"of {_format_time(limit)} (raise it with {TIME_ENV}, e.g. {TIME_ENV}='3 days')")


# ---------------------------------------------------------------------------------------------- .npz


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def _open_zip(path: Path, error: type[AccelsimError], what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: a corrupt central directory can claim a zip version zipfile lacks
        raise error(f"{path}: not a readable {what} ({_reason(exc)})") from None


def _headers(archive: zipfile.ZipFile, path: Path, error: type[AccelsimError]) -> dict[str, tuple]:
    """key -> (zip info, shape, fortran order, dtype, data offset) of every member, headers only."""
    headers = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        if not info.filename.endswith(".npy"):
            raise error(f"{path}: member '{info.filename}' is not a .npy array")
        key = info.filename[:-4]
        try:
            with archive.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version not in _HEADER_READERS:
                    raise ValueError(f".npy format version {version}")
                shape, fortran, dtype = _HEADER_READERS[version](fh)
                offset = fh.tell()
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, SyntaxError,
                TypeError, RuntimeError, NotImplementedError, MemoryError) as exc:
            raise error(f"{path}: member '{key}' has no readable .npy header ({_reason(exc)})") from None
        if dtype.hasobject:
            raise error(f"{path}: '{key}' holds Python objects ({dtype}), expected a numeric or "
                        "string array")
        nbytes = math.prod(shape) * dtype.itemsize
        if offset + nbytes != info.file_size:
            raise error(f"{path}: '{key}' declares shape {shape} of {dtype} ({format_bytes(nbytes)}) "
                        f"but holds {format_bytes(max(info.file_size - offset, 0))} of data")
        headers[key] = (info, shape, fortran, dtype, offset)
    return headers


def npz_shapes(path: Path, error: type[AccelsimError],
               what: str = ".npz archive") -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """key -> (shape, dtype) of every array of an ``.npz`` file, from the headers (nothing loaded)."""
    with _open_zip(path, error, what) as archive:
        return {k: (h[1], h[3]) for k, h in _headers(archive, path, error).items()}


def read_npz(path: Path, error: type[AccelsimError], what: str = ".npz archive") -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read safely: each member's ``.npy`` header (shape, dtype) is
    read first and checked against the member's size and the memory limit before any array is
    allocated; no pickles; a truncated or corrupt archive raises ``error`` in one line."""
    with _open_zip(path, error, what) as archive:
        headers = _headers(archive, path, error)
        total = sum(math.prod(shape) * dtype.itemsize for _, shape, _, dtype, _ in headers.values())
        check_memory(2 * total, f"{path}: its arrays", error)
        arrays = {}
        for key, (info, shape, fortran, dtype, offset) in headers.items():
            try:
                with archive.open(info) as fh:
                    fh.read(offset)
                    raw = fh.read(info.file_size - offset)
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error, ValueError,
                    NotImplementedError) as exc:
                raise error(f"{path}: member '{key}' is corrupt ({_reason(exc)})") from None
            count = math.prod(shape)
            if len(raw) != count * dtype.itemsize:
                raise error(f"{path}: member '{key}' is truncated")
            arr = np.frombuffer(raw, dtype=dtype, count=count) if count and dtype.itemsize else (
                np.zeros(count, dtype=dtype))
            arrays[key] = arr.reshape(shape, order="F" if fortran else "C").copy()
    return arrays


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
