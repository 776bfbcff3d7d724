"""Serving backends behind the ``Predictor`` protocol: PyTorch fp32 or dynamic int8, and ONNX Runtime.

* :mod:`.quantize`: PyTorch dynamic int8 quantization of Linear/LSTM layers, at load time;
* :mod:`.onnx_export`: saved models -> ONNX graphs with dynamic batch and length axes, carrying the
  labels and tokenizer in their metadata (``export.py``);
* :mod:`.onnx_predict`: those graphs run by ONNX Runtime, tokenization staying in the project;
* :mod:`.backends`: what ``classify.py --backend/--quantize`` loads.

Each supports the model kinds it names (``rnn_cnn``, ``plm``) and says so for any other kind.
"""
from __future__ import annotations

BACKENDS = ("torch", "onnxruntime")
QUANTIZATIONS = ("none", "int8")
