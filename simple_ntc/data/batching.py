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

    def set_epoch(self, epoch: int) -> None:
        """Index of the next epoch (0-based); each iteration over the sampler moves it on by one."""
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

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

    def _shard(self, batch: list[int]) -> list[int]:
        if self.num_replicas == 1:
            return batch
        if len(batch) < self.num_replicas:  # repeat examples so no rank gets an empty batch
            batch = (batch * self.num_replicas)[: self.num_replicas]
        return batch[self.rank::self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        epoch = self.epoch
        self.epoch += 1
        return iter([self._shard(batch) for batch in self.global_batches(epoch)])
