"""Score a classifier on labeled examples: each model and, with several, their ensemble."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .data.corpus import Example
from .metrics import argmax, format_summary, single_label_summary
from .models.ensemble import mean_probabilities
from .predict import Predictor


def evaluate(predictor: Predictor, examples: Sequence[Example], models: Sequence[str] | None = None) -> dict[str, Any]:
    """``{model_name: summary}`` plus ``ensemble`` when more than one model is scored."""
    names = list(models or predictor.model_names)
    index = {label: i for i, label in enumerate(predictor.labels)}
    y_true = [index[e.label] for e in examples]
    texts = [e.text for e in examples]
    pairs = [e.text_pair or "" for e in examples] if any(e.text_pair for e in examples) else None
    probs = predictor.probabilities(texts, pairs, names)
    if len(names) > 1:
        probs["ensemble"] = mean_probabilities(list(probs.values()))
    return {name: single_label_summary(y_true, argmax(p), predictor.labels) for name, p in probs.items()}


def format_evaluation(split: str, summaries: dict[str, Any], labels: Sequence[str]) -> str:
    return "\n\n".join(format_summary(f"{split} / {name}", summary, labels) for name, summary in summaries.items())
