"""Submission files: ``fname,summary`` CSV written atomically (a temporary file, then a rename)."""
from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from simple_ntc.atomic import atomic_open

HEADER = ("fname", "summary")


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
