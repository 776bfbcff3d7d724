"""Dialogue files -> examples: CSV (``fname,dialogue,summary[,topic]``) and JSON Lines.

CSV follows RFC 4180 (quoted fields may hold commas, quotes and newlines, including ``\\r\\n``);
JSON Lines holds one object per line with the same keys. A file may carry no summary (a test
file), one (``summary``) or several references (``summary1..summaryN``). Every malformed row is
reported as ``file:line: message``. Text is normalized to ``\\n`` line breaks and stripped.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from simple_ntc.errors import UserError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
_SUMMARY_COLUMN = re.compile(r"^summary(\d*)$")


@dataclass(frozen=True)
class Dialogue:
    """One row of a dialogue file; ``summaries`` is empty for test files."""

    fname: str
    dialogue: str
    summaries: tuple[str, ...] = ()
    topic: str | None = None
    where: str = ""  # "file:line", for error messages


@dataclass(frozen=True)
class Record:
    """A raw row: its fields by column name and the file line it starts on."""

    fields: dict[str, str]
    line: int


def normalize_text(text: str) -> str:
    """``\\r\\n`` and ``\\r`` become ``\\n``; surrounding whitespace goes."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def parse_rows(text: str | None, flag: str) -> slice | None:
    """``START:END`` (Python slice of data rows, header excluded) -> slice; empty -> all rows."""
    if text is None or text == "":
        return None
    match = re.fullmatch(r"\s*(-?\d*)\s*:\s*(-?\d*)\s*", text)
    if match is None:
        raise UserError(f"{flag} expects START:END rows (e.g. 0:400 or 400:), got {text!r}")
    start, end = (int(x) if x else None for x in match.groups())
    return slice(start, end)


def summary_columns(columns: Sequence[str]) -> list[str]:
    """``summary`` then ``summary1..summaryN`` in numeric order."""
    found = [(int(m.group(1) or 0), c) for c in columns if (m := _SUMMARY_COLUMN.match(c))]
    return [c for _, c in sorted(found)]


def _read_text(path: Path, what: str) -> str:
    """The whole file as text (UTF-8, optional BOM); a decoding error names its line."""
    if not path.exists():
        raise UserError(f"{what} not found: {path}")
    if path.is_dir():
        raise UserError(f"{what} is a directory, expected a file: {path}")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {what} {path}: {error.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def _csv_records(path: Path, what: str) -> tuple[list[str], Iterator[Record]]:
    reader = csv.reader(io.StringIO(_read_text(path, what), newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise UserError(f"{path}:1: malformed CSV: {error}") from None
    if header is None:
        raise UserError(f"{path}: empty file, expected a header line such as fname,dialogue,summary")
    columns = [c.strip() for c in header]

    def records() -> Iterator[Record]:
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise UserError(f"{path}:{start}: malformed CSV: {error}") from None
            if not row or row == [""]:
                continue  # blank line
            if len(row) != len(columns):
                raise UserError(f"{path}:{start}: expected {len(columns)} fields ({','.join(columns)}), "
                                f"got {len(row)}")
            yield Record(dict(zip(columns, row)), start)

    return columns, records()


def _jsonl_records(path: Path, what: str) -> tuple[list[str], Iterator[Record]]:
    parsed: list[Record] = []
    columns: list[str] = []
    for number, line in enumerate(_read_text(path, what).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{path}:{number}: invalid JSON: {error.msg}") from None
        if not isinstance(value, dict):
            raise UserError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
        fields = {}
        for key, item in value.items():
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                fields[key] = str(item)
            elif item is None:
                fields[key] = ""
            elif key in ("fname", "dialogue") or _SUMMARY_COLUMN.match(key):
                raise UserError(f"{path}:{number}: {key!r} must be a string, got {type(item).__name__}")
        columns = columns or list(fields)
        parsed.append(Record(fields, number))
    if not parsed:
        raise UserError(f"{path}: empty file, expected JSON objects with fname and dialogue")
    return columns, iter(parsed)


def read_records(path: str | Path, what: str = "file") -> tuple[list[str], Iterator[Record]]:
    """The columns of a CSV or JSON Lines file and an iterator over its rows."""
    path = Path(path)
    reader = _jsonl_records if path.suffix.lower() in JSONL_SUFFIXES else _csv_records
    return reader(path, what)


def _select(items: list, rows: slice | None) -> list:
    return items if rows is None else items[rows]


def _require_columns(path: Path, columns: Sequence[str], needed: Sequence[str], jsonl: bool) -> None:
    for name in needed:
        if name not in columns and not jsonl:
            raise UserError(f"{path}:1: missing column {name!r} (columns: {', '.join(columns)})")


def _field(path: Path, record: Record, name: str) -> str:
    if name not in record.fields:
        raise UserError(f"{path}:{record.line}: missing key {name!r}")
    return record.fields[name]


def _require_summary_column(path: Path, columns: Sequence[str], jsonl: bool) -> None:
    if not jsonl and not summary_columns(columns):
        raise UserError(f"{path}:1: no summary column (expected summary or summary1..summaryN) "
                        f"in {', '.join(columns)}")


def _named_records(path: Path, records: Iterator[Record]) -> Iterator[tuple[str, Record]]:
    """Each record with its fname; an empty or repeated fname is a ``file:line`` error."""
    first_line: dict[str, int] = {}
    for record in records:
        fname = _field(path, record, "fname").strip()
        if not fname:
            raise UserError(f"{path}:{record.line}: empty fname")
        if fname in first_line:
            raise UserError(f"{path}:{record.line}: duplicate fname {fname!r} (first on line {first_line[fname]})")
        first_line[fname] = record.line
        yield fname, record


def read_dialogues(
    path: str | Path, rows: slice | None = None, need_summary: bool = False, what: str = "dialogue file",
    allow_empty: bool = False,
) -> list[Dialogue]:
    """Read dialogues (and their reference summaries, if any) in file order.

    ``need_summary`` (training and validation files) makes a missing or empty summary an error.
    ``allow_empty`` (test files) keeps rows with an empty dialogue instead of rejecting the file.
    ``rows`` selects data rows after the whole file was checked.
    """
    path = Path(path)
    jsonl = path.suffix.lower() in JSONL_SUFFIXES
    columns, records = read_records(path, what)
    _require_columns(path, columns, ["fname", "dialogue"], jsonl)
    if need_summary:
        _require_summary_column(path, columns, jsonl)
    dialogues: list[Dialogue] = []
    for fname, record in _named_records(path, records):
        dialogue = normalize_text(_field(path, record, "dialogue"))
        if not dialogue and not allow_empty:
            raise UserError(f"{path}:{record.line}: empty dialogue for fname {fname!r}")
        names = summary_columns(list(record.fields))
        summaries = tuple(s for s in (normalize_text(record.fields[c]) for c in names) if s)
        if need_summary and not summaries:
            raise UserError(f"{path}:{record.line}: no summary for fname {fname!r}")
        topic = record.fields.get("topic")
        dialogues.append(Dialogue(fname, dialogue, summaries, topic, f"{path}:{record.line}"))
    if not dialogues:
        raise UserError(f"{path}: no rows after the header")
    selected = _select(dialogues, rows)
    if not selected:
        shown = ":".join("" if x is None else str(x) for x in (rows.start, rows.stop))
        raise UserError(f"{path}: the selected rows {shown} are empty (the file has {len(dialogues)} rows)")
    return selected


def read_summaries(
    path: str | Path, rows: slice | None = None, role: str = "reference"
) -> dict[str, tuple[str, ...]]:
    """``fname -> summaries`` of a prediction (one ``summary``) or reference file, in file order.

    A reference file may be a full dialogue file; empty references are errors, empty predictions
    are kept (they score 0).
    """
    path = Path(path)
    jsonl = path.suffix.lower() in JSONL_SUFFIXES
    columns, records = read_records(path, f"{role} file")
    _require_columns(path, columns, ["fname"], jsonl)
    _require_summary_column(path, columns, jsonl)
    table: dict[str, tuple[str, ...]] = {}
    for fname, record in _named_records(path, records):
        names = summary_columns(list(record.fields))
        if not names:
            raise UserError(f"{path}:{record.line}: missing key 'summary'")
        texts = [normalize_text(record.fields[c]) for c in names]
        if role == "prediction":
            table[fname] = (texts[0],)
            continue
        texts = [t for t in texts if t]
        if not texts:
            raise UserError(f"{path}:{record.line}: empty reference summary for fname {fname!r}")
        table[fname] = tuple(texts)
    if not table:
        raise UserError(f"{path}: no rows after the header")
    return dict(_select(list(table.items()), rows))


def describe_names(names: Sequence[str], limit: int = 5) -> str:
    """``a, b, c`` or ``a, b, ... (12 in all)`` for error messages."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


def compare_fnames(expected: Sequence[str], found: Sequence[str], expected_name: str, found_name: str) -> None:
    """Raise a :class:`UserError` naming the fnames that one side has and the other lacks."""
    found_set, expected_set = set(found), set(expected)
    missing = [f for f in expected if f not in found_set]
    extra = [f for f in found if f not in expected_set]
    problems = []
    if missing:
        problems.append(f"{found_name} lacks {len(missing)} fname(s) of {expected_name}: {describe_names(missing)}")
    if extra:
        problems.append(f"{found_name} has {len(extra)} fname(s) not in {expected_name}: {describe_names(extra)}")
    if problems:
        raise UserError("; ".join(problems))


def merge_references(tables: Sequence[tuple[str, dict[str, tuple[str, ...]]]]) -> dict[str, tuple[str, ...]]:
    """Join reference files of the same fnames (``--ref a.csv --ref b.csv``) into multi-reference rows."""
    (first_name, merged), rest = tables[0], tables[1:]
    merged = dict(merged)
    for name, table in rest:
        compare_fnames(list(merged), list(table), first_name, name)
        for fname in merged:
            merged[fname] = merged[fname] + table[fname]
    return merged
