"""What a user sees while training: a batch progress bar and one line per validation."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from ignite.handlers import ProgressBar
from ignite.engine import Engine
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


def attach_progress_bars(trainer: Engine, evaluator: Engine | None, metric_names: Sequence[str]) -> None:
    """tqdm bars over batches (``--verbose 2``): running metrics and lr for training, a bare bar for validation."""
    ProgressBar().attach(trainer, metric_names=list(metric_names),
                                        output_transform=lambda out: {"lr": out["lr"]})
    if evaluator is not None:
        ProgressBar(desc="valid").attach(evaluator)
