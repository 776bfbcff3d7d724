"""``--regression``: a real-valued label (e.g. the 0-5 similarity of a sentence pair) trained with MSE.

Scored by Pearson and Spearman correlation and mean squared error; the best model is chosen by
Pearson on the validation set. Light models output one value (no log-softmax), ``--bert`` models
use ``problem_type="regression"`` (one logit, MSE), the ``--linear`` member is ridge regression.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from ignite.metrics import Loss, MeanSquaredError, Metric
from ignite.metrics.regression import PearsonCorrelation, SpearmanRankCorrelation
from torch import nn

from .data.corpus import Example
from .data.splits import DataSplits
from .engine import StepOutput
from .errors import UserError

LABELS = ["score"]  # the one output of a regression model, as classify.py names it
METRIC_NAMES = ("loss", "pearson", "spearman", "mse")
VALID_METRIC = "pearson"


def scores_of(examples: Sequence[Example], source: str) -> list[float]:
    """The label of each example as a float; a ``file:line`` error for one that is not a number."""
    values = []
    for example in examples:
        try:
            value = float(example.label)
        except ValueError:
            raise UserError(f"{source}:{example.line}: --regression needs a numeric label, got {example.label!r}") from None
        if not np.isfinite(value):
            raise UserError(f"{source}:{example.line}: --regression needs a finite label, got {example.label!r}")
        values.append(value)
    return values


def check_splits(splits: DataSplits) -> None:
    """Every label of every split must be a number (``file:line`` errors otherwise)."""
    for name in ("train", "valid", "test"):
        scores_of(getattr(splits, name), splits.files[name])


def summary(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, Any]:
    """Pearson, Spearman and MSE of predictions; correlations are 0 where a side is constant."""
    from scipy.stats import pearsonr, spearmanr

    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float).reshape(-1)
    constant = len(y_true) < 2 or np.ptp(y_true) == 0 or np.ptp(y_pred) == 0
    return {
        "n": len(y_true),
        "regression": True,
        "pearson": 0.0 if constant else float(pearsonr(y_true, y_pred)[0]),
        "spearman": 0.0 if constant else float(spearmanr(y_true, y_pred)[0]),
        "mse": float(np.mean((y_true - y_pred) ** 2)) if len(y_true) else 0.0,
    }


def format_summary(title: str, scores: dict[str, Any]) -> str:
    return (f"== {title}: n={scores['n']} pearson={scores['pearson']:.4f} spearman={scores['spearman']:.4f} "
            f"mse={scores['mse']:.4f}")


# --- what the engine needs to train a light model (RNN/CNN/Transformer) -------------------------


def _predict(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return model(batch["input_ids"], batch["lengths"]).squeeze(-1).float()  # |y_hat| = (batch_size,)


def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> StepOutput:
    return StepOutput(nn.functional.mse_loss(_predict(model, batch), batch["labels"].float()))


def eval_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return _predict(model, batch), batch["labels"].float()


def metrics() -> dict[str, Metric]:
    """Validation metrics over ``(predictions, targets)``, both |.| = (batch_size,)."""
    return {"loss": Loss(nn.MSELoss()), "pearson": PearsonCorrelation(), "spearman": SpearmanRankCorrelation(),
            "mse": MeanSquaredError()}
