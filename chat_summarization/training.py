"""What the shared engine needs from summarization: a training loss and validation by ``generate()``.

Training is teacher-forced cross-entropy on the summary tokens (labels -100 on padding), optionally
label-smoothed. Validation writes summaries with the configured beam search and scores them with
ROUGE, so the best checkpoint is the one that writes the best summaries, not the best teacher-forced
guesses. It also checks that the summaries depend on the dialogues (:mod:`.collapse`).
"""
from __future__ import annotations

import functools
from typing import Any

import torch
from ignite.metrics import Metric
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedTokenizerBase

from simple_ntc.engine import StepOutput

from .collapse import DistinctShare, InputDependence, TokenWeightedLoss
from .features import IGNORE_INDEX
from .generate import GenerationSettings, generate_ids
from .metrics import METRIC_NAMES, RougeF1
from .rouge import Tokenizer
from .tokenizer import SummaryDecoder

VALID_METRIC_NAMES = (*METRIC_NAMES, "loss", "distinct", "shuffle_gap")


def token_losses(model: nn.Module, batch: dict[str, Any], labels: torch.Tensor, label_smoothing: float = 0.0,
                 decoder_input_ids: torch.Tensor | None = None, input_ids: torch.Tensor | None = None,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed token cross-entropy of ``labels`` given the batch's dialogues, and the model output.

    |labels| = (batch_size, target_length); without ``decoder_input_ids`` they are shifted right (the
    model's own ``prepare_decoder_input_ids_from_labels``) into the decoder inputs; ``input_ids``
    replaces the batch's sources (masked ones). The loss is ours, so the model computes none.
    """
    if decoder_input_ids is None:
        decoder_input_ids = getattr(model, "module", model).prepare_decoder_input_ids_from_labels(labels=labels)
    out = model(input_ids=batch["input_ids"] if input_ids is None else input_ids,
                attention_mask=batch["attention_mask"], decoder_input_ids=decoder_input_ids, use_cache=False)
    logits = out.logits  # |logits| = (batch_size, target_length, vocab_size)
    total = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE_INDEX,
                            reduction="sum", label_smoothing=label_smoothing)
    return total, out


def masked_decoder_inputs(model: nn.Module, labels: torch.Tensor, rate: float, mask_id: int) -> torch.Tensor:
    """Decoder inputs (labels shifted right) with a ``rate`` share of the summary tokens replaced by ``mask_id``.

    The decoder then cannot predict a summary from its own prefix alone and has to read the dialogue
    (word dropout against a decoder that ignores its encoder). |result| = |labels|.
    """
    core = getattr(model, "module", model)
    inputs = core.prepare_decoder_input_ids_from_labels(labels=labels)
    masked = torch.rand(inputs.shape, device=inputs.device) < rate
    masked[:, 0] = False  # the decoder start token stays
    return inputs.masked_fill(masked, mask_id)


def encoder_mlm_positions(input_ids: torch.Tensor, attention_mask: torch.Tensor, rate: float,
                          keep_ids: tuple[int, ...]) -> torch.Tensor:
    """A ``rate`` share of the real source tokens, drawn at random, never one of ``keep_ids`` (control tokens).

    |result| = |input_ids|, boolean.
    """
    eligible = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(keep_ids, device=input_ids.device))
    return eligible & (torch.rand(input_ids.shape, device=input_ids.device) < rate)


def encoder_token_logits(model: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """The (tied) LM head applied to encoder states: |hidden| = (n, d_model) -> (n, vocab_size)."""
    core = getattr(model, "module", model)
    logits = core.get_output_embeddings()(hidden)
    bias = getattr(core, "final_logits_bias", None)
    return logits + bias[0] if bias is not None else logits


def summarization_loss(model: nn.Module, batch: dict[str, Any], label_smoothing: float = 0.0,
                       decoder_mask_rate: float = 0.0, mask_id: int | None = None, encoder_mlm: float = 0.0,
                       keep_ids: tuple[int, ...] = ()) -> StepOutput:
    """Mean token cross-entropy (label-smoothed when asked) and token accuracy of the summary given the dialogue.

    With ``encoder_mlm`` (training only) that share of the source tokens is replaced by ``mask_id`` and the
    encoder's own output must name them through the tied LM head (a BERT-style masked-LM loss, added
    to the summary loss): an encoder whose output stops varying across positions cannot.
    """
    labels = batch["labels"]  # |labels| = (batch_size, target_length)
    real = labels != IGNORE_INDEX
    decoder_inputs, source, masked = None, None, None
    if decoder_mask_rate > 0 and mask_id is not None and model.training:
        decoder_inputs = masked_decoder_inputs(model, labels, decoder_mask_rate, mask_id)
    if encoder_mlm > 0 and mask_id is not None and model.training:
        masked = encoder_mlm_positions(batch["input_ids"], batch["attention_mask"], encoder_mlm, (mask_id, *keep_ids))
        source = batch["input_ids"].masked_fill(masked, mask_id)
    total, out = token_losses(model, batch, labels, label_smoothing, decoder_inputs, source)
    loss = total / real.sum().clamp(min=1)
    if masked is not None and masked.any():
        hidden = out.encoder_last_hidden_state[masked]  # |hidden| = (masked_tokens, d_model)
        loss = loss + F.cross_entropy(encoder_token_logits(model, hidden).float(), batch["input_ids"][masked])
    accuracy = (out.logits.detach().argmax(-1)[real] == labels[real]).float().mean()
    return StepOutput(loss, accuracy)


def training_loss(label_smoothing: float, decoder_mask_rate: float, mask_id: int | None, encoder_mlm: float = 0.0,
                  keep_ids: tuple[int, ...] = ()):
    """``summarization_loss`` with the training options bound (picklable)."""
    return functools.partial(summarization_loss, label_smoothing=label_smoothing,
                             decoder_mask_rate=decoder_mask_rate, mask_id=mask_id, encoder_mlm=encoder_mlm,
                             keep_ids=keep_ids)


def shuffled_labels(labels: torch.Tensor) -> torch.Tensor:
    """Each row's summary paired with the next row's dialogue (a rotation by one row)."""
    return labels.roll(1, dims=0)


class GenerateForValidation:
    """``eval_fn`` of the engine: summed token losses (matched and shuffled pairs) and generated summaries."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, settings: GenerationSettings) -> None:
        self.decode = SummaryDecoder(tokenizer)
        self.settings = settings

    def __call__(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, Any]:
        labels = batch["labels"]  # |labels| = (batch_size, target_length)
        tokens = int((labels != IGNORE_INDEX).sum())
        matched, _ = token_losses(model, batch, labels)
        shuffled = None
        if labels.size(0) > 1:  # the same summaries, each beside another dialogue
            shuffled_ids = shuffled_labels(labels)
            shuffled = float(token_losses(model, batch, shuffled_ids)[0]), int((shuffled_ids != IGNORE_INDEX).sum())
        summary_ids = generate_ids(model, batch, self.settings)  # |summary_ids| = (batch_size, summary_length)
        return {"loss_sum": float(matched), "tokens": tokens, "shuffled": shuffled,
                "predictions": self.decode(summary_ids.tolist()), "references": batch["references"]}


def validation_metrics(rouge_tokenizer: str | Tokenizer, device: torch.device | str = "cpu") -> dict[str, Metric]:
    """ROUGE F1 of generated summaries, the token-weighted validation loss, and the collapse checks."""
    return {
        "rouge": RougeF1(rouge_tokenizer, output_transform=lambda out: (out["predictions"], out["references"]),
                         device=device),
        "loss": TokenWeightedLoss(output_transform=lambda out: (out["loss_sum"], out["tokens"]), device=device),
        "distinct": DistinctShare(output_transform=lambda out: out["predictions"], device=device),
        "shuffle_gap": InputDependence(output_transform=lambda out: (out["loss_sum"], out["tokens"],
                                                                     out["shuffled"]), device=device),
    }
