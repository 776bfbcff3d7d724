"""How closely a serving backend reproduces PyTorch fp32: probability gap and label agreement."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..predict import Predictor, predict_proba

FP32_TOLERANCE = 1e-4  # ONNX fp32 probabilities must equal PyTorch's within this
INT8_MIN_AGREEMENT = 0.99  # share of int8 labels equal to fp32 labels


@dataclass(frozen=True)
class Agreement:
    """``max_abs_diff`` of probabilities and the share of equal top labels over ``n`` texts."""

    n: int
    max_abs_diff: float
    label_agreement: float

    def __str__(self) -> str:
        return (f"max |p - p_fp32| = {self.max_abs_diff:.2e}, labels equal on {self.label_agreement:.2%} "
                f"of {self.n} texts")


def labels_of(probs: torch.Tensor, multi_label: bool, thresholds: Sequence[float] | None) -> torch.Tensor:
    """Top labels (single-label) or label sets at the thresholds (multi-label). |probs| = (n, n_labels)."""
    if multi_label:
        return probs >= torch.as_tensor(list(thresholds or [0.5] * probs.size(1)))
    return probs.argmax(dim=-1)


def compare(
    reference: Predictor, candidate: Predictor, texts: Sequence[str], text_pairs: Sequence[str] | None = None
) -> Agreement:
    """The ensemble (or sole model) probabilities of ``candidate`` against ``reference`` on ``texts``."""
    expected = predict_proba(reference, texts, text_pairs)  # |expected| = (len(texts), n_labels)
    actual = predict_proba(candidate, texts, text_pairs)
    thresholds = getattr(reference, "thresholds", None)
    same = labels_of(expected, reference.multi_label, thresholds) == labels_of(actual, reference.multi_label,
                                                                               thresholds)
    same = same.all(dim=-1) if same.dim() > 1 else same
    return Agreement(len(texts), float((expected - actual).abs().max()) if len(texts) else 0.0,
                     float(same.float().mean()) if len(texts) else 1.0)
