"""Checkpoint files of a training run: the last N full states and the best K models.

``last_checkpoint_<iteration>.pt`` holds everything an exact resume needs (model, optimizer,
scheduler, scaler, trainer, early stopping, every process's RNG, task metadata), written at epoch
ends and every ``--save_every`` optimizer updates; ``best_model_<iteration>_<metric>=<v>.pt`` holds a
model state_dict. Files contain only state_dicts and plain Python types, so
``torch.load(path, weights_only=True)`` reads them; they are written atomically by ignite's DiskSaver,
and each one is recorded in ``written.json`` so that a fresh run deletes only files a run wrote there.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ignite.distributed as idist
import torch
from ignite.engine import Engine
from ignite.handlers import Checkpoint, DiskSaver

from ..errors import UserError

LAST_PREFIX = "last"
BEST_PREFIX = "best"
FINISHED = "finished.json"  # written when a run ends, so that --resume of a finished run trains no more
WRITTEN = "written.json"  # the checkpoint files runs wrote in the directory (the only ones a fresh run deletes)
_LAST_PATTERN = re.compile(rf"^{LAST_PREFIX}_checkpoint_(\d+)\.pt$")


class RecordingSaver(DiskSaver):
    """ignite's atomic ``DiskSaver`` that also records the name of every file it writes in ``written.json``."""

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        super().__call__(checkpoint, filename, metadata)
        if idist.get_rank() == self.save_on_rank:
            _write_json(self.dirname / WRITTEN, sorted(set(written_files(self.dirname)) | {filename}))


def _saver(directory: Path) -> DiskSaver:
    return RecordingSaver(directory, atomic=True, create_dir=True, require_empty=False)


def last_checkpointer(to_save: Mapping[str, Any], directory: Path, n_saved: int) -> Checkpoint:
    """Keeps the ``n_saved`` most recent full training states, named by global iteration.

    Its own list of files rides along (``checkpointer``), so a resumed run keeps counting the old ones.
    """
    return Checkpoint(
        to_save,
        _saver(directory),
        filename_prefix=LAST_PREFIX,
        n_saved=n_saved,
        global_step_transform=lambda engine, _: engine.state.iteration,
        include_self=True,
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


def best_file_of(checkpointer: Checkpoint, iteration: int | None) -> Path | None:
    """The kept best-model file saved at ``iteration`` (with tied scores, exactly the one reported)."""
    if iteration is None:
        return None
    prefix = f"{BEST_PREFIX}_model_{iteration}_"
    for item in checkpointer._saved:
        if item.filename.startswith(prefix):
            return Path(checkpointer.save_handler.dirname) / item.filename
    return None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2), encoding="utf-8")
    tmp.replace(path)


def written_files(directory: Path) -> list[str]:
    """Names of the checkpoint files that runs of this project recorded in ``directory``."""
    try:
        names = json.loads((directory / WRITTEN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str) and "/" not in n and "\\" not in n and n not in ("", ".", "..")]


def checkpoint_files(directory: Path) -> list[Path]:
    """The checkpoint files a run of this project wrote in ``directory`` that still exist."""
    if not directory.is_dir():
        return []
    return sorted(p for p in (directory / name for name in written_files(directory)) if p.is_file())


def find_last_checkpoint(directory: Path) -> Path | None:
    """The full training state with the highest iteration that a run wrote in ``directory``, if any.

    A directory without ``written.json`` (from a version before it) offers its ``last_checkpoint_*.pt``.
    """
    files = checkpoint_files(directory)
    if not files and directory.is_dir() and not (directory / WRITTEN).exists():
        files = sorted(directory.glob(f"{LAST_PREFIX}_checkpoint_*.pt"))
    found = [(int(m.group(1)), p) for p in files if (m := _LAST_PATTERN.match(p.name))]
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
    """Delete the checkpoint files earlier runs recorded in ``directory`` (a fresh run replaces an old one).

    Other files, even ones named like checkpoints, are left alone.
    """
    files = checkpoint_files(directory)
    for path in files:
        path.unlink()
    for name in (FINISHED, WRITTEN):
        (directory / name).unlink(missing_ok=True)
    return files


def write_finished(directory: Path, info: dict[str, Any]) -> None:
    _write_json(directory / FINISHED, info)


def read_finished(directory: Path) -> dict[str, Any] | None:
    """What the last finished run in ``directory`` recorded, or None if no run finished there."""
    path = directory / FINISHED
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
