"""Reading UTF-8 text line by line with exact ``file:line`` errors.

Files are read as bytes and split on ``\\n`` only, so the line numbers are those of any editor and a
stray ``\\r`` or Unicode line separator inside a field never starts a new row. A UTF-8 byte-order mark
at the start of the input is dropped (it must never become part of a label or a text). Invalid UTF-8 is
an error naming the line and column, or, for streams that must go on (classify.py), replaced and
reported per line.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..errors import UserError

BOM = "\ufeff"
# What str.splitlines() (and so many readers) treats as a line break, besides "\n".
LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def strip_line_ending(line: str) -> str:
    return line[:-2] if line.endswith("\r\n") else line[:-1] if line.endswith("\n") else line


def without_line_breaks(text: str) -> str:
    """``text`` with every character that some reader takes for a line break replaced by a space."""
    return LINE_BREAKS.sub(" ", text)


def decode_line(raw: bytes, number: int, source: str) -> str:
    """One line of bytes as text (the BOM of line 1 removed); invalid UTF-8 is a ``file:line`` error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        column = len(raw[:error.start].decode("utf-8", errors="replace")) + 1
        raise UserError(f"{source}:{number}: not UTF-8 text ({error.reason} at column {column}); "
                        "save the file as UTF-8") from None
    return text[1:] if number == 1 and text.startswith(BOM) else text


def numbered_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every line of ``path``, line endings kept (for ``csv``)."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, expected a text file") from None
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            yield number, decode_line(raw, number, str(path))


def replaced_lines(
    stream: Iterable[bytes], warn: Callable[[int], None]
) -> Iterator[str]:
    """Lines of a byte stream without their ending; invalid UTF-8 is replaced and ``warn(line)`` is called."""
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            warn(number)
        if number == 1 and text.startswith(BOM):
            text = text[1:]
        yield strip_line_ending(text)
