"""Ensemble weights chosen on the validation split (``train.py --ensemble_weights valid``).

An equal mean lets weak members drag a strong one down (on small English data the TF-IDF member is
ten points above the RNN/CNN, and the equal mean sits between them). Here the weights are the point of
the probability simplex that minimizes the validation loss of the weighted mean: log loss for
single-label models, binary cross-entropy per label for multi-label ones, squared error for
``--regression``. That loss is convex in the weights and smooth, so the optimum is found exactly
(scipy's SLSQP) and does not hinge on ties of a few validation examples, as accuracy would.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

EPSILON = 1e-7  # floor of a probability under a logarithm


def validation_loss(weights: np.ndarray, stacked: np.ndarray, targets: np.ndarray, kind: str) -> float:
    """Mean loss of the weighted mean. |weights| = (m,), |stacked| = (m, n, k), |targets| = (n, k)."""
    mixed = np.tensordot(weights, stacked, axes=1)  # |mixed| = (n, k)
    if kind == "regression":
        return float(np.mean((mixed - targets) ** 2))
    mixed = np.clip(mixed, EPSILON, 1 - EPSILON)
    if kind == "multi_label":
        return float(-np.mean(targets * np.log(mixed) + (1 - targets) * np.log(1 - mixed)))
    return float(-np.mean(np.sum(targets * np.log(mixed), axis=1)))


def fit_weights(probs: Mapping[str, torch.Tensor], targets: np.ndarray, kind: str) -> dict[str, float]:
    """Weights (non-negative, summing to 1) of ``probs``' members that minimize the validation loss.

    ``probs``: per member, |probs[name]| = (n, k); ``targets``: one-hot (single-label), 0/1 per label
    (multi-label) or the true values (regression), |targets| = (n, k). ``kind``: ``single_label``,
    ``multi_label`` or ``regression``.
    """
    from scipy.optimize import minimize

    names = list(probs)
    stacked = np.stack([probs[name].double().numpy() for name in names])  # |stacked| = (m, n, k)
    targets = np.asarray(targets, dtype=np.float64).reshape(stacked.shape[1:])
    start = np.full(len(names), 1.0 / len(names))
    result = minimize(validation_loss, start, args=(stacked, targets, kind), method="SLSQP",
                      bounds=[(0.0, 1.0)] * len(names),
                      constraints=({"type": "eq", "fun": lambda w: np.sum(w) - 1.0},))
    weights = np.clip(result.x, 0.0, None)
    if not np.isfinite(weights).all() or weights.sum() <= 0:
        weights = start
    weights = np.round(weights / weights.sum(), 4)  # 4 decimals: stable across CPUs, plain in the file
    return {name: float(weight) for name, weight in zip(names, weights)}


def one_hot(label_ids: Sequence[int], n_classes: int) -> np.ndarray:
    """|result| = (len(label_ids), n_classes)."""
    result = np.zeros((len(label_ids), n_classes))
    result[np.arange(len(label_ids)), np.asarray(label_ids, dtype=int)] = 1.0
    return result


def format_weights(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {weight:.2f}" for name, weight in weights.items())


def targets_of(predictor: Any, examples: Sequence[Any]) -> tuple[np.ndarray, str]:
    """What :func:`fit_weights` compares the members with, and the kind of loss. |targets| = (n, k)."""
    from .data.corpus import example_targets
    from .predict import is_regression

    if is_regression(predictor):
        from .regression import scores_of

        return np.asarray(scores_of(examples, "labels"))[:, None], "regression"
    targets = example_targets(examples, predictor.labels, predictor.multi_label)
    if predictor.multi_label:
        return np.asarray(targets), "multi_label"
    return one_hot(targets, len(predictor.labels)), "single_label"


def choose_on_validation(predictor: Any, valid: Sequence[Any]) -> dict[str, float]:
    """Weights of all of ``predictor``'s models fitted on the labeled ``valid`` examples (see :func:`fit_weights`)."""
    from .data.corpus import example_pairs

    probs = predictor.probabilities([e.text for e in valid], example_pairs(valid, predictor.pair))
    return fit_weights(probs, *targets_of(predictor, valid))
