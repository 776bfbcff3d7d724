"""``fit``: wire a task's model, data and loss into Ignite engines and run them.

Handler order on each validation: metrics -> best score -> best checkpoint -> early stopping ->
log line; at the end of an epoch the full training state is checkpointed after validation, so a
resumed run continues exactly where the saved one would have.
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
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, EarlyStopping
from ignite.metrics import Metric
from torch import nn
from torch.utils.data import DataLoader

from ..errors import UserError
from .checkpoint import (
    FINISHED,
    best_checkpointer,
    find_last_checkpoint,
    last_checkpointer,
    read_checkpoint,
    read_finished,
    remove_checkpoints,
    write_finished,
)
from .distributed import is_main_process, print_on_main, resolve_device
from .experiment import attach_wandb
from .optim import create_optimizer, create_scheduler, warmup_steps_for
from .options import EngineOptions
from .reporting import attach_progress_bars, attach_running_averages, format_metrics
from .state import PlainState, RNGState
from .step import LossFn, create_eval_step, create_train_step


class BestScore:
    """The best validation score so far and when it was reached (checkpointed for resume)."""

    def __init__(self, metric: str, mode: str) -> None:
        self.metric, self.mode = metric, mode
        self.value: float | None = None
        self.epoch: int | None = None
        self.iteration: int | None = None

    def update(self, value: float, epoch: int, iteration: int) -> bool:
        better = self.value is None or (value > self.value if self.mode == "max" else value < self.value)
        if better:
            self.value, self.epoch, self.iteration = float(value), epoch, iteration
        return better

    def state_dict(self) -> dict[str, Any]:
        return {"value": self.value, "epoch": self.epoch, "iteration": self.iteration}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.value, self.epoch, self.iteration = state["value"], state["epoch"], state["iteration"]


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
    validation ``metrics`` consume. ``meta`` (plain types) is stored in every full checkpoint.
    """
    options.validate()
    options = options.with_defaults(lr=1e-3, scheduler="none", warmup_ratio=0.0)
    device = resolve_device(options.gpu_id)
    if options.precision == "fp16" and device.type != "cuda":
        raise UserError("--precision fp16 needs a CUDA device; use --precision bf16 on CPU")
    validating = valid_loader is not None and eval_fn is not None
    metric_names = list(valid_metric_names or (metrics or {}).keys())
    if validating and options.valid_metric not in metric_names:
        raise UserError(f"--valid_metric {options.valid_metric!r} is not computed for this model; "
                        f"choose from {', '.join(metric_names)}")
    mode = options.mode
    main = is_main_process()

    model.to(device)
    if options.resume:
        finished = _finished_run(model, checkpoint_dir, options)
        if finished is not None:
            return finished
    if idist.get_world_size() > 1:
        model = idist.auto_model(model)
    core = unwrap(model)
    optimizer = idist.auto_optim(create_optimizer(
        core, options.optimizer, options.lr, options.weight_decay, options.adam_epsilon, options.momentum))
    updates_per_epoch = math.ceil(len(train_loader) / options.grad_acc)
    total_updates = updates_per_epoch * options.n_epochs
    scheduler = create_scheduler(optimizer, options.scheduler, total_updates,
                                 warmup_steps_for(total_updates, options.warmup_ratio, options.warmup_steps))
    scaler = torch.amp.GradScaler("cuda", enabled=options.precision == "fp16" and device.type == "cuda")

    trainer = Engine(create_train_step(model, optimizer, scheduler, loss_fn, device, options.grad_acc,
                                       options.max_grad_norm, options.precision, scaler))
    trainer.logger.disabled = True
    available_step_metrics = [*step_metrics, "|param|", "|g_param|"]
    attach_running_averages(trainer, available_step_metrics)

    evaluator = None
    best = BestScore(options.valid_metric, mode)
    best_ckpt: Checkpoint | None = None
    early_stopping: EarlyStopping | None = None
    history: list[dict[str, Any]] = []
    to_save: dict[str, Any] = {"model": core, "optimizer": optimizer, "scheduler": scheduler,
                               "trainer": trainer, "rng": RNGState(), "meta": PlainState(dict(meta or {})),
                               "best": best}
    if scaler.is_enabled():
        to_save["scaler"] = scaler

    if validating:
        evaluator = Engine(create_eval_step(core, eval_fn, device, options.precision))
        evaluator.logger.disabled = True
        for name, metric in (metrics or {}).items():
            metric.attach(evaluator, name)
        score = lambda engine: float(engine.state.metrics[options.valid_metric])  # noqa: E731

        @evaluator.on(Events.COMPLETED)
        def record_score(engine: Engine) -> None:
            best.update(score(engine), trainer.state.epoch, trainer.state.iteration)

        best_ckpt = best_checkpointer(core, checkpoint_dir, trainer, options.valid_metric, mode, options.n_best)
        evaluator.add_event_handler(Events.COMPLETED, best_ckpt)
        to_save["best_checkpointer"] = best_ckpt
        if options.early_stop > 0:
            early_stopping = EarlyStopping(options.early_stop, score, trainer, mode=mode)
            evaluator.add_event_handler(Events.COMPLETED, early_stopping)
            to_save["early_stopping"] = early_stopping

        def validate(engine: Engine) -> None:
            evaluator.run(valid_loader)
            valid = {k: float(v) for k, v in evaluator.state.metrics.items() if isinstance(v, (int, float))}
            train = {k: float(engine.state.metrics[k]) for k in available_step_metrics if k in engine.state.metrics}
            history.append({"epoch": engine.state.epoch, "iteration": engine.state.iteration,
                            "train": train, "valid": valid})
            print_on_main(options.verbose, f"Epoch {engine.state.epoch}/{engine.state.max_epochs} (iteration "
                          f"{engine.state.iteration}): train {format_metrics(train)} | valid {format_metrics(valid)}"
                          f" | best {best.metric}={best.value:.4f} (epoch {best.epoch})")

        event = Events.ITERATION_COMPLETED(every=options.valid_every) if options.valid_every else Events.EPOCH_COMPLETED
        trainer.add_event_handler(event, validate)
    else:

        @trainer.on(Events.EPOCH_COMPLETED)
        def log_epoch(engine: Engine) -> None:
            train = {k: float(engine.state.metrics[k]) for k in available_step_metrics if k in engine.state.metrics}
            history.append({"epoch": engine.state.epoch, "iteration": engine.state.iteration, "train": train})
            print_on_main(options.verbose,
                          f"Epoch {engine.state.epoch}/{engine.state.max_epochs}: train {format_metrics(train)}")

    trainer.add_event_handler(Events.EPOCH_COMPLETED, last_checkpointer(to_save, checkpoint_dir, options.n_saved))

    if main and options.verbose >= 2:
        attach_progress_bars(trainer, evaluator, available_step_metrics)
    wandb_logger = None
    if main and options.wandb:
        wandb_logger = attach_wandb(trainer, evaluator, optimizer, options,
                                    Path(options.wandb_dir) if options.wandb_dir else checkpoint_dir,
                                    dict(run_config or {}), name=run_name)

    if attach_handlers is not None:
        attach_handlers(trainer, evaluator)
    resumed_from = _prepare_checkpoint_dir(checkpoint_dir, options, to_save, len(train_loader), main)
    batch_sampler = getattr(train_loader, "batch_sampler", None)
    if hasattr(batch_sampler, "set_epoch"):
        batch_sampler.set_epoch(trainer.state.epoch)

    stopped_early = False

    @trainer.on(Events.TERMINATE)
    def mark_early_stop() -> None:
        nonlocal stopped_early
        stopped_early = True
        print_on_main(options.verbose,
                      f"Early stopping: no improvement of {best.metric} in {options.early_stop} validations")

    started = time.time()
    try:
        trainer.run(train_loader, max_epochs=options.n_epochs)
    finally:
        if wandb_logger is not None:
            wandb_logger.close()
    best_path = Path(best_ckpt.last_checkpoint) if best_ckpt is not None and best_ckpt.last_checkpoint else None
    result = FitResult(best.metric, best.value, best.epoch, trainer.state.epoch, stopped_early, history,
                       resumed_from, best_path)
    if main:
        write_finished(checkpoint_dir, {"n_epochs": options.n_epochs, "epochs_run": result.epochs_run,
                                        "stopped_early": stopped_early, "best_metric": best.metric,
                                        "best_score": best.value, "best_epoch": best.epoch,
                                        "best_checkpoint": best_path.name if best_path else None})
    idist.barrier()
    if best_path is not None:
        Checkpoint.load_objects({"model": core}, read_checkpoint(best_path))
        print_on_main(options.verbose, f"Restored the best weights: {best.metric}={best.value:.4f} at epoch "
                      f"{best.epoch} ({time.time() - started:.1f}s of training)")
    return result


def _finished_run(model: nn.Module, checkpoint_dir: Path, options: EngineOptions) -> FitResult | None:
    """For ``--resume`` of a run that already finished: its best weights and result, without training."""
    info = read_finished(checkpoint_dir)
    if info is None or not (info["stopped_early"] or info["epochs_run"] >= options.n_epochs):
        return None
    best = checkpoint_dir / info["best_checkpoint"] if info["best_checkpoint"] else None
    source = best if best is not None else find_last_checkpoint(checkpoint_dir)
    if source is None or not source.is_file():
        return None
    state = read_checkpoint(source)
    Checkpoint.load_objects({"model": model}, state if best is not None else state["model"])
    print_on_main(options.verbose, f"{checkpoint_dir} holds a finished run ({info['epochs_run']} epoch(s)); using "
                  f"its {'best' if best is not None else 'last'} weights")
    return FitResult(info["best_metric"], info["best_score"], info["best_epoch"], info["epochs_run"],
                     info["stopped_early"], [], source, best)


def _prepare_checkpoint_dir(
    checkpoint_dir: Path, options: EngineOptions, to_save: dict[str, Any], epoch_length: int, main: bool
) -> Path | None:
    """Load the last checkpoint for ``--resume``; otherwise clear checkpoints of an earlier run."""
    if not options.resume:
        if main:
            removed = remove_checkpoints(checkpoint_dir)
            if removed:
                print_on_main(options.verbose, f"Removed {len(removed)} checkpoint(s) of an earlier run in "
                              f"{checkpoint_dir} (pass --resume to continue a run instead)")
        idist.barrier()
        return None
    last = find_last_checkpoint(checkpoint_dir)
    if last is None:
        raise UserError(f"--resume: no checkpoint to resume from in {checkpoint_dir}")
    if main:
        (checkpoint_dir / FINISHED).unlink(missing_ok=True)  # the run goes on
    state = read_checkpoint(last)
    saved = state.get("trainer", {})
    if saved.get("epoch_length") != epoch_length:
        raise UserError(f"--resume: {last} was made with {saved.get('epoch_length')} batches per epoch, this run "
                        f"has {epoch_length}; resume with the same data, --batch_size and --nproc_per_node")
    done = saved["iteration"] // epoch_length
    if done >= options.n_epochs:
        raise UserError(f"--resume: {last} has already trained {done} epoch(s); "
                        f"raise --n_epochs above {done} to continue")
    Checkpoint.load_objects({k: v for k, v in to_save.items() if k in state}, state)
    print_on_main(options.verbose, f"Resuming from {last} (epoch {done} of {options.n_epochs})")
    return last
