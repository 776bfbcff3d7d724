"""Saved classifiers -> ONNX graphs with dynamic batch and length axes (``export.py``).

Each graph carries in its metadata (key ``simple_ntc``, JSON) everything classify.py needs besides
the weights: labels, the tokenizer, the model kind and name, and whether it is int8. So an exported
file (or directory, for a model file holding several models) runs without the PyTorch model file.
The TorchScript-based exporter is used: torch.export cannot trace the packed LSTM of the RNN.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import UserError, first_line
from .onnx_format import FORMAT, METADATA_KEY, VERSION, ExportedGraph
from .kinds import check_supported

OPSET = 17
PROTOBUF_LIMIT = 2**31 - 1  # one ONNX file holds at most 2 GiB


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence the exporter's C++ shape-inference warnings (fd 2), shown only if export fails."""
    with tempfile.TemporaryFile(mode="w+b") as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            os.write(2, captured.read()[-4000:])
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def trace_to_onnx(
    module: nn.Module, args: tuple[torch.Tensor, ...], input_names: Sequence[str], output_name: str,
    dynamic_axes: Mapping[str, Mapping[int, str]],
) -> bytes:
    """``module`` traced on ``args`` as an ONNX graph (eval mode, constants folded)."""
    module.eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings(), quiet_stderr(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes about shapes the dynamic axes already cover
        torch.onnx.export(module, args, buffer, dynamo=False, input_names=list(input_names),
                          output_names=[output_name], dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()},
                          opset_version=OPSET, do_constant_folding=True)
    module.eval()  # the exporter restores the training flag of the module it was given
    return buffer.getvalue()


def with_metadata(onnx_bytes: bytes, metadata: Mapping[str, Any]) -> bytes:
    """The serialized graph with ``metadata`` (JSON) under :data:`METADATA_KEY`."""
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    for entry in list(model.metadata_props):
        if entry.key == METADATA_KEY:
            model.metadata_props.remove(entry)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps({"format": FORMAT, "version": VERSION, **metadata},
                                                      ensure_ascii=False)
    return model.SerializeToString()


def quantize_onnx_int8(onnx_bytes: bytes) -> bytes:
    """ONNX Runtime's dynamic int8 quantization (weights int8, activations quantized per batch)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs a pre-processing hint on the root logger
    try:
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source, target = Path(tmp, "fp32.onnx"), Path(tmp, "int8.onnx")
            source.write_bytes(onnx_bytes)
            # per-channel weight scales keep a transformer's labels; embeddings (Gather) stay fp32
            # (fused transformer ops have no shape inference: their outputs are float)
            quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul", "Attention", "LSTM", "Conv"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            return target.read_bytes()
    finally:
        root.setLevel(level)


def quantize_graph(graph: ExportedGraph) -> ExportedGraph:
    """``graph`` quantized to int8 (in place), its metadata saying so."""
    graph.metadata["quantized"] = "int8"
    graph.onnx_bytes = with_metadata(quantize_onnx_int8(graph.onnx_bytes), graph.metadata)
    return graph


# --- per model kind ------------------------------------------------------------------------------


def _sample_ids(vocab_size: int, lengths: Sequence[int], pad_id: int) -> torch.Tensor:
    """Right-padded random token ids of the given lengths. |ids| = (len(lengths), max(lengths))."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.full((len(lengths), max(lengths)), pad_id, dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(0, vocab_size, (length,), generator=generator)
    return ids


def export_rnn_cnn(data: Mapping[str, Any]) -> list[ExportedGraph]:
    """One graph per model of an RNN/CNN file: ``(input_ids, lengths) -> log_probs``."""
    from ..data.tokenization import TextTokenizer
    from ..predict import RNNCNNClassifier

    predictor = RNNCNNClassifier.from_file_data(dict(data), torch.device("cpu"), 1)
    tokenizer: TextTokenizer = predictor.tokenizer
    graphs = []
    for position, (name, model) in enumerate(predictor.models.items()):
        # the CNN pads texts shorter than its widest window in Python: the predictor pads to min_length instead
        min_length = max(getattr(model, "window_sizes", [1]))
        longest = max(min_length, 8)
        ids = _sample_ids(tokenizer.vocab_size, [longest, longest - 2, min_length], tokenizer.pad_id)
        lengths = torch.tensor([longest, longest - 2, min_length])
        onnx_bytes = trace_to_onnx(model, (ids, lengths), ["input_ids", "lengths"], "log_probs",
                                   {"input_ids": {0: "batch", 1: "length"}, "lengths": {0: "batch"},
                                    "log_probs": {0: "batch"}})
        metadata = {"kind": "rnn_cnn", "model": name, "position": position, "labels": list(predictor.labels),
                    "tokenizer": tokenizer.to_dict(), "min_length": min_length}
        graphs.append(ExportedGraph(name, onnx_bytes, metadata))
    return graphs


class LogitsOf(nn.Module):
    """A transformers classifier as ``(*inputs) -> logits``, inputs in a fixed order."""

    def __init__(self, model: nn.Module, input_names: Sequence[str]) -> None:
        super().__init__()
        self.model, self.input_names = model, list(input_names)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.input_names, inputs))).logits  # |logits| = (batch_size, n_labels)


def export_plm(data: Mapping[str, Any]) -> list[ExportedGraph]:
    """The fine-tuned transformer: ``(input_ids, attention_mask[, token_type_ids]) -> logits``."""
    from ..plm.predict import MODEL_NAME, PLMClassifier

    predictor = PLMClassifier.from_file_data(dict(data), torch.device("cpu"), 4)
    model = predictor.model
    size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    if size > PROTOBUF_LIMIT * 0.95:
        raise UserError(f"the model's weights take {size / 2**30:.1f} GiB; one ONNX file holds at most 2 GiB")
    # eager attention traces into plain ONNX ops; the SDPA path bakes the trace input's mask checks into the graph
    model.set_attn_implementation("eager")
    texts = ["a b c d e f g h", "a b c", "a"]
    batch = predictor.collate(list(zip(range(3), predictor.encode(texts, ["b c"] * 3 if predictor.pair else None),
                                       [None] * 3)))
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in batch["inputs"]]
    axes = {name: {0: "batch", 1: "length"} for name in names}
    onnx_bytes = trace_to_onnx(LogitsOf(model, names), tuple(batch["inputs"][n] for n in names), names, "logits",
                               {**axes, "logits": {0: "batch"}})
    onnx_bytes = fuse_transformer(onnx_bytes, model.config)
    metadata = {"kind": "plm", "model": MODEL_NAME, "position": 0, "labels": list(predictor.labels),
                "multi_label": predictor.multi_label, "pair": predictor.pair, "max_length": predictor.max_length,
                "thresholds": [float(t) for t in predictor.thresholds], "tokenizer_files": dict(data["tokenizer_files"])}
    return [ExportedGraph(MODEL_NAME, onnx_bytes, metadata)]


# encoder architectures whose attention, layer norms and GELU ONNX Runtime's optimizer fuses as BERT's
BERT_LIKE = ("bert", "roberta", "xlm-roberta", "camembert", "electra", "distilbert")


def fuse_transformer(onnx_bytes: bytes, config: Any) -> bytes:
    """The graph with ONNX Runtime's transformer fusions (Attention, SkipLayerNormalization, BiasGelu), which
    its int8 quantization then turns into int8 kernels; the graph as it was for other architectures or
    when the fusion fails (the export check still compares the result with PyTorch)."""
    if getattr(config, "model_type", None) not in BERT_LIKE:
        return onnx_bytes
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), quiet_stderr():
            warnings.simplefilter("ignore")
            fused = optimize_model(onnx.load_from_string(onnx_bytes), model_type="bert",
                                   num_heads=int(config.num_attention_heads), hidden_size=int(config.hidden_size),
                                   opt_level=0)
        if not any(opset.domain == "com.microsoft" for opset in fused.model.opset_import):
            fused.model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))  # the fused ops' domain
        return fused.model.SerializeToString()
    except Exception:  # noqa: BLE001 - an unfused graph is still a correct one
        return onnx_bytes
    finally:
        root.setLevel(level)


EXPORTERS: dict[str, Callable[[Mapping[str, Any]], list[ExportedGraph]]] = {"rnn_cnn": export_rnn_cnn,
                                                                            "plm": export_plm}


def export_graphs(data: Mapping[str, Any], source: object, quantize: str = "none") -> list[ExportedGraph]:
    """ONNX graphs of every model in a loaded model file (``load_model_file``), int8 if asked."""
    kind = check_supported(data.get("kind"), EXPORTERS, "ONNX export", source)
    try:
        graphs = EXPORTERS[kind](data)
    except UserError:
        raise
    except Exception as error:  # noqa: BLE001 - an exporter failure is reported, not a traceback
        raise UserError(f"{source}: ONNX export failed: {first_line(error)}") from None
    weights = data.get("ensemble_weights")
    for graph in graphs:
        graph.metadata.update(quantized=None, opset=OPSET, exported_from=Path(str(source)).name)
        if weights:
            graph.metadata["ensemble_weights"] = dict(weights)
        graph.onnx_bytes = with_metadata(graph.onnx_bytes, graph.metadata)
        if quantize == "int8":
            quantize_graph(graph)
    return graphs
