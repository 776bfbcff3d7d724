"""Command-line parsing with YAML defaults: built-in YAML < user ``--config`` < command-line flags.

Every CLI builds an :class:`ArgumentParser` whose defaults come from a YAML file in ``configs/``.
Unknown keys and ill-typed values in a YAML file are reported as ``file:line: message``.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError, fail, first_line


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose errors are one line (no usage dump) with exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # noqa: D401 - argparse API
        fail(self.prog, f"{message} (see --help)")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults (taken from the YAML config) and keep the description's line breaks."""


def _option_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.option_strings and a.dest not in ("help",)}


def load_yaml_mapping(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Read a YAML mapping; return its values and the line number of every key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"config file not found: {path}") from None
    except OSError as error:
        raise UserError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or first_line(error)
        raise UserError(f"{where}: invalid YAML: {problem}") from None
    if values is None:
        return {}, {}
    if not isinstance(values, dict) or not isinstance(node, yaml.MappingNode):
        raise UserError(f"{path}:1: a config file must be a mapping of option: value")
    lines = {key_node.value: key_node.start_mark.line + 1 for key_node, _ in node.value}
    return values, lines


def _coerce(action: argparse.Action, value: Any, where: str) -> Any:
    """Check a YAML value against the flag it sets, converting it like the command line would."""
    name = action.option_strings[-1]
    if value is None:
        return None
    if isinstance(action, argparse.BooleanOptionalAction) or isinstance(
        action, (argparse._StoreTrueAction, argparse._StoreFalseAction)
    ):
        if not isinstance(value, bool):
            raise UserError(f"{where}: {name} expects true or false, got {value!r}")
        return value
    many = action.nargs in ("+", "*") or isinstance(action.nargs, int)
    if many and not isinstance(value, list):
        value = [value]
    if not many and isinstance(value, (list, dict)):
        raise UserError(f"{where}: {name} expects a single value, got {value!r}")
    items = value if many else [value]
    converted = []
    for item in items:
        if action.type is not None:
            try:
                item = action.type(str(item) if not isinstance(item, str) else item)
            except (TypeError, ValueError, argparse.ArgumentTypeError) as error:
                raise UserError(f"{where}: invalid value {item!r} for {name}: {error}") from None
        if action.choices is not None and item not in action.choices:
            choices = ", ".join(map(str, action.choices))
            raise UserError(f"{where}: invalid value {item!r} for {name} (choose from {choices})")
        converted.append(item)
    return converted if many else converted[0]


def yaml_defaults(parser: argparse.ArgumentParser, path: Path) -> dict[str, Any]:
    """Values of a YAML config as parser defaults, validated against the parser's flags."""
    values, lines = load_yaml_mapping(path)
    actions = _option_actions(parser)
    defaults = {}
    for key, value in values.items():
        where = f"{path}:{lines.get(key, 1)}"
        if key not in actions:
            raise UserError(f"{where}: unknown option {key!r} (see --help for the options)")
        defaults[key] = _coerce(actions[key], value, where)
    return defaults


def peek_option(argv: Sequence[str], flag: str) -> str | None:
    """The value of ``flag`` in ``argv`` (``--flag v`` or ``--flag=v``) without full parsing."""
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def parse_args(
    parser: ArgumentParser,
    default_config: Path,
    argv: Sequence[str] | None = None,
    required: Sequence[str] = (),
) -> argparse.Namespace:
    """Parse ``argv`` with defaults from ``default_config`` then from ``--config`` if given.

    ``required`` names options that must be set by the config or the command line.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a.dest == "config" for a in parser._actions):
        parser.add_argument(
            "--config",
            metavar="YAML",
            help=f"YAML file of option: value defaults, applied over {default_config.name}; "
            "command-line flags override both",
        )
    defaults = yaml_defaults(parser, default_config)
    user_config = peek_option(argv, "--config")
    if user_config:
        defaults.update(yaml_defaults(parser, Path(user_config)))
    parser.set_defaults(**defaults)
    args = parser.parse_args(argv)
    actions = _option_actions(parser)
    for dest in required:
        if getattr(args, dest, None) in (None, ""):
            parser.error(f"the following argument is required: {actions[dest].option_strings[-1]}")
    return args


TASKS = ("classification", "summarization")


def task_of(argv: Sequence[str]) -> str:
    """train.py's ``--task`` in ``argv``, else the task of their ``--config``, else classification."""
    task = peek_option(argv, "--task")
    if task is None and peek_option(argv, "--config"):
        task = load_yaml_mapping(Path(peek_option(argv, "--config")))[0].get("task")
    task = task or "classification"
    if task not in TASKS:
        raise UserError(f"unknown --task {task!r}; choose from {', '.join(TASKS)}")
    return task
