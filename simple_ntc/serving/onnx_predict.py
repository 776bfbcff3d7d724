"""Exported ONNX graphs run by ONNX Runtime behind the ``Predictor`` protocol.

Tokenization stays in the project (the saved ``tokenizers`` model, or the transformer's fast
tokenizer), batches are sorted by length and padded per batch as in the PyTorch predictors, and
only the network runs in ONNX Runtime: on CPU, or on CUDA where the onnxruntime-gpu build is
installed and ``--gpu_id`` asks for it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .kinds import check_supported
from .onnx_export import quantize_graph
from .onnx_numpy import NumpyRNNCNNClassifier
from .onnx_format import BatchRunner, ExportedGraph, check_consistent, create_session, read_graphs

__all__ = ["OnnxPLMClassifier", "OnnxRNNCNNClassifier", "onnx_predictor", "read_graphs"]


class OnnxRNNCNNClassifier(NumpyRNNCNNClassifier):
    """RNN and/or CNN graphs sharing one tokenizer, their probabilities as torch tensors (the ``Predictor`` protocol)."""

    def __init__(self, graphs: Sequence[ExportedGraph], gpu_id: int = -1, batch_size: int = 256) -> None:
        super().__init__(graphs, gpu_id, batch_size, threads=torch.get_num_threads())

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Class probabilities of each chosen model, in input order. |probs[name]| = (n, n_classes)."""
        return {name: torch.from_numpy(p) for name, p in self.numpy_probabilities(texts, models).items()}


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
        self.runner = BatchRunner(gpu_id, torch.get_num_threads())
        self.session = create_session(graph.onnx_bytes, gpu_id, self.runner.session_threads)
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
            batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]

            def run(index: list[int]) -> torch.Tensor:  # padded and run in the runner's thread
                batch = self.collate([(i, features[i], None) for i in index])
                feed = {name: batch["inputs"][name].numpy() for name in self.input_names}
                return torch.from_numpy(self.session.run(None, feed)[0]).float()  # |logits| = (batch, n_labels)

            for index, logits in zip(batches, self.runner.map(run, batches)):
                probs[index] = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
        return {self.name: probs}


def _rnn_cnn(graphs: Sequence[ExportedGraph], gpu_id: int, batch_size: int) -> OnnxRNNCNNClassifier:
    return OnnxRNNCNNClassifier(graphs, gpu_id, batch_size)


def _plm(graphs: Sequence[ExportedGraph], gpu_id: int, batch_size: int) -> OnnxPLMClassifier:
    return OnnxPLMClassifier(graphs[0], gpu_id, batch_size)


PREDICTORS = {"rnn_cnn": _rnn_cnn, "plm": _plm}


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
