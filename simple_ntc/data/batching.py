"""Length-bucketed batching: similar lengths in a batch, padding per batch, distributed-aware."""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Yield batches of example indices whose lengths are close to each other.

    Training (``shuffle=True``): shuffle all examples, cut them into buckets of ``bucket_batches``
    batches, sort each bucket by length, slice it into batches and shuffle the batch order. The
    order depends only on ``seed`` and the epoch, so a resumed run sees the same batches.
    Inference (``shuffle=False``): longest first, so memory peaks on the first batch.

    With several processes, each global batch of ``batch_size`` is split across the ranks, so all
    ranks see the same number of batches and together the same examples as a single process.
    A training batch with fewer examples than ranks gives the ranks left over a repeated example
    whose :meth:`loss_weight` is 0; inference batches are never padded (a rank may get fewer).
    :meth:`loss_weight` makes the gradient of a global batch the one a single process computes.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        bucket_batches: int = 100,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size}")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.bucket_batches = bucket_batches
        if num_replicas is None or rank is None:
            import ignite.distributed as idist  # here, so that prediction starts without ignite

            num_replicas = idist.get_world_size() if num_replicas is None else num_replicas
            rank = idist.get_rank() if rank is None else rank
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0
        self.start = 0  # batches of the next epoch already trained (a resumed mid-epoch state)
        self._weights: list[float] = []

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Index of the next epoch (0-based), whose first ``start`` batches are skipped (mid-epoch resume).

        Each iteration over the sampler moves the epoch on by one and yields the batches from ``start`` on.
        """
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        if not self.shuffle and self.num_replicas > 1:  # inference batches are not padded with repeats
            return sum(1 for batch in self.global_batches(0) if self._real_count(batch))
        return math.ceil(len(self.lengths) / self.batch_size)

    def loss_weight(self, position: int) -> float:
        """Factor for this rank's mean loss of batch ``position`` (0-based) of the current epoch.

        ``real examples here * ranks / examples in the global batch``: the mean over ranks of the
        weighted per-rank mean losses (what DDP's gradient averaging computes) is the global batch's mean.
        """
        return self._weights[position] if position < len(self._weights) else 1.0

    def global_batches(self, epoch: int) -> list[list[int]]:
        """The batches of all ranks together for ``epoch``."""
        n = len(self.lengths)
        if not self.shuffle:
            order = torch.sort(self.lengths, descending=True, stable=True).indices
            return [order[i:i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        generator = torch.Generator().manual_seed(self.seed + epoch)
        permutation = torch.randperm(n, generator=generator)
        bucket = self.batch_size * self.bucket_batches
        batches: list[list[int]] = []
        for start in range(0, n, bucket):
            chunk = permutation[start:start + bucket]
            chunk = chunk[torch.sort(self.lengths[chunk], descending=True, stable=True).indices]
            batches.extend(chunk[i:i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size))
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in shuffled]

    def _real_count(self, batch: list[int]) -> int:
        """Examples of the global ``batch`` that this rank trains on (0 when it only gets a repeat)."""
        return len(batch[self.rank::self.num_replicas])

    def _shard(self, batch: list[int]) -> list[int]:
        if self.num_replicas == 1:
            return batch
        if len(batch) < self.num_replicas:  # repeat examples so no rank gets an empty batch (loss weight 0)
            batch = (batch * self.num_replicas)[: self.num_replicas]
        return batch[self.rank::self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        epoch, start = self.epoch, self.start
        self.epoch, self.start = epoch + 1, 0
        batches = self.global_batches(epoch)
        if not self.shuffle and self.num_replicas > 1:  # inference: every example exactly once
            batches = [batch for batch in batches if self._real_count(batch)]
            return iter([batch[self.rank::self.num_replicas] for batch in batches[start:]])
        self._weights = [self._real_count(batch) * self.num_replicas / len(batch) for batch in batches]
        return iter([self._shard(batch) for batch in batches[start:]])
