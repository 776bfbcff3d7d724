#!/usr/bin/env python
"""Serve a web page to try a trained classifier and/or summarizer and see how their training went.

    python app.py --model_fn models/nsmc.pth [--summarizer models/sum] [--port 7860]

Then open http://127.0.0.1:7860. Run ``python app.py --help`` for every flag.
"""
import sys
from pathlib import Path

from simple_ntc.errors import run_cli

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def main() -> int:
    from simple_ntc.app.cli import main as app_main

    return app_main(sys.argv[1:], CONFIG_DIR)


if __name__ == "__main__":
    run_cli(main)
