"""The last encoder layer of a [CLS]-reading classifier, computed for the first position alone.

A BERT-family sequence classifier (BERT, RoBERTa, XLM-R, ELECTRA, CamemBERT) reads only the first
position of its encoder's last layer. That layer's keys and values need every position, but its
queries, attention output and feed-forward block matter for the first position only. Computing them
for it alone gives the same logits and the same gradients and skips about 5/6 of that layer's matrix
products: 1/6 of the encoder's for a 6-layer model such as MiniLM-L6, 1/14 for a 12-layer BERT.
Training, prediction and ONNX export all run the shortened layer.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedModel

# Heads that read position 0 of the last layer (a pooler or a classification head on features[:, 0]).
FIRST_POSITION_HEADS = frozenset({
    "BertForSequenceClassification",
    "CamembertForSequenceClassification",
    "ElectraForSequenceClassification",
    "RobertaForSequenceClassification",
    "XLMRobertaForSequenceClassification",
})
# Attention implementations whose masks scaled_dot_product_attention reads the same way (bool or additive).
SUPPORTED_ATTENTION = frozenset({"eager", "sdpa"})


class FirstPositionLayer(nn.Module):
    """A BERT-style encoder layer that returns its output for the first position only.

    It holds the original layer's submodules under the same names, so its weights keep their names
    in ``state_dict`` (a saved model loads into the plain architecture and back).
    """

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.attention = layer.attention
        self.intermediate = layer.intermediate
        self.output = layer.output

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, *args: Any,
                **kwargs: Any) -> torch.Tensor:
        # |hidden_states| = (batch_size, length, hidden_size)
        attention = self.attention.self
        first = hidden_states[:, :1]  # |first| = (batch_size, 1, hidden_size)
        query = self._heads(attention.query(first))  # |query| = (batch_size, n_heads, 1, head_size)
        key = self._heads(attention.key(hidden_states))  # |key| = (batch_size, n_heads, length, head_size)
        value = self._heads(attention.value(hidden_states))
        if attention_mask is not None and attention_mask.dim() == 4:
            attention_mask = attention_mask[:, :, :1]  # the first query's row: (batch_size, 1, 1, length)
        context = F.scaled_dot_product_attention(
            query, key, value, attn_mask=attention_mask, scale=attention.scaling,
            dropout_p=attention.dropout.p if attention.training else 0.0)  # (batch_size, n_heads, 1, head_size)
        context = context.transpose(1, 2).flatten(2)  # |context| = (batch_size, 1, hidden_size)
        attended = self.attention.output(context, first)
        return self.output(self.intermediate(attended), attended)  # (batch_size, 1, hidden_size)

    def _heads(self, states: torch.Tensor) -> torch.Tensor:
        """(batch_size, length, hidden_size) -> (batch_size, n_heads, length, head_size)."""
        head_size = self.attention.self.attention_head_size
        return states.view(states.size(0), states.size(1), -1, head_size).transpose(1, 2)


def _bert_shaped(layer: nn.Module) -> bool:
    attention = getattr(getattr(layer, "attention", None), "self", None)
    return (all(hasattr(attention, name) for name in ("query", "key", "value", "attention_head_size", "scaling",
                                                       "dropout"))
            and hasattr(layer.attention, "output") and hasattr(layer, "intermediate") and hasattr(layer, "output")
            and not getattr(layer, "is_decoder", False))


def compute_first_position_only(model: PreTrainedModel) -> bool:
    """Replace the last encoder layer of a [CLS]-reading classifier by :class:`FirstPositionLayer`.

    Returns whether it did; any other model (GPT-2 reads the last token, DistilBERT and ALBERT have
    other layers, flash or flex attention other masks) is left as it is.
    """
    if type(model).__name__ not in FIRST_POSITION_HEADS:
        return False
    if getattr(model.config, "_attn_implementation", "eager") not in SUPPORTED_ATTENTION:
        return False
    layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        return False
    if isinstance(layers[-1], FirstPositionLayer):
        return True
    if not _bert_shaped(layers[-1]):
        return False
    layers[-1] = FirstPositionLayer(layers[-1])
    return True
