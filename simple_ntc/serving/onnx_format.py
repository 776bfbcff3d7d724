"""The files export.py writes, without PyTorch: metadata, reading graphs, ONNX Runtime sessions.

Each graph carries in its metadata (key :data:`METADATA_KEY`, JSON) everything classify.py needs
besides the network: labels, tokenizer, model kind. classify.py's torch-free path
(:mod:`.onnx_numpy`) needs nothing else from the project's serving code.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError, first_line

FORMAT = "simple-ntc-onnx"
VERSION = 1
METADATA_KEY = "simple_ntc"

@dataclass
class ExportedGraph:
    """One serialized ONNX model and the metadata stored inside it."""

    name: str
    onnx_bytes: bytes
    metadata: dict[str, Any]


def is_onnx_model(path: str | Path) -> bool:
    """An export.py output: a ``.onnx`` file, or a directory holding ``.onnx`` files."""
    path = Path(path)
    return path.suffix == ".onnx" and path.is_file() or path.is_dir() and any(path.glob("*.onnx"))


def execution_providers(gpu_id: int) -> list[Any]:
    """CUDA (then CPU as fallback for unsupported ops) when a GPU is asked for, else CPU."""
    import onnxruntime as ort

    if gpu_id < 0:
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise UserError(f"--gpu_id {gpu_id} with --backend onnxruntime needs ONNX Runtime's CUDA provider "
                        "(the onnxruntime-gpu package); this onnxruntime has only "
                        f"{', '.join(ort.get_available_providers())}")
    return [("CUDAExecutionProvider", {"device_id": gpu_id}), "CPUExecutionProvider"]


def default_threads() -> int:
    """PyTorch's default without importing it: ``OMP_NUM_THREADS`` when set, else the usable cores."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def create_session(onnx_bytes: bytes, gpu_id: int = -1, threads: int | None = None) -> Any:
    """An inference session with all graph optimizations and as many threads as PyTorch uses."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: no notes about initializers or unused providers
    return ort.InferenceSession(onnx_bytes, options, providers=execution_providers(gpu_id))


class BatchRunner:
    """Runs a predictor's batches: on CPU with several threads, side by side, one ONNX Runtime thread each.

    Batches of a few dozen short texts gain more from running side by side than from splitting one
    batch's matrix products across threads (the RNN/CNN graphs 1.9x against 1.7x on two threads, see
    README). ``session_threads`` is what each session should use; one session serves every thread
    (``InferenceSession.run`` is thread-safe and releases the GIL).
    """

    def __init__(self, gpu_id: int = -1, threads: int | None = None) -> None:
        self.threads = threads or default_threads()
        side_by_side = gpu_id < 0 and self.threads > 1
        self.session_threads = 1 if side_by_side else self.threads
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="onnx-batch") if side_by_side else None

    def map(self, run: Callable[[Any], Any], batches: Iterable[Any]) -> Iterator[Any]:
        """``run`` of each batch, in order."""
        return self.pool.map(run, batches) if self.pool else map(run, batches)


def graph_metadata(onnx_bytes: bytes, source: object) -> dict[str, Any]:
    """The project's metadata of a serialized graph (a one-line error for any other ONNX file)."""
    import onnx

    try:
        model = onnx.load_from_string(onnx_bytes)
    except Exception as error:  # noqa: BLE001 - any parse failure means an unusable file
        raise UserError(f"cannot read ONNX model {source}: {first_line(error)}") from None
    values = {entry.key: entry.value for entry in model.metadata_props}
    if METADATA_KEY not in values:
        raise UserError(f"{source} is not an ONNX model written by export.py (no {METADATA_KEY} metadata)")
    metadata = json.loads(values[METADATA_KEY])
    if metadata.get("format") != FORMAT or metadata.get("version") != VERSION:
        raise UserError(f"{source} was written by a different simple-ntc version (ONNX format "
                        f"v{metadata.get('version')}); this version reads v{VERSION}: export the model again")
    return metadata


def read_graphs(path: str | Path) -> list[ExportedGraph]:
    """The graphs of an export.py output: one ``.onnx`` file, or a directory of them (one per model)."""
    path = Path(path)
    files = sorted(path.glob("*.onnx")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise UserError(f"ONNX model not found: {path}" + (" (no .onnx file in the directory)" if path.is_dir() else ""))
    graphs = []
    for file in files:
        try:
            onnx_bytes = file.read_bytes()
        except OSError as error:
            raise UserError(f"cannot read ONNX model {file}: {error.strerror or error}") from None
        metadata = graph_metadata(onnx_bytes, file)
        graphs.append(ExportedGraph(str(metadata.get("model", file.stem)), onnx_bytes, metadata))
    return sorted(graphs, key=lambda g: g.metadata.get("position", 0))


def check_consistent(graphs: Sequence[ExportedGraph], source: object) -> str:
    """The common model kind of ``graphs``; an error when they cannot be ensembled."""
    first = graphs[0].metadata
    for graph in graphs[1:]:
        for key in ("kind", "labels", "tokenizer"):
            if graph.metadata.get(key) != first.get(key):
                raise UserError(f"{source}: the ONNX models {graphs[0].name} and {graph.name} differ in {key}; "
                                "export them again from one model file")
    if len({g.name for g in graphs}) < len(graphs):
        raise UserError(f"{source}: two ONNX models are named {graphs[0].name}")
    return str(first.get("kind"))
