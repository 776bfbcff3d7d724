"""W&B's sweep configuration (YAML) read and checked: the part of the schema that sweep.py runs.

The same file is accepted by ``wandb sweep``. Keys of W&B's schema that Optuna cannot honour
(``normal`` distributions, nested parameters, ``controller``, ...) and keys the schema does not
know are one-line errors ``file:line: key.path: reason``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import yaml

from ..config import load_yaml_mapping
from ..errors import UserError

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
# W&B's distributions that have an Optuna counterpart, and those that have none
DISTRIBUTIONS = ("constant", "categorical", "int_uniform", "uniform", "log_uniform_values", "log_uniform",
                 "q_uniform", "q_log_uniform_values")
UNSUPPORTED_DISTRIBUTIONS = ("normal", "log_normal", "q_normal", "q_log_normal", "beta", "q_beta",
                             "inv_log_uniform", "inv_log_uniform_values", "q_log_uniform",
                             "categorical_w_probabilities")
TOP_LEVEL_KEYS = ("name", "description", "program", "method", "metric", "parameters", "early_terminate", "command",
                  "project", "entity", "run_cap")
UNSUPPORTED_TOP_LEVEL_KEYS = ("controller", "job", "image_uri", "scheduler", "metrics", "apiVersion", "kind")
PARAMETER_KEYS = ("value", "values", "distribution", "min", "max", "q")
# macros of a W&B command that place the trial's flags; the others name the program and its interpreter
ARGS_MACROS = ("${args}", "${args_no_equals}", "${args_no_boolean_flags}")
LAUNCHER_MACROS = ("${env}", "${interpreter}")
PROGRAM = "train.py"


@dataclass(frozen=True)
class Parameter:
    """One entry of ``parameters``: a constant, a list of values, or a distribution between ``low`` and ``high``."""

    name: str
    distribution: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    q: float | None = None

    @property
    def swept(self) -> bool:
        return self.distribution != "constant"

    def grid_values(self) -> tuple[Any, ...] | None:
        """The values a grid visits (W&B: values, constants, int_uniform and q_uniform ranges); None otherwise."""
        if self.distribution in ("constant", "categorical"):
            return self.values
        if self.distribution == "int_uniform":
            return tuple(range(int(self.low), int(self.high) + 1))
        if self.distribution == "q_uniform":
            count = int(math.floor((self.high - self.low) / self.q + 1e-9)) + 1
            integral = all(float(x).is_integer() for x in (self.low, self.high, self.q))
            return tuple(int(self.low + i * self.q) if integral else self.low + i * self.q for i in range(count))
        return None


@dataclass(frozen=True)
class Hyperband:
    """``early_terminate: {type: hyperband}`` as Optuna's HyperbandPruner arguments (resources = validations)."""

    min_resource: int
    max_resource: int | None  # None: Optuna's "auto", the validations of the first complete trial
    reduction_factor: int


@dataclass(frozen=True)
class SweepConfig:
    """A checked sweep configuration; ``source`` and ``lines`` locate each key for error messages."""

    name: str
    method: str
    metric: str
    goal: str
    parameters: tuple[Parameter, ...]
    fixed_argv: tuple[str, ...] = ()
    early_terminate: Hyperband | None = None
    target: float | None = None
    run_cap: int | None = None
    project: str | None = None
    entity: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    source: Path = Path("sweep.yaml")
    lines: dict[tuple, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def swept(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.swept)

    def where(self, *path: Any) -> str:
        """``file:line: dotted.path`` of a key (the closest enclosing key that has a line)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return f"{self.source}:{self.lines[path[:end]]}: {dotted(path)}"
        return f"{self.source}: {dotted(path)}"

    def fingerprint(self) -> dict[str, Any]:
        """What must not change between runs of one sweep (stored with the study)."""
        return {"method": self.method, "metric": self.metric, "goal": self.goal,
                "parameters": [vars(p) | {"values": list(p.values)} for p in self.parameters],
                "fixed_argv": list(self.fixed_argv),
                "early_terminate": vars(self.early_terminate) if self.early_terminate else None}


def dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def key_lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """The 1-based line of every mapping key and sequence item under ``node``, by key path."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines[path + (key_node.value,)] = key_node.start_mark.line + 1
            lines.update(key_lines(value_node, path + (key_node.value,)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            lines.update(key_lines(item, path + (i,)))
    return lines


def load_sweep_config(path: str | Path) -> SweepConfig:
    """Read and check a W&B sweep configuration file."""
    path = Path(path)
    raw, _ = load_yaml_mapping(path)  # one-line errors for a missing file and invalid YAML
    lines = key_lines(yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
    return parse_sweep_config(raw, path, lines)


def parse_sweep_config(raw: dict[str, Any], source: Path = Path("sweep.yaml"),
                       lines: dict[tuple, int] | None = None) -> SweepConfig:
    stub = SweepConfig("", "", "", "", (), source=source, lines=lines or {})
    fail = lambda path, message: _fail(stub, path, message)  # noqa: E731
    for key in raw:
        if key in UNSUPPORTED_TOP_LEVEL_KEYS:
            fail((key,), "is a W&B key that sweep.py does not support (it runs the sweep with Optuna, locally)")
        if key not in TOP_LEVEL_KEYS:
            fail((key,), f"unknown key of a W&B sweep configuration (keys: {', '.join(TOP_LEVEL_KEYS)})")
    for key in ("method", "metric", "parameters"):
        if key not in raw:
            raise UserError(f"{source}: {key}: missing (a sweep needs method, metric and parameters)")
    method = raw["method"]
    if method not in METHODS:
        fail(("method",), f"{method!r} is not supported; choose from {', '.join(METHODS)}")
    for key in ("name", "description", "program", "project", "entity"):
        if key in raw and not isinstance(raw[key], str):
            fail((key,), f"must be a string, got {raw[key]!r}")
    if "program" in raw and PurePath(raw["program"]).name != PROGRAM:
        fail(("program",), f"sweep.py runs {PROGRAM} trials, not {raw['program']!r}")
    run_cap = raw.get("run_cap")
    if run_cap is not None and (not _is_int(run_cap) or run_cap < 1):
        fail(("run_cap",), f"must be a positive integer, got {run_cap!r}")
    metric, goal, target = _metric(raw["metric"], fail)
    parameters = _parameters(raw["parameters"], method, fail)
    early = _hyperband(raw["early_terminate"], fail) if "early_terminate" in raw else None
    fixed = _command(raw["command"], fail) if "command" in raw else ()
    name = raw.get("name") or source.stem
    return SweepConfig(name, method, metric, goal, parameters, fixed, early, target, run_cap, raw.get("project"),
                       raw.get("entity"), raw, source, lines or {})


def _fail(config: SweepConfig, path: tuple, message: str) -> None:
    raise UserError(f"{config.where(*path)}: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _metric(metric: Any, fail) -> tuple[str, str, float | None]:
    if not isinstance(metric, dict):
        fail(("metric",), "must be a mapping with name and goal")
    for key in metric:
        if key == "impute":
            fail(("metric", key), "is not supported (failed trials are left out of the search)")
        if key not in ("name", "goal", "target"):
            fail(("metric", key), "unknown key (metric keys: name, goal, target)")
    if not isinstance(metric.get("name"), str) or not metric["name"]:
        fail(("metric", "name") if "name" in metric else ("metric",), "the name of a validation metric is required, "
             "e.g. valid/accuracy")
    goal = metric.get("goal", "minimize")  # W&B's default
    if goal not in GOALS:
        fail(("metric", "goal"), f"{goal!r} is not a goal; choose from {', '.join(GOALS)}")
    target = metric.get("target")
    if target is not None and not _is_number(target):
        fail(("metric", "target"), f"must be a number, got {target!r}")
    return metric["name"], goal, target


def _parameters(parameters: Any, method: str, fail) -> tuple[Parameter, ...]:
    if not isinstance(parameters, dict) or not parameters:
        fail(("parameters",), "must map at least one train.py flag to its values")
    parsed = tuple(_parameter(str(name), spec, fail) for name, spec in parameters.items())
    if not any(p.swept for p in parsed):
        fail(("parameters",), "nothing is swept: every parameter has a single value")
    if method == "grid":
        for p in parsed:
            if p.grid_values() is None:
                fail(("parameters", p.name, "distribution"), f"a grid needs values, value, int_uniform or q_uniform "
                     f"(as in W&B), got {p.distribution}")
    return parsed


def _parameter(name: str, spec: Any, fail) -> Parameter:
    path = ("parameters", name)
    if not isinstance(spec, dict):
        fail(path, "must be a mapping such as {values: [...]} or {min: ..., max: ...}")
    if "parameters" in spec:
        fail(path + ("parameters",), "nested parameters are not supported (train.py flags are flat)")
    distribution = spec.get("distribution")
    if distribution in UNSUPPORTED_DISTRIBUTIONS:
        fail(path + ("distribution",), f"{distribution} has no Optuna counterpart; use one of {', '.join(DISTRIBUTIONS)}")
    if distribution is not None and distribution not in DISTRIBUTIONS:
        fail(path + ("distribution",), f"unknown distribution {distribution!r}; use one of {', '.join(DISTRIBUTIONS)}")
    for key in spec:
        if key not in PARAMETER_KEYS:
            fail(path + (key,), f"is not supported (parameter keys: {', '.join(PARAMETER_KEYS)})")
    if "value" in spec:
        if distribution not in (None, "constant") or set(spec) - {"value", "distribution"}:
            fail(path, "a constant takes only value (and distribution: constant)")
        return Parameter(name, "constant", (_scalar(spec["value"], path + ("value",), fail),))
    if "values" in spec:
        if distribution not in (None, "categorical") or set(spec) - {"values", "distribution"}:
            fail(path, "a list of values takes only values (and distribution: categorical)")
        values = spec["values"]
        if not isinstance(values, list) or not values:
            fail(path + ("values",), "must be a non-empty list")
        return Parameter(name, "categorical", tuple(_scalar(v, path + ("values", i), fail) for i, v in enumerate(values)))
    return _ranged(name, spec, distribution, path, fail)


def _scalar(value: Any, path: tuple, fail) -> Any:
    if isinstance(value, (list, dict)):
        fail(path, f"values must be single numbers, strings or booleans (write a list of flag values as one string, "
             f"e.g. '3 4 5'), got {value!r}")
    return value


def _ranged(name: str, spec: dict, distribution: str | None, path: tuple, fail) -> Parameter:
    if "min" not in spec or "max" not in spec:
        fail(path, "needs values, value, or min and max")
    low, high = spec["min"], spec["max"]
    for key, bound in (("min", low), ("max", high)):
        if not _is_number(bound):
            fail(path + (key,), f"must be a number, got {bound!r}")
    if low > high:
        fail(path + ("min",), f"min {low} is above max {high}")
    if distribution is None:  # W&B infers int_uniform from integer bounds, uniform otherwise
        distribution = "int_uniform" if _is_int(low) and _is_int(high) else "uniform"
    q = spec.get("q")
    if q is not None and distribution not in ("q_uniform", "q_log_uniform_values"):
        fail(path + ("q",), f"applies to q_uniform and q_log_uniform_values, not {distribution}")
    if q is not None and (not _is_number(q) or q <= 0):
        fail(path + ("q",), f"must be a number > 0, got {q!r}")
    if distribution == "int_uniform" and not (_is_int(low) and _is_int(high)):
        fail(path, f"int_uniform needs integer min and max, got {low!r} and {high!r}")
    if distribution in ("log_uniform_values", "q_log_uniform_values") and low <= 0:
        fail(path + ("min",), f"{distribution} needs min > 0, got {low!r}")
    if distribution == "q_log_uniform_values" and (q not in (None, 1) or not (_is_int(low) and _is_int(high))):
        fail(path, "q_log_uniform_values is supported for integer min and max with q 1 only (Optuna has no "
             "stepped log scale for other values)")
    if distribution == "constant" or distribution == "categorical":
        fail(path + ("distribution",), f"{distribution} takes {'value' if distribution == 'constant' else 'values'}, "
             "not min and max")
    return Parameter(name, distribution, (), low, high, q if q is not None else (1 if distribution == "q_uniform"
                                                                                  else None))


def _hyperband(spec: Any, fail) -> Hyperband:
    path = ("early_terminate",)
    if not isinstance(spec, dict):
        fail(path, "must be a mapping such as {type: hyperband, min_iter: 2, eta: 3}")
    for key in spec:
        if key == "strict":
            fail(path + (key,), "is not supported (Optuna's HyperbandPruner has no strict mode)")
        if key not in ("type", "min_iter", "max_iter", "s", "eta"):
            fail(path + (key,), "unknown key (hyperband keys: type, min_iter, max_iter, s, eta)")
    if spec.get("type") != "hyperband":
        fail(path + ("type",) if "type" in spec else path, f"type must be hyperband, got {spec.get('type')!r}")
    eta = spec.get("eta", 3)
    if not _is_number(eta) or eta < 2 or not float(eta).is_integer():
        fail(path + ("eta",), f"Optuna's HyperbandPruner needs an integer eta >= 2, got {eta!r}")
    eta = int(eta)
    if "min_iter" in spec:
        if not _is_int(spec["min_iter"]) or spec["min_iter"] < 1:
            fail(path + ("min_iter",), f"must be a positive integer, got {spec['min_iter']!r}")
        if "max_iter" in spec and (not _is_int(spec["max_iter"]) or spec["max_iter"] < spec["min_iter"]):
            fail(path + ("max_iter",), f"must be an integer >= min_iter, got {spec['max_iter']!r}")
        return Hyperband(spec["min_iter"], spec.get("max_iter"), eta)
    if "max_iter" not in spec or "s" not in spec:
        fail(path, "needs min_iter, or max_iter and s")
    max_iter, s = spec["max_iter"], spec["s"]
    if not _is_int(max_iter) or max_iter < 1:
        fail(path + ("max_iter",), f"must be a positive integer, got {max_iter!r}")
    if not _is_number(s) or s < 0:
        fail(path + ("s",), f"must be a number >= 0, got {s!r}")
    return Hyperband(max(1, int(max_iter / eta ** s)), max_iter, eta)


def _command(command: Any, fail) -> tuple[str, ...]:
    """train.py's fixed flags from a W&B command such as [${env}, ${interpreter}, ${program}, --cnn, ${args}]."""
    if not isinstance(command, list) or not all(isinstance(t, (str, int, float)) for t in command):
        fail(("command",), "must be a list of strings")
    tokens = [str(t) for t in command]
    program = next((i for i, t in enumerate(tokens) if t == "${program}" or PurePath(t).name == PROGRAM), None)
    if program is None:
        fail(("command",), f"names no program: put ${{program}} (or {PROGRAM}) before train.py's flags")
    for i, token in enumerate(tokens[:program]):
        if token not in LAUNCHER_MACROS and not PurePath(token).name.startswith(("python", "env")):
            fail(("command", i), f"{token!r}: sweep.py starts {PROGRAM} with its own Python; only ${{env}}, "
                 "${interpreter} or python may come before the program")
    fixed = []
    for i, token in enumerate(tokens[program + 1:], start=program + 1):
        if token in ARGS_MACROS:
            continue
        if token.startswith("${"):
            fail(("command", i), f"{token} is not supported: train.py reads its flags as --name value "
                 f"({', '.join(ARGS_MACROS)})")
        fixed.append(token)
    if not any(t in ARGS_MACROS for t in tokens):
        fail(("command",), "has no ${args}: the trial's parameters would never reach train.py")
    return tuple(fixed)
