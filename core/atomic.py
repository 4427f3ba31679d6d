"""Atomic file writes: a file is either its old content or its new content, never a mixture.

The one implementation used by sessions, configs, CSV and PNG output, weights and checkpoints:
write to a temporary file in the same folder, flush and fsync it, then ``os.replace`` it over
the target. On any failure the temporary file is removed and the target is untouched.
:func:`atomic_folder` does the same for a folder of files that belong together (a session).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

FILE_MODE = 0o644  # mkstemp creates 0600; written files are ordinary shared files


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
    make_parents: bool = True,
) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without error.

    Parameters
    ----------
    path : path
        The file to (re)write.
    mode : {"wb", "w"}
        Binary or text.
    encoding, newline : str, optional
        Passed to ``open`` in text mode (encoding defaults to UTF-8).
    make_parents : bool
        Create the parent folder first.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode == "w":
            handle = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
        else:
            handle = os.fdopen(fd, "wb")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def writable_folder(path: str | os.PathLike, name: str = "--out") -> Path:
    """Create the folder ``path`` and check that files can be written there, before any work is
    done; ``ValueError`` naming ``name`` (the option or key that gave it) otherwise."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{name} {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ValueError(f"{name} {out}: cannot write there ({exc.strerror or exc})") from None
    return out


# --- whole folders ------------------------------------------------------------------------------

_STAGING, _REPLACED = "saving", "replaced"


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a folder's entries (renames, new files) durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(error, os.strerror(error), str(a))


def _siblings(folder: Path, kind: str) -> list[Path]:
    return sorted(folder.parent.glob(f".{glob.escape(folder.name)}.{kind}-*"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def recover_folder(folder: str | os.PathLike) -> None:
    """Finish what an interrupted :func:`atomic_folder` left behind.

    If ``folder`` is missing but a replaced copy of it exists (the process died between the two
    renames of the non-Linux fallback), the copy is put back. Staging and replaced folders of
    processes that are no longer alive are removed.
    """
    folder = Path(folder)
    for kind in (_STAGING, _REPLACED):
        for path in _siblings(folder, kind):
            try:
                pid = int(path.name.rsplit("-", 2)[-2])
            except ValueError:
                continue
            if kind == _REPLACED and not folder.exists():
                os.replace(path, folder)
                fsync_dir(folder.parent)
            elif not _pid_alive(pid):
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike, owned: Iterable[str]) -> Iterator[Path]:
    """Write a folder's files as one unit: ``folder`` holds either its old files or the new ones.

    The ``with`` block writes the new files into a staging folder beside ``folder`` (yielded);
    on success every file is fsynced and the staging folder takes ``folder``'s place by an
    atomic exchange (two renames where the platform has no exchange), then the old content is
    removed. Files in ``folder`` whose names are not in ``owned`` (a user's notes, a marker) are
    carried over as hard links. On any failure the staging folder is removed and ``folder`` is
    untouched.

    Raises
    ------
    ValueError
        If ``folder`` exists and is not a folder, or holds sub-folders it does not own.
    """
    folder = Path(folder)
    owned = set(owned)
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder}: exists and is not a folder")
    carried = []
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.name in owned or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
                continue
            if entry.is_dir():
                raise ValueError(
                    f"{folder}: holds the folder '{entry.name}', so it is not a session folder; "
                    "choose an empty folder or an existing session"
                )
            carried.append(entry)
    staging = folder.parent / f".{folder.name}.{_STAGING}-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        yield staging
        for entry in carried:
            try:
                os.link(entry, staging / entry.name)
            except OSError:
                shutil.copy2(entry, staging / entry.name)
        for entry in staging.iterdir():
            with open(entry, "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(staging)
        if not folder.exists():
            os.rename(staging, folder)
        elif not _exchange(folder, staging):
            replaced = folder.parent / f".{folder.name}.{_REPLACED}-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(folder, replaced)
            os.rename(staging, folder)
            staging = replaced
        fsync_dir(folder.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the new files on failure, the old ones after the swap
