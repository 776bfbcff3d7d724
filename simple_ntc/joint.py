"""Several predictors over the same labels served as one, e.g. RNN/CNN (or ``--bert``) plus the ``--linear`` model.

Each member keeps its own input handling (vocabulary, fast tokenizer, TF-IDF); the joint predictor
answers for the union of their model names, so the ensemble, ``--drop_*``, the report and every other
user of the :class:`~simple_ntc.predict.Predictor` protocol see one bundle of models.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .errors import UserError


class JointPredictor:
    """Members with the same labels and input shape; the first one also gives the file its ``kind``."""

    def __init__(self, members: Sequence[Any]) -> None:
        if not members:
            raise ValueError("a joint predictor needs at least one member")
        self.members = list(members)
        first = self.members[0]
        self.labels, self.multi_label, self.pair = list(first.labels), first.multi_label, first.pair
        self.regression = bool(getattr(first, "regression", False))
        for member in self.members[1:]:
            if list(member.labels) != self.labels or member.multi_label != self.multi_label:
                raise UserError("the models of one file must share their labels and their single/multi-label mode")
        names = [name for member in self.members for name in member.model_names]
        if len(set(names)) != len(names):
            raise UserError(f"two members of one model file share a model name: {', '.join(names)}")

    @property
    def model_names(self) -> list[str]:
        return [name for member in self.members for name in member.model_names]

    @property
    def thresholds(self) -> list[float]:
        return list(getattr(self.members[0], "thresholds", [0.5] * len(self.labels)))

    @thresholds.setter
    def thresholds(self, values: Sequence[float]) -> None:
        for member in self.members:
            member.thresholds = list(values)

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Per chosen model, |probs| = (len(texts), len(labels)), in the order of ``models``."""
        chosen = list(models or self.model_names)
        probs: dict[str, torch.Tensor] = {}
        for member in self.members:
            mine = [name for name in chosen if name in member.model_names]
            if mine:
                probs.update(member.probabilities(texts, text_pairs, mine))
        return {name: probs[name] for name in chosen}

    def to_file_data(self) -> dict[str, Any]:
        """The first member's file data, the others under ``members`` (plain types only)."""
        return {**self.members[0].to_file_data(), "members": [m.to_file_data() for m in self.members[1:]]}
