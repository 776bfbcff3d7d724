"""The trial side of a sweep: train.py reports each validation to its trial and stops when the trial is pruned.

sweep.py starts each trial's train.py with the environment variable ``SIMPLE_NTC_SWEEP_TRIAL``
(a JSON :class:`TrialContract`). The training pipelines pass :func:`sweep_trial_handlers` to the
engine's ``fit(attach_handlers=...)``; without the variable it returns None and nothing changes.
With it, every validation appends its metrics to the trial's ``validations.jsonl``, reports the sweep
metric to the Optuna trial (``trial.report``) and, when the pruner says so, ends train.py with exit
code 3 (:class:`TrialPrunedExit`, no traceback, no model file). Validations are counted over the
whole train.py run (``--rnn --cnn``: the CNN's continue the RNN's), as W&B counts logged values.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events

ENV = "SIMPLE_NTC_SWEEP_TRIAL"
PRUNED_EXIT_CODE = 3
_validations_seen: dict[str, int] = {}  # per trial (its validations file): validations so far in this process


@dataclass(frozen=True)
class TrialContract:
    """What train.py needs to know about the sweep trial it runs."""

    metric: str  # the engine's name, e.g. accuracy
    metric_key: str  # the sweep's name, e.g. valid/accuracy (also logged under it to W&B)
    validations_file: str
    storage: str | None = None  # Optuna RDB URL; None: record the validations only (W&B's own sweeps)
    study: str | None = None
    trial_id: int | None = None
    pruner: dict[str, Any] | None = None  # HyperbandPruner arguments; None: never pruned
    wandb_log: bool = True  # also log the metric under metric_key to the W&B run train.py opened

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "TrialContract | None":
        text = os.environ.get(ENV)
        return cls(**json.loads(text)) if text else None


class TrialPrunedExit(SystemExit):
    """Ends a pruned trial's train.py with :data:`PRUNED_EXIT_CODE` (a SystemExit: no traceback)."""

    def __init__(self, step: int) -> None:
        super().__init__(PRUNED_EXIT_CODE)
        self.step = step


def sweep_trial_handlers() -> Callable[[Engine, Engine | None], None] | None:
    """``fit(attach_handlers=...)`` for a train.py run started by sweep.py; None otherwise."""
    contract = TrialContract.from_env()
    return TrialReporter(contract).attach if contract is not None else None


def read_validations(path: str | Path) -> list[dict[str, Any]]:
    """The records a trial wrote, one per validation (an empty list before the first)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class TrialReporter:
    """Event handlers that feed one trial; only rank 0 writes, every rank stops together."""

    def __init__(self, contract: TrialContract) -> None:
        self.contract = contract
        self._trial = None

    def attach(self, trainer: Engine, evaluator: Engine | None) -> None:
        if evaluator is not None:
            evaluator.add_event_handler(Events.COMPLETED, self.on_validation, trainer)

    def on_validation(self, evaluator: Engine, trainer: Engine) -> None:
        import ignite.distributed as idist

        key = self.contract.validations_file
        step = _validations_seen[key] = _validations_seen.get(key, 0) + 1
        metrics = {k: float(v) for k, v in evaluator.state.metrics.items() if isinstance(v, (int, float))}
        value = metrics[self.contract.metric]
        pruned = False
        if idist.get_rank() == 0:
            pruned = self._report(value, step)
            if self.contract.wandb_log:
                self._log_to_wandb(value, trainer.state.iteration)
            record = {"step": step, "epoch": trainer.state.epoch, "iteration": trainer.state.iteration,
                      "value": value, "metrics": metrics, "pruned": pruned}
            with open(key, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        if idist.get_world_size() > 1:
            import torch

            pruned = bool(idist.broadcast(torch.tensor(int(pruned)), src=0).item())
        if pruned:
            if idist.get_rank() == 0:
                print(f"Pruned by the sweep after validation {step}: {self.contract.metric_key}={value:.4f}",
                      flush=True)
            raise TrialPrunedExit(step)

    def _report(self, value: float, step: int) -> bool:
        """``trial.report`` the value; whether the pruner stops the trial here."""
        if self.contract.storage is None:
            return False
        if self._trial is None:
            import optuna

            from .study import open_storage, pruner_for

            study = optuna.load_study(study_name=self.contract.study, storage=open_storage(self.contract.storage),
                                      pruner=pruner_for(self.contract.pruner))
            self._trial = optuna.trial.Trial(study, self.contract.trial_id)
        self._trial.report(value, step)
        return self._trial.should_prune()

    def _log_to_wandb(self, value: float, iteration: int) -> None:
        """The sweep metric under the sweep's name too, in the W&B run the engine opened (if any)."""
        wandb = sys.modules.get("wandb")
        if wandb is None or getattr(wandb, "run", None) is None:
            return
        wandb.run.log({self.contract.metric_key: value}, step=iteration)
