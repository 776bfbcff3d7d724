"""simple_ntc: text classification (RNN, CNN, their ensemble, BERT-family) on hand-written Ignite engines."""
import logging

__version__ = "0.1.0"

# ignite reports these at INFO on stderr; our own log lines say the same things once.
for _name in ("ignite.distributed.auto.auto_dataloader", "ignite.distributed.auto.auto_model",
              "ignite.distributed.auto.auto_optim", "ignite.handlers.early_stopping.EarlyStopping",
              "ignite.distributed.launcher.Parallel"):
    logging.getLogger(_name).setLevel(logging.WARNING)
