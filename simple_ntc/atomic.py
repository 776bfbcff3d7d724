"""Output files written atomically: a temporary file next to the target, renamed over it when complete."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import UserError


def current_umask() -> int:
    """The process's file-creation mask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_file(path: str | Path, flag: str) -> None:
    """Fail early (before any long work) when ``path`` cannot become a file: a directory, a path under a
    regular file, or a directory where this process cannot create files."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{flag} {path} is a directory; give a file name (e.g. {path / 'model.pth'})")
    _check_creatable(path, flag)


def check_output_dir(path: str | Path, flag: str) -> None:
    """Like :func:`check_output_file` for an output that is a directory (e.g. a summarizer)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file; give a directory name")
    _check_creatable(path, flag)


def _check_creatable(path: Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` must be a directory in which a file can be created."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{flag} {path}: {parent} is a file, not a directory")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as error:
        raise UserError(f"{flag} {path}: cannot create files in {parent} ({error.strerror})") from None


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """A file (text: UTF-8, no newline translation) that appears at ``path`` only when the block completes.

    The data goes to a temporary file in the same directory, is flushed to disk and renamed over
    ``path``; on any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"output is a directory, expected a file name: {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror}") from None
    try:
        os.fchmod(descriptor, 0o666 & ~current_umask())  # what open() would give, not mkstemp's 0600
        with os.fdopen(descriptor, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
