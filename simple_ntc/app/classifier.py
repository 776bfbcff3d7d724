"""The page's classifier: one text (or sentence pair) -> the labels classify.py prints and every probability."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..predict import Predictor, predict_proba
from .highlight import WordScorer

ENSEMBLE = "ensemble"


@dataclass
class Prediction:
    """What the page shows for one input."""

    label_field: str  # exactly the label field classify.py prints for the same line
    probabilities: list[tuple[str, float]]  # every label, most probable first
    predicted: list[str]  # the labels of label_field
    thresholds: dict[str, float] | None = None  # multi-label: each label's threshold
    word_scores: list[tuple[str, float]] | None = None  # the words behind the first predicted label


class ClassifierService:
    """A loaded classifier answering like ``classify.py --top_k K`` (multi-label: every label at its threshold).

    ``word_scorer`` (optional) gives per-word scores of the predicted label; with one, each prediction
    carries the words behind it.
    """

    def __init__(self, predictor: Predictor, top_k: int = 1, word_scorer: WordScorer | None = None) -> None:
        self.predictor, self.top_k, self.word_scorer = predictor, top_k, word_scorer

    @property
    def model_choices(self) -> list[str]:
        """``ensemble`` (every model, classify.py's default) then each model, when there are several."""
        names = list(self.predictor.model_names)
        return [ENSEMBLE, *names] if len(names) > 1 else names

    def predict(self, text: str, text_pair: str | None = None, model: str | None = None) -> Prediction | None:
        """The prediction for one input; None for an empty input (classify.py prints no label for it)."""
        text = text.replace("\r\n", "\n").rstrip("\n")
        pair = (text_pair or "").replace("\r\n", "\n").rstrip("\n") if self.predictor.pair else None
        if not text.strip() and not (pair or "").strip():
            return None
        models = None if model in (None, ENSEMBLE) else [model]
        probs = predict_proba(self.predictor, [text], [pair] if pair is not None else None, models)[0]
        # |probs| = (n_labels,)
        labels = self.predictor.labels
        order = self._predicted_indices(probs)
        ranked = [(labels[i], float(probs[i])) for i in probs.argsort(descending=True).tolist()]
        thresholds = dict(zip(labels, map(float, self.predictor.thresholds))) if self.predictor.multi_label else None
        prediction = Prediction(self._label_field([labels[i] for i in order]), ranked, [labels[i] for i in order],
                                thresholds)
        if self.word_scorer is not None and prediction.predicted:
            prediction.word_scores = list(self.word_scorer(text, pair, prediction.predicted[0]))
        return prediction

    def _predicted_indices(self, probs: torch.Tensor) -> list[int]:
        if self.predictor.multi_label:
            thresholds = self.predictor.thresholds
            return [i for i in probs.argsort(descending=True).tolist() if probs[i] >= thresholds[i]]
        return torch.topk(probs, min(self.top_k, len(probs))).indices.tolist()

    def _label_field(self, names: Sequence[str]) -> str:
        return (",".join if self.predictor.multi_label else " ".join)(names)  # multi-label names may hold spaces
