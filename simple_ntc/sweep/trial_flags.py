"""From a sweep configuration to train.py command lines: the task, its flags, its validation metric.

Parameters are train.py flags (``lr`` -> ``--lr``); their values are checked against the flag as
train.py's YAML configs are. The sweep owns the output flags of every trial (``--model_fn``,
``--checkpoint_dir``, the W&B run name) and sets ``--valid_metric``/``--valid_mode`` to the sweep's
metric, so the model a trial saves is the one its score describes.
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ArgumentParser, _coerce, parse_args, peek_option, task_of
from ..errors import UserError
from .config import SweepConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
# flags every trial gets from the sweep; a configuration may not set them
OWNED_FLAGS = ("model_fn", "checkpoint_dir", "resume", "wandb_name", "wandb_dir")
METRIC_PREFIXES = ("valid/", "validation/")  # our name, and the tag the engine logs validation metrics under in W&B


@dataclass(frozen=True)
class TrialFlags:
    """How to write the train.py command line of a trial."""

    task: str
    metric: str  # the engine's name of the sweep metric (accuracy, rouge_mean, loss, ...)
    metric_key: str  # its name in the sweep configuration (valid/accuracy, ...)
    fixed_argv: tuple[str, ...]  # the command's flags and the constant parameters
    actions: Mapping[str, argparse.Action]
    mode: str  # min or max, as the engine selects the best checkpoint
    max_validations: int | None = None  # the most validations one trial runs (None: unknown, --valid_every)

    @property
    def model_name(self) -> str:
        """A file for classifiers, a directory for summarizers."""
        return "model" if self.task == "summarization" else "model.pth"

    def parameter_argv(self, values: Mapping[str, Any]) -> list[str]:
        return [token for name, value in values.items() for token in flag_tokens(self.actions[name], value)]

    def argv(self, values: Mapping[str, Any], model_fn: str | Path, wandb: Mapping[str, str] | None = None) -> list[str]:
        """The whole command line of a trial (without the interpreter and train.py)."""
        argv = ["--verbose", "1"]  # a line per validation in the trial's log; the command may say otherwise
        if wandb and wandb.get("project"):
            argv += ["--wandb_project", wandb["project"]]
        argv += [*self.fixed_argv, *self.parameter_argv(values), "--model_fn", str(model_fn),
                 "--valid_metric", self.metric, "--valid_mode", self.mode]
        if wandb:
            argv += ["--wandb", "--wandb_name", wandb["name"], "--wandb_dir", wandb["dir"]]
        return argv


def flag_tokens(action: argparse.Action, value: Any) -> list[str]:
    """``--name value`` as train.py parses it: ``--flag/--no-flag`` for switches, split strings for lists."""
    if value is None:
        return []  # the flag keeps train.py's default
    flag = action.option_strings[0]
    if isinstance(action, argparse.BooleanOptionalAction):
        return [flag if value else "--no-" + flag[2:]]
    if action.nargs in ("+", "*") or isinstance(action.nargs, int):
        return [flag, *(value.split() if isinstance(value, str) else [str(value)])]
    return [flag, str(value)]


def build_train_parser(task: str) -> ArgumentParser:
    if task == "summarization":
        from chat_summarization.train import build_parser
    else:
        from ..train import build_parser
    parser = build_parser()

    def error(message: str) -> None:
        raise UserError(message)

    parser.error = error  # type: ignore[method-assign] - a check, not a command line: raise, do not exit
    return parser


def trial_flags(config: SweepConfig) -> TrialFlags:
    """Check the configuration against train.py's flags; one-line errors name the key at fault."""
    actions = {a.dest: a for a in build_train_parser("classification")._actions if a.option_strings}
    constants = {p.name: p.values[0] for p in config.parameters if not p.swept}
    if "task" in {p.name for p in config.swept}:
        raise UserError(f"{config.where('parameters', 'task')}: the task cannot be swept")
    constant_argv = [t for name, value in constants.items() if name in actions for t in flag_tokens(actions[name], value)]
    task = task_of([*config.fixed_argv, *constant_argv])
    parser = build_train_parser(task)
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest != "help"}
    _check_owned(config)
    for p in config.parameters:
        if p.name not in actions:
            raise UserError(f"{config.where('parameters', p.name)}: train.py --task {task} has no flag --{p.name}")
        for i, value in enumerate(p.values if p.distribution in ("constant", "categorical") else ()):
            key = ("parameters", p.name, "value") if p.distribution == "constant" else ("parameters", p.name, "values", i)
            _coerce(actions[p.name], value.split() if isinstance(value, str) and _many(actions[p.name]) else value,
                    config.where(*key))
    fixed = (*config.fixed_argv, *[t for p in config.parameters if not p.swept
                                   for t in flag_tokens(actions[p.name], p.values[0])])
    args = dry_run(task, fixed, config, actions)
    metric = metric_name(config, task, args)
    mode = "min" if config.goal == "minimize" else "max"
    _check_goal(config, metric)
    for flag, wanted in (("--valid_metric", metric), ("--valid_mode", mode)):
        given = peek_option(fixed, flag)
        if given is not None and given != wanted:
            raise UserError(f"{config.where('command')}: {flag} {given} contradicts the sweep's metric "
                            f"({config.metric}, {config.goal}); drop it: sweep.py selects each trial's model by "
                            "the sweep metric")
    return TrialFlags(task, metric, config.metric, tuple(fixed), actions, mode, max_validations(config, task, args))


def max_validations(config: SweepConfig, task: str, args: argparse.Namespace) -> int | None:
    """Validations of the longest trial: one per epoch (and model, with --rnn --cnn); unknown with --valid_every."""
    if args.valid_every:
        return None
    epochs = args.n_epochs
    swept = next((p for p in config.swept if p.name == "n_epochs"), None)
    if swept is not None:
        epochs = max(swept.grid_values() or (int(swept.high),))
    models = 2 if task == "classification" and args.rnn and args.cnn else 1
    return int(epochs) * models


def _many(action: argparse.Action) -> bool:
    return action.nargs in ("+", "*") or isinstance(action.nargs, int)


def _check_owned(config: SweepConfig) -> None:
    for name in OWNED_FLAGS:
        if name in {p.name for p in config.parameters}:
            raise UserError(f"{config.where('parameters', name)}: --{name} is set by sweep.py for every trial")
        for i, token in enumerate(config.fixed_argv):
            if token == f"--{name}" or token.startswith(f"--{name}="):
                raise UserError(f"{config.where('command')}: {token} is set by sweep.py for every trial "
                                "(each trial writes its own model in the sweep directory)")


def sample_values(config: SweepConfig) -> dict[str, Any]:
    """One value of each swept parameter (the first of a list, the lower bound of a range)."""
    sample = {}
    for p in config.swept:
        grid = p.grid_values()
        sample[p.name] = grid[0] if grid else (int(p.low) if p.distribution in ("int_uniform",) else p.low)
    return sample


def dry_run(task: str, fixed: Sequence[str], config: SweepConfig, actions: Mapping[str, argparse.Action]
            ) -> argparse.Namespace:
    """Parse and check a trial's flags as train.py would, before any trial runs."""
    argv = [*fixed, *[t for name, value in sample_values(config).items() for t in flag_tokens(actions[name], value)],
            "--model_fn", "sweep-dry-run"]
    where = f"{config.source}: train.py flags of the trials (command and parameters)"
    try:
        if task == "summarization":
            args = parse_args(build_train_parser(task), CONFIG_DIR / "summarization.yaml", argv,
                              required=["model_fn", "train_fn"])
            _check_summarization(args)
        else:
            from ..train import check_args

            args = parse_args(build_train_parser(task), CONFIG_DIR / "classification.yaml", argv,
                              required=["model_fn", "train_fn"])
            check_args(args)
    except UserError as error:
        raise UserError(f"{where}: {error}") from None
    return args


def _check_summarization(args: argparse.Namespace) -> None:
    from ..engine import EngineOptions

    EngineOptions.from_namespace(args).validate()
    for flag in ("train_fn", "valid_fn"):
        path = getattr(args, flag)
        if path and not Path(path).is_file():
            raise UserError(f"--{flag}: file not found: {path}")
    if not args.valid_fn:
        raise UserError("summarization trials need --valid_fn: a sweep ranks trials by a validation metric")


def metric_names(task: str, args: argparse.Namespace) -> tuple[str, ...]:
    """The validation metrics the engine reports for this task."""
    if task == "summarization":
        from chat_summarization.training import VALID_METRIC_NAMES

        return tuple(VALID_METRIC_NAMES)
    from ..plm.task import task_for

    return tuple(task_for(bool(args.multi_label)).metric_names)


def metric_name(config: SweepConfig, task: str, args: argparse.Namespace) -> str:
    """``valid/accuracy`` (or W&B's ``validation/accuracy``) -> ``accuracy``, if the engine reports it."""
    names = metric_names(task, args)
    for prefix in METRIC_PREFIXES:
        if config.metric.startswith(prefix) and config.metric[len(prefix):] in names:
            return config.metric[len(prefix):]
    raise UserError(f"{config.where('metric', 'name')}: {config.metric!r} is not a validation metric of train.py "
                    f"--task {task}{' --multi_label' if getattr(args, 'multi_label', False) else ''}; choose from "
                    + ", ".join(f"valid/{n}" for n in names))


def _check_goal(config: SweepConfig, metric: str) -> None:
    natural = "minimize" if metric.endswith("loss") else "maximize"
    if config.goal != natural:
        default = " (W&B's default when goal is missing)" if "goal" not in config.raw.get("metric", {}) else ""
        raise UserError(f"{config.where('metric', 'goal') if default == '' else config.where('metric')}: goal "
                        f"{config.goal}{default} would pick the worst {config.metric}; set goal: {natural}")
