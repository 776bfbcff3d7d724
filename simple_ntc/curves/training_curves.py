"""The curves of every model one training run trains, drawn into one PNG next to the model.

Task pipelines make one :class:`TrainingCurves` per run, pass ``curves.recorder(...).attach`` as
``fit``'s ``attach_handlers`` for each model they train, and call :meth:`TrainingCurves.save` once the
model is saved: ``models/x.pth`` -> ``models/x.curves.png``, ``models/summarizer/`` ->
``models/summarizer.curves.png``.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..engine import EngineOptions, is_main_process
from ..errors import UserError
from .recorder import CurveRecorder


def curves_path(model_fn: str | Path) -> Path:
    """Where the curves of a model go: beside the model file (or the summarizer's directory)."""
    model_fn = Path(model_fn)
    name = model_fn.name if model_fn.is_dir() else model_fn.stem
    return model_fn.with_name(f"{name}.curves.png")


class TrainingCurves:
    """One recorder per trained model; one PNG with a row per model."""

    def __init__(self) -> None:
        self.recorders: list[CurveRecorder] = []

    def recorder(self, name: str, checkpoint_dir: str | Path, options: EngineOptions) -> CurveRecorder:
        """A recorder for the model ``name`` trained with ``options`` (its history is kept in ``checkpoint_dir``)."""
        recorder = CurveRecorder(name, checkpoint_dir, options.valid_metric, options.mode, options.resume,
                                 save=is_main_process())
        self.recorders.append(recorder)
        return recorder

    def save(self, model_fn: str | Path, log: Callable[[str], None] = print) -> Path | None:
        """Write the PNG beside ``model_fn`` and say where; a failure to write is a warning, not an error."""
        from .plot import save_curves

        if not self.recorders:  # nothing trained by the engine (e.g. --linear alone)
            return None
        path = curves_path(model_fn)
        try:
            save_curves(path, [recorder.history for recorder in self.recorders], f"Training curves of {model_fn}")
        except (OSError, UserError) as error:
            log(f"warning: cannot write the training curves {path}: {getattr(error, 'strerror', None) or error}")
            return None
        log(f"Training curves: {path}")
        return path
