"""PyTorch dynamic int8 quantization at load time (``classify.py --quantize int8``).

Weights of Linear (and LSTM) layers are stored as int8 and activations are quantized on the fly
per batch, so no calibration data is needed. It runs on CPU only (PyTorch's fbgemm/x86 kernels).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..errors import UserError
from .kinds import check_supported


def quantize_module(module: nn.Module, layers: set[type[nn.Module]]) -> nn.Module:
    """``module`` with its ``layers`` replaced by dynamically quantized int8 versions (in place).

    Linear layers get one weight scale per output channel (a transformer keeps its labels far better
    than with one scale per matrix); LSTMs take PyTorch's per-tensor scheme, the one they support.
    """
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

    qconfigs = {layer: per_channel_dynamic_qconfig if layer is nn.Linear else default_dynamic_qconfig
                for layer in layers}
    with warnings.catch_warnings():  # torch.ao's deprecation notices: the API is the one torch 2.13 ships
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(module.eval(), qconfigs, dtype=torch.qint8, inplace=True)


def _quantize_rnn_cnn(predictor: Any) -> None:
    # the embedding table stays fp32: dynamic quantization covers matrix products, not lookups
    predictor.models = {name: quantize_module(model, {nn.Linear, nn.LSTM}) for name, model in predictor.models.items()}


def _quantize_plm(predictor: Any) -> None:
    predictor.model = quantize_module(predictor.model, {nn.Linear})


QUANTIZERS: dict[str, Callable[[Any], None]] = {"rnn_cnn": _quantize_rnn_cnn, "plm": _quantize_plm}


def quantize_int8(predictor: Any, kind: str, source: object) -> Any:
    """The loaded ``predictor`` of model kind ``kind`` with int8 weights (CPU only)."""
    check_supported(kind, QUANTIZERS, "--quantize int8 with --backend torch", source)
    if predictor.device.type != "cpu":
        raise UserError("--quantize int8 with --backend torch runs on CPU only; use --gpu_id -1 "
                        "(or --backend onnxruntime)")
    QUANTIZERS[kind](predictor)
    return predictor
