#!/usr/bin/env python
"""Hyper-parameter sweeps of train.py from a W&B sweep configuration, run by Optuna.

    python sweep.py --config sweep.yaml --count 8
    python sweep.py --config sweep.yaml --count 8 --storage postgresql://user:pass@host/db   # several machines

Defaults come from configs/sweep.yaml. Run ``python sweep.py --help`` for every flag.
"""
import sys

from simple_ntc.errors import run_cli


def main() -> int:
    from simple_ntc.sweep.cli import main as sweep_main

    return sweep_main(sys.argv[1:])


if __name__ == "__main__":
    run_cli(main)
