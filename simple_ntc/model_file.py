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
SUMMARIZER_SETTINGS = "summarization_config.json"  # marks a directory written by the summarizer


def save_model_file(path: str | Path, payload: dict[str, Any]) -> None:
    with atomic_open(path, "wb") as handle:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, handle)


def load_model_file(path: str | Path) -> dict[str, Any]:
    """Read and check a model file; every failure is a one-line :class:`UserError`."""
    path = Path(path)
    if path.is_dir():
        if (path / SUMMARIZER_SETTINGS).is_file():
            raise UserError(f"{path} is a summarizer directory, not a classifier model file: use summarize.py "
                            f"--model_fn {path}")
        raise UserError(f"{path} is a directory, not a model file: give the .pth file that train.py wrote")
    if not path.is_file():
        raise UserError(f"model file not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise UserError(f"cannot read model file {path}: {error.strerror or first_line(error)}") from None
    except Exception:  # noqa: BLE001 - any unpickling failure means an unusable file
        raise UserError(f"cannot read model file {path}: it is damaged (e.g. cut short) or not a model file "
                        "written by train.py") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path} is not a simple-ntc classifier model file")
    if data.get("version") != VERSION:
        raise UserError(f"{path} was written by a different simple-ntc version (model format v{data.get('version')}); "
                        f"this version reads format v{VERSION}: retrain the model or use the matching version")
    return data
