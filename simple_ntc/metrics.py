"""Evaluation summaries with scikit-learn: accuracy, macro/micro F1, per-class report, confusion matrix.

Multi-label summaries hold exact-match accuracy, micro/macro/samples F1, the per-label
precision/recall/F1 report and per-label counts (TN, FP, FN, TP).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    multilabel_confusion_matrix,
)

LABEL_COUNT_COLUMNS = ("TN", "FP", "FN", "TP")


def single_label_summary(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Scores of class-index predictions; ``report`` is sklearn's per-class text table."""
    ids = list(range(len(labels)))
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(y_true, y_pred, labels=ids, average="micro", zero_division=0)),
        "report": classification_report(y_true, y_pred, labels=ids, target_names=list(labels), digits=4,
                                        zero_division=0),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
    }


def multi_label_summary(y_true: Any, y_pred: Any, labels: Sequence[str]) -> dict[str, Any]:
    """Scores of multi-hot predictions. |y_true| = |y_pred| = (n, n_labels) of 0/1."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    ids = list(range(len(labels)))
    f1 = {average: float(f1_score(y_true, y_pred, labels=ids, average=average, zero_division=0))
          for average in ("micro", "macro", "samples")}
    counts = multilabel_confusion_matrix(y_true, y_pred, labels=ids)  # |counts| = (n_labels, 2, 2)
    return {
        "n": len(y_true),
        "multi_label": True,
        "accuracy": float(accuracy_score(y_true, y_pred)),  # exact match of the whole label set
        "micro_f1": f1["micro"],
        "macro_f1": f1["macro"],
        "samples_f1": f1["samples"],
        "report": classification_report(y_true, y_pred, labels=ids, target_names=list(labels), digits=4,
                                        zero_division=0),
        "label_counts": counts.reshape(len(labels), 4).tolist(),  # per label: TN, FP, FN, TP
    }


def format_count_table(corner: str, counts: Sequence[Sequence[int]], rows: Sequence[str],
                       columns: Sequence[str]) -> str:
    """A right-aligned table of counts with row and column names."""
    width = max(8, *(len(name) for name in (*rows, *columns)), *(len(str(v)) for row in counts for v in row))
    lines = [corner.ljust(width) + " " + " ".join(column.rjust(width) for column in columns)]
    for name, row in zip(rows, counts):
        lines.append(name.ljust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def format_label_counts(counts: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    """Per-label TN, FP, FN, TP of a multi-label model."""
    return format_count_table("label", counts, labels, LABEL_COUNT_COLUMNS)


def format_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    """Rows are true labels, columns predicted labels."""
    return format_count_table("true \\ pred", matrix, labels, labels)


def format_summary(title: str, summary: dict[str, Any], labels: Sequence[str]) -> str:
    head = (f"== {title}: n={summary['n']} accuracy={summary['accuracy']:.4f} "
            f"macro_f1={summary['macro_f1']:.4f} micro_f1={summary['micro_f1']:.4f}")
    if "samples_f1" in summary:
        head += f" samples_f1={summary['samples_f1']:.4f} (accuracy: exact match of the label set)"
    parts = [head, summary["report"].rstrip()]
    if "confusion_matrix" in summary:
        parts.append(format_confusion_matrix(summary["confusion_matrix"], labels))
    if "label_counts" in summary:
        parts.append(format_label_counts(summary["label_counts"], labels))
    return "\n".join(parts)


def argmax(probs: Any) -> list[int]:
    return np.asarray(probs).argmax(axis=1).tolist()
