"""Classifier architectures and how to rebuild them from a saved model file."""
from __future__ import annotations

from typing import Any

from torch import nn

from .cnn import CNNClassifier
from .rnn import RNNClassifier
from .transformer import TransformerClassifier

__all__ = ["ARCHITECTURES", "CNNClassifier", "RNNClassifier", "TransformerClassifier", "build_model"]

ARCHITECTURES: dict[str, type[nn.Module]] = {"rnn": RNNClassifier, "cnn": CNNClassifier,
                                             "transformer": TransformerClassifier}


def build_model(architecture: str, kwargs: dict[str, Any]) -> nn.Module:
    """Instantiate an RNN/CNN/Transformer classifier from its saved constructor arguments."""
    return ARCHITECTURES[architecture](**kwargs)
