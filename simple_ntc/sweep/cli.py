"""``sweep.py``: flags, defaults from ``configs/sweep.yaml``, and the call into the sweep library."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..config import ArgumentParser, yaml_defaults
from ..errors import UserError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sweep.py",
        description="Hyper-parameter sweeps of train.py from a W&B sweep configuration, run by Optuna.\n\n"
        "  python sweep.py --config sweep.yaml --count 8\n"
        "  python sweep.py --config sweep.yaml --count 8 --storage postgresql://user:pass@host/db  # on each machine\n\n"
        "The YAML is W&B's sweep schema (wandb sweep accepts it): name, method (grid, random, bayes), metric\n"
        "(name: valid/<engine metric>, goal), parameters (train.py flags: value, values, min/max with a\n"
        "distribution), early_terminate (hyperband: min_iter, eta), command (train.py's fixed flags around\n"
        "${args}). Each trial is one train.py training; the sweep directory gets trials.csv, best.pth\n"
        "(the best trial's model; a directory for summarization), sweep.png and trials/NNNN/ (model, log).\n"
        "Defaults come from configs/sweep.yaml.",
    )
    parser.add_argument("--config", metavar="SWEEP_YAML", help="the W&B sweep configuration (required)")
    parser.add_argument("--count", type=int, help="trials to run now (random and bayes need it unless the "
                        "configuration sets run_cap; a grid runs to its end without it)")
    parser.add_argument("--sweep_dir", help="directory of the sweep's outputs; empty: sweeps/<name>")
    parser.add_argument("--storage", metavar="URL", help="Optuna RDB storage URL (sqlite:///..., postgresql://..., "
                        "mysql://...) shared by the machines that run the sweep; empty: sqlite in the sweep directory")
    parser.add_argument("--seed", type=int, help="seed of the sampler (give each machine its own, or none); "
                        "empty: random")
    parser.add_argument("--in_process", action=argparse.BooleanOptionalAction,
                        help="train each trial inside this process instead of a fresh `python train.py` (saves each "
                        "trial's start-up; a crashing trial then ends the sweep)")
    parser.add_argument("--wandb", action=argparse.BooleanOptionalAction,
                        help="make every trial a W&B run (offline without an account) grouped under the sweep's name")
    parser.add_argument("--max_consecutive_failures", type=int,
                        help="stop after this many failed trials in a row (0: never)")
    parser.add_argument("--keep_checkpoints", action=argparse.BooleanOptionalAction,
                        help="keep each trial's training checkpoints (only its model is kept otherwise)")
    parser.add_argument("--wandb_agent", action=argparse.BooleanOptionalAction,
                        help="hand the configuration to W&B's sweep server (wandb.sweep + wandb.agent) instead of "
                        "Optuna; needs a W&B account")
    parser.set_defaults(**yaml_defaults(parser, CONFIG_DIR / "sweep.yaml"))
    return parser


def main(argv: Sequence[str]) -> int:
    from .sweeper import SweepSettings

    args = build_parser().parse_args(argv)
    if not args.config:
        raise UserError("the following argument is required: --config (see --help)")
    if args.max_consecutive_failures < 0:
        raise UserError(f"--max_consecutive_failures must be >= 0, got {args.max_consecutive_failures}")
    settings = SweepSettings(Path(args.config), args.count, Path(args.sweep_dir) if args.sweep_dir else None,
                             args.storage, args.seed, args.in_process, args.wandb, args.max_consecutive_failures,
                             args.keep_checkpoints)
    if args.wandb_agent:
        return _wandb_agent(settings)
    from .sweeper import run_sweep

    return run_sweep(settings)


def _wandb_agent(settings) -> int:
    from ..engine.experiment import has_wandb_credentials
    from .config import load_sweep_config
    from .sweeper import prepare_sweep_dir, sweep_dir_for
    from .trial_flags import trial_flags
    from .wandb_agent import run_wandb_agent

    config = load_sweep_config(settings.config)
    flags = trial_flags(config)
    if not has_wandb_credentials():
        raise UserError("--wandb_agent needs a W&B account (run `wandb login` or set WANDB_API_KEY); without one, "
                        "drop --wandb_agent: Optuna runs the same configuration here")
    sweep_dir = sweep_dir_for(config, settings)
    prepare_sweep_dir(sweep_dir)
    return run_wandb_agent(config, flags, sweep_dir, settings.count, settings.in_process)
