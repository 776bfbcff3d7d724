"""What the engine needs to train an RNN/CNN classifier: loss, evaluation output and metrics."""
from __future__ import annotations

from typing import Any

import torch
from ignite.metrics import Accuracy, Fbeta, Loss, Metric, Precision, Recall
from torch import nn

from .engine import StepOutput


def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> StepOutput:
    """Negative log-likelihood of the log-softmax output, and batch accuracy."""
    y_hat = model(batch["input_ids"], batch["lengths"])  # |y_hat| = (batch_size, n_classes)
    loss = nn.functional.nll_loss(y_hat, batch["labels"])
    return StepOutput(loss, (y_hat.argmax(dim=-1) == batch["labels"]).float().mean())


def eval_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return model(batch["input_ids"], batch["lengths"]).float(), batch["labels"]


def metrics() -> dict[str, Metric]:
    """Validation metrics over ``(log_probs, labels)``: loss, accuracy and macro-F1."""
    precision, recall = Precision(average=False), Recall(average=False)
    return {"loss": Loss(nn.NLLLoss()), "accuracy": Accuracy(),
            "macro_f1": Fbeta(1.0, average=True, precision=precision, recall=recall)}


def describe(model: nn.Module) -> dict[str, Any]:
    return {"parameters": sum(p.numel() for p in model.parameters())}
