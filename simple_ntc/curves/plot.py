"""Training curves as one PNG: a row of four panels per model, against the iteration.

Panels: training loss (per step, faint, and its running average) with the validation loss; the other
validation metrics; the learning rate; the gradient norm (per step and running average). The
validation that gave the kept (best) weights is marked in every panel of its row. matplotlib's
object API (no pyplot state), so it is safe in any thread; the file is written atomically.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..plots import PREFERRED_FAMILIES, drawable
from .recorder import CurveHistory, Validation

MAX_WINDOW = 50  # steps averaged by the running average of a long run (ignite's RunningAverage: alpha 0.98)
MAX_EPOCH_LINES = 40  # faint lines at epoch ends, when there are not too many of them
PANEL_TITLES = ("training loss", "validation metrics", "learning rate", "gradient norm |g|")
BEST_COLOR = "tab:green"


def smoothing_alpha(n_steps: int) -> float:
    """Running-average decay for a run of ``n_steps``: about 1/25 of the run, at most ``MAX_WINDOW`` steps."""
    window = min(max(n_steps / 25, 1.0), MAX_WINDOW)
    return 1.0 - 1.0 / window


def running_average(values: Sequence[float], alpha: float | None = None) -> list[float]:
    """Exponential running average starting from the first value; NaN steps keep the previous average."""
    alpha = smoothing_alpha(len(values)) if alpha is None else alpha
    averages: list[float] = []
    average = math.nan
    for value in values:
        if not math.isnan(value):
            average = value if math.isnan(average) else alpha * average + (1 - alpha) * value
        averages.append(average)
    return averages


def format_value(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"


def row_title(history: CurveHistory) -> str:
    if not history.iterations:
        return f"{history.name}: no training steps recorded"
    best = history.best()
    if best is None:
        return f"{history.name}: no validation, the weights of the last iteration ({history.iterations[-1]}) were kept"
    return (f"{history.name}: best {history.valid_metric} = {format_value(best.metrics[history.valid_metric])} "
            f"at epoch {best.epoch}, iteration {best.iteration} (the weights kept)")


def _font_families() -> list[str]:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [family for family in PREFERRED_FAMILIES if family in installed] or ["DejaVu Sans"]


def _safe(text: str, families: Sequence[str]) -> str:
    """``text``, with characters no installed font can draw replaced by '?'."""
    return text if drawable([text], families) else "".join(c if drawable([c], families) else "?" for c in text)


def _validation_series(validations: Sequence[Validation], metric: str) -> tuple[list[int], list[float]]:
    points = [(v.iteration, v.metrics[metric]) for v in validations if metric in v.metrics]
    return [i for i, _ in points], [value for _, value in points]


def _mark_best(axes: Any, history: CurveHistory, best: Validation | None, metric: str) -> None:
    """A star on the kept validation's value of ``metric`` when it is the one that chose the weights."""
    if best is not None and metric == history.valid_metric:
        value = best.metrics[metric]
        axes.plot([best.iteration], [value], marker="*", markersize=15, color=BEST_COLOR, zorder=5,
                  linestyle="none", label=f"best {metric} {format_value(value)}")


def _per_step_and_average(axes: Any, iterations: Sequence[int], values: Sequence[float], color: str) -> None:
    """Each step's value, faint, and its running average; a run too short to average shows its steps only."""
    alpha = smoothing_alpha(len(values))
    if alpha == 0.0:
        axes.plot(iterations, values, color=color, linewidth=1.5, label="per step")
        return
    axes.plot(iterations, values, color=color, alpha=0.25, linewidth=0.8, label="per step")
    axes.plot(iterations, running_average(values, alpha), color=color, linewidth=1.8,
              label=f"running average (alpha {alpha:.2f})")


def _loss_panel(axes: Any, history: CurveHistory, best: Validation | None) -> None:
    _per_step_and_average(axes, history.iterations, history.loss, "tab:blue")
    iterations, values = _validation_series(history.validations, "loss")
    if values:
        axes.plot(iterations, values, "o-", color="tab:orange", markersize=4, label="validation loss")
        _mark_best(axes, history, best, "loss")


def _metrics_panel(axes: Any, history: CurveHistory, best: Validation | None) -> None:
    names = sorted({name for v in history.validations for name in v.metrics if name != "loss"})
    if not names:
        message = "no validation metrics" if history.validations else "no validation set"
        axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="gray")
        return
    for name in names:
        iterations, values = _validation_series(history.validations, name)
        chosen = name == history.valid_metric
        axes.plot(iterations, values, "o-", markersize=4 if chosen else 2.5, linewidth=2.0 if chosen else 1.0,
                  label=name)
        _mark_best(axes, history, best, name)


def _step_panel(axes: Any, iterations: Sequence[int], values: Sequence[float], color: str, average: bool) -> None:
    if average:
        _per_step_and_average(axes, iterations, values, color)
    else:
        axes.plot(iterations, values, color=color, linewidth=1.5)
    positive = [v for v in values if v > 0 and not math.isnan(v)]
    if positive and len(positive) == len(values) and max(positive) / min(positive) >= 100:
        axes.set_yscale("log")


def _draw_row(panels: Sequence[Any], history: CurveHistory) -> None:
    best = history.best()
    if not history.iterations:
        for axes in panels:
            axes.text(0.5, 0.5, "no training steps recorded", ha="center", va="center", transform=axes.transAxes,
                      color="gray")
        return
    _loss_panel(panels[0], history, best)
    _metrics_panel(panels[1], history, best)
    _step_panel(panels[2], history.iterations, history.lr, "tab:purple", average=False)
    _step_panel(panels[3], history.iterations, history.grad_norm, "tab:red", average=True)
    panels[2].ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    for index, axes in enumerate(panels):
        if len(history.epoch_ends) <= MAX_EPOCH_LINES:
            for end in history.epoch_ends:
                axes.axvline(end, color="0.85", linewidth=0.8, zorder=0)
        if best is not None:
            axes.axvline(best.iteration, color=BEST_COLOR, linestyle="--", linewidth=1.2,
                         label="kept weights" if index == 0 else None)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7, loc="best")


def _style(families: Sequence[str]) -> Any:
    from matplotlib import rc_context

    return rc_context({"font.family": list(families), "font.size": 9})


def draw_curves(histories: Sequence[CurveHistory], title: str, families: Sequence[str] | None = None) -> Any:
    """A matplotlib ``Figure`` with one row of panels per history."""
    from matplotlib.figure import Figure

    families = families or _font_families()
    rows = max(len(histories), 1)
    with _style(families):
        figure = Figure(figsize=(17, 3.3 * rows + 0.5), dpi=90, layout="constrained")
        figure.suptitle(_safe(title, families), fontsize=12)
        subfigures = figure.subfigures(rows, 1, squeeze=False)[:, 0]
        for subfigure, history in zip(subfigures, histories):
            subfigure.suptitle(_safe(row_title(history), families), fontsize=10, x=0.01, ha="left")
            panels = subfigure.subplots(1, len(PANEL_TITLES))
            for axes, panel_title in zip(panels, PANEL_TITLES):
                axes.set_title(panel_title, fontsize=9)
                axes.set_xlabel("iteration")
                axes.grid(alpha=0.3)
            _draw_row(panels, history)
    return figure


def save_curves(path: str | Path, histories: Sequence[CurveHistory], title: str) -> Path:
    """Draw ``histories`` and write the PNG to ``path`` atomically."""
    families = _font_families()
    figure = draw_curves(histories, title, families)
    with _style(families), atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png")
    return Path(path)
