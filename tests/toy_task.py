"""A tiny classification task for engine tests: random token sequences whose label is their first token's parity."""
from __future__ import annotations

import torch
from ignite.metrics import Accuracy, Loss
from torch import nn
from torch.utils.data import DataLoader, Dataset

from simple_ntc.data.batching import BucketBatchSampler
from simple_ntc.data.dataset import bucketed_loader
from simple_ntc.engine import StepOutput

VOCAB = 20


class ToyDataset(Dataset):
    def __init__(self, n: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.lengths = torch.randint(2, 9, (n,), generator=g).tolist()
        self.tokens = [torch.randint(1, VOCAB, (length,), generator=g) for length in self.lengths]
        self.labels = [int(t[0] % 2) for t in self.tokens]

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.tokens[i], self.labels[i]


def collate(items: list[tuple[torch.Tensor, int]]) -> dict[str, torch.Tensor]:
    x = nn.utils.rnn.pad_sequence([t for t, _ in items], batch_first=True)  # |x| = (batch_size, length)
    return {"x": x, "y": torch.tensor([y for _, y in items])}


class ToyModel(nn.Module):
    def __init__(self, hidden: int = 8, dropout: float = 0.2) -> None:
        super().__init__()
        self.emb = nn.Embedding(VOCAB, hidden, padding_idx=0)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.emb(x)[:, 0])  # |h| = (batch_size, hidden)
        return torch.log_softmax(self.out(self.dropout(h)), dim=-1)  # |y_hat| = (batch_size, 2)


def loss_fn(model: nn.Module, batch: dict) -> StepOutput:
    y_hat = model(batch["x"])
    return StepOutput(nn.functional.nll_loss(y_hat, batch["y"]), (y_hat.argmax(-1) == batch["y"]).float().mean())


def eval_fn(model: nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    return model(batch["x"]), batch["y"]


def metrics() -> dict:
    return {"loss": Loss(nn.NLLLoss()), "accuracy": Accuracy()}


def loader(dataset: ToyDataset, batch_size: int, shuffle: bool, seed: int = 0) -> DataLoader:
    sampler = BucketBatchSampler(dataset.lengths, batch_size, shuffle=shuffle, seed=seed, bucket_batches=3)
    return bucketed_loader(dataset, sampler, collate, seed)
