"""Kim (2014) convolutional text classifier (simple-ntc's CNNClassifier, padding-aware)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class CNNClassifier(nn.Module):
    """Embedding -> parallel convolutions of several window sizes -> max over time -> dropout -> linear.

    Max pooling only looks at windows that start inside the text, so padding never wins; texts
    shorter than the largest window are padded up to it and still give one window.
    """

    def __init__(
        self,
        input_size: int,
        word_vec_size: int,
        n_classes: int,
        use_batch_norm: bool = False,
        dropout: float = 0.5,
        window_sizes: Sequence[int] = (3, 4, 5),
        n_filters: Sequence[int] = (100, 100, 100),
        pad_id: int = 0,
        regression: bool = False,
    ) -> None:
        super().__init__()
        if len(window_sizes) != len(n_filters):
            raise ValueError(f"window_sizes and n_filters should have the same length, got "
                             f"{len(window_sizes)} and {len(n_filters)}")
        # Saved with the weights so that a model file can rebuild the module.
        self.init_kwargs = dict(input_size=input_size, word_vec_size=word_vec_size, n_classes=n_classes,
                                use_batch_norm=use_batch_norm, dropout=dropout, window_sizes=list(window_sizes),
                                n_filters=list(n_filters), pad_id=pad_id)
        if regression:  # one output, the predicted value (--regression)
            self.init_kwargs["regression"] = True
        self.window_sizes = list(window_sizes)
        self.pad_id = pad_id
        self.emb = nn.Embedding(input_size, word_vec_size, padding_idx=pad_id)
        self.convs = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(word_vec_size, filters, window),
                nn.BatchNorm1d(filters) if use_batch_norm else nn.Identity(),
                nn.ReLU(),
            )
            for window, filters in zip(window_sizes, n_filters)
        )
        self.dropout = nn.Dropout(dropout)
        self.generator = nn.Linear(sum(n_filters), n_classes)
        self.activation = nn.Identity() if regression else nn.LogSoftmax(dim=-1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # |x| = (batch_size, length), |lengths| = (batch_size,)
        shortage = max(self.window_sizes) - x.size(1)
        if shortage > 0:
            x = nn.functional.pad(x, (0, shortage), value=self.pad_id)
        emb = self.emb(x).transpose(1, 2)  # |emb| = (batch_size, word_vec_size, length)
        pooled = []
        for window, conv in zip(self.window_sizes, self.convs):
            c = conv(emb)  # |c| = (batch_size, n_filter, length - window + 1)
            n_windows = (lengths.to(c.device) - window + 1).clamp(min=1)  # windows starting inside the text
            outside = torch.arange(c.size(-1), device=c.device)[None, :] >= n_windows[:, None]
            c = c.masked_fill(outside[:, None, :], float("-inf"))
            pooled.append(c.max(dim=-1).values)  # |pooled[-1]| = (batch_size, n_filter)
        h = torch.cat(pooled, dim=-1)  # |h| = (batch_size, sum(n_filters))
        return self.activation(self.generator(self.dropout(h)))  # |y_hat| = (batch_size, n_classes)
