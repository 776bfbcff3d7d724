"""What the shared engine needs from summarization: a training loss and validation by ``generate()``.

Training is teacher-forced cross-entropy on the summary tokens (labels -100 on padding).
Validation writes summaries with the configured beam search and scores them with ROUGE, so the
best checkpoint is the one that writes the best summaries, not the best teacher-forced guesses.
"""
from __future__ import annotations

from typing import Any

import torch
from ignite.metrics import Average, Metric
from torch import nn
from transformers import PreTrainedTokenizerBase

from simple_ntc.engine import StepOutput

from .features import IGNORE_INDEX
from .generate import GenerationSettings, generate_ids
from .metrics import METRIC_NAMES, RougeF1
from .rouge import Tokenizer
from .tokenizer import SummaryDecoder

VALID_METRIC_NAMES = (*METRIC_NAMES, "loss")


def summarization_loss(model: nn.Module, batch: dict[str, Any]) -> StepOutput:
    """Mean token cross-entropy and token accuracy of the summary given the dialogue."""
    labels = batch["labels"]  # |labels| = (batch_size, target_length)
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels,
                use_cache=False)
    # |out.logits| = (batch_size, target_length, vocab_size)
    real = labels != IGNORE_INDEX
    accuracy = (out.logits.detach().argmax(-1)[real] == labels[real]).float().mean()
    return StepOutput(out.loss, accuracy)


class GenerateForValidation:
    """``eval_fn`` of the engine: teacher-forced loss plus summaries written by ``generate()``."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, settings: GenerationSettings) -> None:
        self.decode = SummaryDecoder(tokenizer)
        self.settings = settings

    def __call__(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, Any]:
        loss = summarization_loss(model, batch).loss
        summary_ids = generate_ids(model, batch, self.settings)  # |summary_ids| = (batch_size, summary_length)
        return {"loss": float(loss), "predictions": self.decode(summary_ids.tolist()),
                "references": batch["references"]}


def validation_metrics(rouge_tokenizer: str | Tokenizer, device: torch.device | str = "cpu") -> dict[str, Metric]:
    """ROUGE-1/2/L F1 and their mean (``rouge_mean``) of generated summaries, and the validation loss."""
    return {
        "rouge": RougeF1(rouge_tokenizer, output_transform=lambda out: (out["predictions"], out["references"]),
                         device=device),
        "loss": Average(output_transform=lambda out: out["loss"], device=device),
    }
