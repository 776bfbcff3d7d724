"""The TF-IDF + linear baseline of every classification run, and the scoreboard that puts it beside the models.

train.py fits :func:`fit_baseline` on the same training split as the models (seconds), scores it on
the same valid/test examples and prints one table: each model, the ensemble and the baseline. With
``--linear`` the same fitted model also joins the model file and the ensemble.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .data.corpus import Example, example_pairs, example_targets
from .linear import DESCRIPTION, MODEL_NAME, LinearClassifier, fit_linear

BASELINE = "baseline"  # the row name of the baseline when it is not a member of the model file


def _selection_score(output: str, threshold: float) -> Callable[[torch.Tensor, Sequence[Any]], float]:
    """What picks the regularization on valid: accuracy, micro-F1 at the threshold, or Pearson."""
    if output == "softmax":
        return lambda probs, y: float((probs.argmax(dim=-1).numpy() == np.asarray(y)).mean())
    if output == "sigmoid":
        def micro_f1(probs: torch.Tensor, y: Sequence[Any]) -> float:
            predicted, truth = probs.numpy() >= threshold, np.asarray(y) > 0.5
            both = (predicted & truth).sum()
            return float(2 * both / max(predicted.sum() + truth.sum(), 1))
        return micro_f1

    def pearson(probs: torch.Tensor, y: Sequence[Any]) -> float:
        pred = probs[:, 0].numpy()
        return 0.0 if np.ptp(pred) == 0 or np.ptp(y) == 0 else float(np.corrcoef(pred, y)[0, 1])
    return pearson


def fit_baseline(
    train: Sequence[Example],
    valid: Sequence[Example],
    labels: Sequence[str],
    multi_label: bool = False,
    pair: bool = False,
    regression: bool = False,
    threshold: float = 0.5,
    tune_thresholds: bool = False,
    seed: int = 42,
    log: Callable[[str], None] = print,
) -> LinearClassifier:
    """TF-IDF word and char n-grams + logistic (or ridge) regression fitted on ``train``, tuned on ``valid``."""
    started = time.time()
    output = "identity" if regression else "sigmoid" if multi_label else "softmax"

    def targets(examples: Sequence[Example]) -> list[Any]:
        if regression:
            from .regression import scores_of

            return scores_of(examples, "labels")
        return example_targets(examples, labels, multi_label)

    model = fit_linear([e.text for e in train], targets(train), labels, output,
                       ([e.text for e in valid], targets(valid)), _selection_score(output, threshold),
                       example_pairs(train, pair), example_pairs(valid, pair), seed)
    model.thresholds = [threshold] * len(labels)
    if multi_label and tune_thresholds:
        from .plm.thresholds import tune_thresholds as tune

        probs = model.probabilities([e.text for e in valid], example_pairs(valid, pair))[MODEL_NAME]
        model.thresholds = tune(probs, torch.tensor(targets(valid)), threshold)
    strength = "alpha" if regression else "C"
    log(f"Baseline ({DESCRIPTION}; {model.features.size:,} features, {strength}={model.regularization:g} chosen on "
        f"valid) fitted in {time.time() - started:.1f}s")
    return model


def _columns(results: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(split, score)`` columns of the table: accuracy and macro-F1, or Pearson, Spearman and MSE."""
    first = next(iter(next(iter(results.values())).values()))
    scores = ("pearson", "spearman", "mse") if first.get("regression") else ("accuracy", "macro_f1")
    return [(split, score) for split in results for score in scores]


def format_scoreboard(
    results: Mapping[str, Mapping[str, Any]], baseline: Mapping[str, Any] | None = None,
    baseline_member: bool = False,
) -> str:
    """One row per model and the ensemble, and the baseline's row, for every split and score.

    ``results`` is ``{split: {model: summary}}``; ``baseline`` is ``{split: summary}`` when the
    baseline is not a member; ``baseline_member`` marks the ``linear`` row as the baseline instead.
    """
    if not results:
        return ""
    columns = _columns(results)
    rows = [name for name in next(iter(results.values()))]
    table = {name: [results[split][name].get(score) for split, score in columns] for name in rows}
    names = {name: f"{name} (= baseline)" if baseline_member and name == MODEL_NAME else name for name in rows}
    if baseline is not None:
        table[BASELINE] = [baseline.get(split, {}).get(score) for split, score in columns]
        names[BASELINE] = "baseline: TF-IDF + linear"
    width = max(len(name) for name in names.values())
    header = [f"{split} {score}" for split, score in columns]
    lines = ["model".ljust(width) + "  " + "  ".join(h.rjust(max(len(h), 6)) for h in header)]
    for name, values in table.items():
        cells = [("" if v is None else f"{v:.4f}").rjust(max(len(h), 6)) for h, v in zip(header, values)]
        lines.append(names[name].ljust(width) + "  " + "  ".join(cells))
    return "\n".join(lines)
