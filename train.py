#!/usr/bin/env python
"""Train a text classifier (default) or a dialogue summarizer (``--task summarization``).

    python train.py --model_fn models/nsmc.pth --train_fn data.tsv --rnn --cnn
    python train.py --task summarization --model_fn models/sum --train_fn train.csv --valid_fn dev.csv

Defaults come from configs/<task>.yaml; ``--config my.yaml`` overrides them; flags override both.
Run ``python train.py --help`` (or ``--task summarization --help``) for every flag.
"""
import sys
from pathlib import Path

from simple_ntc.config import task_of
from simple_ntc.errors import run_cli

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def main() -> int | None:
    argv = sys.argv[1:]
    if task_of(argv) == "summarization":
        from chat_summarization.train import main as train_main
    else:
        from simple_ntc.train import main as train_main
    return train_main(argv, CONFIG_DIR)


if __name__ == "__main__":
    run_cli(main)
