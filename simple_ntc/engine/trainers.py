"""``setup_trainer`` and ``setup_evaluator``: the two Ignite engines of a run, built around the step closures."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from ignite.engine import Engine
from ignite.metrics import Metric
from torch import nn

from .options import EngineOptions
from .reporting import attach_running_averages
from .sparse_embeddings import SparseEmbeddingGradients
from .step import LossFn, LossWeight, create_eval_step, create_train_step


def loss_weight_of(loader: Any) -> LossWeight | None:
    """Per-batch loss factors of a distributed-aware bucket sampler (several processes), else None."""
    sampler = getattr(loader, "batch_sampler", None)
    if not hasattr(sampler, "loss_weight") or getattr(sampler, "num_replicas", 1) == 1:
        return None
    return lambda engine: sampler.loss_weight((engine.state.iteration - 1) % engine.state.epoch_length)


def setup_trainer(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    loss_fn: LossFn,
    device: torch.device,
    options: EngineOptions,
    step_metrics: Sequence[str],
    loss_weight: LossWeight | None = None,
    embedding_grads: SparseEmbeddingGradients | None = None,
) -> Engine:
    """The training engine; its step outputs are running-averaged as ``state.metrics[name]``."""
    trainer = Engine(create_train_step(model, optimizer, scheduler, loss_fn, device, options.grad_acc,
                                       options.max_grad_norm, options.precision, scaler, loss_weight=loss_weight,
                                       embedding_grads=embedding_grads))
    trainer.logger.disabled = True
    attach_running_averages(trainer, step_metrics)
    return trainer


def setup_evaluator(
    model: nn.Module,
    eval_fn: Callable[[nn.Module, Any], Any],
    metrics: Mapping[str, Metric],
    device: torch.device,
    options: EngineOptions,
) -> Engine:
    """The validation engine with the task's metrics attached (all-reduced across processes by ignite)."""
    evaluator = Engine(create_eval_step(model, eval_fn, device, options.precision))
    evaluator.logger.disabled = True
    for name, metric in metrics.items():
        metric.attach(evaluator, name)
    return evaluator
