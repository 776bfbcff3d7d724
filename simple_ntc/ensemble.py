"""Ensembles: the (weighted) mean of the members' probabilities, and weights chosen on validation.

Torch-free (numpy arrays or torch tensors in, the same kind out), so classify.py's ONNX path runs
without importing PyTorch. Why weights (``train.py --ensemble_weights valid``): an equal mean lets weak
members drag a strong one down (on small English data the TF-IDF member is ten points above the
RNN/CNN, and the equal mean sits between them). The weights are the point of
the probability simplex that minimizes the validation loss of the weighted mean: log loss for
single-label models, binary cross-entropy per label for multi-label ones, squared error for
``--regression``. That loss is convex in the weights and smooth, so the optimum is found exactly
(scipy's SLSQP) and does not hinge on ties of a few validation examples, as accuracy would.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

EPSILON = 1e-7  # floor of a probability under a logarithm


def mean_probabilities(probs: Sequence[Any], weights: Sequence[float] | None = None) -> Any:
    """(Weighted) mean of per-model probabilities. |probs[i]| = (n, n_classes) -> (n, n_classes).

    ``probs``: torch tensors or numpy arrays (the result is of the same kind). ``weights`` (one per
    model, non-negative) are normalized to sum to 1; None or all zero: equal weights.
    """
    if not probs:
        raise ValueError("no model to ensemble")
    equal = weights is None or sum(weights) <= 0
    if isinstance(probs[0], np.ndarray):
        stacked = np.stack(list(probs))  # |stacked| = (n_models, n, n_classes)
        if equal:
            return stacked.mean(axis=0)
        w = np.asarray(weights, dtype=stacked.dtype)
        return np.tensordot(w / w.sum(), stacked, axes=1)
    import torch

    stacked = torch.stack(list(probs))
    if equal:
        return stacked.mean(dim=0)
    w = torch.tensor(list(weights), dtype=stacked.dtype)
    return torch.tensordot(w / w.sum(), stacked, dims=1)


def ensemble_probabilities(predictor: Any, probs: Mapping[str, Any]) -> Any:
    """The ensemble of ``probs`` (some or all of ``predictor``'s models) with the predictor's saved weights.

    ``predictor.ensemble_weights`` (``{model_name: weight}``, chosen on validation by train.py) is
    renormalized over the chosen models, so ``--drop_*`` keeps the others' proportions; a predictor
    without weights (files from before, ``--ensemble_weights equal``) averages equally.
    """
    saved = getattr(predictor, "ensemble_weights", None)
    weights = [float(saved.get(name, 0.0)) for name in probs] if saved else None
    return mean_probabilities(list(probs.values()), weights)


def validation_loss(weights: np.ndarray, stacked: np.ndarray, targets: np.ndarray, kind: str) -> float:
    """Mean loss of the weighted mean. |weights| = (m,), |stacked| = (m, n, k), |targets| = (n, k)."""
    mixed = np.tensordot(weights, stacked, axes=1)  # |mixed| = (n, k)
    if kind == "regression":
        return float(np.mean((mixed - targets) ** 2))
    mixed = np.clip(mixed, EPSILON, 1 - EPSILON)
    if kind == "multi_label":
        return float(-np.mean(targets * np.log(mixed) + (1 - targets) * np.log(1 - mixed)))
    return float(-np.mean(np.sum(targets * np.log(mixed), axis=1)))


def fit_weights(probs: Mapping[str, Any], targets: np.ndarray, kind: str) -> dict[str, float]:
    """Weights (non-negative, summing to 1) of ``probs``' members that minimize the validation loss.

    ``probs``: per member, |probs[name]| = (n, k); ``targets``: one-hot (single-label), 0/1 per label
    (multi-label) or the true values (regression), |targets| = (n, k). ``kind``: ``single_label``,
    ``multi_label`` or ``regression``.
    """
    from scipy.optimize import minimize

    names = list(probs)
    stacked = np.stack([np.asarray(probs[name], dtype=np.float64) for name in names])  # |stacked| = (m, n, k)
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
    from .predictor import is_regression

    if is_regression(predictor):
        from .regression import scores_of

        return np.asarray(scores_of(examples, "labels"))[:, None], "regression"
    targets = example_targets(examples, predictor.labels, predictor.multi_label)
    if predictor.multi_label:
        return np.asarray(targets), "multi_label"
    return one_hot(targets, len(predictor.labels)), "single_label"


def headline_metric(summary: Mapping[str, Any]) -> str:
    """The score that decides between ensembles: Pearson (regression), micro-F1 (multi-label) or accuracy."""
    if summary.get("regression"):
        return "pearson"
    return "accuracy" if "accuracy" in summary else "micro_f1"


def choose_on_validation(predictor: Any, valid: Sequence[Any]) -> tuple[dict[str, float], str]:
    """Weights of all of ``predictor``'s models fitted on the labeled ``valid`` examples (:func:`fit_weights`),
    kept when their ensemble scores at least as well on ``valid`` as the plain mean, else ``{}``.

    The fitted weights minimize a loss; between near-equal members (an RNN and a CNN) they can move the
    decisions of a few rows the wrong way, and the plain mean is then the safer choice. Returns the
    kept weights and a line saying which ensemble was kept and why.
    """
    from .data.corpus import example_pairs
    from .evaluate import summary_of

    probs = predictor.probabilities([e.text for e in valid], example_pairs(valid, predictor.pair))
    weights = fit_weights(probs, *targets_of(predictor, valid))
    plain = summary_of(predictor, valid, mean_probabilities(list(probs.values())))
    fitted = summary_of(predictor, valid, mean_probabilities(list(probs.values()), list(weights.values())))
    metric = headline_metric(plain)
    if fitted[metric] >= plain[metric]:
        return weights, (f"Ensemble weights (chosen on valid, so the valid ensemble row is optimistic; valid {metric} "
                         f"{fitted[metric]:.4f} vs {plain[metric]:.4f} for a plain mean): {format_weights(weights)}")
    return {}, (f"Ensemble: a plain mean (weights fitted on valid, {format_weights(weights)}, scored valid {metric} "
                f"{fitted[metric]:.4f} < {plain[metric]:.4f} of the plain mean)")
