#!/usr/bin/env python
"""Classify lines from stdin with a model trained by train.py.

    cat lines.txt | python classify.py --model_fn models/nsmc.pth [--top_k K] [--drop_rnn] [--drop_cnn]

Prints one line per input line, in input order: the top-k labels (space-separated), a tab, the text.
Run ``python classify.py --help`` for every flag.
"""
import sys
from pathlib import Path

from simple_ntc.errors import run_cli

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def main() -> int:
    from simple_ntc.classify import main as classify_main

    return classify_main(sys.argv[1:], CONFIG_DIR)


if __name__ == "__main__":
    run_cli(main)
