"""The Optuna side of a sweep: storage, sampler, pruner, search space and the study that holds the trials.

The study lives in an RDB storage (SQLite in the sweep directory by default, any Optuna RDB URL
otherwise), so a later run continues it and several machines can run its trials at once.
``grid`` -> GridSampler, ``random`` -> RandomSampler, ``bayes`` -> TPESampler; ``early_terminate:
hyperband`` -> HyperbandPruner over validations.
"""
from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from ..errors import UserError, first_line
from .config import Parameter, SweepConfig

CONFIG_ATTR = "sweep_config"  # the study's user attribute holding SweepConfig.fingerprint()
INTERRUPTED = "interrupted"  # the error recorded for a trial stopped by Ctrl-C (run again by the next start)


def open_storage(url: str, heartbeat: bool = False) -> RDBStorage:
    """An Optuna RDB storage; with ``heartbeat``, trials of a killed process fail after a while and run again."""
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    try:
        with warnings.catch_warnings():  # the heartbeat is "experimental" in Optuna since 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            extra: dict[str, Any] = {}
            if heartbeat:
                extra = {"heartbeat_interval": 60, "grace_period": 180,
                         "heartbeat_stale_trial_callback": RetryHeartbeatStaleTrialCallback(max_retry=1)}
            return RDBStorage(url, engine_kwargs=engine_kwargs, **extra)
    except Exception as error:  # noqa: BLE001 - SQLAlchemy raises many kinds for a bad URL or an unreachable server
        raise UserError(f"--storage {url}: cannot open the Optuna storage ({first_line(error)})") from None


def distribution(p: Parameter) -> BaseDistribution:
    """W&B's distribution of a swept parameter as Optuna's."""
    if p.distribution == "categorical":
        return CategoricalDistribution(list(p.values))
    if p.distribution == "int_uniform":
        return IntDistribution(int(p.low), int(p.high))
    if p.distribution == "uniform":
        return FloatDistribution(p.low, p.high)
    if p.distribution == "log_uniform_values":
        return FloatDistribution(p.low, p.high, log=True)
    if p.distribution == "log_uniform":  # W&B: min and max are natural-log exponents
        return FloatDistribution(math.exp(p.low), math.exp(p.high), log=True)
    if p.distribution == "q_log_uniform_values":
        return IntDistribution(int(p.low), int(p.high), log=True)
    if p.distribution == "q_uniform":
        if all(float(x).is_integer() for x in (p.low, p.high, p.q)):
            return IntDistribution(int(p.low), int(p.high), step=int(p.q))
        return FloatDistribution(p.low, p.high, step=p.q)
    raise ValueError(f"{p.name}: {p.distribution} is not a swept distribution")


def search_space(config: SweepConfig) -> dict[str, BaseDistribution]:
    return {p.name: distribution(p) for p in config.swept}


def suggest(trial: optuna.Trial, space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """The trial's value of every swept parameter, in the configuration's order."""
    values = {}
    for name, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            values[name] = trial.suggest_categorical(name, dist.choices)
        elif isinstance(dist, IntDistribution):
            values[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            values[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return values


def sampler_for(config: SweepConfig, seed: int | None) -> optuna.samplers.BaseSampler:
    if config.method == "grid":
        return optuna.samplers.GridSampler({p.name: list(p.grid_values()) for p in config.swept}, seed=seed)
    if config.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def pruner_arguments(config: SweepConfig, max_validations: int | None) -> dict[str, Any] | None:
    """HyperbandPruner's arguments (also handed to each trial's train.py), or None without early_terminate.

    The largest step is ``max_iter``, else the validations of the longest trial: given from the start,
    the first trials already count in the brackets (Optuna's "auto" waits for a complete trial).
    """
    hb = config.early_terminate
    if hb is None:
        return None
    max_resource = hb.max_resource or max_validations
    if max_resource is not None and max_resource < hb.min_resource:
        raise UserError(f"{config.where('early_terminate', 'min_iter')}: min_iter {hb.min_resource} is more than the "
                        f"{max_resource} validation(s) of a trial: nothing could be pruned")
    return {"min_resource": hb.min_resource, "max_resource": max_resource or "auto",
            "reduction_factor": hb.reduction_factor}


def pruner_for(arguments: Mapping[str, Any] | None) -> optuna.pruners.BasePruner:
    return optuna.pruners.HyperbandPruner(**arguments) if arguments else optuna.pruners.NopPruner()


def open_study(config: SweepConfig, storage: RDBStorage, seed: int | None,
               pruner: dict[str, Any] | None = None) -> optuna.Study:
    """Create the sweep's study, or load it; a study started from another configuration is an error."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = "maximize" if config.goal == "maximize" else "minimize"
    try:
        study = optuna.create_study(study_name=config.name, storage=storage, sampler=sampler_for(config, seed),
                                    pruner=pruner_for(pruner), direction=direction,
                                    load_if_exists=True)
    except ValueError as error:  # e.g. the stored study optimizes in the other direction
        raise UserError(f"sweep {config.name!r}: {first_line(error)}") from None
    fingerprint = json.loads(json.dumps(config.fingerprint()))
    stored = study.user_attrs.get(CONFIG_ATTR)
    if stored is None:
        study.set_user_attr(CONFIG_ATTR, fingerprint)
    elif stored != fingerprint:
        changed = next(key for key in fingerprint if stored.get(key) != fingerprint[key])
        raise UserError(f"{config.where(_yaml_key(changed))}: sweep {config.name!r} in this storage was started with "
                        f"another {_yaml_key(changed)}; restore it, or give the sweep another name (or --sweep_dir)")
    return study


def _yaml_key(fingerprint_key: str) -> str:
    return {"fixed_argv": "command", "goal": "metric"}.get(fingerprint_key, fingerprint_key)


def requeue_interrupted(study: optuna.Study) -> list[int]:
    """Queue again the trials that Ctrl-C stopped (once each); returns their numbers."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.system_attrs.get("retry_history", [None])[-1] for t in trials}
    queued = []
    for trial in trials:
        if trial.state == TrialState.FAIL and trial.user_attrs.get("error") == INTERRUPTED \
                and trial.number not in retried:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                RetryHeartbeatStaleTrialCallback(max_retry=None)(study, trial)
            queued.append(trial.number)
    return queued


def n_waiting(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None
