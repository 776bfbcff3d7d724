"""What every saved classifier offers (the :class:`Predictor` protocol) and the ensemble of its models.

Torch-free: classify.py's ONNX path imports only this, numpy and ONNX Runtime. The PyTorch
predictors and :func:`~simple_ntc.predict.load_predictor` live in :mod:`simple_ntc.predict`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .ensemble import ensemble_probabilities


class Predictor(Protocol):
    """What classify.py and the training report need from any saved classifier.

    Regression models (``train.py --regression``, e.g. sentence-pair similarity) also set
    ``regression = True`` (read it with :func:`is_regression`: predictors without the attribute are
    classifiers); their ``labels`` is ``["score"]`` and ``probabilities`` returns, per model, the
    predicted values as |scores| = (len(texts), 1) instead of probabilities. The ensemble of
    regression models is the mean of their predictions, as for probabilities.

    A predictor may also carry ``ensemble_weights`` (``{model_name: weight}``, chosen on validation by
    train.py and saved in the model file): the ensemble is then the weighted mean
    (:func:`~simple_ntc.ensemble.ensemble_probabilities`).
    """

    labels: list[str]
    multi_label: bool
    pair: bool  # inputs are sentence pairs (text_a, text_b)
    model_names: list[str]

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Per chosen model, |probs| = (len(texts), len(labels)) in input order: softmax, or sigmoid if multi-label.

        For regression models: the predicted values, |scores| = (len(texts), 1). Torch tensors, except
        for classify.py's torch-free ONNX predictor (numpy arrays; :func:`predict_proba` takes either).
        """
        ...


def is_regression(predictor: Predictor) -> bool:
    """Whether ``predictor`` predicts a real value (``--regression``) rather than labels."""
    return bool(getattr(predictor, "regression", False))


def predict_proba(
    predictor: Predictor, texts: Sequence[str], text_pairs: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> Any:
    """Probabilities of the (ensemble of the) chosen models. |probs| = (len(texts), len(labels))."""
    return ensemble_probabilities(predictor, predictor.probabilities(texts, text_pairs, models))


def with_ensemble_weights(predictor: Predictor, data: dict[str, Any]) -> Predictor:
    """``predictor`` carrying the file's ``ensemble_weights`` (numbers per model name; others ignored)."""
    saved = data.get("ensemble_weights")
    if isinstance(saved, dict) and saved:
        names = set(predictor.model_names)
        predictor.ensemble_weights = {str(k): float(v) for k, v in saved.items()  # type: ignore[attr-defined]
                                      if k in names and isinstance(v, (int, float))}
    return predictor
