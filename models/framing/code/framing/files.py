"""Writing files so that a failed write never leaves a half-written or missing file, and never lands where nobody meant."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

from framing.schema import FramingError


def creatable_folder(folder: str | Path, *, output: str | Path | None = None) -> Path:
    """Check that ``folder`` exists, or that it alone is missing: framing makes at most the last folder of an output path.

    ``output`` is the path the user gave, named in the error.
    """
    folder = Path(folder)
    named = output if output is not None else folder
    if folder.exists():
        if not folder.is_dir():
            raise FramingError(f"{named}: {folder} is a file, not a folder")
        return folder
    parent = folder.absolute().parent
    if not parent.is_dir():
        raise FramingError(
            f"{named}: folder {parent} does not exist; create it first (framing makes only the last folder of an output path)"
        )
    return folder


def make_folder(folder: str | Path, *, output: str | Path | None = None) -> Path:
    """Make ``folder`` if it alone is missing (see :func:`creatable_folder`)."""
    folder = creatable_folder(folder, output=output)
    folder.mkdir(exist_ok=True)
    return folder


def writable_file(path: str | Path) -> Path:
    """Check, before any work, that ``path`` can be written as a file: not a folder, in a folder that exists or can be made."""
    path = Path(path)
    if path.is_dir():
        raise FramingError(f"{path} is a folder; give a file path, such as {path / ('output' + (path.suffix or '.csv'))}")
    creatable_folder(path.parent, output=path)
    return path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on failure it is removed.

    The old file stays as it was until the new one is complete. At most the last folder of ``path`` is made.
    """
    path = writable_file(path)
    make_folder(path.parent, output=path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def staging_folder(target: str | Path) -> Path:
    """A fresh hidden name beside ``target``, unique to this process and call, to build a replacement in.

    Beside it, so moving it into place is a rename on one file system; unique, so two
    processes (or threads) writing the same target never share one.
    """
    target = Path(target)
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@cache
def _renameat2() -> Callable | None:
    """glibc's ``renameat2`` (Linux 3.15, glibc 2.28 and later), or ``None`` where there is none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; ``False`` where the system or file system cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def replace_folder(staging: str | Path, target: str | Path) -> None:
    """Move the complete folder ``staging`` to ``target``, replacing and deleting any folder there.

    On Linux the two are swapped in one atomic step (``renameat2`` with ``RENAME_EXCHANGE``), so a
    reader always finds either the old folder or the new one at ``target``, never nothing. Only where
    that call is unavailable (other systems, older kernels or C libraries, some file systems) is the
    old folder renamed away and the new one renamed in, with a moment of no ``target`` between.
    Concurrent writers of one ``target`` all succeed; the last to finish wins.
    """
    staging, target = Path(staging), Path(target)
    retired: list[Path] = []
    try:
        while True:
            try:
                os.rename(staging, target)  # nothing there yet (or an empty folder): a plain rename
                return
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            try:
                if _exchange(staging, target):
                    retired.append(staging)  # which now holds the old folder
                    return
            except FileNotFoundError:
                continue  # the target vanished meanwhile: rename again
            old = staging_folder(target)
            with suppress(FileNotFoundError):
                os.rename(target, old)
                retired.append(old)
    except BaseException:
        if retired and not target.exists():
            with suppress(OSError):
                os.rename(retired.pop(), target)
        raise
    finally:
        for folder in retired:
            shutil.rmtree(folder, ignore_errors=True)

DAMAGED = "restore the model folder or train the model again"


@contextmanager
def model_file(path: Path) -> Iterator[Path]:
    """Read a file of a saved model; any failure to read or parse it is one line naming the file and the fix."""
    if not path.is_file():
        raise FramingError(f"{path}: missing from the model folder; {DAMAGED}")
    try:
        yield path
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, KeyError):
            reason = f"no entry {reason}"
        raise FramingError(f"{path}: damaged model file ({reason}); {DAMAGED}") from None


def read_model_json(path: Path) -> dict:
    """A JSON file of a saved model, or a one-line error naming it."""
    with model_file(path):
        meta = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
        return meta
