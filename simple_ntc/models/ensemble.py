"""Ensembling classifiers by averaging their class probabilities, equally or with saved weights."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch


def mean_probabilities(probs: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> torch.Tensor:
    """(Weighted) mean of per-model probabilities. |probs[i]| = (n, n_classes) -> (n, n_classes).

    ``weights`` (one per model, non-negative) are normalized to sum to 1; all zero or None: equal weights.
    """
    if not probs:
        raise ValueError("no model to ensemble")
    stacked = torch.stack(list(probs))  # |stacked| = (n_models, n, n_classes)
    if weights is None or sum(weights) <= 0:
        return stacked.mean(dim=0)
    w = torch.tensor(list(weights), dtype=stacked.dtype)
    return torch.tensordot(w / w.sum(), stacked, dims=1)


def ensemble_probabilities(predictor: Any, probs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The ensemble of ``probs`` (some or all of ``predictor``'s models) with the predictor's saved weights.

    ``predictor.ensemble_weights`` (``{model_name: weight}``, chosen on validation by train.py) is
    renormalized over the chosen models, so ``--drop_*`` keeps the others' proportions; a predictor
    without weights (files from before, ``--ensemble_weights equal``) averages equally.
    """
    saved = getattr(predictor, "ensemble_weights", None)
    weights = [float(saved.get(name, 0.0)) for name in probs] if saved else None
    return mean_probabilities(list(probs.values()), weights)
