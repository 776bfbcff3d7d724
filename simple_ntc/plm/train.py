"""``train.py --bert``: fine-tune a pretrained sequence classifier through the shared engine.

Labels, pair/multi-label mode, model config and tokenizer files ride along in every checkpoint, so
``--resume`` needs neither the hub nor the original directory.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..curves import TrainingCurves
from ..data.corpus import Example, example_pairs, example_targets
from ..data.splits import DataSplits
from ..data.token_budget import token_budget_loader
from ..engine.hooks import all_handlers
from ..engine import (
    EngineOptions,
    fit,
    is_main_process,
    print_on_main,
    read_resume_meta,
    resolve_device,
    seed_everything,
)
from ..engine.resume import RUN_KEY
from ..errors import UserError
from ..sweep.reporting import sweep_trial_handlers
from .data import FeatureDataset, PadToLongest, PairEncoder, make_loader
from .model import (
    config_to_dict,
    load_pretrained,
    model_from_config,
    model_input_names,
    tokenizer_files,
    tokenizer_from_files,
    usable_max_length,
)
from .predict import MODEL_NAME, PLMClassifier
from .task import task_for
from .thresholds import tune_thresholds


def run_identity_of(args: argparse.Namespace) -> dict[str, Any]:
    from ..train import run_identity_of as identity  # the classification CLI defines what a run is

    return identity(args)


def checkpoint_dir(args: argparse.Namespace, options: EngineOptions) -> Path:
    """``<checkpoint_dir>/bert``, as RNN/CNN runs keep theirs in ``rnn/`` and ``cnn/``."""
    return options.resolved_checkpoint_dir(args.model_fn) / MODEL_NAME


def _model_and_tokenizer(args: argparse.Namespace, options: EngineOptions, splits: DataSplits) -> tuple[Any, ...]:
    """``(model, tokenizer, labels, multi_label, pair)``: from the resumed run's checkpoint, else pretrained."""
    meta = read_resume_meta(checkpoint_dir(args, options)) if options.resume else None
    if meta and meta.get("kind") == "plm":
        labels = list(meta["labels"])
        unknown = sorted(set(splits.labels) - set(labels))
        if unknown:
            raise UserError(f"--resume: label {unknown[0]!r} of {args.train_fn} was not in the resumed run")
        model, tokenizer = model_from_config(meta["model_config"]), tokenizer_from_files(meta["tokenizer_files"])
        return model, tokenizer, labels, bool(meta["multi_label"]), bool(meta["pair"])
    labels = splits.labels
    model, tokenizer, new_weights = load_pretrained(args.pretrained_model_name, labels, args.multi_label,
                                                    getattr(args, "regression", False))
    if new_weights:
        print_on_main(args.verbose, f"Initialized a new classification head: {', '.join(new_weights)}")
    return model, tokenizer, labels, args.multi_label, any(e.text_pair for e in splits.train)


def train_plm(args: argparse.Namespace, options: EngineOptions, splits: DataSplits,
              curves: TrainingCurves | None = None) -> PLMClassifier:
    """Fine-tune ``--pretrained_model_name`` on ``splits``; return the best model as a classifier."""
    seed_everything(options.seed)  # the new head's initialization, dropout and batch order
    model, tokenizer, labels, multi_label, pair = _model_and_tokenizer(args, options, splits)
    max_length = usable_max_length(args.max_length, tokenizer, model.config)
    if max_length < args.max_length:
        print_on_main(args.verbose,
                      f"max_length {args.max_length} is more than the model takes; using {max_length} tokens")
    input_names = model_input_names(model, tokenizer)
    encode = PairEncoder(tokenizer, max_length, input_names)
    collate = PadToLongest(tokenizer.pad_token_id, tokenizer.padding_side)

    is_regression = getattr(args, "regression", False)

    def dataset(examples: Sequence[Example]) -> FeatureDataset:
        features = encode([e.text for e in examples], example_pairs(examples, pair))
        if is_regression:
            from ..regression import scores_of

            return FeatureDataset(features, scores_of(examples, "labels"))
        return FeatureDataset(features, example_targets(examples, labels, multi_label))

    train_data, valid_data = dataset(splits.train), dataset(splits.valid)
    kind = ("regression" if is_regression else "multi-label" if multi_label else "single-label") + (
        " sentence-pair" if pair else "")
    print_on_main(args.verbose, f"Fine-tuning {args.pretrained_model_name} ({model.config.model_type}, "
                  f"{sum(p.numel() for p in model.parameters()):,} parameters) as a {kind} classifier of "
                  f"{len(labels)} labels on {len(train_data)} examples, validating on {len(valid_data)}; inputs: "
                  f"{', '.join(input_names)}, at most {max_length} tokens")
    task = task_for(multi_label, is_regression)
    meta = {"kind": "plm", "labels": labels, "multi_label": multi_label, "pair": pair,
            "model_config": config_to_dict(model.config), "tokenizer_files": tokenizer_files(tokenizer),
            RUN_KEY: run_identity_of(args)}
    train_loader = (token_budget_loader(train_data, train_data.lengths, args.max_tokens, collate, options.seed,
                                        options.num_workers) if getattr(args, "max_tokens", None) else
                    make_loader(train_data, collate, options.batch_size, True, options.seed, options.num_workers))
    fit(model, train_loader, task.loss_fn, options, checkpoint_dir(args, options),
        make_loader(valid_data, collate, options.batch_size, False), task.eval_fn, task.metrics(args.threshold),
        valid_metric_names=task.metric_names, step_metrics=("loss",) if is_regression else ("loss", "accuracy"),
        meta=meta, run_name=MODEL_NAME, run_config=vars(args),
        attach_handlers=all_handlers(sweep_trial_handlers(), curves.recorder(
            MODEL_NAME, checkpoint_dir(args, options), options).attach if curves else None))
    predictor = PLMClassifier(model, tokenizer, labels, multi_label, pair, max_length,
                              [args.threshold] * len(labels), resolve_device(options.gpu_id),
                              options.batch_size * 2, args.pretrained_model_name, is_regression)
    if multi_label and args.tune_thresholds and is_main_process():
        predictor.thresholds = tune_on(predictor, splits.valid, args.threshold)
        print_on_main(args.verbose, "Thresholds tuned on valid: " + ", ".join(
            f"{label}={t:.2f}" for label, t in zip(labels, predictor.thresholds)))
    return predictor


def tune_on(predictor: PLMClassifier, examples: Sequence[Example], default: float) -> list[float]:
    """Per-label thresholds with the best F1 on ``examples``."""
    import torch

    probs = predictor.probabilities([e.text for e in examples], example_pairs(examples, predictor.pair))[MODEL_NAME]
    targets = torch.tensor(example_targets(examples, predictor.labels, True))
    return tune_thresholds(probs, targets, default)
