"""Reading labeled corpora into examples, with ``file:line`` errors for malformed rows.

Formats:

* simple-ntc's headerless TSV: ``label<TAB>text`` (or ``label<TAB>text_a<TAB>text_b`` for pairs);
* a headered TSV/CSV whose columns are chosen by name (``--text_col document --label_col label``);
  CSV (by extension) is read with RFC-4180 quoting, TSV is split on tabs without quoting;
* multi-label: several 0/1 columns of a headered file (every column but the text columns unless
  ``label_cols`` names them), or one label column holding comma-separated label names.
"""
from __future__ import annotations

import argparse
import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from .textfile import numbered_lines, strip_line_ending

TRUE_VALUES = {"1", "1.0", "true", "yes", "y"}
FALSE_VALUES = {"0", "0.0", "false", "no", "n", ""}


@dataclass(frozen=True)
class Example:
    """One labeled text; ``labels`` holds one name (single-label) or the names that are on (multi-label)."""

    text: str
    labels: tuple[str, ...]
    text_pair: str | None = None
    line: int = 0  # 1-based line of the row in its file

    @property
    def label(self) -> str:
        return self.labels[0]


def example_targets(examples: Sequence[Example], labels: Sequence[str], multi_label: bool) -> list[Any]:
    """Class indices, or multi-hot rows of 0.0/1.0 over ``labels`` for multi-label."""
    index = {label: i for i, label in enumerate(labels)}
    if not multi_label:
        return [index[e.label] for e in examples]
    rows = []
    for e in examples:
        row = [0.0] * len(labels)
        for label in e.labels:
            row[index[label]] = 1.0
        rows.append(row)
    return rows


def example_pairs(examples: Sequence[Example], pair: bool) -> list[str] | None:
    """The second texts of sentence-pair examples ("" where missing), or None for single-text models."""
    return [e.text_pair or "" for e in examples] if pair else None


@dataclass
class CorpusFormat:
    """Where texts and labels are in a file (see the module docstring)."""

    text_col: str | None = None
    label_col: str | None = None
    text_pair_col: str | None = None
    label_cols: list[str] | None = None
    multi_label: bool = False
    delimiter: str | None = None  # None: ',' for .csv files, tab otherwise

    @classmethod
    def from_args(cls, args: argparse.Namespace, multi_label: bool) -> "CorpusFormat":
        """The format given by the flags of :func:`add_format_arguments`."""
        return cls(args.text_col, args.label_col, args.text_pair_col, args.label_cols, multi_label, args.delimiter)

    @property
    def headered(self) -> bool:
        return self.text_col is not None

    def check(self) -> None:
        """Column names only make sense in a headered file."""
        if not self.headered and (self.label_col or self.text_pair_col or self.label_cols):
            raise UserError("--label_col/--text_pair_col/--label_cols need --text_col (a headered file)")

    def delimiter_for(self, path: Path) -> str:
        if self.delimiter:
            return "\t" if self.delimiter in ("tab", "\\t") else self.delimiter
        return "," if path.suffix.lower() == ".csv" else "\t"


def add_format_arguments(group: argparse._ArgumentGroup) -> None:
    """Flags saying where texts and labels are in a corpus file (train.py, and classify.py --eval_fn)."""
    group.add_argument("--text_col", help="text column of a headered file (empty: headerless label<TAB>text)")
    group.add_argument("--label_col", help="label column of a headered file")
    group.add_argument("--text_pair_col", help="second text column of a headered sentence-pair file")
    group.add_argument("--label_cols", nargs="+", help="multi-label: the 0/1 label columns "
                       "(empty: every column but the text columns)")
    group.add_argument("--delimiter", help="column delimiter: 'tab' or a character (empty: ',' for .csv, else tab)")
    group.add_argument("--skip_bad_lines", action=argparse.BooleanOptionalAction,
                       help="skip (and count) malformed rows instead of stopping at the first one")


@dataclass
class Corpus:
    examples: list[Example]
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (line, reason) of skipped rows
    label_names: list[str] | None = None  # multi-label 0/1 columns, in file order


class BadRow(ValueError):
    """A row that cannot become an example; its message says why."""


def _rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of every non-blank row; CSV honours quoting, TSV splits on tabs.

    Lines are numbered as an editor numbers them (see :mod:`.textfile`); a BOM is dropped and invalid
    UTF-8 is a ``file:line`` error.
    """
    lines = numbered_lines(path)
    if delimiter == "\t":
        for number, line in lines:
            line = strip_line_ending(line)
            if line.strip():
                yield number, line.split("\t")
        return
    reader = csv.reader((line for _, line in lines), delimiter=delimiter)
    start = 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                yield start, fields
            start = reader.line_num + 1
    except csv.Error as error:
        raise UserError(f"{path}:{reader.line_num}: malformed CSV: {error}") from None


def _flag(value: str, column: str) -> bool:
    key = value.strip().lower()
    if key in TRUE_VALUES:
        return True
    if key in FALSE_VALUES:
        return False
    raise BadRow(f"label column {column!r} must be 0/1, got {value!r}")


def _split_labels(value: str) -> tuple[str, ...]:
    return tuple(sorted({name.strip() for name in value.split(",") if name.strip()}))


def _headerless(fields: list[str], fmt: CorpusFormat, line: int) -> Example:
    if len(fields) < 2:
        raise BadRow("expected label<TAB>text, found no tab")
    label = fields[0].strip()
    if not label:
        raise BadRow("empty label")
    pair = fields[2] if len(fields) > 2 else None
    if len(fields) > 3:
        raise BadRow(f"expected at most 3 tab-separated columns (label, text, text_pair), found {len(fields)}")
    labels = _split_labels(label) if fmt.multi_label else (label,)
    return Example(fields[1], labels, pair, line)


def read_corpus(path: str | Path, fmt: CorpusFormat, skip_bad_lines: bool = False) -> Corpus:
    """Read ``path`` into examples; a malformed row is a ``file:line`` :class:`UserError` unless skipped."""
    path = Path(path)
    rows = _rows(path, fmt.delimiter_for(path))
    corpus = Corpus([])
    columns: dict[str, int] = {}
    if fmt.headered:
        try:
            _, header = next(rows)
        except StopIteration:
            raise UserError(f"{path}: empty file, expected a header row") from None
        columns = {name.strip(): i for i, name in enumerate(header)}
        wanted = [c for c in (fmt.text_col, fmt.text_pair_col, fmt.label_col, *(fmt.label_cols or [])) if c]
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise UserError(f"{path}:1: no column {missing[0]!r} in the header; columns are: {', '.join(columns)}")
        if fmt.multi_label and not fmt.label_col:
            text_cols = {fmt.text_col, fmt.text_pair_col}
            corpus.label_names = fmt.label_cols or [c for c in columns if c not in text_cols]
            if not corpus.label_names:
                raise UserError(f"{path}:1: --multi_label found no label columns besides the text")
        elif not fmt.label_col:
            raise UserError("--label_col is required with --text_col (or use --multi_label with 0/1 label columns)")
    for line, fields in rows:
        try:
            if not fmt.headered:
                example = _headerless(fields, fmt, line)
            else:
                if len(fields) < len(columns):
                    raise BadRow(f"expected {len(columns)} columns as in the header, found {len(fields)}")
                text = fields[columns[fmt.text_col]]
                pair = fields[columns[fmt.text_pair_col]] if fmt.text_pair_col else None
                if corpus.label_names is not None:
                    labels = tuple(c for c in corpus.label_names if _flag(fields[columns[c]], c))
                else:
                    value = fields[columns[fmt.label_col]].strip()
                    if not value and not fmt.multi_label:
                        raise BadRow(f"empty label in column {fmt.label_col!r}")
                    labels = _split_labels(value) if fmt.multi_label else (value,)
                example = Example(text, labels, pair, line)
        except BadRow as error:
            if not skip_bad_lines:
                raise UserError(f"{path}:{line}: {error} (--skip_bad_lines skips such rows)") from None
            corpus.bad_lines.append((line, str(error)))
            continue
        corpus.examples.append(example)
    if not corpus.examples:
        raise UserError(f"{path}: no examples found")
    return corpus

