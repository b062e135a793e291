"""Writing files so that a failed write never leaves a half-written or missing file, and never lands where nobody meant."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
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
