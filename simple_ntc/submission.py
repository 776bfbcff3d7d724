"""``classify.py --test_fn test.csv --id_col id --output submission.csv``: a competition submission file.

One output row per test row, in input order, written atomically: ``id,label`` (the id column keeps
its name; the label column is ``--label_col`` or ``label``, ``score`` for regression models).
Sentence-pair models read ``--text_col`` and ``--text_pair_col``. Multi-label models write the
predicted labels space-separated in one column (``--multi_label_output labels``) or one 0/1 column
per label (``--multi_label_output columns``).
"""
from __future__ import annotations

import argparse
import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_open
from .errors import UserError
from .predictor import Predictor, is_regression, predict_proba

MULTI_LABEL_OUTPUTS = ("labels", "columns")


@dataclass
class TestRows:
    """The ids and texts (and second texts of pairs) of a test file, in file order."""

    ids: list[str]
    texts: list[str]
    pairs: list[str] | None


def _records(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """``(line, fields)`` of every non-blank row; CSV honours quoting, TSV splits on tabs."""
    try:
        with open(path, encoding="utf-8", newline="" if delimiter != "\t" else None) as handle:
            if delimiter == "\t":
                return [(n, line.rstrip("\r\n").split("\t")) for n, line in enumerate(handle, start=1)
                        if line.strip()]
            reader, records, start = csv.reader(handle, delimiter=delimiter), [], 1
            for fields in reader:
                if any(f.strip() for f in fields):
                    records.append((start, fields))
                start = reader.line_num + 1
            return records
    except FileNotFoundError:
        raise UserError(f"--test_fn: file not found: {path}") from None
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise UserError(f"{path}: malformed CSV: {error}") from None


def _text_columns(path: Path, header: list[str], id_col: str, text_col: str | None, pair_col: str | None,
                  pair: bool) -> tuple[str, str | None]:
    """The text column(s): as given, or the only one(s) besides the id when there is no doubt."""
    if text_col is None:
        others = [c for c in header if c != id_col]
        wanted = 2 if pair and pair_col is None else 1
        if len(others) != wanted:
            what = "--text_col and --text_pair_col" if wanted == 2 else "--text_col"
            raise UserError(f"{path}:1: name the text column(s) with {what}; columns are: {', '.join(header)}")
        text_col = others[0]
        pair_col = pair_col or (others[1] if wanted == 2 else None)
    if pair and pair_col is None:
        raise UserError("the model classifies sentence pairs: name the second text column with --text_pair_col")
    if not pair and pair_col is not None:
        raise UserError("--text_pair_col given but the model classifies single texts")
    return text_col, pair_col


def read_test_rows(path: str | Path, id_col: str, text_col: str | None, pair_col: str | None, pair: bool,
                   delimiter: str) -> TestRows:
    """Ids and texts of a headered test file; ``file:line`` errors for missing columns and short rows."""
    path = Path(path)
    records = _records(path, delimiter)
    if not records:
        raise UserError(f"{path}: empty file, expected a header row")
    header = [name.strip() for name in records[0][1]]
    text_col, pair_col = _text_columns(path, header, id_col, text_col, pair_col, pair)
    missing = [c for c in (id_col, text_col, pair_col) if c and c not in header]
    if missing:
        raise UserError(f"{path}:1: no column {missing[0]!r} in the header; columns are: {', '.join(header)}")
    where = {name: header.index(name) for name in (id_col, text_col, pair_col) if name}
    rows = TestRows([], [], [] if pair_col else None)
    for line, fields in records[1:]:
        if len(fields) <= max(where.values()):
            raise UserError(f"{path}:{line}: expected {len(header)} columns as in the header, found {len(fields)}")
        rows.ids.append(fields[where[id_col]])
        rows.texts.append(fields[where[text_col]])
        if rows.pairs is not None:
            rows.pairs.append(fields[where[pair_col]])
    if not rows.ids:
        raise UserError(f"{path}: no rows below the header")
    return rows


def check_output(path: str | Path, inputs: Sequence[str | Path]) -> None:
    """Fail before any prediction if ``path`` cannot be written or would overwrite an input."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"--output is a directory, expected a file name: {path}")
    if any(path.resolve() == Path(source).resolve() for source in inputs):
        raise UserError(f"--output {path} would overwrite an input file")
    existing = next(parent for parent in (path.absolute().parent, *path.absolute().parents) if parent.exists())
    if not os.access(existing, os.W_OK):
        raise UserError(f"cannot write --output {path}: {existing} is not writable")


def prediction_table(predictor: Predictor, rows: TestRows, models: Sequence[str], label_col: str | None,
                     multi_label_output: str = "labels") -> tuple[list[str], list[list[str]]]:
    """The header after the id column and the predicted cells of every row, in input order."""
    probs = predict_proba(predictor, rows.texts, rows.pairs, models)  # |probs| = (n_rows, n_labels)
    labels = predictor.labels
    if is_regression(predictor):
        return [label_col or "score"], [[f"{value:.4f}"] for value in probs[:, 0].tolist()]
    if not predictor.multi_label:
        return [label_col or "label"], [[labels[i]] for i in probs.argmax(dim=-1).tolist()]
    import torch

    from .plm.thresholds import apply_thresholds

    on = apply_thresholds(probs, predictor.thresholds)  # |on| = (n_rows, n_labels)
    if multi_label_output == "columns":
        return list(labels), [[str(int(v)) for v in row] for row in on.tolist()]
    spaced = [label for label in labels if any(ch.isspace() for ch in label)]
    if spaced:
        raise UserError(f"label {spaced[0]!r} contains a space, so space-separated labels would be ambiguous; use "
                        "--multi_label_output columns")
    order = torch.argsort(probs, dim=-1, descending=True).tolist()
    return [label_col or "labels"], [[" ".join(labels[i] for i in ranked if row[i])] for ranked, row
                                     in zip(order, on.tolist())]


def write_submission(args: argparse.Namespace, predictor: Predictor, models: Sequence[str]) -> int:
    """Predict every row of ``args.test_fn`` and write ``args.output``; returns the number of rows."""
    check_output(args.output, [args.test_fn, args.model_fn])
    path = Path(args.test_fn)
    delimiter = args.delimiter or ("," if path.suffix.lower() == ".csv" else "\t")
    delimiter = "\t" if delimiter in ("tab", "\\t") else delimiter
    rows = read_test_rows(path, args.id_col, args.text_col, args.text_pair_col, predictor.pair, delimiter)
    header, cells = prediction_table(predictor, rows, models, args.label_col, args.multi_label_output)
    out_delimiter = "\t" if Path(args.output).suffix.lower() in (".tsv", ".txt") else ","
    with atomic_open(args.output, "w") as handle:
        writer = csv.writer(handle, delimiter=out_delimiter, lineterminator="\n")
        writer.writerow([args.id_col, *header])
        writer.writerows([identifier, *row] for identifier, row in zip(rows.ids, cells))
    return len(rows.ids)
