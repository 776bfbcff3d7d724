"""Summarization batches filled up to a token budget (``--max_tokens``): dialogue plus summary tokens."""
from __future__ import annotations

from torch.utils.data import DataLoader

from simple_ntc.data.token_budget import token_budget_loader

from .features import Collator, SummarizationDataset


def example_costs(dataset: SummarizationDataset) -> list[int]:
    """Tokens of each example: its source plus its target (both are padded per batch)."""
    targets = dataset.targets or [[] for _ in dataset.sources]
    return [len(source) + len(target) for source, target in zip(dataset.sources, targets)]


def token_budget_training_loader(dataset: SummarizationDataset, max_tokens: int, seed: int, pad_id: int,
                                 num_workers: int = 0) -> DataLoader:
    """Shuffled token-budget batches (split across processes when distributed)."""
    return token_budget_loader(dataset, example_costs(dataset), max_tokens, Collator(pad_id), seed, num_workers)
