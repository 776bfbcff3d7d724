"""Run a sweep: trials of train.py proposed by Optuna, recorded in the study and in the sweep directory."""
from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..errors import UserError
from .config import SweepConfig, load_sweep_config
from .outputs import BEST_MODEL, PLOT, TRIALS_CSV, format_params, save_plot, update_best, write_trials_csv
from .reporting import TrialContract
from .runner import TrialJob, TrialOutcome, run_trial, trial_value
from .study import (
    INTERRUPTED,
    best_trial,
    n_waiting,
    open_storage,
    open_study,
    pruner_arguments,
    requeue_interrupted,
    search_space,
    suggest,
)
from .trial_flags import TrialFlags, trial_flags


@dataclass
class SweepSettings:
    """sweep.py's flags."""

    config: Path
    count: int | None = None
    sweep_dir: Path | None = None
    storage: str | None = None
    seed: int | None = None
    in_process: bool = False
    wandb: bool = True
    max_consecutive_failures: int = 3
    keep_checkpoints: bool = False


class TrialFailed(Exception):
    """A trial whose train.py failed; Optuna records it as FAIL and the sweep goes on."""


def sweep_dir_for(config: SweepConfig, settings: SweepSettings) -> Path:
    return settings.sweep_dir or Path("sweeps") / config.name


def prepare_sweep_dir(path: Path) -> None:
    """Fail before any trial when the sweep directory cannot be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(f"--sweep_dir {path}: cannot write there ({error.strerror})") from None


class Sweep:
    """The objective and the per-trial bookkeeping of one sweep.py run."""

    def __init__(self, config: SweepConfig, flags: TrialFlags, study: optuna.Study, sweep_dir: Path,
                 storage_url: str, settings: SweepSettings, log: Callable[[str], None]) -> None:
        self.config, self.flags, self.study, self.sweep_dir = config, flags, study, sweep_dir
        self.storage_url, self.settings, self.log = storage_url, settings, log
        self.space = search_space(config)
        self.outcomes: dict[int, TrialOutcome] = {}
        self.consecutive_failures = 0
        self.stop_reason: str | None = None

    def job(self, trial: optuna.Trial, values: dict[str, Any]) -> TrialJob:
        trial_dir = self.sweep_dir / "trials" / f"{trial.number:04d}"
        model = trial_dir / self.flags.model_name
        contract = TrialContract(self.flags.metric, self.config.metric, str(trial_dir / "validations.jsonl"),
                                 self.storage_url, self.study.study_name, trial._trial_id,  # the id train.py reports to
                                 pruner_arguments(self.config, self.flags.max_validations))
        wandb = env = None
        if self.settings.wandb:
            wandb = {"name": f"{self.config.name}-{trial.number}", "dir": str(trial_dir),
                     "project": self.config.project or ""}
            env = {"WANDB_RUN_GROUP": self.config.name, "WANDB_JOB_TYPE": "sweep-trial"}
        return TrialJob(trial.number, self.flags.task, self.flags.argv(values, model, wandb), trial_dir, contract,
                        env or {})

    def objective(self, trial: optuna.Trial) -> float:
        trial.set_user_attr("error", None)  # a retried trial inherits the error of the one it repeats
        values = suggest(trial, self.space)
        job = self.job(trial, values)
        model = job.trial_dir / self.flags.model_name
        trial.set_user_attr("model", str(model))
        trial.set_user_attr("host", socket.gethostname())
        try:
            outcome = run_trial(job, self.settings.in_process)
        except KeyboardInterrupt:
            trial.set_user_attr("error", INTERRUPTED)
            raise
        finally:
            if not self.settings.keep_checkpoints:
                shutil.rmtree(model.with_name(model.name + ".ckpt"), ignore_errors=True)
        trial.set_user_attr("seconds", round(outcome.seconds, 3))
        self.outcomes[trial.number] = outcome
        if outcome.state == "pruned":
            raise optuna.TrialPruned(f"pruned after {len(outcome.validations)} validations")
        if outcome.state == "failed":
            trial.set_user_attr("error", outcome.error)
            raise TrialFailed(outcome.error)
        value = trial_value(outcome, self.flags.mode, self.flags.task, self.flags.metric, model)
        return value

    def after_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Print the trial's line, rewrite trials.csv and best.pth, and stop on repeated failures or the target."""
        self.log(self.trial_line(trial))
        write_trials_csv(study, self.config, self.sweep_dir)
        note = update_best(study, self.config, self.sweep_dir)
        if note:
            self.log(note)
        self.consecutive_failures = self.consecutive_failures + 1 if trial.state == TrialState.FAIL else 0
        limit = self.settings.max_consecutive_failures
        if limit and self.consecutive_failures >= limit:
            self.stop_reason = (f"{limit} trials failed in a row; stopping (read "
                                f"{self.sweep_dir / 'trials' / f'{trial.number:04d}' / 'train.log'})")
            study.stop()
        target = self.config.target
        if target is not None and trial.state == TrialState.COMPLETE and (
                trial.value >= target if self.config.goal == "maximize" else trial.value <= target):
            self.stop_reason = f"trial {trial.number} reached the target {self.config.metric}={target}"
            study.stop()

    def trial_line(self, trial: FrozenTrial) -> str:
        outcome = self.outcomes.get(trial.number)
        seconds = f" in {outcome.seconds:.1f}s" if outcome else ""
        params = format_params(trial.params)
        if trial.state == TrialState.COMPLETE:
            return f"Trial {trial.number} complete{seconds}: {self.config.metric}={trial.value:.4f} | {params}"
        if trial.state == TrialState.PRUNED:
            n = len(outcome.validations) if outcome else "?"
            last = f": {self.config.metric}={trial.value:.4f}" if trial.value is not None else ""
            return f"Trial {trial.number} pruned after {n} validation(s){seconds}{last} | {params}"
        log_path = self.sweep_dir / "trials" / f"{trial.number:04d}" / "train.log"
        return f"Trial {trial.number} failed{seconds}: {trial.user_attrs.get('error')} (log: {log_path}) | {params}"


def run_sweep(settings: SweepSettings, log: Callable[[str], None] = print) -> int:
    """Run ``--count`` more trials of the sweep (a grid: until it is complete); 0 when a best trial exists."""
    config = load_sweep_config(settings.config)
    flags = trial_flags(config)
    sweep_dir = sweep_dir_for(config, settings)
    prepare_sweep_dir(sweep_dir)
    storage_url = settings.storage or f"sqlite:///{(sweep_dir / 'sweep.db').resolve()}"
    study = open_study(config, open_storage(storage_url, heartbeat=True), settings.seed,
                       pruner_arguments(config, flags.max_validations))
    for number in requeue_interrupted(study):
        log(f"Trial {number} was interrupted; it runs again first")
    n_trials = trials_to_run(config, study, settings.count)
    done_before = len(study.trials)
    log(f"Sweep {config.name!r} ({config.method}, {config.metric} goal {config.goal}, {flags.task}): "
        f"{done_before} trial(s) so far in {storage_url}; outputs in {sweep_dir}")
    sweep = Sweep(config, flags, study, sweep_dir, storage_url, settings, log)
    callbacks: list[Any] = [sweep.after_trial]
    if config.run_cap:
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
        callbacks.append(optuna.study.MaxTrialsCallback(config.run_cap, states=states))
    try:
        if n_trials != 0:
            study.optimize(sweep.objective, n_trials=n_trials, catch=(TrialFailed,), callbacks=callbacks,
                           gc_after_trial=settings.in_process)
    except KeyboardInterrupt:
        log("Interrupted: the trial in progress runs again first when the sweep continues")
        raise
    finally:
        write_trials_csv(study, config, sweep_dir)
        save_plot(study, config, sweep_dir / PLOT)
    if sweep.stop_reason:
        log(sweep.stop_reason)
    return finish(study, config, sweep_dir, done_before, log)


def trials_to_run(config: SweepConfig, study: optuna.Study, count: int | None) -> int | None:
    """How many trials this run may start (None: until the grid or run_cap ends it); 0: nothing left."""
    if count is not None and count < 1:
        raise UserError(f"--count must be a positive integer, got {count}")
    if config.method == "grid" and study.sampler.is_exhausted(study) and not n_waiting(study):
        return 0
    if config.run_cap is not None:
        started = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                                TrialState.FAIL, TrialState.RUNNING)))
        if started >= config.run_cap:
            return 0
        return min(count, config.run_cap - started) if count else config.run_cap - started
    if count is None and config.method != "grid":
        raise UserError(f"--count: how many trials to run now (a {config.method} sweep has no end; or set run_cap "
                        "in the configuration)")
    return count


def finish(study: optuna.Study, config: SweepConfig, sweep_dir: Path, done_before: int,
           log: Callable[[str], None]) -> int:
    """Summary lines; the last one names the best trial."""
    trials = study.get_trials(deepcopy=False)
    counts = {name: sum(t.state == state for t in trials) for name, state in
              (("complete", TrialState.COMPLETE), ("pruned", TrialState.PRUNED), ("failed", TrialState.FAIL))}
    grid_left = ""
    if config.method == "grid":
        grid_left = "; the grid is complete" if study.sampler.is_exhausted(study) else ""
    log(f"{len(trials) - done_before} trial(s) run now, {len(trials)} in the sweep ({counts['complete']} complete, "
        f"{counts['pruned']} pruned, {counts['failed']} failed){grid_left}; {sweep_dir / TRIALS_CSV}, "
        f"{sweep_dir / PLOT}")
    best = best_trial(study)
    if best is None:
        log("No trial is complete yet: no best trial (see the trials' train.log)")
        return 1
    log(f"Best trial {best.number}: {config.metric}={best.value:.4f} with {format_params(best.params)} "
        f"(model: {sweep_dir / BEST_MODEL})")
    return 0
