"""Evaluation summaries with scikit-learn: accuracy, macro/micro F1, per-class report, confusion matrix."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score


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


def format_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    """Rows are true labels, columns predicted labels."""
    width = max(8, *(len(label) for label in labels), *(len(str(v)) for row in matrix for v in row))
    lines = ["true \\ pred".ljust(width) + " " + " ".join(label.rjust(width) for label in labels)]
    for label, row in zip(labels, matrix):
        lines.append(label.ljust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def format_summary(title: str, summary: dict[str, Any], labels: Sequence[str]) -> str:
    head = (f"== {title}: n={summary['n']} accuracy={summary['accuracy']:.4f} "
            f"macro_f1={summary['macro_f1']:.4f} micro_f1={summary['micro_f1']:.4f}")
    parts = [head, summary["report"].rstrip()]
    if "confusion_matrix" in summary:
        parts.append(format_confusion_matrix(summary["confusion_matrix"], labels))
    return "\n".join(parts)


def argmax(probs: Any) -> list[int]:
    return np.asarray(probs).argmax(axis=1).tolist()
