"""``train.py`` for text classification: read data, train RNN/CNN/Transformer models through the engine, report, save.

The CLI at the repository root only dispatches here; this module parses the flags (defaults from
``configs/classification.yaml``) and runs the pipeline, in one process or several.
"""
from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import classification, regression
from .atomic import check_output_dir, check_output_file
from .baseline import fit_baseline, format_scoreboard
from .config import ArgumentParser, parse_args
from .curves import TrainingCurves
from .data.corpus import CorpusFormat, add_format_arguments, example_targets
from .data.dataset import EncodedDataset, make_loader
from .data.splits import DataSplits, load_splits
from .data.tokenization import KIWI_DICTS, TOKENIZERS, TextTokenizer
from .distill import add_distillation_arguments, check_distillation_args, prepare_distillation, read_unlabeled
from .engine import (
    EngineOptions,
    add_engine_arguments,
    fit,
    is_main_process,
    launch,
    print_on_main,
    read_resume_meta,
    seed_everything,
)
from .engine.distributed import resolve_device
from .engine.hooks import all_handlers
from .engine.resume import RUN_KEY, check_same_run, resumed_seed, run_identity
from .errors import UserError
from .evaluate import report as report_splits
from .model_file import save_model_file
from .models import build_model
from .models.transformer import POOLINGS, POSITIONS
from .predict import Predictor, RNNCNNClassifier
from .sweep.reporting import sweep_trial_handlers

ARCHITECTURES = ("rnn", "cnn", "transformer")
# Values of flags left empty (null in the YAML config): RNN/CNN from scratch vs. fine-tuning a pretrained
# transformer (--bert, after simple-ntc's finetune_plm_native.py; max_grad_norm 1.0 as HF's Trainer).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "rnn_cnn": {"n_epochs": 8, "lr": 1e-3, "scheduler": "linear", "warmup_ratio": 0.05, "optimizer": "adam",
                "weight_decay": 0.0, "batch_size": 64, "max_length": 256, "max_grad_norm": 5.0,
                "save_every": 0},
    "bert": {"n_epochs": 5, "lr": 5e-5, "scheduler": "linear", "warmup_ratio": 0.2, "optimizer": "adamw",
             "weight_decay": 0.01, "batch_size": 32, "max_length": 128, "max_grad_norm": 1.0,
             "save_every": 500},
}


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="train.py",
        description="Train with hand-written PyTorch-Ignite engines: text classifiers (RNN, CNN, their ensemble;\n"
        "--bert fine-tunes a pretrained transformer) or, with --task summarization, a dialogue summarizer.\n\n"
        "  python train.py --model_fn models/nsmc.pth --train_fn train.tsv --rnn --cnn\n\n"
        "  python train.py --model_fn models/nli.pth --train_fn pairs.tsv --bert --pretrained_model_name DIR_OR_NAME\n\n"
        "  python train.py --task summarization --model_fn models/sum --train_fn train.csv --valid_fn dev.csv\n"
        "  (its flags and defaults: python train.py --task summarization --help)\n\n"
        "Corpora are headerless 'label<TAB>text' (or 'label<TAB>text_a<TAB>text_b') TSV files, or headered\n"
        "TSV/CSV files with --text_col and --label_col (--text_pair_col, --multi_label, --label_cols).\n"
        "Defaults come from configs/classification.yaml; --config overrides them; flags override both.\n"
        "Flags marked 'empty: model default' take the RNN/CNN or the --bert value listed in their help.",
    )
    parser.add_argument("--task", choices=("classification", "summarization"),
                        help="classification (this help) or summarization (see --task summarization --help)")
    data = parser.add_argument_group("data")
    data.add_argument("--model_fn", help="output model file (one file holds every trained model)")
    data.add_argument("--train_fn", help="training corpus")
    data.add_argument("--valid_fn", help="validation corpus; without it, --valid_ratio of the training rows")
    data.add_argument("--valid_ratio", type=float, help="fraction of training rows held out for validation (seeded)")
    data.add_argument("--test_fn", help="test corpus, evaluated once at the end with the best weights")
    data.add_argument("--test_ratio", type=float, help="fraction of training rows held out as a test set (seeded)")
    add_format_arguments(data)
    data.add_argument("--multi_label", action=argparse.BooleanOptionalAction,
                      help="several labels per text: 0/1 label columns or a comma-separated label field")
    data.add_argument("--regression", action=argparse.BooleanOptionalAction,
                      help="the label is a number (e.g. a 0-5 similarity of a sentence pair): trained with MSE, scored "
                      "by Pearson/Spearman/MSE, best model by --valid_metric pearson")

    vocab = parser.add_argument_group("tokenization and vocabulary")
    vocab.add_argument("--tokenizer", choices=TOKENIZERS,
                       help="kiwi: Korean morphemes (kiwipiepy), for Korean; word: lower-cased words with punctuation "
                       "split off, for English and other space-separated languages; bpe: subwords learned from the "
                       "training texts, any language; char: characters, any language; space: split on whitespace "
                       "only (pre-tokenized text, e.g. from an external morpheme analyzer)")
    vocab.add_argument("--kiwi_dicts", choices=tuple(KIWI_DICTS), help="Kiwi's built-in dictionaries to load: all "
                       "(proper nouns, typos, multi-word names), default (proper nouns only), none; fewer load faster "
                       "and are saved with the model, so classify.py loads the same")
    vocab.add_argument("--min_vocab_freq", type=int, help="minimum token frequency to enter the vocabulary")
    vocab.add_argument("--max_vocab_size", type=int, help="maximum vocabulary size (space/char/kiwi)")
    vocab.add_argument("--bpe_vocab_size", type=int, help="vocabulary size of --tokenizer bpe")
    vocab.add_argument("--max_length", type=int, help="truncate texts to this many tokens")

    models = parser.add_argument_group("models")
    models.add_argument("--rnn", action=argparse.BooleanOptionalAction, help="train a bidirectional LSTM classifier")
    models.add_argument("--cnn", action=argparse.BooleanOptionalAction,
                        help="train a CNN classifier (with --rnn: both, and their ensemble)")
    models.add_argument("--transformer", action=argparse.BooleanOptionalAction,
                        help="train a small Transformer encoder from scratch (combinable with --rnn --cnn)")
    models.add_argument("--linear", action=argparse.BooleanOptionalAction,
                        help="keep the TF-IDF + logistic (--regression: ridge) regression baseline as a member of the "
                        "model file and of the ensemble (it is fitted and reported on every run either way)")
    models.add_argument("--ensemble_weights", choices=("valid", "equal"),
                        help="how the ensemble of several models averages them: valid = weights that minimize the "
                        "validation loss (log loss; squared error with --regression), saved in the model file when "
                        "their ensemble scores at least as well on valid as a plain mean; equal = a plain mean (also "
                        "used when there is no validation split)")
    models.add_argument("--bert", action=argparse.BooleanOptionalAction,
                        help="fine-tune a pretrained transformer (see --pretrained_model_name)")
    models.add_argument("--word_vec_size", type=int, help="embedding size of RNN/CNN/Transformer")
    models.add_argument("--hidden_size", type=int,
                        help="LSTM hidden size per direction; Transformer model width (d_model)")
    models.add_argument("--n_layers", type=int, help="number of LSTM layers, and of Transformer encoder layers")
    models.add_argument("--dropout", type=float, help="dropout rate of RNN/CNN/Transformer")
    models.add_argument("--use_batch_norm", action=argparse.BooleanOptionalAction,
                        help="batch normalization after each CNN convolution")
    models.add_argument("--window_sizes", type=int, nargs="+", help="CNN window sizes")
    models.add_argument("--n_filters", type=int, nargs="+", help="number of CNN filters per window size")
    models.add_argument("--n_heads", type=int, help="Transformer attention heads (must divide --hidden_size)")
    models.add_argument("--ff_size", type=int, help="Transformer feed-forward size")
    models.add_argument("--positions", choices=POSITIONS, help="Transformer positions: learned embeddings or fixed "
                        "sinusoids")
    models.add_argument("--pooling", choices=POOLINGS, help="Transformer text vector: mean of the token states "
                        "(padding excluded) or the state of a prepended class token")

    plm = parser.add_argument_group("pretrained transformers (--bert)")
    plm.add_argument("--pretrained_model_name", metavar="NAME_OR_LOCAL_DIR",
                     help="an AutoModelForSequenceClassification with a fast tokenizer: a directory written by "
                     "save_pretrained, or a hub name (e.g. beomi/kcbert-base) where the hub is reachable")
    plm.add_argument("--threshold", type=float,
                     help="multi-label: probability at or above which a label is predicted (every label)")
    plm.add_argument("--tune_thresholds", action=argparse.BooleanOptionalAction,
                     help="multi-label: after training, choose each label's threshold for the best F1 on the "
                     "validation set (saved with the model; valid scores then are optimistic, test scores are not)")
    plm.add_argument("--max_tokens", type=int, help="batches of at most N padded tokens (rows x longest) instead of "
                     "--batch_size rows, as fairseq does; the learning-rate schedule counts updates (empty: off)")
    add_distillation_arguments(parser)
    add_engine_arguments(parser)
    _note_model_defaults(parser)
    return parser


def _note_model_defaults(parser: argparse.ArgumentParser) -> None:
    """Say in --help what an empty value of a model-dependent flag becomes."""
    for action in parser._actions:
        if action.dest in MODEL_DEFAULTS["bert"]:
            rnn_cnn, bert = MODEL_DEFAULTS["rnn_cnn"][action.dest], MODEL_DEFAULTS["bert"][action.dest]
            base = action.help.split("; empty means")[0]
            action.help = f"{base} (empty: model default, {rnn_cnn} for RNN/CNN, {bert} with --bert)"


def apply_model_defaults(args: argparse.Namespace) -> None:
    """Fill the flags left empty with the defaults of the chosen kind of model."""
    for key, value in MODEL_DEFAULTS["bert" if args.bert else "rnn_cnn"].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)


def check_args(args: argparse.Namespace) -> EngineOptions:
    """Catch every user mistake that can be seen before training starts."""
    chosen = [name for name in (*ARCHITECTURES, "bert", "linear") if getattr(args, name)]
    if not chosen:
        raise UserError("choose what to train: --rnn, --cnn, --transformer (several: an ensemble), --linear or --bert")
    if args.bert and any(getattr(args, name) for name in ARCHITECTURES):
        raise UserError("--bert trains alone; drop --rnn/--cnn/--transformer (--linear may join it)")
    apply_model_defaults(args)
    check_breadth_args(args)
    check_plm_args(args)
    check_distillation_args(args)
    for flag in ("train_fn", "valid_fn", "test_fn"):
        path = getattr(args, flag)
        if path and not Path(path).is_file():
            raise UserError(f"--{flag}: file not found: {path}")
    if not args.valid_fn and not 0.0 < args.valid_ratio < 1.0:
        raise UserError(f"--valid_ratio must be in (0, 1) without --valid_fn, got {args.valid_ratio}")
    if not args.test_fn and not 0.0 <= args.test_ratio < 1.0:
        raise UserError(f"--test_ratio must be in [0, 1), got {args.test_ratio}")
    if len(args.window_sizes) != len(args.n_filters):
        raise UserError(f"--window_sizes and --n_filters need as many values each, got "
                        f"{len(args.window_sizes)} and {len(args.n_filters)}")
    for flag in ("max_length", "min_vocab_freq", "max_vocab_size", "bpe_vocab_size", "word_vec_size",
                 "hidden_size", "n_layers"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be a positive integer, got {getattr(args, flag)}")
    if not 0.0 <= args.dropout < 1.0:
        raise UserError(f"--dropout must be in [0, 1), got {args.dropout}")
    CorpusFormat.from_args(args, args.multi_label).check()
    options = EngineOptions.from_namespace(args)
    options.validate()
    check_output_file(args.model_fn, "--model_fn")
    check_output_dir(options.resolved_checkpoint_dir(args.model_fn), "--checkpoint_dir")
    return options


def check_breadth_args(args: argparse.Namespace) -> None:
    """--regression, --transformer and --linear: what combines with what."""
    if args.regression:
        if args.multi_label:
            raise UserError("--regression predicts one number per text; drop --multi_label")
        if args.valid_metric == "accuracy":  # the classification default: regression models are chosen by Pearson
            args.valid_metric = regression.VALID_METRIC
        if args.valid_metric not in regression.METRIC_NAMES:
            raise UserError(f"--valid_metric {args.valid_metric!r} is not computed with --regression; choose from "
                            f"{', '.join(regression.METRIC_NAMES)}")
    if args.transformer:
        for flag in ("n_heads", "ff_size"):
            if getattr(args, flag) < 1:
                raise UserError(f"--{flag} must be a positive integer, got {getattr(args, flag)}")
        if args.hidden_size % args.n_heads:
            raise UserError(f"--transformer needs --hidden_size ({args.hidden_size}) divisible by --n_heads "
                            f"({args.n_heads})")


def check_plm_args(args: argparse.Namespace) -> None:
    """Flags that only fine-tuning supports, and their values."""
    if not args.bert:
        if args.max_tokens is not None:
            raise UserError("--max_tokens needs --bert (RNN/CNN/Transformer batches are --batch_size rows)")
        light = any(getattr(args, name) for name in ARCHITECTURES)
        for flag in ("multi_label", "tune_thresholds"):
            if getattr(args, flag) and light:
                raise UserError(f"--{flag} needs --bert or --linear alone (RNN/CNN/Transformer models predict one "
                                "label per text)")
        if args.tune_thresholds and not args.multi_label:
            raise UserError("--tune_thresholds needs --multi_label (single-label models take the most probable label)")
        return
    if not args.pretrained_model_name:
        raise UserError("--bert needs --pretrained_model_name NAME_OR_LOCAL_DIR (a save_pretrained directory, "
                        "or a hub name such as beomi/kcbert-base where the hub is reachable)")
    if not 0.0 < args.threshold < 1.0:
        raise UserError(f"--threshold must be in (0, 1), got {args.threshold}")
    if args.max_tokens is not None and args.max_tokens < args.max_length:
        raise UserError(f"--max_tokens {args.max_tokens} must hold one text of --max_length {args.max_length} tokens")
    if args.tune_thresholds and not args.multi_label:
        raise UserError("--tune_thresholds needs --multi_label (single-label models take the most probable label)")


def model_kwargs(architecture: str, args: argparse.Namespace, vocab_size: int, n_classes: int,
                 pad_id: int) -> dict[str, Any]:
    common = {"input_size": vocab_size, "word_vec_size": args.word_vec_size, "n_classes": n_classes,
              "dropout": args.dropout, "pad_id": pad_id}
    if getattr(args, "regression", False):
        common["regression"] = True
    if architecture == "rnn":
        return {**common, "hidden_size": args.hidden_size, "n_layers": args.n_layers}
    if architecture == "transformer":
        return {**common, "hidden_size": args.hidden_size, "n_layers": args.n_layers, "n_heads": args.n_heads,
                "ff_size": args.ff_size, "max_length": args.max_length, "positions": args.positions,
                "pooling": args.pooling}
    return {**common, "use_batch_norm": args.use_batch_norm, "window_sizes": args.window_sizes,
            "n_filters": args.n_filters}


def train_rnn_cnn(args: argparse.Namespace, options: EngineOptions, splits: DataSplits,
                  curves: TrainingCurves | None = None) -> RNNCNNClassifier:
    """Train each chosen architecture through the engine; return them with the shared tokenizer.

    Sentence pairs are read as ``text_a <sep> text_b``; ``--regression`` models output one value.
    """
    checkpoint_root = options.resolved_checkpoint_dir(args.model_fn)
    # one W&B directory for the run of every architecture
    options = dataclasses.replace(options, wandb_dir=options.wandb_dir or str(checkpoint_root))
    architectures = [name for name in ARCHITECTURES if getattr(args, name)]
    meta = read_resume_meta(checkpoint_root / architectures[0]) if options.resume else None
    pair = any(e.text_pair for e in splits.train)
    if meta:
        tokenizer, labels = TextTokenizer.from_dict(meta["tokenizer"]), list(meta["labels"])
    else:
        # the unlabeled lines of --distill_fn are training inputs too: their words belong in the vocabulary
        texts = [e.text for e in splits.train] + [e.text_pair or "" for e in splits.train if pair]
        texts += read_unlabeled(args.distill_fn) if args.distill_fn else []
        tokenizer = TextTokenizer.train(args.tokenizer, texts, args.max_length, args.min_vocab_freq,
                                        args.max_vocab_size, args.bpe_vocab_size, pair=pair,
                                        kiwi_dicts=args.kiwi_dicts)
        labels = splits.labels
    print_on_main(args.verbose,
                  f"Vocabulary: {tokenizer.vocab_size} {args.tokenizer} tokens; labels: {', '.join(labels)}")
    task = regression if args.regression else classification
    bundle = RNNCNNClassifier(tokenizer, labels, {}, pair=pair, regression=args.regression)

    def encode(examples: list) -> EncodedDataset:
        targets = (regression.scores_of(examples, "labels") if args.regression
                   else example_targets(examples, labels, False))
        return EncodedDataset(bundle.encode([e.text for e in examples], [e.text_pair or "" for e in examples]),
                              targets)

    train_data, valid_data = encode(splits.train), encode(splits.valid)
    loss_fn, distillation = task.loss_fn, None
    if args.teacher:  # the teacher's soft targets for the training texts and --distill_fn's lines
        if pair or args.regression:
            raise UserError("--teacher distills single-text classifiers; sentence pairs and --regression are not "
                            "supported")
        distillation = prepare_distillation(args, tokenizer, labels, [e.text for e in splits.train],
                                            train_data.targets, options.batch_size)
        loss_fn, train_data = distillation.loss_fn, distillation.dataset
        print_on_main(args.verbose, distillation.describe(args))
    models = {}
    for name in architectures:
        seed_everything(options.seed)  # each architecture starts as if trained alone
        model = build_model(name, model_kwargs(name, args, tokenizer.vocab_size, len(labels), tokenizer.pad_id))
        print_on_main(args.verbose, f"Training {name.upper()} ({sum(p.numel() for p in model.parameters()):,} "
                      f"parameters) on {len(train_data)} examples, validating on {len(valid_data)}")
        train_loader = (make_loader(train_data, tokenizer.pad_id, options.batch_size, True, options.seed,
                                    options.num_workers) if distillation is None else
                        distillation.loader(tokenizer.pad_id, options.batch_size, options.seed, options.num_workers))
        valid_loader = make_loader(valid_data, tokenizer.pad_id, options.batch_size, False)
        fit(model, train_loader, loss_fn, options, checkpoint_root / name, valid_loader,
            task.eval_fn, task.metrics(), step_metrics=("loss",) if args.regression else ("loss", "accuracy"),
            meta={"tokenizer": tokenizer.to_dict(), "labels": labels, RUN_KEY: run_identity_of(args)}, run_name=name, run_config=vars(args),
            attach_handlers=all_handlers(
                sweep_trial_handlers(), curves.recorder(name, checkpoint_root / name, options).attach if curves else None))
        models[name] = model
    return RNNCNNClassifier(tokenizer, labels, models, resolve_device(options.gpu_id), options.batch_size, pair,
                            args.regression)


def report(args: argparse.Namespace, predictor: Predictor, splits: DataSplits) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class reports and confusion heatmaps on valid (and test), per model and ensemble."""
    return report_splits(predictor, {"valid": splits.valid, "test": splits.test}, args.model_fn,
                         lambda message: print_on_main(args.verbose, message))


def train_worker(local_rank: int, args: argparse.Namespace) -> None:
    """The whole pipeline in one process (rank 0 reports and writes the model file)."""
    options = EngineOptions.from_namespace(args)
    fmt = CorpusFormat.from_args(args, args.multi_label)
    curves = TrainingCurves()
    splits = load_splits(args.train_fn, fmt, args.valid_fn, args.test_fn, args.valid_ratio, args.test_ratio,
                         options.seed, args.skip_bad_lines, lambda m: print_on_main(args.verbose, m),
                         known_labels_only=not args.regression)
    if args.regression:
        regression.check_splits(splits)
        splits.labels = list(regression.LABELS)
    print_on_main(args.verbose,
                  f"Data: {len(splits.train)} train, {len(splits.valid)} valid, {len(splits.test)} test examples")
    mixed = splits.mixed_row()
    if mixed:
        raise UserError(mixed)
    predictor: Predictor | None = None
    if args.bert:
        from .plm.train import train_plm  # transformers is imported only for --bert

        predictor = train_plm(args, options, splits, curves)
    elif any(getattr(args, name) for name in ARCHITECTURES):
        predictor = train_rnn_cnn(args, options, splits, curves)
    if not is_main_process():
        return
    predictor, baseline = with_baseline(args, predictor, splits)
    weights = choose_ensemble_weights(args, predictor, splits)
    results = report(args, predictor, splits)
    baseline_results = None if args.linear else report_baseline(baseline, splits)
    print_on_main(args.verbose, "\n" + format_scoreboard(results, baseline_results, baseline_member=args.linear))
    config = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, list, type(None)))}
    save_model_file(args.model_fn, {**predictor.to_file_data(), "config": config, "report": _plain(results),
                                    **({"baseline": baseline_results} if baseline_results else {}),
                                    **({"ensemble_weights": weights} if weights else {})})
    print_on_main(args.verbose, f"\nSaved {', '.join(predictor.model_names)} to {args.model_fn}")
    curves.save(args.model_fn, lambda message: print_on_main(args.verbose, message))


def with_baseline(args: argparse.Namespace, predictor: Predictor | None,
                  splits: DataSplits) -> tuple[Predictor, Predictor]:
    """Fit the TF-IDF baseline on the training split; with --linear it joins (or is) the predictor."""
    from .linear import MODEL_NAME

    labels = predictor.labels if predictor is not None else splits.labels
    pair = predictor.pair if predictor is not None else any(e.text_pair for e in splits.train)
    baseline = fit_baseline(splits.train, splits.valid, labels, args.multi_label, pair, args.regression,
                            args.threshold, args.tune_thresholds, args.seed, lambda m: print_on_main(args.verbose, m))
    if not args.linear:
        assert predictor is not None
        return predictor, baseline
    if predictor is None:
        return baseline, baseline
    from .joint import JointPredictor

    if MODEL_NAME in predictor.model_names:
        raise UserError(f"--linear: the model name {MODEL_NAME!r} is taken")
    return JointPredictor([predictor, baseline]), baseline


def choose_ensemble_weights(args: argparse.Namespace, predictor: Predictor, splits: DataSplits) -> dict[str, float]:
    """With several models and a validation split, ``--ensemble_weights valid`` fits the ensemble's weights
    (kept when they score at least as well on valid as the plain mean, see :func:`~simple_ntc.ensemble.choose_on_validation`)."""
    if len(predictor.model_names) < 2 or args.ensemble_weights != "valid" or not splits.valid:
        return {}
    from .ensemble import choose_on_validation

    weights, line = choose_on_validation(predictor, splits.valid)
    if weights:
        predictor.ensemble_weights = weights  # type: ignore[attr-defined]
    print_on_main(args.verbose, line)
    return weights


def report_baseline(baseline: Predictor, splits: DataSplits) -> dict[str, Any]:
    """The baseline's scores on valid (and test), as stored in the model file (no text tables)."""
    from .evaluate import evaluate

    scored = {name: examples for name, examples in (("valid", splits.valid), ("test", splits.test)) if examples}
    return {split: {k: v for k, v in next(iter(evaluate(baseline, examples).values())).items() if k != "report"}
            for split, examples in scored.items()}


def _plain(results: dict[str, Any]) -> dict[str, Any]:
    """Scores only (no text tables), as stored in the model file."""
    return {split: {name: {k: v for k, v in s.items() if k != "report"} for name, s in per_model.items()}
            for split, per_model in results.items()}


def run_identity_of(args: argparse.Namespace) -> dict[str, Any]:
    """What ``--resume`` must find unchanged: seed, data files (by content) and the held-out ratios."""
    return run_identity(args.seed, {"--train_fn": args.train_fn, "--valid_fn": args.valid_fn,
                                    "--test_fn": args.test_fn},
                        **{"--valid_ratio": None if args.valid_fn else args.valid_ratio,
                           "--test_ratio": None if args.test_fn else args.test_ratio})


def adopt_resumed_run(args: argparse.Namespace, options: EngineOptions) -> None:
    """``--resume``: take the checkpointed run's seed (so its split and batch order) and refuse other data."""
    root = options.resolved_checkpoint_dir(args.model_fn)
    for name in ["bert"] if args.bert else [a for a in ARCHITECTURES if getattr(args, a)]:
        meta = read_resume_meta(root / name)
        if meta:
            args.seed = resumed_seed(meta, args.seed, args.verbose)
            check_same_run(meta.get(RUN_KEY), run_identity_of(args), root / name)
            return


def main(argv: Sequence[str], config_dir: Path) -> int:
    args = parse_args(build_parser(), config_dir / "classification.yaml", argv, required=["model_fn", "train_fn"])
    options = check_args(args)
    if options.resume:
        adopt_resumed_run(args, options)
    launch(train_worker, args, nproc_per_node=options.nproc_per_node, backend=options.backend)
    return 0
