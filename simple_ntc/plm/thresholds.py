"""Per-label decision thresholds of a multi-label classifier, tuned for F1 on labeled examples."""
from __future__ import annotations

from collections.abc import Sequence

import torch

GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05, 0.10, ..., 0.95


def f1_per_threshold(probs: torch.Tensor, targets: torch.Tensor, grid: Sequence[float]) -> torch.Tensor:
    """F1 of every label at every threshold. |probs| = |targets| = (n, n_labels); |result| = (len(grid), n_labels)."""
    truth = targets > 0.5
    thresholds = torch.tensor(grid, dtype=probs.dtype).view(-1, 1, 1)
    predicted = probs.unsqueeze(0) >= thresholds  # |predicted| = (len(grid), n, n_labels)
    true_positives = (predicted & truth).sum(dim=1).double()
    denominator = predicted.sum(dim=1).double() + truth.sum(dim=0).double()
    return torch.where(denominator > 0, 2 * true_positives / denominator.clamp(min=1), 0.0)


def tune_thresholds(
    probs: torch.Tensor, targets: torch.Tensor, default: float = 0.5, grid: Sequence[float] = GRID
) -> list[float]:
    """For each label, the threshold of ``grid`` with the best F1; ties go to the one closest to ``default``.

    A label without a positive example keeps ``default`` (no threshold can be judged on it).
    """
    scores = f1_per_threshold(probs, targets, grid)
    positives = (targets > 0.5).sum(dim=0)
    chosen = []
    for label in range(probs.shape[1]):
        if positives[label] == 0:
            chosen.append(default)
            continue
        best = scores[:, label].max()
        candidates = [t for t, score in zip(grid, scores[:, label].tolist()) if score >= best - 1e-12]
        chosen.append(min(candidates, key=lambda t: (abs(t - default), t)))
    return chosen


def apply_thresholds(probs: torch.Tensor, thresholds: Sequence[float]) -> torch.Tensor:
    """Multi-hot decisions. |probs| = |result| = (n, n_labels)."""
    return probs >= torch.tensor(list(thresholds), dtype=probs.dtype)
