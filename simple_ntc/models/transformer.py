"""A small Transformer encoder classifier trained from scratch (the light "basic transformer" model)."""
from __future__ import annotations

import math

import torch
from torch import nn

POSITIONS = ("learned", "sinusoidal")
POOLINGS = ("mean", "cls")


def sinusoidal_table(max_length: int, size: int) -> torch.Tensor:
    """Vaswani et al.'s fixed position encodings. |table| = (max_length, size)."""
    position = torch.arange(max_length, dtype=torch.float).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, size, 2, dtype=torch.float) * (-math.log(10000.0) / size))
    table = torch.zeros(max_length, size)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : size // 2]
    return table


class TransformerClassifier(nn.Module):
    """Embedding (+ positions) -> pre-norm Transformer encoder layers -> mean or class-token pooling -> linear.

    Padding is masked in attention and in mean pooling, so a text scores the same in any batch.
    ``pooling="cls"`` prepends a learned class token and classifies its final state. With
    ``regression`` the single output is the predicted value itself, otherwise log-probabilities.
    """

    def __init__(
        self,
        input_size: int,
        word_vec_size: int,
        hidden_size: int,
        n_classes: int,
        n_layers: int = 2,
        n_heads: int = 4,
        ff_size: int = 512,
        dropout: float = 0.1,
        max_length: int = 256,
        positions: str = "learned",
        pooling: str = "mean",
        pad_id: int = 0,
        regression: bool = False,
    ) -> None:
        super().__init__()
        if hidden_size % n_heads:
            raise ValueError(f"hidden_size ({hidden_size}) must be divisible by n_heads ({n_heads})")
        if positions not in POSITIONS or pooling not in POOLINGS:
            raise ValueError(f"positions must be one of {POSITIONS} and pooling one of {POOLINGS}")
        # Saved with the weights so that a model file can rebuild the module.
        self.init_kwargs = dict(input_size=input_size, word_vec_size=word_vec_size, hidden_size=hidden_size,
                                n_classes=n_classes, n_layers=n_layers, n_heads=n_heads, ff_size=ff_size,
                                dropout=dropout, max_length=max_length, positions=positions, pooling=pooling,
                                pad_id=pad_id, regression=regression)
        self.pooling, self.pad_id = pooling, pad_id
        self.emb = nn.Embedding(input_size, word_vec_size, padding_idx=pad_id)
        self.project = nn.Linear(word_vec_size, hidden_size) if word_vec_size != hidden_size else nn.Identity()
        self.scale = math.sqrt(hidden_size)
        n_positions = max_length + 1  # room for the class token
        if positions == "learned":
            self.positions = nn.Parameter(torch.randn(n_positions, hidden_size) * 0.02)
        else:
            self.register_buffer("positions", sinusoidal_table(n_positions, hidden_size), persistent=False)
        self.cls = nn.Parameter(torch.randn(1, 1, hidden_size) * 0.02) if pooling == "cls" else None
        layer = nn.TransformerEncoderLayer(hidden_size, n_heads, ff_size, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(hidden_size),
                                             enable_nested_tensor=False)
        self.dropout = nn.Dropout(dropout)
        self.generator = nn.Linear(hidden_size, n_classes)
        self.activation = nn.Identity() if regression else nn.LogSoftmax(dim=-1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # |x| = (batch_size, length), |lengths| = (batch_size,)
        h = self.project(self.emb(x)) * self.scale  # |h| = (batch_size, length, hidden_size)
        padding = torch.arange(x.size(1), device=x.device)[None, :] >= lengths.to(x.device)[:, None]
        if self.cls is not None:
            h = torch.cat([self.cls.expand(x.size(0), -1, -1), h], dim=1)
            padding = nn.functional.pad(padding, (1, 0), value=False)
        h = self.dropout(h + self.positions[: h.size(1)])
        h = self.encoder(h, src_key_padding_mask=padding)  # |h| = (batch_size, length(+1), hidden_size)
        if self.cls is not None:
            pooled = h[:, 0]
        else:
            keep = (~padding).unsqueeze(-1).to(h.dtype)
            pooled = (h * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)  # |pooled| = (batch_size, hidden_size)
        return self.activation(self.generator(self.dropout(pooled)))  # |y_hat| = (batch_size, n_classes)
