"""What the engine needs to fine-tune a sequence classifier: loss, evaluation output and validation metrics.

Single-label: softmax + cross-entropy. Multi-label: one sigmoid per label + binary cross-entropy,
scored at a decision threshold (--threshold while training; tuned per label at the end if asked).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from ignite.metrics import Loss, Metric
from ignite.metrics.metric import reinit__is_reduced, sync_all_reduce
from torch import nn

from .. import classification, regression
from ..engine import StepOutput


def logits_of(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
    return model(**batch["inputs"]).logits.float()  # |logits| = (batch_size, n_labels)


def single_label_loss(model: nn.Module, batch: dict[str, Any]) -> StepOutput:
    logits = logits_of(model, batch)
    loss = nn.functional.cross_entropy(logits, batch["labels"])
    return StepOutput(loss, (logits.argmax(dim=-1) == batch["labels"]).float().mean())


def single_label_eval(model: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities and class indices, as the RNN/CNN metrics expect them."""
    return torch.log_softmax(logits_of(model, batch), dim=-1), batch["labels"]


def multi_label_loss(model: nn.Module, batch: dict[str, Any]) -> StepOutput:
    logits = logits_of(model, batch)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, batch["labels"])
    exact = ((logits > 0) == (batch["labels"] > 0.5)).all(dim=-1)  # sigmoid(logit) > 0.5 <=> logit > 0
    return StepOutput(loss, exact.float().mean())


def multi_label_eval(model: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and multi-hot targets. |logits| = |labels| = (batch_size, n_labels)."""
    return logits_of(model, batch), batch["labels"]


class MultiLabelScores(Metric):
    """Exact-match accuracy and micro/macro/samples F1 of sigmoid(logits) >= threshold.

    Counts are summed over batches (and processes), so the scores are those of the whole set.
    """

    def __init__(self, thresholds: float | Sequence[float] = 0.5,
                 output_transform: Callable[[Any], Any] = lambda x: x, device: str | torch.device = "cpu") -> None:
        self.thresholds = thresholds
        super().__init__(output_transform, device=device, metrics_result_mode="flatten")

    @reinit__is_reduced
    def reset(self) -> None:
        self._true_positives: torch.Tensor | None = None  # per label
        self._predicted = self._actual = None  # per label
        self._exact = torch.tensor(0.0, device=self._device)
        self._sample_f1 = torch.tensor(0.0, device=self._device)
        self._count = torch.tensor(0.0, device=self._device)

    @reinit__is_reduced
    def update(self, output: tuple[torch.Tensor, torch.Tensor]) -> None:
        logits, targets = output[0].detach(), output[1].detach() > 0.5
        threshold = torch.as_tensor(self.thresholds, dtype=logits.dtype, device=logits.device)
        predicted = torch.sigmoid(logits) >= threshold  # |predicted| = (batch_size, n_labels)
        true_positives = (predicted & targets).sum(dim=0).to(self._device, torch.float64)
        if self._true_positives is None:
            self._true_positives = torch.zeros_like(true_positives)
            self._predicted, self._actual = torch.zeros_like(true_positives), torch.zeros_like(true_positives)
        self._true_positives += true_positives
        self._predicted += predicted.sum(dim=0).to(self._device, torch.float64)
        self._actual += targets.sum(dim=0).to(self._device, torch.float64)
        self._exact += (predicted == targets).all(dim=1).sum().to(self._device)
        both = (predicted & targets).sum(dim=1).float()
        either = predicted.sum(dim=1).float() + targets.sum(dim=1).float()
        # per sample F1 = 2|P∩T| / (|P| + |T|); 0 when both are empty, as sklearn's f1_score(zero_division=0)
        self._sample_f1 += (2 * both / either.clamp(min=1)).sum().to(self._device)
        self._count += len(logits)

    @sync_all_reduce("_true_positives", "_predicted", "_actual", "_exact", "_sample_f1", "_count")
    def compute(self) -> dict[str, float]:
        if self._true_positives is None or self._count == 0:
            raise RuntimeError("MultiLabelScores must have at least one example before it can be computed")
        tp, predicted, actual = self._true_positives, self._predicted, self._actual
        per_label = torch.where(predicted + actual > 0, 2 * tp / (predicted + actual).clamp(min=1), 0.0)
        micro = 2 * tp.sum() / (predicted.sum() + actual.sum()) if predicted.sum() + actual.sum() > 0 else 0.0
        return {"accuracy": float(self._exact / self._count), "micro_f1": float(micro),
                "macro_f1": float(per_label.mean()), "samples_f1": float(self._sample_f1 / self._count)}


@dataclass(frozen=True)
class PLMTask:
    """The loss, evaluation output and validation metrics of one kind of classification."""

    loss_fn: Callable[[nn.Module, Any], StepOutput]
    eval_fn: Callable[[nn.Module, Any], Any]
    metrics: Callable[[float], dict[str, Metric]]  # threshold (multi-label) -> validation metrics
    metric_names: tuple[str, ...]


SINGLE_LABEL = PLMTask(single_label_loss, single_label_eval, lambda threshold=0.5: classification.metrics(),
                       ("loss", "accuracy", "macro_f1"))
MULTI_LABEL = PLMTask(
    multi_label_loss, multi_label_eval,
    lambda threshold=0.5: {"loss": Loss(nn.BCEWithLogitsLoss()), "scores": MultiLabelScores(threshold)},
    ("loss", "accuracy", "micro_f1", "macro_f1", "samples_f1"),
)


def regression_loss(model: nn.Module, batch: dict[str, Any]) -> StepOutput:
    return StepOutput(nn.functional.mse_loss(logits_of(model, batch).squeeze(-1), batch["labels"]))


def regression_eval(model: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true scores. |predicted| = |labels| = (batch_size,)."""
    return logits_of(model, batch).squeeze(-1), batch["labels"]


REGRESSION = PLMTask(regression_loss, regression_eval, lambda threshold=0.5: regression.metrics(),
                     regression.METRIC_NAMES)


def task_for(multi_label: bool, is_regression: bool = False) -> PLMTask:
    if is_regression:
        return REGRESSION
    return MULTI_LABEL if multi_label else SINGLE_LABEL
