"""Exported ONNX graphs run by ONNX Runtime behind the ``Predictor`` protocol.

Tokenization stays in the project (the saved ``tokenizers`` model, or the transformer's fast
tokenizer), batches are sorted by length and padded per batch as in the PyTorch predictors, and
only the network runs in ONNX Runtime: on CPU, or on CUDA where the onnxruntime-gpu build is
installed and ``--gpu_id`` asks for it.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UserError, first_line
from .kinds import check_supported
from .onnx_export import FORMAT, METADATA_KEY, VERSION, ExportedGraph, quantize_graph


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


def create_session(onnx_bytes: bytes, gpu_id: int = -1, threads: int | None = None) -> Any:
    """An inference session with all graph optimizations and as many threads as PyTorch uses."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: no notes about initializers or unused providers
    return ort.InferenceSession(onnx_bytes, options, providers=execution_providers(gpu_id))


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


class OnnxRNNCNNClassifier:
    """RNN and/or CNN graphs sharing one tokenizer: ``(input_ids, lengths) -> log_probs`` each."""

    multi_label = False
    pair = False

    def __init__(self, graphs: Sequence[ExportedGraph], gpu_id: int = -1, batch_size: int = 256) -> None:
        from ..data.dataset import PadCollator
        from ..data.tokenization import TextTokenizer

        first = graphs[0].metadata
        self.labels: list[str] = list(first["labels"])
        self.tokenizer = TextTokenizer.from_dict(first["tokenizer"])
        self.sessions = {g.name: create_session(g.onnx_bytes, gpu_id) for g in graphs}
        self.min_lengths = {g.name: int(g.metadata.get("min_length", 1)) for g in graphs}
        self.collate = PadCollator(self.tokenizer.pad_id)
        self.batch_size = batch_size

    @property
    def model_names(self) -> list[str]:
        return list(self.sessions)

    def _log_probs(self, name: str, input_ids: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
        shortage = self.min_lengths[name] - input_ids.size(1)
        if shortage > 0:  # the CNN's widest window needs this many positions (masked by ``lengths``)
            input_ids = torch.nn.functional.pad(input_ids, (0, shortage), value=self.tokenizer.pad_id)
        feed = {"input_ids": input_ids.numpy(), "lengths": lengths.numpy()}
        return self.sessions[name].run(None, feed)[0]  # |log_probs| = (batch_size, n_classes)

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Class probabilities of each chosen model, in input order. |probs[name]| = (n, n_classes)."""
        names = list(models or self.sessions)
        ids = self.tokenizer.encode(texts)
        probs = {name: torch.empty(len(texts), len(self.labels)) for name in names}
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first: little padding per batch
        for start in range(0, len(order), self.batch_size):
            batch = self.collate([(i, ids[i], None) for i in order[start:start + self.batch_size]])
            for name in names:
                log_probs = self._log_probs(name, batch["input_ids"], batch["lengths"])
                probs[name][batch["index"]] = torch.from_numpy(np.exp(log_probs)).float()
        return probs


class OnnxPLMClassifier:
    """A fine-tuned transformer graph ``(input_ids, attention_mask[, token_type_ids]) -> logits``."""

    def __init__(self, graph: ExportedGraph, gpu_id: int = -1, batch_size: int = 64) -> None:
        from ..plm.data import PadToLongest, PairEncoder
        from ..plm.model import tokenizer_from_files

        meta = graph.metadata
        self.name = graph.name
        self.labels: list[str] = list(meta["labels"])
        self.multi_label, self.pair = bool(meta["multi_label"]), bool(meta["pair"])
        self.max_length, self.batch_size = int(meta["max_length"]), batch_size
        self.thresholds = [float(t) for t in meta["thresholds"]]
        self.session = create_session(graph.onnx_bytes, gpu_id)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.tokenizer = tokenizer_from_files(meta["tokenizer_files"])
        self.encode = PairEncoder(self.tokenizer, self.max_length, self.input_names)
        self.collate = PadToLongest(self.tokenizer.pad_token_id, self.tokenizer.padding_side)

    @property
    def model_names(self) -> list[str]:
        return [self.name]

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Softmax (or per-label sigmoid) probabilities in input order. |probs| = (len(texts), n_labels)."""
        probs = torch.empty(len(texts), len(self.labels))
        if texts:
            pairs = (list(text_pairs) if text_pairs is not None else [""] * len(texts)) if self.pair else None
            features = self.encode(texts, pairs)
            order = sorted(range(len(features)), key=lambda i: -len(features[i]["input_ids"]))
            for start in range(0, len(order), self.batch_size):
                batch = self.collate([(i, features[i], None) for i in order[start:start + self.batch_size]])
                feed = {name: batch["inputs"][name].numpy() for name in self.input_names}
                logits = torch.from_numpy(self.session.run(None, feed)[0]).float()  # |logits| = (batch, n_labels)
                probs[batch["index"]] = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
        return {self.name: probs}


def _rnn_cnn(graphs: Sequence[ExportedGraph], gpu_id: int, batch_size: int) -> OnnxRNNCNNClassifier:
    return OnnxRNNCNNClassifier(graphs, gpu_id, batch_size)


def _plm(graphs: Sequence[ExportedGraph], gpu_id: int, batch_size: int) -> OnnxPLMClassifier:
    return OnnxPLMClassifier(graphs[0], gpu_id, batch_size)


PREDICTORS = {"rnn_cnn": _rnn_cnn, "plm": _plm}


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


def onnx_predictor(
    graphs: Sequence[ExportedGraph], source: object, quantize: str = "none", gpu_id: int = -1, batch_size: int = 256
) -> Any:
    """A predictor over ``graphs``; ``quantize="int8"`` quantizes fp32 graphs first (int8 ones stay)."""
    kind = check_supported(check_consistent(graphs, source), PREDICTORS, "--backend onnxruntime", source)
    if quantize == "int8":
        for graph in graphs:
            if graph.metadata.get("quantized") != "int8":
                quantize_graph(graph)
    from ..predict import with_ensemble_weights

    return with_ensemble_weights(PREDICTORS[kind](graphs, gpu_id, batch_size), graphs[0].metadata)

