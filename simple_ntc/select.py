"""``classify.py --select_uncertain N``: the lines most worth labeling next.

``uncertainty`` (single-label): ``(1 - max p) * K / (K - 1)``, 0 for a sure model and 1 for a uniform one.
Multi-label: the label closest to its threshold decides, ``1 - |p - t| / t`` below the threshold and
``1 - |p - t| / (1 - t)`` above it (1 at the threshold, 0 at probability 0 or 1). ``rarity``: the share of
a line's tokens that the model's vocabulary does not know. ``mixed``: the mean of both.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from .errors import UserError
from .predict import Predictor, RNNCNNClassifier

CRITERIA = ("uncertainty", "rarity", "mixed")


def uncertainty(probs: torch.Tensor, multi_label: bool, thresholds: Sequence[float] | None = None) -> torch.Tensor:
    """|probs| = (n, K) -> |scores| = (n,) in [0, 1], higher is more uncertain."""
    if multi_label:
        t = torch.tensor(list(thresholds) if thresholds is not None else [0.5] * probs.shape[1])
        room = torch.where(probs < t, t, 1 - t)  # distance from the threshold to the nearer end
        return (1 - (probs - t).abs() / room).clamp(0, 1).max(dim=1).values
    k = probs.shape[1]
    return (1 - probs.max(dim=1).values) * k / (k - 1)


def _unknown_share(predictor: Predictor, texts: Sequence[str]) -> list[float]:
    """Share of unknown tokens of each text for the model's own tokenizer."""
    member = predictor.members[0] if hasattr(predictor, "members") else predictor
    if isinstance(member, RNNCNNClassifier):
        unk, ids = member.tokenizer.unk_id, member.tokenizer.encode(texts)
    elif type(member).__name__ == "PLMClassifier":
        tokenizer = member.tokenizer
        unk = tokenizer.unk_token_id
        ids = tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=member.max_length)["input_ids"]
    else:
        raise UserError("--select_by rarity needs a model with a token vocabulary (RNN/CNN/Transformer or --bert)")
    return [sum(i == unk for i in row) / len(row) if row else 1.0 for row in ids]


def rarity(predictor: Predictor, texts: Sequence[str], pairs: Sequence[str] | None = None) -> torch.Tensor:
    """|scores| = (n,): the share of unknown tokens of each line (pairs: the mean of both texts' shares)."""
    shares = _unknown_share(predictor, texts)
    if pairs is not None:
        shares = [(a + b) / 2 for a, b in zip(shares, _unknown_share(predictor, pairs))]
    return torch.tensor(shares)


def selection_scores(predictor: Predictor, probs: torch.Tensor, texts: Sequence[str], pairs: Sequence[str] | None,
                     criterion: str) -> torch.Tensor:
    """|scores| = (n,) by ``criterion`` (one of :data:`CRITERIA`)."""
    if criterion == "rarity":
        return rarity(predictor, texts, pairs)
    scores = uncertainty(probs, predictor.multi_label, getattr(predictor, "thresholds", None))
    return scores if criterion == "uncertainty" else (scores + rarity(predictor, texts, pairs)) / 2


def most_useful(scores: torch.Tensor, n: int) -> list[int]:
    """Indices of the ``n`` highest scores, highest first (ties: input order)."""
    return sorted(range(len(scores)), key=lambda i: -float(scores[i]))[:n]
