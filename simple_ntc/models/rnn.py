"""Bidirectional LSTM text classifier (simple-ntc's RNNClassifier, padding-aware)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class RNNClassifier(nn.Module):
    """Embedding -> multi-layer bidirectional LSTM -> last states of both directions -> linear -> log-softmax.

    Sequences are packed, so the final states are those of each text's last real token, not of
    padding (the ancestor read the output at the last padded position).
    """

    def __init__(
        self,
        input_size: int,
        word_vec_size: int,
        hidden_size: int,
        n_classes: int,
        n_layers: int = 4,
        dropout: float = 0.3,
        pad_id: int = 0,
        regression: bool = False,
    ) -> None:
        super().__init__()
        # Saved with the weights so that a model file can rebuild the module.
        self.init_kwargs = dict(input_size=input_size, word_vec_size=word_vec_size, hidden_size=hidden_size,
                                n_classes=n_classes, n_layers=n_layers, dropout=dropout, pad_id=pad_id)
        if regression:  # one output, the predicted value (--regression)
            self.init_kwargs["regression"] = True
        self.emb = nn.Embedding(input_size, word_vec_size, padding_idx=pad_id)
        self.rnn = nn.LSTM(word_vec_size, hidden_size, num_layers=n_layers, batch_first=True, bidirectional=True,
                           dropout=dropout if n_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.generator = nn.Linear(hidden_size * 2, n_classes)
        self.activation = nn.Identity() if regression else nn.LogSoftmax(dim=-1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # |x| = (batch_size, length), |lengths| = (batch_size,)
        x = self.emb(x)  # |x| = (batch_size, length, word_vec_size)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.rnn(packed)  # |h| = (n_layers * 2, batch_size, hidden_size)
        h = torch.cat([h[-2], h[-1]], dim=-1)  # |h| = (batch_size, hidden_size * 2)
        return self.activation(self.generator(self.dropout(h)))  # |y_hat| = (batch_size, n_classes)
