"""A fine-tuned transformer classifier as classify.py and the training report use it (the ``Predictor`` protocol)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from ..data.batching import BucketBatchSampler
from .data import FeatureDataset, PadToLongest, PairEncoder
from .model import (
    config_to_dict,
    model_from_state,
    model_input_names,
    plain_state_dict,
    tokenizer_files,
    tokenizer_from_files,
)

MODEL_NAME = "bert"  # the key of this model in reports and --drop flags, as simple-ntc named it


class PLMClassifier:
    """Model, tokenizer, label names, whether inputs are sentence pairs, and multi-label thresholds."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        labels: Sequence[str],
        multi_label: bool = False,
        pair: bool = False,
        max_length: int = 128,
        thresholds: Sequence[float] | None = None,
        device: torch.device = torch.device("cpu"),
        batch_size: int = 64,
        source: str | None = None,
        regression: bool = False,
    ) -> None:
        self.model, self.tokenizer = model.to(device).eval(), tokenizer
        self.labels, self.multi_label, self.pair = list(labels), multi_label, pair
        self.max_length, self.device, self.batch_size, self.source = max_length, device, batch_size, source
        self.thresholds = list(thresholds) if thresholds is not None else [0.5] * len(self.labels)
        self.regression = regression  # one output: the predicted score (see the Predictor protocol)
        self.input_names = model_input_names(model, tokenizer)
        self.encode = PairEncoder(tokenizer, max_length, self.input_names)
        self.collate = PadToLongest(tokenizer.pad_token_id, tokenizer.padding_side)

    @property
    def model_names(self) -> list[str]:
        return [MODEL_NAME]

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Softmax (or per-label sigmoid) probabilities in input order. |probs| = (len(texts), n_labels)."""
        probs = torch.empty(len(texts), len(self.labels))
        if not texts:
            return {MODEL_NAME: probs}
        pairs = (list(text_pairs) if text_pairs is not None else [""] * len(texts)) if self.pair else None
        dataset = FeatureDataset(self.encode(texts, pairs))
        # one process predicts everything: a sampler of its own, longest batches first
        sampler = BucketBatchSampler(dataset.lengths, self.batch_size, shuffle=False, num_replicas=1, rank=0)
        with torch.inference_mode():
            for batch in DataLoader(dataset, batch_sampler=sampler, collate_fn=self.collate):
                inputs = {name: tensor.to(self.device) for name, tensor in batch["inputs"].items()}
                logits = self.model(**inputs).logits.float()
                # |logits| = (batch_size, n_labels)
                scores = (logits if self.regression else torch.sigmoid(logits) if self.multi_label
                          else torch.softmax(logits, dim=-1))
                probs[batch["index"]] = scores.cpu()
        return {MODEL_NAME: probs}

    def to_file_data(self) -> dict[str, Any]:
        """Everything classify.py needs, as state_dicts and plain types."""
        return {"kind": "plm", "labels": self.labels, "multi_label": self.multi_label, "pair": self.pair,
                "max_length": self.max_length, "thresholds": [float(t) for t in self.thresholds],
                "pretrained_model_name": self.source, "model_config": config_to_dict(self.model.config),
                "state_dict": plain_state_dict(self.model), "tokenizer_files": tokenizer_files(self.tokenizer),
                "regression": self.regression}

    @classmethod
    def from_file_data(cls, data: dict[str, Any], device: torch.device, batch_size: int) -> "PLMClassifier":
        model = model_from_state(data["model_config"], data["state_dict"])
        tokenizer = tokenizer_from_files(data["tokenizer_files"])
        return cls(model, tokenizer, data["labels"], data["multi_label"], data["pair"], data["max_length"],
                   data["thresholds"], device, batch_size, data.get("pretrained_model_name"),
                   bool(data.get("regression", False)))
