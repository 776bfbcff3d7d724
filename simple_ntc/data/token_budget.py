"""Batches filled up to a token budget (``--max_tokens``) instead of a fixed row count, as fairseq does.

A batch costs ``rows x longest`` padded tokens; short texts travel in many-row batches, long ones
in few-row batches, so every update does about the same work and little of it is padding.
Batches are formed once (examples sorted by length, ties broken by the seed) and only their
order is shuffled per epoch, so every epoch has the same number of updates: the learning-rate
schedule is counted in updates as with ``--batch_size``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from .batching import BucketBatchSampler
from .dataset import bucketed_loader


def token_budget_batches(lengths: Sequence[int], max_tokens: int, seed: int = 0,
                         max_rows: int | None = None) -> list[list[int]]:
    """Indices grouped so that ``len(batch) * max(length in batch) <= max_tokens`` (an over-long text alone).

    Longest first; examples of equal length are ordered by a permutation seeded with ``seed``.
    """
    lengths = torch.as_tensor(list(lengths), dtype=torch.long)
    permutation = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed))
    order = permutation[torch.sort(lengths[permutation], descending=True, stable=True).indices].tolist()
    batches: list[list[int]] = []
    batch: list[int] = []
    longest = 0
    for index in order:
        length = int(lengths[index])
        too_many = max_rows is not None and len(batch) >= max_rows
        if batch and (too_many or (len(batch) + 1) * max(longest, length) > max_tokens):
            batches.append(batch)
            batch, longest = [], 0
        batch.append(index)
        longest = max(longest, length)
    if batch:
        batches.append(batch)
    return batches


class TokenBudgetBatchSampler(BucketBatchSampler):
    """:class:`BucketBatchSampler`'s interface (``set_epoch``, ``len``, ``global_batches``, sharding across
    processes) with batches of at most ``max_tokens`` padded tokens (all processes together) instead of
    ``batch_size`` rows.

    Training (``shuffle=True``): the fixed batches in an order drawn from ``seed`` and the epoch.
    Inference (``shuffle=False``): longest first.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_tokens: int,
        shuffle: bool = True,
        seed: int = 0,
        max_rows: int | None = None,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        if max_tokens < 1:
            raise ValueError(f"max_tokens should be a positive integer, got {max_tokens}")
        super().__init__(lengths, 1, shuffle=shuffle, seed=seed, num_replicas=num_replicas, rank=rank)
        self.max_tokens, self.max_rows = max_tokens, max_rows
        self.batches = token_budget_batches(self.lengths.tolist(), max_tokens, seed, max_rows)
        self.batch_size = max(len(batch) for batch in self.batches) if self.batches else 1  # the largest batch

    def __len__(self) -> int:
        if not self.shuffle and self.num_replicas > 1:  # inference: batches without an example here are skipped
            return super().__len__()
        return len(self.batches)

    def global_batches(self, epoch: int) -> list[list[int]]:
        """The batches of all ranks together for ``epoch``."""
        if not self.shuffle:
            return [list(batch) for batch in self.batches]
        generator = torch.Generator().manual_seed(self.seed + epoch)
        return [list(self.batches[i]) for i in torch.randperm(len(self.batches), generator=generator).tolist()]

    def padded_tokens(self) -> int:
        """Tokens of all batches with padding (what the budget bounds), for reports."""
        return sum(len(batch) * int(self.lengths[batch].max()) for batch in self.batches)


def token_budget_loader(dataset: Dataset, lengths: Sequence[int], max_tokens: int, collate_fn: Any,
                        seed: int = 0, num_workers: int = 0, shuffle: bool = True) -> DataLoader:
    """A training loader of ``dataset`` in token-budget batches (``idist.auto_dataloader``, like the bucketed one)."""
    sampler = TokenBudgetBatchSampler(lengths, max_tokens, shuffle=shuffle, seed=seed)
    return bucketed_loader(dataset, sampler, collate_fn, seed, num_workers)
