"""Texts (and sentence pairs) -> token ids with a fast tokenizer -> length-bucketed, per-batch padded batches.

A batch is ``{"inputs": {input_ids, attention_mask[, token_type_ids]}, "index": ..., "labels": ...}``:
``inputs`` go straight into the model's ``forward``; ``labels`` are class indices, or multi-hot rows
for multi-label. Each batch is padded to its own longest sequence, never to ``max_length``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from ..data.batching import BucketBatchSampler
from ..data.dataset import bucketed_loader, pad_rows

Features = dict[str, list[int]]


class PairEncoder:
    """Encode texts, or pairs as ``[CLS] a [SEP] b [SEP]``, truncated to ``max_length`` tokens in all."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_length: int, input_names: Sequence[str]) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.with_token_types = "token_type_ids" in input_names

    def __call__(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> list[Features]:
        encoded = self.tokenizer(list(texts), list(pairs) if pairs is not None else None, truncation=True,
                                 max_length=self.max_length, return_attention_mask=False,
                                 return_token_type_ids=self.with_token_types)
        names = ["input_ids", "token_type_ids"] if self.with_token_types else ["input_ids"]
        return [{name: encoded[name][i] for name in names} for i in range(len(texts))]


class FeatureDataset(Dataset):
    """Encoded examples with optional targets; ``lengths`` drive the bucketing."""

    def __init__(self, features: list[Features], targets: Sequence[Any] | None = None) -> None:
        self.features = features
        self.targets = targets
        self.lengths = [len(f["input_ids"]) for f in features]

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> tuple[int, Features, Any]:
        return index, self.features[index], None if self.targets is None else self.targets[index]


class PadToLongest:
    """Collate encoded examples, padding each batch to its longest sequence on the tokenizer's side."""

    def __init__(self, pad_id: int, padding_side: str = "right") -> None:
        self.pad_id = pad_id
        self.left = padding_side == "left"

    def __call__(self, items: list[tuple[int, Features, Any]]) -> dict[str, Any]:
        ids = [f["input_ids"] for _, f, _ in items]
        inputs = {"input_ids": pad_rows(ids, self.pad_id, self.left),  # |input_ids| = (batch_size, longest)
                  "attention_mask": pad_rows([[1] * len(row) for row in ids], 0, self.left)}
        if "token_type_ids" in items[0][1]:
            inputs["token_type_ids"] = pad_rows([f["token_type_ids"] for _, f, _ in items], 0, self.left)
        batch: dict[str, Any] = {"inputs": inputs, "index": torch.tensor([i for i, _, _ in items])}
        targets = [t for _, _, t in items]
        if targets[0] is not None:
            multi_hot, scores = isinstance(targets[0], list), isinstance(targets[0], float)
            # |labels| = (batch_size,) class indices or regression scores, or (batch_size, n_labels) multi-hot
            batch["labels"] = torch.tensor(targets, dtype=torch.float if multi_hot or scores else torch.long)
        return batch


def make_loader(
    dataset: FeatureDataset, collate: PadToLongest, batch_size: int, shuffle: bool, seed: int = 0,
    num_workers: int = 0,
) -> DataLoader:
    """Length-bucketed batches: shuffled buckets for training, longest first for inference."""
    sampler = BucketBatchSampler(dataset.lengths, batch_size, shuffle=shuffle, seed=seed)
    return bucketed_loader(dataset, sampler, collate, seed, num_workers)
