"""simple_ntc: text classification (RNN, CNN, their ensemble, BERT-family) on hand-written Ignite engines."""
__version__ = "0.1.0"
