"""Record what a training run did, step by step, through the engine's events.

A :class:`CurveRecorder` is attached with ``fit(..., attach_handlers=recorder.attach)``. It keeps, per
iteration, the training step's ``loss``, ``lr`` and ``|g_param|`` (the engine's step outputs), the
iterations that end an epoch, and every validation's metrics. The history is saved as JSON in the
run's checkpoint directory at every epoch end, so ``--resume`` continues the curves where the
resumed checkpoint left them (records past that checkpoint are dropped) and a finished run that
``--resume`` does not train again still has its curves.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events

from ..atomic import atomic_open

HISTORY_FILE = "curves.json"
STEP_KEYS = {"loss": "loss", "lr": "lr", "grad_norm": "|g_param|"}  # history field -> step output key


@dataclass
class Validation:
    """The metrics of one validation and when it ran."""

    iteration: int
    epoch: int
    metrics: dict[str, float]


@dataclass
class CurveHistory:
    """One model's training history: per-iteration step outputs, epoch ends and validations."""

    name: str
    valid_metric: str | None = None
    mode: str = "max"  # whether a larger ("max") or smaller ("min") valid_metric is better
    iterations: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    epoch_ends: list[int] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)

    def best(self) -> Validation | None:
        """The validation whose ``valid_metric`` the engine kept as best: the first strict improvement."""
        best: Validation | None = None
        for validation in self.validations:
            value = validation.metrics.get(self.valid_metric or "")
            if value is None or math.isnan(value):
                continue
            if best is None or (value > best.metrics[self.valid_metric] if self.mode == "max"
                                else value < best.metrics[self.valid_metric]):
                best = validation
        return best

    def truncate(self, iteration: int) -> None:
        """Forget everything recorded after ``iteration`` (the iteration a resumed run restarts from)."""
        keep = sum(1 for i in self.iterations if i <= iteration)
        for name in ("iterations", *STEP_KEYS):
            del getattr(self, name)[keep:]
        self.epoch_ends = [i for i in self.epoch_ends if i <= iteration]
        self.validations = [v for v in self.validations if v.iteration <= iteration]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CurveHistory":
        values = dict(data)
        values["validations"] = [Validation(**v) for v in values.get("validations", [])]
        return cls(**values)


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The plain numbers among an evaluator's metrics (dict-valued metrics are flattened by ignite already)."""
    numbers = {}
    for name, value in metrics.items():
        if hasattr(value, "numel") and value.numel() == 1:
            value = value.item()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers[name] = float(value)
    return numbers


class CurveRecorder:
    """Collect a :class:`CurveHistory` from a trainer (and its evaluator) and keep it for ``--resume``."""

    def __init__(self, name: str, checkpoint_dir: str | Path, valid_metric: str | None = None, mode: str = "max",
                 resume: bool = False, save: bool = True) -> None:
        self.path = Path(checkpoint_dir) / HISTORY_FILE
        self.save_enabled = save
        self.history = CurveHistory(name, valid_metric, mode)
        if resume:
            saved = self._load()
            if saved is not None:
                saved.name, saved.valid_metric, saved.mode = name, valid_metric, mode
                self.history = saved

    def attach(self, trainer: Engine, evaluator: Engine | None = None) -> None:
        """The ``attach_handlers`` callback of ``fit``."""
        trainer.add_event_handler(Events.STARTED, self._started)
        trainer.add_event_handler(Events.ITERATION_COMPLETED, self._record_step)
        trainer.add_event_handler(Events.EPOCH_COMPLETED, self._epoch_completed)
        trainer.add_event_handler(Events.COMPLETED, lambda _: self.save())
        if evaluator is not None:
            evaluator.add_event_handler(Events.COMPLETED, self._record_validation, trainer)

    def save(self) -> None:
        """Write the history next to the checkpoints (atomically), unless saving is off (other ranks)."""
        if self.save_enabled:
            with atomic_open(self.path, "w") as handle:
                json.dump(self.history.to_dict(), handle)

    def _load(self) -> CurveHistory | None:
        try:
            return CurveHistory.from_dict(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            return None  # no curves saved with these checkpoints (or unreadable): start afresh

    def _started(self, trainer: Engine) -> None:
        self.history.truncate(trainer.state.iteration)

    def _record_step(self, trainer: Engine) -> None:
        output = trainer.state.output
        if not isinstance(output, Mapping):
            return
        self.history.iterations.append(trainer.state.iteration)
        for name, key in STEP_KEYS.items():
            getattr(self.history, name).append(float(output.get(key, math.nan)))

    def _epoch_completed(self, trainer: Engine) -> None:
        self.history.epoch_ends.append(trainer.state.iteration)
        self.save()

    def _record_validation(self, evaluator: Engine, trainer: Engine) -> None:
        self.history.validations.append(Validation(trainer.state.iteration, trainer.state.epoch,
                                                   scalar_metrics(evaluator.state.metrics)))
