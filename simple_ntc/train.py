"""``train.py`` for text classification: read data, train RNN/CNN models through the engine, report, save.

The CLI at the repository root only dispatches here; this module parses the flags (defaults from
``configs/classification.yaml``) and runs the pipeline, in one process or several.
"""
from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import classification
from .config import ArgumentParser, parse_args
from .data.corpus import CorpusFormat, add_format_arguments, example_targets
from .data.dataset import EncodedDataset, make_loader
from .data.splits import DataSplits, load_splits
from .data.tokenization import TOKENIZERS, TextTokenizer
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
from .errors import UserError
from .evaluate import report as report_splits
from .model_file import save_model_file
from .models import build_model
from .predict import Predictor, RNNCNNClassifier

ARCHITECTURES = ("rnn", "cnn")
# Values of flags left empty (null in the YAML config): RNN/CNN from scratch vs. fine-tuning a pretrained
# transformer (--bert, after simple-ntc's finetune_plm_native.py; max_grad_norm 1.0 as HF's Trainer).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "rnn_cnn": {"n_epochs": 8, "lr": 1e-3, "scheduler": "linear", "warmup_ratio": 0.05, "optimizer": "adam",
                "weight_decay": 0.0, "batch_size": 64, "max_length": 256, "max_grad_norm": 5.0},
    "bert": {"n_epochs": 5, "lr": 5e-5, "scheduler": "linear", "warmup_ratio": 0.2, "optimizer": "adamw",
             "weight_decay": 0.01, "batch_size": 32, "max_length": 128, "max_grad_norm": 1.0},
}


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="train.py",
        description="Train text classifiers (RNN, CNN, their ensemble) with PyTorch-Ignite.\n\n"
        "  python train.py --model_fn models/nsmc.pth --train_fn train.tsv --rnn --cnn\n\n"
        "  python train.py --model_fn models/nli.pth --train_fn pairs.tsv --bert --pretrained_model_name DIR_OR_NAME\n\n"
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

    vocab = parser.add_argument_group("tokenization and vocabulary")
    vocab.add_argument("--tokenizer", choices=TOKENIZERS,
                       help="space: split on whitespace (pre-tokenized text); char: characters; kiwi: Korean "
                       "morphemes (kiwipiepy); bpe: subwords learned from the training texts")
    vocab.add_argument("--min_vocab_freq", type=int, help="minimum token frequency to enter the vocabulary")
    vocab.add_argument("--max_vocab_size", type=int, help="maximum vocabulary size (space/char/kiwi)")
    vocab.add_argument("--bpe_vocab_size", type=int, help="vocabulary size of --tokenizer bpe")
    vocab.add_argument("--max_length", type=int, help="truncate texts to this many tokens")

    models = parser.add_argument_group("models")
    models.add_argument("--rnn", action=argparse.BooleanOptionalAction, help="train a bidirectional LSTM classifier")
    models.add_argument("--cnn", action=argparse.BooleanOptionalAction,
                        help="train a CNN classifier (with --rnn: both, and their ensemble)")
    models.add_argument("--bert", action=argparse.BooleanOptionalAction,
                        help="fine-tune a pretrained transformer (see --pretrained_model_name)")
    models.add_argument("--word_vec_size", type=int, help="embedding size of RNN/CNN")
    models.add_argument("--hidden_size", type=int, help="LSTM hidden size per direction")
    models.add_argument("--n_layers", type=int, help="number of LSTM layers")
    models.add_argument("--dropout", type=float, help="dropout rate of RNN/CNN")
    models.add_argument("--use_batch_norm", action=argparse.BooleanOptionalAction,
                        help="batch normalization after each CNN convolution")
    models.add_argument("--window_sizes", type=int, nargs="+", help="CNN window sizes")
    models.add_argument("--n_filters", type=int, nargs="+", help="number of CNN filters per window size")

    plm = parser.add_argument_group("pretrained transformers (--bert)")
    plm.add_argument("--pretrained_model_name", metavar="NAME_OR_LOCAL_DIR",
                     help="an AutoModelForSequenceClassification with a fast tokenizer: a directory written by "
                     "save_pretrained, or a hub name (e.g. beomi/kcbert-base) where the hub is reachable")
    plm.add_argument("--threshold", type=float,
                     help="multi-label: probability at or above which a label is predicted (every label)")
    plm.add_argument("--tune_thresholds", action=argparse.BooleanOptionalAction,
                     help="multi-label: after training, choose each label's threshold for the best F1 on the "
                     "validation set (saved with the model; valid scores then are optimistic, test scores are not)")
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
    chosen = [name for name in (*ARCHITECTURES, "bert") if getattr(args, name)]
    if not chosen:
        raise UserError("choose what to train: --rnn, --cnn (both: an ensemble) or --bert")
    if args.bert and (args.rnn or args.cnn):
        raise UserError("--bert trains alone; drop --rnn/--cnn")
    apply_model_defaults(args)
    check_plm_args(args)
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
    return options


def check_plm_args(args: argparse.Namespace) -> None:
    """Flags that only fine-tuning supports, and their values."""
    if not args.bert:
        for flag in ("multi_label", "text_pair_col", "tune_thresholds"):
            if getattr(args, flag):
                raise UserError(f"--{flag} needs --bert (RNN/CNN models classify single texts into one label)")
        return
    if not args.pretrained_model_name:
        raise UserError("--bert needs --pretrained_model_name NAME_OR_LOCAL_DIR (a save_pretrained directory, "
                        "or a hub name such as beomi/kcbert-base where the hub is reachable)")
    if not 0.0 < args.threshold < 1.0:
        raise UserError(f"--threshold must be in (0, 1), got {args.threshold}")
    if args.tune_thresholds and not args.multi_label:
        raise UserError("--tune_thresholds needs --multi_label (single-label models take the most probable label)")


def model_kwargs(architecture: str, args: argparse.Namespace, vocab_size: int, n_classes: int,
                 pad_id: int) -> dict[str, Any]:
    common = {"input_size": vocab_size, "word_vec_size": args.word_vec_size, "n_classes": n_classes,
              "dropout": args.dropout, "pad_id": pad_id}
    if architecture == "rnn":
        return {**common, "hidden_size": args.hidden_size, "n_layers": args.n_layers}
    return {**common, "use_batch_norm": args.use_batch_norm, "window_sizes": args.window_sizes,
            "n_filters": args.n_filters}


def train_rnn_cnn(args: argparse.Namespace, options: EngineOptions, splits: DataSplits) -> RNNCNNClassifier:
    """Train each chosen architecture through the engine; return them with the shared tokenizer."""
    checkpoint_root = options.resolved_checkpoint_dir(args.model_fn)
    # one W&B directory for the run of every architecture
    options = dataclasses.replace(options, wandb_dir=options.wandb_dir or str(checkpoint_root))
    architectures = [name for name in ARCHITECTURES if getattr(args, name)]
    meta = read_resume_meta(checkpoint_root / architectures[0]) if options.resume else None
    if meta:
        tokenizer, labels = TextTokenizer.from_dict(meta["tokenizer"]), list(meta["labels"])
    else:
        tokenizer = TextTokenizer.train(args.tokenizer, [e.text for e in splits.train], args.max_length,
                                        args.min_vocab_freq, args.max_vocab_size, args.bpe_vocab_size)
        labels = splits.labels
    print_on_main(args.verbose,
                  f"Vocabulary: {tokenizer.vocab_size} {args.tokenizer} tokens; labels: {', '.join(labels)}")
    encode = lambda examples: EncodedDataset(tokenizer.encode([e.text for e in examples]),  # noqa: E731
                                             example_targets(examples, labels, False))
    train_data, valid_data = encode(splits.train), encode(splits.valid)
    models = {}
    for name in architectures:
        seed_everything(options.seed)  # each architecture starts as if trained alone
        model = build_model(name, model_kwargs(name, args, tokenizer.vocab_size, len(labels), tokenizer.pad_id))
        print_on_main(args.verbose, f"Training {name.upper()} ({sum(p.numel() for p in model.parameters()):,} "
                      f"parameters) on {len(train_data)} examples, validating on {len(valid_data)}")
        train_loader = make_loader(train_data, tokenizer.pad_id, options.batch_size, True, options.seed,
                                   options.num_workers)
        valid_loader = make_loader(valid_data, tokenizer.pad_id, options.batch_size, False)
        fit(model, train_loader, classification.loss_fn, options, checkpoint_root / name, valid_loader,
            classification.eval_fn, classification.metrics(),
            meta={"tokenizer": tokenizer.to_dict(), "labels": labels}, run_name=name, run_config=vars(args))
        models[name] = model
    return RNNCNNClassifier(tokenizer, labels, models, resolve_device(options.gpu_id), options.batch_size)


def report(args: argparse.Namespace, predictor: Predictor, splits: DataSplits) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class reports and confusion heatmaps on valid (and test), per model and ensemble."""
    return report_splits(predictor, {"valid": splits.valid, "test": splits.test}, args.model_fn,
                         lambda message: print_on_main(args.verbose, message))


def train_worker(local_rank: int, args: argparse.Namespace) -> None:
    """The whole pipeline in one process (rank 0 reports and writes the model file)."""
    options = EngineOptions.from_namespace(args)
    fmt = CorpusFormat.from_args(args, args.multi_label)
    splits = load_splits(args.train_fn, fmt, args.valid_fn, args.test_fn, args.valid_ratio, args.test_ratio,
                         options.seed, args.skip_bad_lines, lambda m: print_on_main(args.verbose, m))
    print_on_main(args.verbose,
                  f"Data: {len(splits.train)} train, {len(splits.valid)} valid, {len(splits.test)} test examples")
    if not args.bert and any(e.text_pair for e in splits.train):
        raise UserError(f"{args.train_fn}: sentence pairs (label<TAB>text_a<TAB>text_b) need --bert")
    if args.bert:
        from .plm.train import train_plm  # transformers is imported only for --bert

        predictor: Predictor = train_plm(args, options, splits)
    else:
        predictor = train_rnn_cnn(args, options, splits)
    if not is_main_process():
        return
    results = report(args, predictor, splits)
    config = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, list, type(None)))}
    save_model_file(args.model_fn, {**predictor.to_file_data(), "config": config, "report": _plain(results)})
    print_on_main(args.verbose, f"\nSaved {', '.join(predictor.model_names)} to {args.model_fn}")


def _plain(results: dict[str, Any]) -> dict[str, Any]:
    """Scores only (no text tables), as stored in the model file."""
    return {split: {name: {k: v for k, v in s.items() if k != "report"} for name, s in per_model.items()}
            for split, per_model in results.items()}


def main(argv: Sequence[str], config_dir: Path) -> int:
    args = parse_args(build_parser(), config_dir / "classification.yaml", argv, required=["model_fn", "train_fn"])
    options = check_args(args)
    launch(train_worker, args, nproc_per_node=options.nproc_per_node, backend=options.backend)
    return 0
