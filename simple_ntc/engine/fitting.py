"""``fit``: wire a task's model, data and loss into Ignite engines and run them.

Each concern has its own small function: :func:`.trainers.setup_trainer` and
:func:`.trainers.setup_evaluator` build the engines, :func:`.handlers.setup_handlers` attaches
validation, checkpoints and early stopping, :func:`.experiment.setup_exp_logging` the progress bars
and W&B, and :func:`.resume.prepare_checkpoint_dir` loads a resumed state; ``fit`` only wires them.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ignite.distributed as idist
import torch
from ignite.engine import Engine
from ignite.handlers import Checkpoint
from ignite.metrics import Metric
from torch import nn
from torch.utils.data import DataLoader

from ..errors import UserError
from .checkpoint import best_file_of, find_last_checkpoint, read_checkpoint, write_finished
from .distributed import is_main_process, print_on_main, resolve_device
from .experiment import setup_exp_logging
from .handlers import BestScore, RunHandlers, setup_handlers
from .optim import create_optimizer, create_scheduler, warmup_steps_for
from .options import EngineOptions
from .resume import finished_run, prepare_checkpoint_dir
from .sparse_embeddings import SparseEmbeddingGradients
from .state import seed_rank_stream
from .step import LossFn, NonFiniteLoss
from .trainers import loss_weight_of, setup_evaluator, setup_trainer

__all__ = ["BestScore", "FitResult", "fit", "read_resume_meta", "unwrap"]


@dataclass
class FitResult:
    """Outcome of a run; the model passed to :func:`fit` already holds the best weights."""

    best_metric: str
    best_score: float | None
    best_epoch: int | None
    epochs_run: int
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: Path | None = None
    best_checkpoint: Path | None = None


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else model


def read_resume_meta(checkpoint_dir: Path) -> dict[str, Any] | None:
    """The task metadata saved with the last checkpoint in ``checkpoint_dir`` (None when there is none)."""
    last = find_last_checkpoint(checkpoint_dir)
    if last is None:
        return None
    return dict(read_checkpoint(last).get("meta", {}))


def setup_optimization(
    core: nn.Module, options: EngineOptions, updates_per_epoch: int, device: torch.device
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler, torch.amp.GradScaler]:
    """Optimizer (``idist.auto_optim``), scheduler counted in optimizer updates, and the fp16 GradScaler."""
    optimizer = idist.auto_optim(create_optimizer(
        core, options.optimizer, options.lr, options.weight_decay, options.adam_epsilon, options.momentum))
    total_updates = updates_per_epoch * options.n_epochs
    warmup = warmup_steps_for(total_updates, options.warmup_ratio, options.warmup_steps)
    if options.scheduler == "none" and warmup:
        print_on_main(options.verbose, "Note: --scheduler none keeps the learning rate constant; the warmup "
                      "(--warmup_ratio/--warmup_steps) applies only with constant, linear or cosine")
    scheduler = create_scheduler(optimizer, options.scheduler, total_updates, warmup)
    scaler = torch.amp.GradScaler("cuda", enabled=options.precision == "fp16" and device.type == "cuda")
    return optimizer, scheduler, scaler


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    loss_fn: LossFn,
    options: EngineOptions,
    checkpoint_dir: Path,
    valid_loader: DataLoader | None = None,
    eval_fn: Callable[[nn.Module, Any], Any] | None = None,
    metrics: Mapping[str, Metric] | None = None,
    valid_metric_names: Sequence[str] | None = None,
    step_metrics: Sequence[str] = ("loss", "accuracy"),
    meta: Mapping[str, Any] | None = None,
    run_name: str = "model",
    run_config: Mapping[str, Any] | None = None,
    attach_handlers: Callable[[Engine, Engine | None], None] | None = None,
) -> FitResult:
    """Train ``model`` for ``options.n_epochs`` (resuming if asked) and restore its best weights.

    ``loss_fn(model, batch)`` gives the training loss; ``eval_fn(model, batch)`` gives the output the
    validation ``metrics`` consume. ``meta`` (plain types) is stored in every full checkpoint; its
    ``"run"`` entry (:func:`.resume.run_identity`) must match on ``--resume``.
    """
    options = _checked(options)
    device = resolve_device(options.gpu_id)
    if options.precision == "fp16" and device.type != "cuda":
        raise UserError("--precision fp16 needs a CUDA device; use --precision bf16 on CPU")
    validating = valid_loader is not None and eval_fn is not None
    metric_names = list(valid_metric_names or (metrics or {}).keys())
    if validating and options.valid_metric not in metric_names:
        raise UserError(f"--valid_metric {options.valid_metric!r} is not computed for this model; "
                        f"choose from {', '.join(metric_names)}")

    model.to(device)
    if options.resume and (done := finished_run(model, checkpoint_dir, options)) is not None:
        return FitResult(done["best_metric"], done["best_score"], done["best_epoch"], done["epochs_run"],
                         done["stopped_early"], [], done["source"], done["best"])
    if idist.get_world_size() > 1:
        model = idist.auto_model(model)
        print_on_main(options.verbose, f"Training in {idist.get_world_size()} processes on "
                      f"{idist.get_nnodes()} node(s) ({idist.backend()}); rank 0 writes the files")
    core = unwrap(model)
    seed_rank_stream()  # each process its own dropout masks (after DDP made the weights equal)
    optimizer, scheduler, scaler = setup_optimization(
        core, options, math.ceil(len(train_loader) / options.grad_acc), device)
    names = [*step_metrics, "|param|", "|g_param|"]
    # one process only: DDP all-reduces dense gradients
    embedding_grads = SparseEmbeddingGradients(core) if idist.get_world_size() == 1 else None
    trainer = setup_trainer(model, optimizer, scheduler, scaler, loss_fn, device, options, names,
                            loss_weight_of(train_loader), embedding_grads)
    evaluator = setup_evaluator(core, eval_fn, metrics or {}, device, options) if validating else None
    saved: dict[str, Any] = {"model": core, "optimizer": optimizer, "scheduler": scheduler}
    if scaler.is_enabled():
        saved["scaler"] = scaler
    run = setup_handlers(trainer, evaluator, valid_loader, saved, options, checkpoint_dir, meta or {}, names)
    wandb_logger = setup_exp_logging(trainer, evaluator, optimizer, options, checkpoint_dir, names, run_config,
                                     run_name)
    if attach_handlers is not None:
        attach_handlers(trainer, evaluator)
    resumed_from = prepare_checkpoint_dir(checkpoint_dir, options, run.to_save, run.last_checkpointer,
                                          len(train_loader), is_main_process())
    _position_sampler(train_loader, trainer)

    started = time.time()
    try:
        if embedding_grads is not None:
            embedding_grads.enable()
        trainer.run(train_loader, max_epochs=options.n_epochs)
    except NonFiniteLoss as error:
        last = find_last_checkpoint(checkpoint_dir)
        kept = f"the last good checkpoint is {last}" if last else "no checkpoint was written yet"
        raise NonFiniteLoss(f"{error}; {kept} (lower --lr or set --max_grad_norm)") from None
    finally:
        if embedding_grads is not None:
            embedding_grads.restore()
        if wandb_logger is not None:
            wandb_logger.close()
    return _finish(model, core, trainer, run, checkpoint_dir, options, resumed_from, started)


def _checked(options: EngineOptions) -> EngineOptions:
    options.validate()
    return options.with_defaults(lr=1e-3, scheduler="none", warmup_ratio=0.0)


def _position_sampler(loader: DataLoader, trainer: Engine) -> None:
    """Point the batch sampler at the trainer's epoch and, for a state saved mid-epoch, its next batch."""
    sampler = getattr(loader, "batch_sampler", None)
    if not hasattr(sampler, "set_epoch"):
        return
    start = trainer.state.iteration % len(loader)
    if not start:
        sampler.set_epoch(trainer.state.epoch)
        return
    try:
        sampler.set_epoch(trainer.state.epoch, start)
    except TypeError:
        raise UserError("--resume from a mid-epoch checkpoint needs a batch sampler that can skip batches "
                        "(simple_ntc.data.BucketBatchSampler)") from None


def _finish(model: nn.Module, core: nn.Module, trainer: Engine, run: RunHandlers, checkpoint_dir: Path,
            options: EngineOptions, resumed_from: Path | None, started: float) -> FitResult:
    """Record the finished run and restore exactly the best weights it reports."""
    best = run.best
    best_path = best_file_of(run.best_checkpointer, best.iteration) if run.best_checkpointer is not None else None
    result = FitResult(best.metric, best.value, best.epoch, trainer.state.epoch, run.stopped_early, run.history,
                       resumed_from, best_path)
    if is_main_process():
        write_finished(checkpoint_dir, {"n_epochs": options.n_epochs, "epochs_run": result.epochs_run,
                                        "stopped_early": run.stopped_early, "best_metric": best.metric,
                                        "best_score": best.value, "best_epoch": best.epoch,
                                        "best_checkpoint": best_path.name if best_path else None})
    idist.barrier()
    if best_path is not None:
        Checkpoint.load_objects({"model": core}, read_checkpoint(best_path))
        print_on_main(options.verbose, f"Restored the best weights: {best.metric}={best.value:.4f} at epoch "
                      f"{best.epoch} ({time.time() - started:.1f}s of training)")
    return result
