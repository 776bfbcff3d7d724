"""Checkpoint files of a training run: the last N full states and the best K models.

``last_checkpoint_<epoch>.pt`` holds everything an exact resume needs (model, optimizer,
scheduler, scaler, trainer, early stopping, RNG, task metadata); ``best_model_<step>_<metric>=<v>.pt``
holds a model state_dict. Files contain only state_dicts and plain Python types, so
``torch.load(path, weights_only=True)`` reads them; they are written atomically by ignite's DiskSaver.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from ignite.engine import Engine
from ignite.handlers import Checkpoint, DiskSaver

from ..errors import UserError

LAST_PREFIX = "last"
BEST_PREFIX = "best"
FINISHED = "finished.json"  # written when a run ends, so that --resume of a finished run trains no more
_LAST_PATTERN = re.compile(rf"^{LAST_PREFIX}_checkpoint_(\d+)\.pt$")


def _saver(directory: Path) -> DiskSaver:
    return DiskSaver(directory, atomic=True, create_dir=True, require_empty=False)


def last_checkpointer(to_save: Mapping[str, Any], directory: Path, n_saved: int) -> Checkpoint:
    """Keeps the ``n_saved`` most recent full training states, named by epoch."""
    return Checkpoint(
        to_save,
        _saver(directory),
        filename_prefix=LAST_PREFIX,
        n_saved=n_saved,
        global_step_transform=lambda engine, _: engine.state.epoch,
    )


def best_checkpointer(
    model: torch.nn.Module, directory: Path, trainer: Engine, metric: str, mode: str, n_best: int
) -> Checkpoint:
    """Keeps the ``n_best`` model state_dicts with the best validation ``metric``."""
    sign = 1.0 if mode == "max" else -1.0
    return Checkpoint(
        {"model": model},
        _saver(directory),
        filename_prefix=BEST_PREFIX,
        score_function=Checkpoint.get_default_score_fn(metric, sign),
        score_name=_safe(metric),
        n_saved=n_best,
        global_step_transform=lambda _engine, _event: trainer.state.iteration,
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def checkpoint_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".pt"
                  and (p.name.startswith(LAST_PREFIX + "_") or p.name.startswith(BEST_PREFIX + "_")))


def find_last_checkpoint(directory: Path) -> Path | None:
    """The full training state with the highest epoch in ``directory``, if any."""
    found = [(int(m.group(1)), p) for p in checkpoint_files(directory) if (m := _LAST_PATTERN.match(p.name))]
    return max(found)[1] if found else None


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; a damaged file is a one-line :class:`UserError`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"checkpoint not found: {path}") from None
    except Exception as error:  # noqa: BLE001 - any unpickling failure means an unusable file
        raise UserError(f"cannot read checkpoint {path}: {type(error).__name__}: {error}".splitlines()[0]) from None


def remove_checkpoints(directory: Path) -> list[Path]:
    """Delete this project's checkpoint files in ``directory`` (a fresh run replaces an old one)."""
    files = checkpoint_files(directory)
    for path in files:
        path.unlink()
    (directory / FINISHED).unlink(missing_ok=True)
    return files


def write_finished(directory: Path, info: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (FINISHED + ".tmp")
    tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
    tmp.replace(directory / FINISHED)


def read_finished(directory: Path) -> dict[str, Any] | None:
    """What the last finished run in ``directory`` recorded, or None if no run finished there."""
    path = directory / FINISHED
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
