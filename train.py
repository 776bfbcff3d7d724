#!/usr/bin/env python
"""Train a text classifier (default) or a dialogue summarizer (``--task summarization``).

    python train.py --model_fn models/nsmc.pth --train_fn data.tsv --rnn --cnn
    python train.py --task summarization --model_fn models/sum --train_fn train.csv --valid_fn dev.csv

Defaults come from configs/<task>.yaml; ``--config my.yaml`` overrides them; flags override both.
Run ``python train.py --help`` (or ``--task summarization --help``) for every flag.
"""
import sys
from pathlib import Path

from simple_ntc.config import load_yaml_mapping, peek_option
from simple_ntc.errors import UserError, run_cli

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
TASKS = ("classification", "summarization")


def task_of(argv: list[str]) -> str:
    """``--task`` from the command line, else from ``--config``, else classification."""
    task = peek_option(argv, "--task")
    if task is None and peek_option(argv, "--config"):
        task = load_yaml_mapping(Path(peek_option(argv, "--config")))[0].get("task")
    task = task or "classification"
    if task not in TASKS:
        raise UserError(f"unknown --task {task!r}; choose from {', '.join(TASKS)}")
    return task


def main() -> int | None:
    argv = sys.argv[1:]
    if task_of(argv) == "summarization":
        from chat_summarization.train import main as train_main
    else:
        from simple_ntc.train import main as train_main
    return train_main(argv, CONFIG_DIR)


if __name__ == "__main__":
    run_cli(main)
