"""RNN/CNN graphs from export.py run by ONNX Runtime with numpy alone: classify.py's torch-free path.

Importing PyTorch takes most of classify.py's start-up (1.7-2.5 s on the machines measured, see
README); an export.py output of an RNN/CNN model needs only this module, the project's tokenizer
(``tokenizers``), numpy and ONNX Runtime. The probabilities are numpy arrays; the rest of
classify.py treats them like the PyTorch predictors' tensors.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .onnx_format import BatchRunner, ExportedGraph, create_session


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int, min_length: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Rows padded to the longest (at least ``min_length``) and their lengths.

    |input_ids| = (len(rows), max(longest, min_length)) int64, |lengths| = (len(rows),) int64.
    """
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    input_ids = np.full((len(rows), max(int(lengths.max(initial=0)), min_length)), pad_id, dtype=np.int64)
    for i, row in enumerate(rows):
        input_ids[i, :len(row)] = row
    return input_ids, lengths


class NumpyRNNCNNClassifier:
    """RNN and/or CNN graphs sharing one tokenizer: ``(input_ids, lengths) -> log_probs`` each."""

    multi_label = False
    pair = False

    def __init__(self, graphs: Sequence[ExportedGraph], gpu_id: int = -1, batch_size: int = 256,
                 threads: int | None = None) -> None:
        from ..data.tokenization import TextTokenizer

        first = graphs[0].metadata
        self.labels: list[str] = list(first["labels"])
        self.tokenizer = TextTokenizer.from_dict(first["tokenizer"])
        self.runner = BatchRunner(gpu_id, threads)
        self.sessions = {g.name: create_session(g.onnx_bytes, gpu_id, self.runner.session_threads) for g in graphs}
        self.min_lengths = {g.name: int(g.metadata.get("min_length", 1)) for g in graphs}
        self.batch_size = batch_size

    @property
    def model_names(self) -> list[str]:
        return list(self.sessions)

    def numpy_probabilities(self, texts: Sequence[str], models: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Class probabilities of each chosen model, in input order. |probs[name]| = (n, n_classes) float32."""
        names = list(models or self.sessions)
        ids = self.tokenizer.encode(texts)
        probs = {name: np.empty((len(texts), len(self.labels)), dtype=np.float32) for name in names}
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first: little padding per batch
        batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]

        def run(index: list[int]) -> dict[str, np.ndarray]:
            out = {}
            for name in names:  # the CNN's widest window needs min_length positions (masked by ``lengths``)
                input_ids, lengths = pad_batch([ids[i] for i in index], self.tokenizer.pad_id, self.min_lengths[name])
                out[name] = self.sessions[name].run(None, {"input_ids": input_ids, "lengths": lengths})[0]
            return out  # |out[name]| = (len(index), n_classes) log-probabilities

        for index, log_probs in zip(batches, self.runner.map(run, batches)):
            for name in names:
                probs[name][index] = np.exp(log_probs[name])
        return probs

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        return self.numpy_probabilities(texts, models)


def load_numpy_predictor(graphs: Sequence[ExportedGraph], source: object,
                         batch_size: int = 256) -> NumpyRNNCNNClassifier | None:
    """The RNN/CNN export read from ``source`` (:func:`~.onnx_format.read_graphs`), weights of its ensemble
    included; None for other kinds of graphs (they need the PyTorch-side predictors)."""
    from ..predictor import with_ensemble_weights
    from .onnx_format import check_consistent

    if check_consistent(graphs, source) != "rnn_cnn":
        return None
    return with_ensemble_weights(NumpyRNNCNNClassifier(graphs, batch_size=batch_size), graphs[0].metadata)
