"""Submission files: ``fname,summary`` CSV written atomically (a temporary file, then a rename)."""
from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from simple_ntc.errors import UserError

HEADER = ("fname", "summary")


@contextlib.contextmanager
def atomic_open(path: str | Path) -> Iterator[TextIO]:
    """A text file that appears at ``path`` only when the block completes; never a partial file.

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
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_summaries(path: str | Path, rows: Iterable[tuple[str, str]]) -> int:
    """Write ``fname,summary`` rows (RFC 4180 quoting of commas, quotes and newlines); return the count."""
    count = 0
    with atomic_open(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for fname, summary in rows:
            writer.writerow((fname, summary))
            count += 1
    return count
