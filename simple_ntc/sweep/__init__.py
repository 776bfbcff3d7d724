"""Hyper-parameter sweeps (``sweep.py``): a W&B sweep configuration run by Optuna, one train.py per trial.

:mod:`.config` reads W&B's YAML schema, :mod:`.trial_flags` turns it into train.py command lines,
:mod:`.study` builds the Optuna study (storage, sampler, pruner), :mod:`.runner` runs one trial,
:mod:`.reporting` is the trial's side inside train.py (validations, pruning), :mod:`.outputs` writes
trials.csv, best.pth and the plot, :mod:`.sweeper` ties them together, :mod:`.wandb_agent` hands the
configuration to W&B's own sweep server. Importing this package imports nothing heavy: train.py
imports :func:`.reporting.sweep_trial_handlers` on every run.
"""
