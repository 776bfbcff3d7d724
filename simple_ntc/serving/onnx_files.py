"""Writing export.py's output: one ``.onnx`` file, or a directory of ``<model>.onnx`` files.

The output appears only complete: a file is renamed into place; a directory is built next to the
target and swapped in, so a failed export never leaves a half-written model behind.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..atomic import atomic_open
from ..errors import UserError
from .onnx_export import ExportedGraph


def check_output(output: str | Path, n_models: int) -> Path:
    """Where the export goes; a :class:`UserError` before any work when it cannot go there."""
    output = Path(output)
    if n_models == 1:
        if output.is_dir():
            raise UserError(f"--output {output} is a directory; a model file with one model exports to a file "
                            "(e.g. model.onnx)")
    elif output.exists():
        if not output.is_dir():
            raise UserError(f"--output {output} is a file; a model file with {n_models} models exports to a "
                            "directory of <model>.onnx files")
        others = [p.name for p in output.iterdir() if p.suffix != ".onnx"]
        if others:
            raise UserError(f"--output {output} holds other files ({', '.join(sorted(others)[:3])}); "
                            "give a new or an earlier export's directory")
    parent = output.parent if output.parent != Path("") else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UserError(f"--output {output}: {parent} is not a directory")
    return output


def write_graphs(graphs: Sequence[ExportedGraph], output: str | Path) -> list[Path]:
    """Write ``graphs`` to ``output`` (checked by :func:`check_output`); returns the files written."""
    output = check_output(output, len(graphs))
    if len(graphs) == 1:
        with atomic_open(output, "wb") as handle:
            handle.write(graphs[0].onnx_bytes)
        return [output]
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    except OSError as error:
        raise UserError(f"cannot write {output}: {error.strerror}") from None
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; an output directory is not
        for graph in graphs:
            (staging / f"{graph.name}.onnx").write_bytes(graph.onnx_bytes)
        if output.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{output.name}.old.", dir=output.parent))
            output.rename(retired / output.name)
            staging.rename(output)
            shutil.rmtree(retired)
        else:
            staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [output / f"{graph.name}.onnx" for graph in graphs]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
