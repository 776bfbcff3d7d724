"""Run one trial: one train.py training with the trial's flags, in a fresh process (default) or in this one.

A trial ends ``complete`` (train.py saved its model), ``pruned`` (exit code 3 from
:class:`~.reporting.TrialPrunedExit`) or ``failed`` (anything else: the reason is the last line
train.py wrote, and its whole output is in the trial's ``train.log``).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError, first_line
from .reporting import ENV, PRUNED_EXIT_CODE, TrialContract, TrialPrunedExit, read_validations
from .trial_flags import CONFIG_DIR

TRAIN_PY = Path(__file__).resolve().parents[2] / "train.py"
LOG_NAME = "train.log"


@dataclass(frozen=True)
class TrialJob:
    """A trial's train.py command line, its directory and what train.py is told about the sweep."""

    number: int
    task: str
    argv: list[str]
    trial_dir: Path
    contract: TrialContract
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.trial_dir / LOG_NAME


@dataclass
class TrialOutcome:
    state: str  # complete, pruned or failed
    validations: list[dict[str, Any]]
    seconds: float
    error: str | None = None


def run_trial(job: TrialJob, in_process: bool = False) -> TrialOutcome:
    job.trial_dir.mkdir(parents=True, exist_ok=True)
    Path(job.contract.validations_file).unlink(missing_ok=True)  # a retried trial starts its record afresh
    started = time.time()
    code, error = (_run_here if in_process else _run_subprocess)(job)
    validations = read_validations(job.contract.validations_file)
    seconds = time.time() - started
    if code == PRUNED_EXIT_CODE or (validations and validations[-1].get("pruned")):
        return TrialOutcome("pruned", validations, seconds)
    if code != 0:
        return TrialOutcome("failed", validations, seconds, error or _last_line(job.log_path) or f"exit code {code}")
    if not validations:
        return TrialOutcome("failed", validations, seconds, "train.py validated nothing, so the trial has no score")
    return TrialOutcome("complete", validations, seconds)


def _run_subprocess(job: TrialJob) -> tuple[int, str | None]:
    env = {**os.environ, **job.env, ENV: job.contract.to_env(), "PYTHONUNBUFFERED": "1"}
    with open(job.log_path, "w", encoding="utf-8") as log:
        code = subprocess.call([sys.executable, str(TRAIN_PY), *job.argv], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=env)
    return code, None


def _run_here(job: TrialJob) -> tuple[int, str | None]:
    """train.py's main in this process; its output goes to the trial's log as it would in a subprocess."""
    with open(job.log_path, "w", encoding="utf-8") as log, _environment({**job.env, ENV: job.contract.to_env()}), \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            train_main(job.task, job.argv)
        except TrialPrunedExit:
            return PRUNED_EXIT_CODE, None
        except SystemExit as exit_:  # argparse's one-line errors
            return (exit_.code if isinstance(exit_.code, int) else 1), None
        except UserError as error:
            print(f"train.py: error: {error}", file=log)
            return 2, f"train.py: error: {error}"
        except Exception as error:  # noqa: BLE001 - a crashed trial is recorded as failed; the sweep goes on
            traceback.print_exc(file=log)
            return 1, f"{type(error).__name__}: {first_line(error)}"
    return 0, None


def train_main(task: str, argv: list[str]) -> int | None:
    """What ``python train.py ARGV`` runs, for a task already known."""
    if task == "summarization":
        from chat_summarization.train import main
    else:
        from ..train import main
    return main(argv, CONFIG_DIR)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _last_line(log_path: Path) -> str | None:
    """The reason of a failure: train.py's one-line error, else the last line of a traceback."""
    try:
        lines = [line.strip() for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return None
    lines = [line for line in lines if line]
    errors = [line for line in lines if ": error: " in line or line.startswith("error: ")]
    return (errors or lines or [None])[-1]


def trial_value(outcome: TrialOutcome, mode: str, task: str, metric: str, model_path: Path) -> float | None:
    """The trial's score: its best validation (the model train.py kept), or, for an RNN+CNN model file,
    the ensemble's validation score that train.py reported; a pruned trial's last validation."""
    values = [v["value"] for v in outcome.validations]
    if not values:
        return None
    if outcome.state != "complete":
        return values[-1]
    if task == "classification" and model_path.is_file():
        ensemble = _ensemble_score(model_path, metric)
        if ensemble is not None:
            return ensemble
    return max(values) if mode == "max" else min(values)


def _ensemble_score(model_path: Path, metric: str) -> float | None:
    import torch

    try:
        data = torch.load(model_path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - not a model file we can read: fall back to the validations
        return None
    score = data.get("report", {}).get("valid", {}).get("ensemble", {}).get(metric) if isinstance(data, dict) else None
    return float(score) if isinstance(score, (int, float)) else None
