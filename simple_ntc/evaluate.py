"""Score a classifier on labeled examples: each model and, with several, their ensemble.

:func:`report` prints the summaries of each split and saves a confusion-matrix heatmap next to the
model file (``models/x.pth`` -> ``models/x.<split>.confusion.png``); multi-label models get a
per-label TN/FP/FN/TP heatmap instead.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .data.corpus import Example, example_pairs, example_targets
from .errors import UserError
from .metrics import LABEL_COUNT_COLUMNS, argmax, format_summary, multi_label_summary, single_label_summary
from .ensemble import ensemble_probabilities
from .plm.thresholds import apply_thresholds
from .predict import Predictor, is_regression


def check_examples(predictor: Predictor, examples: Sequence[Example], source: str) -> None:
    """Labels the model knows and inputs of its shape (single texts or pairs); ``file:line`` errors otherwise."""
    pair = predictor.pair
    if pair and not any(e.text_pair for e in examples):
        raise UserError(f"{source}: the model classifies sentence pairs, the file has single texts "
                        "(label<TAB>text_a<TAB>text_b, or --text_pair_col)")
    paired = next((e for e in examples if e.text_pair), None)
    if not pair and paired is not None:
        raise UserError(f"{source}:{paired.line}: a sentence pair (3 tab-separated columns), but the model "
                        "classifies single texts; a tab inside a text must be removed or replaced")
    if is_regression(predictor):
        from .regression import scores_of

        scores_of(examples, source)
        return
    known = set(predictor.labels)
    for example in examples:
        unknown = [label for label in example.labels if label not in known]
        if unknown:
            raise UserError(f"{source}:{example.line}: label {unknown[0]!r} is not a label of the model "
                            f"({', '.join(predictor.labels)})")


def evaluate(predictor: Predictor, examples: Sequence[Example], models: Sequence[str] | None = None) -> dict[str, Any]:
    """``{model_name: summary}`` plus ``ensemble`` when more than one model is scored."""
    names = list(models or predictor.model_names)
    probs = predictor.probabilities([e.text for e in examples], example_pairs(examples, predictor.pair), names)
    if len(names) > 1:
        probs["ensemble"] = ensemble_probabilities(predictor, probs)
    return {name: summary_of(predictor, examples, p) for name, p in probs.items()}


def summary_of(predictor: Predictor, examples: Sequence[Example], probs: Any) -> dict[str, Any]:
    """The scores of fixed probabilities (or regression values) of ``examples``. |probs| = (n, n_labels)."""
    if is_regression(predictor):
        from .regression import scores_of, summary

        return summary(scores_of(examples, "labels"), np.asarray(probs)[:, 0])
    y_true = example_targets(examples, predictor.labels, predictor.multi_label)
    if predictor.multi_label:
        return multi_label_summary(np.asarray(y_true, dtype=int),
                                   apply_thresholds(probs, predictor.thresholds).numpy(), predictor.labels)
    return single_label_summary(y_true, argmax(probs), predictor.labels)


def format_evaluation(split: str, summaries: dict[str, Any], labels: Sequence[str]) -> str:
    if any(summary.get("regression") for summary in summaries.values()):
        from .regression import format_summary as format_regression

        return "\n".join(format_regression(f"{split} / {name}", summary) for name, summary in summaries.items())
    return "\n\n".join(format_summary(f"{split} / {name}", summary, labels) for name, summary in summaries.items())


def heatmap_path(model_fn: str | Path, split: str, evaluation: bool = False) -> Path:
    """``models/x.pth`` -> ``models/x.<split>.confusion.png`` (training's splits) or
    ``models/x.eval.<split>.confusion.png`` (``classify.py --eval_fn``: never replaces a training output)."""
    model_fn = Path(model_fn)
    return model_fn.with_name(f"{model_fn.stem}.{'eval.' if evaluation else ''}{split}.confusion.png")


def save_confusion_heatmap(path: Path, summary: Mapping[str, Any], labels: Sequence[str], title: str) -> bool:
    """Write the heatmap of one summary; returns whether label names (not indices) are on its axes."""
    from .plots import save_heatmap

    if "confusion_matrix" in summary:
        return save_heatmap(path, summary["confusion_matrix"], labels, labels, title)
    return save_heatmap(path, summary["label_counts"], labels, LABEL_COUNT_COLUMNS, title, xlabel="", ylabel="label",
                        column_groups=2)


def report(
    predictor: Predictor,
    splits: Mapping[str, Sequence[Example]],
    model_fn: str | Path,
    log: Callable[[str], None] = print,
    models: Sequence[str] | None = None,
    evaluation: bool = False,
) -> dict[str, Any]:
    """Evaluate every non-empty split, print its summaries and save the heatmap of the ensemble (or sole model).

    ``evaluation``: the splits are files scored by ``classify.py --eval_fn`` (heatmaps named apart from
    the ones training wrote, see :func:`heatmap_path`).
    """
    results = {}
    for split, examples in splits.items():
        if not examples:
            continue
        results[split] = evaluate(predictor, examples, models)
        log("\n" + format_evaluation(split, results[split], predictor.labels))
        name = "ensemble" if "ensemble" in results[split] else next(iter(results[split]))
        if results[split][name].get("regression"):
            continue  # scores, not counts: no heatmap
        path = heatmap_path(model_fn, split, evaluation)
        try:
            named = save_confusion_heatmap(path, results[split][name], predictor.labels, f"{split} / {name}")
        except OSError as error:
            log(f"warning: cannot write the confusion heatmap {path}: {error.strerror or error}")
            continue
        key = "" if named else " (no font for the label names; axes show indices: " + ", ".join(
            f"{i}={label}" for i, label in enumerate(predictor.labels)) + ")"
        log(f"Confusion heatmap of {split} / {name}: {path}{key}")
    return results
