#!/usr/bin/env python
"""Export a model file of train.py to ONNX for ``classify.py --backend onnxruntime``.

    python export.py --model_fn models/nsmc.pth --output models/nsmc.onnx [--quantize int8]

Run ``python export.py --help`` for every flag.
"""
import sys
from pathlib import Path

from simple_ntc.errors import run_cli

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def main() -> int:
    from simple_ntc.export import main as export_main

    return export_main(sys.argv[1:], CONFIG_DIR)


if __name__ == "__main__":
    run_cli(main)
