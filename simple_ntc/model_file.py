"""The saved model file: one ``torch.save``d dict of state_dicts and plain types, written atomically.

``torch.load(path, weights_only=True)`` reads it. ``format``/``version`` let classify.py refuse a
file from another program or an incompatible version with a one-line error.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_open
from .errors import UserError, first_line

FORMAT = "simple-ntc-classifier"
VERSION = 1


def save_model_file(path: str | Path, payload: dict[str, Any]) -> None:
    with atomic_open(path, "wb") as handle:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, handle)


def load_model_file(path: str | Path) -> dict[str, Any]:
    """Read and check a model file; every failure is a one-line :class:`UserError`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means an unusable file
        raise UserError(f"cannot read model file {path}: not a simple-ntc model file or damaged "
                        f"({first_line(error)})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path} is not a simple-ntc classifier model file")
    if data.get("version") != VERSION:
        raise UserError(f"{path} was written by a different simple-ntc version (model format v{data.get('version')}); "
                        f"this version reads format v{VERSION}: retrain the model or use the matching version")
    return data
