"""``sweep.py --wandb_agent``: the same configuration run by W&B's own sweep server (an account is needed).

``wandb.sweep`` registers the configuration as it is; ``wandb.agent`` then asks the server for each
trial's parameters and calls :func:`run_agent_trial`, which trains with train.py exactly as an Optuna
trial does (same flags, same directory layout under ``<sweep_dir>/wandb-trials/<run id>``) and logs
every validation metric (``valid/<name>``), the trial's score and its model path to the W&B run.
The values reach W&B when the trial ends, so W&B's ``early_terminate`` cannot stop a running trial.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import SweepConfig
from .reporting import TrialContract
from .runner import TrialJob, run_trial, trial_value
from .trial_flags import TrialFlags

DEFAULT_PROJECT = "simple-ntc"


def run_agent_trial(config: SweepConfig, flags: TrialFlags, sweep_dir: Path, in_process: bool,
                    log: Callable[[str], None]) -> None:
    """One trial of a W&B sweep, inside the run ``wandb.agent`` prepared."""
    import wandb

    run = wandb.init()
    values = {p.name: run.config[p.name] for p in config.swept if p.name in run.config}
    trial_dir = sweep_dir / "wandb-trials" / run.id
    model = trial_dir / flags.model_name
    contract = TrialContract(flags.metric, config.metric, str(trial_dir / "validations.jsonl"), wandb_log=False)
    argv = [*flags.argv(values, model), "--no-wandb"]  # the agent's run is the trial's only W&B run
    outcome = run_trial(TrialJob(0, flags.task, argv, trial_dir, contract), in_process)
    for record in outcome.validations:
        run.log({f"valid/{name}": value for name, value in record["metrics"].items()}, step=record["step"])
    score = trial_value(outcome, flags.mode, flags.task, flags.metric, model)
    run.summary.update({config.metric: score, "trial_state": outcome.state, "model": str(model),
                        "seconds": outcome.seconds})
    log(f"W&B run {run.id} {outcome.state}: {config.metric}={score} ({', '.join(f'{k}={v}' for k, v in values.items())})")
    run.finish(exit_code=0 if outcome.state != "failed" else 1)


def run_wandb_agent(config: SweepConfig, flags: TrialFlags, sweep_dir: Path, count: int | None, in_process: bool,
                    log: Callable[[str], None] = print) -> int:
    """Register the configuration with W&B's sweep server and run ``count`` of its trials here."""
    import wandb

    project = config.project or DEFAULT_PROJECT
    sweep_id = wandb.sweep(wandb_sweep_config(config), entity=config.entity, project=project)
    log(f"W&B sweep {sweep_id} (project {project}); more machines: python sweep.py --config {config.source} "
        f"--wandb_agent, or wandb agent {sweep_id}")
    wandb.agent(sweep_id, function=lambda: run_agent_trial(config, flags, sweep_dir, in_process, log),
                entity=config.entity, project=project, count=count)
    return 0


def wandb_sweep_config(config: SweepConfig) -> dict[str, Any]:
    """The configuration as written (W&B validates it), with the program W&B records for the sweep."""
    return {"program": "train.py", **config.raw}
