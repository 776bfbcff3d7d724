"""Load a saved classifier and predict class probabilities for raw texts, in batches.

The RNN/CNN path imports neither transformers nor the training engine, so classify.py starts fast.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .data.dataset import PadCollator
from .data.tokenization import TextTokenizer
from .errors import UserError
from .model_file import load_model_file
from .models import build_model
from .predictor import Predictor, is_regression, predict_proba, with_ensemble_weights

__all__ = ["Predictor", "RNNCNNClassifier", "is_regression", "load_predictor", "predict_proba",
           "predictor_from_file_data", "with_ensemble_weights"]


class RNNCNNClassifier:
    """A vocabulary-based classifier bundle: tokenizer, label names and RNN, CNN and/or Transformer models.

    Sentence pairs are read as ``text_a <sep> text_b``; regression models output one value each.
    """

    multi_label = False

    def __init__(
        self,
        tokenizer: TextTokenizer,
        labels: list[str],
        models: dict[str, nn.Module],
        device: torch.device = torch.device("cpu"),
        batch_size: int = 256,
        pair: bool = False,
        regression: bool = False,
    ) -> None:
        self.tokenizer, self.labels, self.models = tokenizer, labels, models
        self.device, self.batch_size = device, batch_size
        self.pair, self.regression = pair, regression
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
        return cls(TextTokenizer.from_dict(data["tokenizer"]), list(data["labels"]), models, device, batch_size,
                   bool(data.get("pair", False)), bool(data.get("regression", False)))

    def to_file_data(self) -> dict[str, Any]:
        data = {"kind": "rnn_cnn", "tokenizer": self.tokenizer.to_dict(), "labels": self.labels,
                "models": {name: {"kwargs": model.init_kwargs, "state_dict": model.state_dict()}
                           for name, model in self.models.items()}}
        if self.pair or self.regression:
            data.update(pair=self.pair, regression=self.regression)
        return data

    def encode(self, texts: Sequence[str], text_pairs: Sequence[str] | None = None) -> list[list[int]]:
        """Token ids of texts, or of ``a <sep> b`` pairs for a sentence-pair model."""
        if self.pair:
            return self.tokenizer.encode_pairs(texts, list(text_pairs) if text_pairs is not None else [""] * len(texts))
        return self.tokenizer.encode(texts)

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Class probabilities (or regression values) of each chosen model, in input order. |probs[name]| = (n, n_classes)."""
        names = list(models or self.models)
        ids = self.encode(texts, text_pairs)
        probs = {name: torch.empty(len(texts), len(self.labels)) for name in names}
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first: little padding per batch
        collate = PadCollator(self.tokenizer.pad_id)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = collate([(i, ids[i], None) for i in order[start:start + self.batch_size]])
                x, lengths = batch["input_ids"].to(self.device), batch["lengths"]
                for name in names:
                    y_hat = self.models[name](x, lengths).float()  # |y_hat| = (batch_size, n_classes)
                    probs[name][batch["index"]] = (y_hat if self.regression else y_hat.exp()).cpu()
        return probs


def load_predictor(path: str | Path, device: torch.device = torch.device("cpu"), batch_size: int = 256) -> Predictor:
    """Any saved classifier, ready to predict; one-line errors for missing, damaged or foreign files."""
    data = load_model_file(path)
    members = [predictor_from_file_data(path, data, device, batch_size)]
    members += [predictor_from_file_data(path, member, device, batch_size) for member in data.get("members", [])]
    if len(members) == 1:
        return with_ensemble_weights(members[0], data)
    from .joint import JointPredictor

    return with_ensemble_weights(JointPredictor(members), data)


def predictor_from_file_data(path: str | Path, data: dict[str, Any], device: torch.device,
                             batch_size: int) -> Predictor:
    """One predictor of a model file (its top level, or one of its ``members``) by its ``kind``."""
    kind = data.get("kind")
    if kind == "rnn_cnn":
        return RNNCNNClassifier.from_file_data(data, device, batch_size)
    if kind == "plm":
        from .plm.predict import PLMClassifier  # imports transformers only for these models

        return PLMClassifier.from_file_data(data, device, batch_size)
    if kind == "linear":
        from .linear import LinearClassifier  # imports scikit-learn only for these models

        return LinearClassifier.from_file_data(data)
    raise UserError(f"{path}: unknown model kind {kind!r}")
