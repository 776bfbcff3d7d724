"""Encoded examples as a Dataset, padded per batch and served in length buckets."""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

from .batching import BucketBatchSampler


def pad_rows(rows: Sequence[Sequence[int]], value: int, left: bool = False) -> torch.Tensor:
    """Token-id rows padded with ``value`` to the longest (on the left if asked). |result| = (len(rows), longest)."""
    return pad_sequence([torch.as_tensor(row, dtype=torch.long) for row in rows], batch_first=True,
                        padding_value=value, padding_side="left" if left else "right")


class EncodedDataset(Dataset):
    """Token-id sequences with optional targets (class indices, or multi-hot rows for multi-label)."""

    def __init__(self, ids: Sequence[Sequence[int]], targets: Sequence | None = None) -> None:
        self.ids = list(ids)
        self.targets = targets
        self.lengths = [len(x) for x in self.ids]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[int, Sequence[int], object]:
        return index, self.ids[index], None if self.targets is None else self.targets[index]


class PadCollator:
    """Pad a batch to its own longest sequence: ``input_ids``, ``lengths``, ``index`` and ``labels``."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[tuple[int, Sequence[int], object]]) -> dict[str, torch.Tensor]:
        lengths = torch.tensor([len(ids) for _, ids, _ in items])
        input_ids = pad_rows([ids for _, ids, _ in items], self.pad_id)
        batch = {"input_ids": input_ids,  # |input_ids| = (batch_size, max_length_in_batch)
                 "lengths": lengths, "index": torch.tensor([i for i, _, _ in items])}
        if items[0][2] is not None:
            batch["labels"] = torch.tensor([t for _, _, t in items])
        return batch


def make_loader(
    dataset: EncodedDataset,
    pad_id: int,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    num_workers: int = 0,
) -> DataLoader:
    """Length-bucketed batches (shuffled for training, longest-first for inference).

    Built by ``idist.auto_dataloader``; the bucket sampler already splits batches across processes.
    """
    sampler = BucketBatchSampler(dataset.lengths, batch_size, shuffle=shuffle, seed=seed)
    return bucketed_loader(dataset, sampler, PadCollator(pad_id), seed, num_workers)


def bucketed_loader(
    dataset: Dataset, sampler: BucketBatchSampler, collate_fn: object, seed: int = 0, num_workers: int = 0
) -> DataLoader:
    """``idist.auto_dataloader`` over a distributed-aware :class:`BucketBatchSampler`.

    The loader gets its own generator so creating an iterator never draws from the global RNG
    (which would break exact resume).
    """
    import ignite.distributed as idist  # here, so that prediction (classify.py) starts without ignite

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found batch_sampler in provided kwargs")
        return idist.auto_dataloader(dataset, batch_sampler=sampler, collate_fn=collate_fn, num_workers=num_workers,
                                     generator=torch.Generator().manual_seed(seed))
