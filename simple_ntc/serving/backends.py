"""What ``classify.py --backend/--quantize`` loads: one entry point for every serving backend.

* ``--backend torch`` (default for a ``.pth`` model file): PyTorch fp32, or dynamic int8;
* ``--backend onnxruntime`` (default for an export.py output): the exported ``.onnx`` file or
  directory; given a ``.pth`` model file instead, it is exported in memory first (slower start-up:
  export once with ``export.py``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..model_file import load_model_file
from ..predict import Predictor, load_predictor, predictor_from_file_data, with_ensemble_weights
from .kinds import check_servable
from .onnx_format import is_onnx_model


def _rnn_cnn_from_file(data: dict[str, Any], device: torch.device, batch_size: int) -> Predictor:
    from ..predict import RNNCNNClassifier

    return RNNCNNClassifier.from_file_data(data, device, batch_size)


def _plm_from_file(data: dict[str, Any], device: torch.device, batch_size: int) -> Predictor:
    from ..plm.predict import PLMClassifier

    return PLMClassifier.from_file_data(data, device, batch_size)


TORCH_PREDICTORS = {"rnn_cnn": _rnn_cnn_from_file, "plm": _plm_from_file}


def with_members(predictor: Predictor, data: dict[str, Any], model_fn: str | Path, device: torch.device,
                 batch_size: int) -> Predictor:
    """``predictor`` joined with the file's ``--linear`` members (scikit-learn models, served as they are)."""
    if not data.get("members"):
        return predictor
    from ..joint import JointPredictor

    members = [predictor_from_file_data(model_fn, member, device, batch_size) for member in data["members"]]
    return JointPredictor([predictor, *members])


def load_for_serving(
    model_fn: str | Path, backend: str | None = None, quantize: str = "none",
    device: torch.device = torch.device("cpu"), batch_size: int = 256,
) -> Predictor:
    """A predictor of ``model_fn`` on ``backend`` (None: by the file), int8 if ``quantize == "int8"``."""
    onnx_input = is_onnx_model(model_fn)
    backend = backend or ("onnxruntime" if onnx_input else "torch")
    if backend == "torch":
        if onnx_input:
            raise UserError(f"{model_fn} is an ONNX export: run it with --backend onnxruntime "
                            "(or give the .pth model file written by train.py)")
        if quantize == "none":
            return load_predictor(model_fn, device, batch_size)
        from .quantize import quantize_int8

        data = load_model_file(model_fn)
        kind = check_servable(data, TORCH_PREDICTORS, "--quantize int8 with --backend torch", model_fn, members=True)
        quantized = quantize_int8(TORCH_PREDICTORS[kind](data, device, batch_size), kind, model_fn)
        return with_ensemble_weights(with_members(quantized, data, model_fn, device, batch_size), data)
    if backend != "onnxruntime":
        raise UserError(f"unknown --backend {backend!r}; choose torch or onnxruntime")
    from .onnx_predict import onnx_predictor, read_graphs

    gpu_id = device.index if device.type == "cuda" else -1
    if onnx_input:
        graphs = read_graphs(model_fn)
    else:
        from .onnx_export import export_graphs

        data = load_model_file(model_fn)
        check_servable(data, TORCH_PREDICTORS, "--backend onnxruntime", model_fn, regression=False)
        graphs = export_graphs(data, model_fn)
    return onnx_predictor(graphs, model_fn, quantize, gpu_id if gpu_id is not None else 0, batch_size)
