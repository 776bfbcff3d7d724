"""What a sweep leaves in its directory: ``trials.csv``, ``best.pth`` (+ ``best.json``) and ``sweep.png``.

Each is rewritten from the study after every trial (the PNG at the end of a run), atomically, so an
interrupted sweep leaves complete files describing the trials done so far, from every machine.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..atomic import atomic_open
from .config import SweepConfig
from .study import best_trial

STATES = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
          TrialState.RUNNING: "running", TrialState.WAITING: "waiting"}
TRIALS_CSV, BEST_MODEL, BEST_JSON, PLOT = "trials.csv", "best.pth", "best.json", "sweep.png"


def trials_header(config: SweepConfig) -> list[str]:
    return ["number", "state", *(p.name for p in config.swept), config.metric, "seconds", "model"]


def trial_row(trial: FrozenTrial, config: SweepConfig) -> list[Any]:
    seconds = trial.user_attrs.get("seconds")
    model = trial.user_attrs.get("model", "") if trial.state == TrialState.COMPLETE else ""
    return [trial.number, STATES[trial.state], *(trial.params.get(p.name, "") for p in config.swept),
            "" if trial.value is None else trial.value, "" if seconds is None else f"{seconds:.1f}", model]


def write_trials_csv(study: optuna.Study, config: SweepConfig, sweep_dir: Path) -> Path:
    path = sweep_dir / TRIALS_CSV
    with atomic_open(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(trials_header(config))
        for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
            writer.writerow(trial_row(trial, config))
    return path


def format_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in params.items())


def update_best(study: optuna.Study, config: SweepConfig, sweep_dir: Path) -> str | None:
    """Copy the best trial's model to ``best.pth`` when the best changed; a note when it cannot be copied."""
    best = best_trial(study)
    if best is None:
        return None
    info_path, target = sweep_dir / BEST_JSON, sweep_dir / BEST_MODEL
    info = {"number": best.number, "metric": config.metric, "value": best.value, "params": best.params,
            "model": best.user_attrs.get("model")}
    if info_path.is_file() and json.loads(info_path.read_text(encoding="utf-8")) == info and target.exists():
        return None
    source = Path(info["model"] or "")
    if not info["model"] or not source.exists():
        return (f"note: the best trial {best.number} ran on {best.user_attrs.get('host', 'another machine')}; "
                f"its model is there: {info['model']}")
    _replace_with_copy(source, target)
    with atomic_open(info_path, "w") as handle:
        json.dump(info, handle, ensure_ascii=False, indent=1)
    return None


def _replace_with_copy(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source`` (a file or a directory) without ever being half-written."""
    if source.is_file():
        with atomic_open(target, "wb") as handle, open(source, "rb") as original:
            shutil.copyfileobj(original, handle)
        return
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def param_importances(study: optuna.Study) -> dict[str, float] | None:
    """Optuna's fANOVA importance of each swept parameter; None with fewer than 2 complete trials."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2 or not any(len({str(t.params.get(n)) for t in complete}) > 1 for n in complete[0].params):
        return None
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    try:
        return optuna.importance.get_param_importances(study, evaluator=evaluator)
    except RuntimeError:  # every complete trial has the same value: nothing to explain
        return None


def save_plot(study: optuna.Study, config: SweepConfig, path: Path) -> Path:
    """The metric of each trial in order (best so far as a line) and each parameter's importance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    figure, (history, importance) = plt.subplots(1, 2, figsize=(11, 4.2))
    _plot_history(history, trials, config)
    _plot_importance(importance, param_importances(study))
    figure.suptitle(f"sweep {config.name} ({config.method}): {config.metric}, goal {config.goal}")
    figure.tight_layout()
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    plt.close(figure)
    return path


def _plot_history(axes: Any, trials: Sequence[FrozenTrial], config: SweepConfig) -> None:
    for state, style in ((TrialState.COMPLETE, {"marker": "o", "color": "tab:blue", "label": "complete"}),
                         (TrialState.PRUNED, {"marker": "x", "color": "tab:gray", "label": "pruned (last value)"})):
        points = [(t.number, t.value) for t in trials if t.state == state and t.value is not None]
        if points:
            axes.scatter(*zip(*points), **style)
    best, line = None, []
    better = max if config.goal == "maximize" else min
    for trial in trials:
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            best = trial.value if best is None else better(best, trial.value)
        if best is not None:
            line.append((trial.number, best))
    if line:
        axes.step(*zip(*line), where="post", color="tab:red", label="best so far")
    failed = [t.number for t in trials if t.state == TrialState.FAIL]
    if failed:
        axes.set_title(f"failed trials: {', '.join(map(str, failed[:10]))}{' ...' if len(failed) > 10 else ''}",
                       fontsize=9)
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trial")
    axes.set_ylabel(config.metric)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)
    axes.grid(alpha=0.3)


def _plot_importance(axes: Any, importances: dict[str, float] | None) -> None:
    axes.set_title("parameter importance (Optuna fANOVA)")
    if not importances:
        axes.text(0.5, 0.5, "needs 2+ complete trials\nwith different parameters and values", ha="center",
                  va="center")
        axes.set_axis_off()
        return
    names = list(importances)[::-1]
    bars = axes.barh(names, [importances[n] for n in names], color="tab:green")
    axes.bar_label(bars, fmt="%.2f", padding=2)
    axes.set_xlabel("importance (share of the metric's variance)")
    axes.set_xlim(0, 1)
