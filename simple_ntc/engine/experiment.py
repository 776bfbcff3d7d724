"""Experiment logging to Weights & Biases through ignite's ``WandBLogger``; offline without an account."""
from __future__ import annotations

import netrc
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events
from ignite.handlers import WandBLogger

from ..errors import UserError
from .distributed import is_main_process
from .options import EngineOptions
from .reporting import attach_progress_bars

STEP_KEYS = {"loss": "loss", "accuracy": "accuracy", "|param|": "param_norm", "|g_param|": "grad_norm"}


def has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode(requested: str) -> str:
    """``auto`` becomes online only when credentials exist, so W&B never prompts for a login."""
    if requested == "auto":
        return "online" if has_wandb_credentials() else "offline"
    if requested == "online" and not has_wandb_credentials():
        raise UserError("--wandb_mode online needs W&B credentials (run `wandb login` or set WANDB_API_KEY); "
                        "use --wandb_mode offline to log locally")
    return requested


def attach_wandb(
    trainer: Engine,
    evaluator: Engine | None,
    optimizer: Any,
    options: EngineOptions,
    run_dir: Path,
    config: dict[str, Any],
    name: str | None = None,
) -> WandBLogger:
    """Log step metrics, learning rates, gradient/parameter norms and validation metrics.

    Steps are trainer iterations, so training and validation series share one x-axis.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_SILENT", "true" if options.verbose < 2 else "false")
    logger = WandBLogger(
        project=options.wandb_project,
        name=options.wandb_name or name,
        config=config,
        mode=wandb_mode(options.wandb_mode),
        dir=str(run_dir),
        reinit="finish_previous",
    )

    def step_values(output: dict[str, float]) -> dict[str, float]:
        return {STEP_KEYS[k]: v for k, v in output.items() if k in STEP_KEYS}

    iteration = lambda *_: trainer.state.iteration  # noqa: E731 - a step for every series
    logger.attach_output_handler(trainer, Events.ITERATION_COMPLETED(every=options.log_every), tag="training",
                                 output_transform=step_values, global_step_transform=iteration)
    logger.attach_opt_params_handler(trainer, Events.ITERATION_COMPLETED(every=options.log_every),
                                     optimizer=optimizer, param_name="lr")
    if evaluator is not None:
        logger.attach_output_handler(evaluator, Events.COMPLETED, tag="validation", metric_names="all",
                                     global_step_transform=iteration)
    return logger


def on_terminal() -> bool:
    """Whether both output streams are terminals (a progress bar in a log file is carriage-return noise)."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def setup_exp_logging(
    trainer: Engine,
    evaluator: Engine | None,
    optimizer: Any,
    options: EngineOptions,
    checkpoint_dir: Path,
    step_metrics: Sequence[str],
    run_config: Mapping[str, Any] | None = None,
    run_name: str = "model",
) -> WandBLogger | None:
    """On rank 0: tqdm bars with ``--verbose 2`` on a terminal (elsewhere the epoch lines only), and W&B."""
    if not is_main_process():
        return None
    if options.verbose >= 2 and on_terminal():
        attach_progress_bars(trainer, evaluator, step_metrics)
    if not options.wandb:
        return None
    return attach_wandb(trainer, evaluator, optimizer, options,
                        Path(options.wandb_dir) if options.wandb_dir else checkpoint_dir,
                        dict(run_config or {}), name=run_name)
