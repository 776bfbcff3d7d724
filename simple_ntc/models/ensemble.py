"""Ensembling classifiers by averaging their class probabilities."""
from __future__ import annotations

from collections.abc import Sequence

import torch


def mean_probabilities(probs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean of per-model probabilities. |probs[i]| = (n, n_classes) -> (n, n_classes)."""
    if not probs:
        raise ValueError("no model to ensemble")
    return torch.stack(list(probs)).mean(dim=0)
