"""What a user sees while training: a batch progress bar and one line per validation."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from ignite.engine import Engine, Events
from ignite.handlers import ProgressBar
from ignite.metrics import RunningAverage


def format_metrics(metrics: Mapping[str, float], prefix: str = "") -> str:
    parts = []
    for name, value in metrics.items():
        if isinstance(value, (int, float)):
            text = f"{value:.4f}" if abs(value) < 1e3 else f"{value:.1f}"
            parts.append(f"{prefix}{name}={text}")
    return " ".join(parts)


def attach_running_averages(trainer: Engine, names: Sequence[str]) -> None:
    """Exponential running averages of the step outputs, as ``trainer.state.metrics[name]``."""
    for name in names:
        RunningAverage(output_transform=lambda out, key=name: out[key]).attach(trainer, name)


def at_most_every(seconds: float) -> Callable[[Engine, int], bool]:
    """An event filter passing the first and last iteration of each epoch and otherwise at most every ``seconds``.

    ignite's ``ProgressBar`` redraws the bar on every call (``set_postfix`` refreshes regardless of tqdm's
    ``mininterval``), which costs a fast model 5-10% of its steps; a bar redrawn 10 times a second looks the same.
    """
    last_shown = -float("inf")

    def due(engine: Engine, iteration: int) -> bool:
        nonlocal last_shown
        in_epoch = (iteration - 1) % engine.state.epoch_length + 1 if engine.state.epoch_length else iteration
        now = time.perf_counter()
        if in_epoch in (1, engine.state.epoch_length) or now - last_shown >= seconds:
            last_shown = now
            return True
        return False

    return due


def attach_progress_bars(trainer: Engine, evaluator: Engine | None, metric_names: Sequence[str]) -> None:
    """tqdm bars over batches (``--verbose 2``): running metrics and lr for training, a bare bar for validation.

    The bars are drawn at most 10 times a second by the event filter, and each time in full (tqdm's own
    ``mininterval`` would otherwise skip the count of a draw that follows the metrics' draw).
    """
    ProgressBar(mininterval=0, miniters=1).attach(
        trainer, metric_names=list(metric_names), output_transform=lambda out: {"lr": out["lr"]},
        event_name=Events.ITERATION_COMPLETED(event_filter=at_most_every(0.1)))
    if evaluator is not None:
        ProgressBar(desc="valid", mininterval=0, miniters=1).attach(
            evaluator, event_name=Events.ITERATION_COMPLETED(event_filter=at_most_every(0.1)))
