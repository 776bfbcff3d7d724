"""Load a saved classifier and predict class probabilities for raw texts, in batches.

The RNN/CNN path imports neither transformers nor the training engine, so classify.py starts fast.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from .data.dataset import PadCollator
from .data.tokenization import TextTokenizer
from .errors import UserError
from .model_file import load_model_file
from .models import build_model
from .models.ensemble import mean_probabilities


class Predictor(Protocol):
    """What classify.py and the training report need from any saved classifier."""

    labels: list[str]
    multi_label: bool
    pair: bool  # inputs are sentence pairs (text_a, text_b)
    model_names: list[str]

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Per chosen model, |probs| = (len(texts), len(labels)) in input order: softmax, or sigmoid if multi-label."""
        ...


def predict_proba(
    predictor: Predictor, texts: Sequence[str], text_pairs: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> torch.Tensor:
    """Probabilities of the (ensemble of the) chosen models. |probs| = (len(texts), len(labels))."""
    return mean_probabilities(list(predictor.probabilities(texts, text_pairs, models).values()))


class RNNCNNClassifier:
    """A vocabulary-based classifier bundle: tokenizer, label names and RNN and/or CNN models."""

    multi_label = False
    pair = False

    def __init__(
        self,
        tokenizer: TextTokenizer,
        labels: list[str],
        models: dict[str, nn.Module],
        device: torch.device = torch.device("cpu"),
        batch_size: int = 256,
    ) -> None:
        self.tokenizer, self.labels, self.models = tokenizer, labels, models
        self.device, self.batch_size = device, batch_size
        for model in models.values():
            model.to(device).eval()

    @property
    def model_names(self) -> list[str]:
        return list(self.models)

    @classmethod
    def from_file_data(cls, data: dict[str, Any], device: torch.device, batch_size: int) -> "RNNCNNClassifier":
        models = {}
        for name, saved in data["models"].items():
            model = build_model(name, saved["kwargs"])
            model.load_state_dict(saved["state_dict"])
            models[name] = model
        return cls(TextTokenizer.from_dict(data["tokenizer"]), list(data["labels"]), models, device, batch_size)

    def to_file_data(self) -> dict[str, Any]:
        return {"kind": "rnn_cnn", "tokenizer": self.tokenizer.to_dict(), "labels": self.labels,
                "models": {name: {"kwargs": model.init_kwargs, "state_dict": model.state_dict()}
                           for name, model in self.models.items()}}

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Class probabilities of each chosen model, in input order. |probs[name]| = (n, n_classes)."""
        names = list(models or self.models)
        ids = self.tokenizer.encode(texts)
        probs = {name: torch.empty(len(texts), len(self.labels)) for name in names}
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first: little padding per batch
        collate = PadCollator(self.tokenizer.pad_id)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = collate([(i, ids[i], None) for i in order[start:start + self.batch_size]])
                x, lengths = batch["input_ids"].to(self.device), batch["lengths"]
                for name in names:
                    probs[name][batch["index"]] = self.models[name](x, lengths).exp().float().cpu()
        return probs


def load_predictor(path: str | Path, device: torch.device = torch.device("cpu"), batch_size: int = 256) -> Predictor:
    """Any saved classifier, ready to predict; one-line errors for missing, damaged or foreign files."""
    data = load_model_file(path)
    kind = data.get("kind")
    if kind == "rnn_cnn":
        return RNNCNNClassifier.from_file_data(data, device, batch_size)
    if kind == "plm":
        from .plm.predict import PLMClassifier  # imports transformers only for these models

        return PLMClassifier.from_file_data(data, device, batch_size)
    raise UserError(f"{path}: unknown model kind {kind!r}")
