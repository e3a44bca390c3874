"""Durable output files: each written to a temporary file beside it, flushed, fsynced and renamed into
place, so a kill at any moment leaves the old file or the new one; a set of files is committed together.

``atomic_write_text`` / ``atomic_write_bytes`` / ``atomic_write`` write one file; ``OutputSet`` writes
several: every temporary first, then the renames back to back (no file of the set is replaced before
all of them are complete on disk). A failed write removes the temporaries and raises ``OutputError``.
For files that grow while a job runs (a sweep's CSV): ``append_line`` (flush + fsync per line),
``read_csv_records`` (drops a torn last line) and ``OutputLock`` (one writer per file).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from accelsim.errors import OutputError, UsageError

#: Temporaries are hidden files beside their target: ``.<name>.tmp-<pid>-<random>``.
_TMP_MARK = ".tmp-"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename); returns the path."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write(path: str | os.PathLike, writer: Callable[[BinaryIO], object]) -> Path:
    """Call ``writer`` on a binary file that becomes ``path`` atomically once it returns (e.g.
    ``lambda fh: fig.savefig(fh, format="png")``); returns the path."""
    with OutputSet() as files:
        files.write(path, writer)
    return Path(path)


class OutputSet:
    """Files that appear together: staged as temporaries, renamed into place when the block ends.

    >>> with OutputSet() as files:            # doctest: +SKIP
    ...     files.write_text(out / "run.csv", csv_text)
    ...     files.write_bytes(out / "run.json", json_bytes)

    If a write fails, or the block raises, every temporary is removed and no target is touched; a
    failed write raises ``OutputError`` naming the file. The renames run back to back after every
    temporary is complete and fsynced, followed by an fsync of each directory. (A kill in the few
    microseconds between two renames is the one moment a set can be left mixed; POSIX has no
    multi-file rename.)
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []  # (temporary, target)

    def __enter__(self) -> OutputSet:
        return self

    def write_text(self, path: str | os.PathLike, text: str) -> Path:
        """Stage ``text`` (UTF-8) for ``path``."""
        data = text.encode("utf-8")
        return self.write(path, lambda fh: fh.write(data))

    def write_bytes(self, path: str | os.PathLike, data: bytes) -> Path:
        """Stage ``data`` for ``path``."""
        return self.write(path, lambda fh: fh.write(data))

    def write(self, path: str | os.PathLike, writer: Callable[[BinaryIO], object]) -> Path:
        """Stage the bytes ``writer`` writes to an open binary file for ``path``; returns ``path``."""
        path = Path(path)
        if any(target == path for _, target in self._staged):
            raise ValueError(f"{path} is staged twice in one output set")
        if path.is_dir():  # the one target a rename cannot replace: refuse before any file moves
            self.discard()
            raise OutputError(f"{path}: is a directory, cannot write a file there")
        _remove_stale_temporaries(path)
        tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            with open(tmp, "xb") as fh:
                self._staged.append((tmp, path))
                writer(fh)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            self.discard()
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        except BaseException:
            self.discard()
            raise
        return path

    def commit(self) -> list[Path]:
        """Rename every staged temporary onto its target, then fsync their directories."""
        targets = [target for _, target in self._staged]
        try:
            for tmp, target in self._staged:
                os.replace(tmp, target)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot rename into place ({exc.strerror or exc}): "
                              + ", ".join(map(str, targets))) from None
        self._staged = []
        for directory in dict.fromkeys(t.parent for t in targets):
            _fsync_dir(directory)
        return targets

    def discard(self) -> None:
        """Remove every staged temporary (targets untouched)."""
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def append_line(fh: BinaryIO, text: str) -> None:
    """Append ``text`` (whole lines) to an open file and push it to the disk (flush + fsync), so a
    kill leaves every earlier line complete; a torn last line is for the reader to drop."""
    fh.write(text.encode("utf-8"))
    fh.flush()
    os.fsync(fh.fileno())


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform lets a directory be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporaries of ``path`` left by killed processes (their pid is gone)."""
    prefix = f".{path.name}{_TMP_MARK}"
    try:
        names = os.listdir(path.parent)
    except OSError:
        return  # the directory is missing: the write itself reports it
    for name in names:
        if not name.startswith(prefix):
            continue
        pid_text = name[len(prefix):].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not pid_alive(int(pid_text)):
            (path.parent / name).unlink(missing_ok=True)


def ensure_dir(directory: str | os.PathLike) -> Path:
    """Create ``directory`` (and its parents) if missing; ``OutputError`` if that is impossible."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{directory}: cannot create the output directory "
                          f"({exc.strerror or exc})") from None
    return directory


class OutputLock:
    """An exclusive claim on an output file for as long as a ``with`` block runs: ``fcntl.flock`` on
    ``<path>.lock`` (which holds the owner's pid). The kernel drops the lock when its process dies,
    so a lock file left by a killed process is simply taken over. POSIX only.

    A second claim on the same path raises ``OutputError`` naming the owner's pid.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputError(f"{self.lock_path}: cannot create the lock file "
                                  f"({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise OutputError(f"{self.path}: in use by another accelsim process (pid {owner}, lock "
                                  f"{self.lock_path}); wait for it to finish or choose another output"
                                  ) from None
            except OSError as exc:  # a file system without locks
                os.close(fd)
                raise OutputError(f"{self.lock_path}: cannot lock ({exc.strerror or exc})") from None
            if _same_file(fd, self.lock_path):
                break
            os.close(fd)  # an owner removed the file between our open and our lock: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._fd is not None:
            self.lock_path.unlink(missing_ok=True)  # while still locked: no one holds a stale name
            os.close(self._fd)
            self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


def read_csv_records(text: str) -> tuple[list[str] | None, str, list[tuple[list[str], str]]]:
    """Parse a CSV that is appended to line by line and may have been cut short by a kill.

    Returns (header fields, header text, [(fields, record text), ...]). The last record is dropped
    when it does not end in a newline (a torn write), as is any record whose field count differs
    from the header's; a quoted field may span lines (the record text keeps them). Header ``None``:
    no complete header line.
    """
    import csv

    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, strict=True)
    parsed: list[tuple[list[str], str]] = []
    start = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error:
            break  # an unterminated quote: the torn tail
        raw = "".join(lines[start:reader.line_num])
        start = reader.line_num
        if raw.endswith("\n"):
            parsed.append((fields, raw))
    if not parsed:
        return None, "", []
    (header, header_text), records = parsed[0], parsed[1:]
    return header, header_text, [(f, raw) for f, raw in records if len(f) == len(header)]


# ------------------------------------------------------------------ checks before any work


def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path`` and its parents that exists (``.`` for a relative path)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def _dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (made) a directory we may write in, or None when it can."""
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a directory"
    base = _existing_ancestor(path)
    if not base.is_dir():
        return f"{base} is a file, not a directory"
    if not os.access(base, os.W_OK | os.X_OK):
        return f"directory {base} is not writable"
    return None


def check_output_dir(option: str, path: Path) -> None:
    """``UsageError`` unless ``path`` is a directory, or can be made one, that we may write in.

    Checked before any work, so that a bad ``--out`` costs nothing and leaves nothing behind.
    """
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: is a file, expected a directory")
    problem = _dir_problem(path)
    if problem is not None:
        raise UsageError(f"{option} {path}: {problem}")


def check_output_file(option: str, path: Path, *, make_parent: bool = False) -> None:
    """``UsageError`` unless ``path`` names a file we may write: not a directory, in a writable
    directory that exists (or, with ``make_parent``, can be created)."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory, expected a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path}: the file is not writable")
    problem = _dir_problem(path.parent)
    if problem is None and not make_parent and not path.parent.is_dir():
        problem = f"directory {path.parent} does not exist"
    if problem is not None:
        raise UsageError(f"{option} {path}: {problem}")
