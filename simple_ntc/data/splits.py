"""Train/valid/test examples from files or seeded random hold-outs, and label indexing."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import UserError
from .corpus import Corpus, CorpusFormat, Example, read_corpus


@dataclass
class DataSplits:
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    labels: list[str]  # sorted label names of the training file (multi-label: its 0/1 columns if any)
    files: dict[str, str]  # split name -> file it came from, for error messages

    def mixed_row(self) -> str | None:
        """A one-line error for the first example whose shape (single text or pair) differs from the first
        training example's (a tab inside a text makes a pair of it), or None when every row agrees."""
        first = min((e for name in ("train", "valid", "test") if self.files[name] == self.files["train"]
                     for e in getattr(self, name)), key=lambda e: e.line)
        for name in ("train", "valid", "test"):
            for example in getattr(self, name):
                if bool(example.text_pair) != bool(first.text_pair):
                    found, expected = (3, 2) if example.text_pair else (2, 3)
                    return (f"{self.files[name]}:{example.line}: {found} tab-separated columns, but "
                            f"{self.files['train']}:{first.line} has {expected}; every row is label<TAB>text, or "
                            "every row label<TAB>text_a<TAB>text_b (sentence pairs): a tab inside a text?")
        return None

def hold_out(examples: list[Example], ratios: Sequence[float], seed: int) -> list[list[Example]]:
    """Split off ``ratios`` fractions (seeded); returns ``[rest, *held_out]`` each in file order."""
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed)).tolist()
    parts, start = [], 0
    for ratio in ratios:
        size = round(len(examples) * ratio)
        parts.append(sorted(order[start:start + size]))
        start += size
    rest = sorted(order[start:])
    return [[examples[i] for i in part] for part in [rest, *parts]]


def report_bad_lines(path: str | Path, corpus: Corpus, log: Callable[[str], None] = print) -> None:
    """Say how many malformed rows ``--skip_bad_lines`` skipped, and the first."""
    if corpus.bad_lines:
        line, reason = corpus.bad_lines[0]
        log(f"Skipped {len(corpus.bad_lines)} malformed row(s) of {path} (first: line {line}: {reason})")


def _with_known_labels(
    path: str, corpus: Corpus, labels: Sequence[str], train_fn: str, skip_bad_lines: bool
) -> list[Example]:
    """The examples of ``corpus`` whose labels all occur in the training file; others are errors or skipped."""
    known = []
    for example in corpus.examples:
        unknown = [label for label in example.labels if label not in labels]
        if not unknown:
            known.append(example)
        elif skip_bad_lines:
            corpus.bad_lines.append((example.line, f"label {unknown[0]!r} does not occur in {train_fn}"))
        else:
            raise UserError(f"{path}:{example.line}: label {unknown[0]!r} does not occur in {train_fn} "
                            "(--skip_bad_lines skips such rows)")
    corpus.bad_lines.sort()
    return known


def load_splits(
    train_fn: str,
    fmt: CorpusFormat,
    valid_fn: str | None = None,
    test_fn: str | None = None,
    valid_ratio: float = 0.2,
    test_ratio: float = 0.0,
    seed: int = 42,
    skip_bad_lines: bool = False,
    log: Callable[[str], None] = print,
    known_labels_only: bool = True,
) -> DataSplits:
    """Read the corpora; hold out valid/test rows of the training file when no file is given for them.

    ``known_labels_only=False`` accepts valid/test labels the training file lacks (regression scores).
    """
    corpus = read_corpus(train_fn, fmt, skip_bad_lines)
    report_bad_lines(Path(train_fn), corpus, log)
    examples = corpus.examples
    labels = corpus.label_names or sorted({label for e in examples for label in e.labels})
    ratios = [valid_ratio if not valid_fn else 0.0, test_ratio if not test_fn else 0.0]
    train, valid, test = hold_out(examples, ratios, seed)
    files = {"train": str(train_fn), "valid": str(valid_fn or train_fn), "test": str(test_fn or train_fn)}
    for name, path in (("valid", valid_fn), ("test", test_fn)):
        if path:
            other = read_corpus(path, fmt, skip_bad_lines)
            if corpus.label_names is not None and other.label_names != corpus.label_names:
                raise UserError(f"{path}:1: label columns differ from {train_fn}")
            known = _with_known_labels(path, other, labels, train_fn, skip_bad_lines) if known_labels_only \
                else other.examples
            report_bad_lines(Path(path), other, log)
            if name == "valid":
                valid = known
            else:
                test = known
    if not train:
        raise UserError(f"{train_fn}: no training rows left after holding out validation/test rows")
    if not valid:
        raise UserError("no validation rows: give --valid_fn or a --valid_ratio that leaves at least one row")
    if len(labels) < 2 and not fmt.multi_label and known_labels_only:
        found = f"only the label {labels[0]!r}" if labels else "no label"
        raise UserError(f"{train_fn}: the training rows have {found}; a classifier needs at least two labels "
                        "(check --label_col, or use --multi_label for yes/no labels)")
    return DataSplits(train, valid, test, labels, files)
