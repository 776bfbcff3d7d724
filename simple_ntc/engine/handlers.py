"""``setup_handlers``: validation, best-model and last-state checkpoints, early stopping, epoch lines.

Handler order on each validation: metrics -> best score -> best checkpoint -> early stopping -> log
line; the full training state is checkpointed after validation (at epoch ends and every
``--save_every`` optimizer updates), so a resumed run continues exactly where the saved one would have.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, EarlyStopping
from torch.utils.data import DataLoader

from .checkpoint import best_checkpointer, last_checkpointer
from .distributed import print_on_main
from .options import EngineOptions
from .reporting import format_metrics
from .state import PlainState, RNGState
from .step import _accumulation_group


class BestScore:
    """The best validation score so far and when it was first reached (checkpointed for resume)."""

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
class RunHandlers:
    """What :func:`setup_handlers` attached and :func:`fit` reads back after training."""

    best: BestScore
    to_save: dict[str, Any]
    last_checkpointer: Checkpoint
    best_checkpointer: Checkpoint | None = None
    early_stopping: EarlyStopping | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False


def save_due(save_every: int, grad_acc: int) -> Callable[[Engine, int], bool]:
    """Event filter: after every ``save_every``-th optimizer update that does not end an epoch (that one is saved anyway)."""

    def due(engine: Engine, iteration: int) -> bool:
        length = engine.state.epoch_length
        position = (iteration - 1) % length + 1
        if save_every <= 0 or position == length or not _accumulation_group(position, length, grad_acc)[1]:
            return False
        updates = (iteration - 1) // length * math.ceil(length / grad_acc) + math.ceil(position / grad_acc)
        return updates % save_every == 0

    return due


def step_values(engine: Engine, names: Sequence[str]) -> dict[str, float]:
    return {k: float(engine.state.metrics[k]) for k in names if k in engine.state.metrics}


def setup_handlers(
    trainer: Engine,
    evaluator: Engine | None,
    valid_loader: DataLoader | None,
    saved: Mapping[str, Any],
    options: EngineOptions,
    checkpoint_dir: Path,
    meta: Mapping[str, Any],
    step_metrics: Sequence[str],
) -> RunHandlers:
    """Attach validation (or epoch lines), checkpoints and early stopping; ``saved``: model, optimizer, ..."""
    best = BestScore(options.valid_metric, options.mode)
    to_save: dict[str, Any] = {**saved, "trainer": trainer, "rng": RNGState(), "meta": PlainState(dict(meta)),
                               "best": best}
    run = RunHandlers(best, to_save, last_checkpointer(to_save, checkpoint_dir, options.n_saved))
    if evaluator is not None and valid_loader is not None:
        _attach_validation(run, trainer, evaluator, valid_loader, options, checkpoint_dir, step_metrics)
    else:
        @trainer.on(Events.EPOCH_COMPLETED)
        def log_epoch(engine: Engine) -> None:
            train = step_values(engine, step_metrics)
            run.history.append({"epoch": engine.state.epoch, "iteration": engine.state.iteration, "train": train})
            print_on_main(options.verbose,
                          f"Epoch {engine.state.epoch}/{engine.state.max_epochs}: train {format_metrics(train)}")

    trainer.add_event_handler(
        Events.EPOCH_COMPLETED | Events.ITERATION_COMPLETED(event_filter=save_due(options.save_every or 0,
                                                                                  options.grad_acc)),
        run.last_checkpointer)

    @trainer.on(Events.TERMINATE)
    def mark_early_stop(engine: Engine) -> None:
        stopper = run.early_stopping
        left = engine.state.iteration < engine.state.epoch_length * engine.state.max_epochs
        if stopper is not None and stopper.counter >= stopper.patience and left:
            run.stopped_early = True
            print_on_main(options.verbose, f"Early stopping: no improvement of {best.metric} in "
                          f"{options.early_stop} validations")

    return run


def _attach_validation(run: RunHandlers, trainer: Engine, evaluator: Engine, valid_loader: DataLoader,
                       options: EngineOptions, checkpoint_dir: Path, step_metrics: Sequence[str]) -> None:
    best = run.best
    score = lambda engine: float(engine.state.metrics[options.valid_metric])  # noqa: E731

    @evaluator.on(Events.COMPLETED)
    def record_score(engine: Engine) -> None:
        best.update(score(engine), trainer.state.epoch, trainer.state.iteration)

    model = run.to_save["model"]
    run.best_checkpointer = best_checkpointer(model, checkpoint_dir, trainer, options.valid_metric, options.mode,
                                              options.n_best)
    evaluator.add_event_handler(Events.COMPLETED, run.best_checkpointer)
    run.to_save["best_checkpointer"] = run.best_checkpointer
    if options.early_stop > 0:
        run.early_stopping = EarlyStopping(options.early_stop, score, trainer, mode=options.mode)
        evaluator.add_event_handler(Events.COMPLETED, run.early_stopping)
        run.to_save["early_stopping"] = run.early_stopping

    def validate(engine: Engine) -> None:
        evaluator.run(valid_loader)
        valid = {k: float(v) for k, v in evaluator.state.metrics.items() if isinstance(v, (int, float))}
        train = step_values(engine, step_metrics)
        run.history.append({"epoch": engine.state.epoch, "iteration": engine.state.iteration,
                            "train": train, "valid": valid})
        print_on_main(options.verbose, f"Epoch {engine.state.epoch}/{engine.state.max_epochs} (iteration "
                      f"{engine.state.iteration}): train {format_metrics(train)} | valid {format_metrics(valid)}"
                      f" | best {best.metric}={best.value:.4f} (epoch {best.epoch})")

    event = Events.ITERATION_COMPLETED(every=options.valid_every) if options.valid_every else Events.EPOCH_COMPLETED
    trainer.add_event_handler(event, validate)
