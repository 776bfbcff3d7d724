#!/usr/bin/env python
"""Find likely label errors in a training file with out-of-fold probabilities and cleanlab.

    python find_label_errors.py --train_fn train.tsv --cnn --folds 5 --output errors.tsv

Run ``python find_label_errors.py --help`` for every flag (train.py's corpus, model and engine flags too).
"""
import sys
from pathlib import Path

from simple_ntc.errors import run_cli

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def main() -> int:
    from simple_ntc.label_errors import main as label_errors_main

    return label_errors_main(sys.argv[1:], CONFIG_DIR)


if __name__ == "__main__":
    run_cli(main)
