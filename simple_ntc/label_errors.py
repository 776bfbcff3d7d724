"""``find_label_errors.py``: out-of-fold probabilities for every training row, ranked by cleanlab.

K models are trained through the engine, each on K-1 folds (a seeded ``--valid_ratio`` of those rows
validates it), and predict the fold they did not see. cleanlab's label quality score (self-confidence:
the out-of-fold probability of the given label; multi-label: its aggregate over the labels) ranks the
rows, and ``find_label_issues`` (prune by noise rate on the confident joint) flags the likely errors.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .atomic import atomic_open, check_output_file
from .config import ArgumentParser, parse_args, yaml_defaults
from .data.corpus import CorpusFormat, Example, read_corpus
from .data.splits import DataSplits, hold_out, report_bad_lines
from .data.textfile import without_line_breaks
from .engine import EngineOptions
from .errors import UserError
from .predict import Predictor, predict_proba

HEADER = "line\tgiven\tsuggested\tquality\tissue\ttext"
# train.py flags that mean nothing here: hidden from --help, refused when given
NOT_APPLICABLE = ("task", "model_fn", "valid_fn", "test_fn", "test_ratio", "resume", "teacher", "distill_fn")


def build_parser() -> ArgumentParser:
    """train.py's flags (corpus format, models, engine) plus --folds and --output."""
    from .train import build_parser as train_parser

    parser = train_parser()
    parser.prog = "find_label_errors.py"
    parser.description = (
        "Find likely label errors in a training file: train --folds models through the engine, each on the\n"
        "other folds, collect out-of-fold probabilities for every row and rank the rows with cleanlab.\n\n"
        "  python find_label_errors.py --train_fn train.tsv --cnn --folds 5 --output errors.tsv\n\n"
        "errors.tsv has a header and one row per training row, worst first:\n"
        "line<TAB>given<TAB>suggested<TAB>quality<TAB>issue<TAB>text (line: 1-based line in --train_fn; quality:\n"
        "cleanlab's label quality score in [0, 1], low = likely wrong; issue: 1 where cleanlab's find_label_issues\n"
        "flags the row). Format, model and training flags are train.py's (defaults: configs/classification.yaml,\n"
        "then configs/find_label_errors.yaml); --model_fn, --valid_fn and --test_fn are not used.")
    for action in parser._actions:
        if action.dest in NOT_APPLICABLE:
            action.help = argparse.SUPPRESS
    group = parser.add_argument_group("label errors")
    group.add_argument("--folds", type=int, help="K: models trained, each on K-1 folds of --train_fn")
    group.add_argument("--output", help="TSV of every row, worst first (written atomically)")
    return parser


def parse(argv: Sequence[str], config_dir: Path) -> argparse.Namespace:
    parser = build_parser()
    parser.set_defaults(**yaml_defaults(parser, config_dir / "classification.yaml"))
    args = parse_args(parser, config_dir / "find_label_errors.yaml", argv, required=["train_fn", "output"])
    if args.task not in (None, "classification"):
        raise UserError("find_label_errors.py checks classification labels; drop --task")
    if args.regression:
        raise UserError("--regression labels are numbers: cleanlab ranks class labels; drop --regression")
    for flag in ("valid_fn", "test_fn", "resume", "teacher", "distill_fn"):
        if getattr(args, flag, None):
            raise UserError(f"--{flag} does not apply: every model trains and validates on folds of --train_fn")
    if args.folds is None or args.folds < 2:
        raise UserError(f"--folds must be at least 2, got {args.folds}")
    return args


def fold_indices(examples: Sequence[Example], folds: int, multi_label: bool, seed: int) -> list[np.ndarray]:
    """Held-out row indices of each fold: stratified by label when every label has ``folds`` rows."""
    from sklearn.model_selection import KFold, StratifiedKFold

    labels = [e.label for e in examples]
    counts = np.unique(labels, return_counts=True)[1]
    if folds > len(examples):
        raise UserError(f"--folds {folds} exceeds the {len(examples)} rows of --train_fn")
    splitter = (StratifiedKFold(folds, shuffle=True, random_state=seed) if not multi_label and counts.min() >= folds
                else KFold(folds, shuffle=True, random_state=seed))
    return [held for _, held in splitter.split(np.zeros(len(labels)), labels)]


def train_fold(args: argparse.Namespace, options: EngineOptions, splits: DataSplits) -> Predictor:
    """The models of train.py's flags trained on one fold's rows (``--linear``: the TF-IDF model too)."""
    from .baseline import fit_baseline
    from .train import ARCHITECTURES, train_rnn_cnn

    predictor = None
    if args.bert:
        from .plm.train import train_plm

        predictor = train_plm(args, options, splits, None)
    elif any(getattr(args, name) for name in ARCHITECTURES):
        predictor = train_rnn_cnn(args, options, splits, None)
    if not args.linear:
        return predictor
    pair = any(e.text_pair for e in splits.train)
    linear = fit_baseline(splits.train, splits.valid, splits.labels, args.multi_label, pair, False, args.threshold,
                          args.tune_thresholds, args.seed, lambda message: None)
    if predictor is None:
        return linear
    from .joint import JointPredictor

    return JointPredictor([predictor, linear])


def out_of_fold(args: argparse.Namespace, examples: list[Example], labels: list[str]) -> tuple[np.ndarray, list]:
    """|probs| = (len(examples), len(labels)) from models that did not see each row; thresholds of the last."""
    from .train import check_args

    probs = np.zeros((len(examples), len(labels)), dtype=np.float64)
    thresholds = [0.5] * len(labels)
    with tempfile.TemporaryDirectory(prefix="find_label_errors.") as tmp:
        args.model_fn = str(Path(tmp) / "fold.pth")  # never written: its checkpoint directory holds each fold's
        options = check_args(args)
        for k, held in enumerate(fold_indices(examples, args.folds, args.multi_label, args.seed)):
            held_set = set(held.tolist())
            rest = [e for i, e in enumerate(examples) if i not in held_set]
            train, valid = hold_out(rest, [args.valid_ratio], args.seed)
            splits = DataSplits(train, valid, [], labels, {name: args.train_fn for name in ("train", "valid", "test")})
            print(f"Fold {k + 1}/{args.folds}: training on {len(train)} rows, validating on {len(valid)}, "
                  f"predicting {len(held)}", file=sys.stderr)
            fold_options = dataclasses.replace(options, checkpoint_dir=str(Path(tmp) / f"fold{k + 1}"))
            predictor = train_fold(args, fold_options, splits)
            rows = [examples[i] for i in held]
            pairs = [e.text_pair or "" for e in rows] if predictor.pair else None
            probs[held] = predict_proba(predictor, [e.text for e in rows], pairs).double().numpy()
            thresholds = list(getattr(predictor, "thresholds", thresholds))
    return probs, thresholds


def rank(examples: Sequence[Example], labels: list[str], probs: np.ndarray, multi_label: bool,
         thresholds: Sequence[float]) -> list[str]:
    """The output rows (without header), worst label quality first."""
    from cleanlab.filter import find_label_issues

    index = {label: i for i, label in enumerate(labels)}
    if multi_label:
        from cleanlab.multilabel_classification import get_label_quality_scores

        given = [[index[label] for label in e.labels] for e in examples]
        quality = get_label_quality_scores(given, probs)
        issues = find_label_issues(given, probs, multi_label=True)
        suggested = [",".join(labels[j] for j in np.argsort(-p) if p[j] >= thresholds[j]) for p in probs]
    else:
        from cleanlab.rank import get_label_quality_scores

        given_ids = np.array([index[e.label] for e in examples])
        quality = get_label_quality_scores(given_ids, probs)
        issues = find_label_issues(given_ids, probs)
        suggested = [labels[j] for j in probs.argmax(axis=1)]
    rows = []
    for i in sorted(range(len(examples)), key=lambda i: (quality[i], examples[i].line)):
        e = examples[i]
        text = without_line_breaks(e.text) + (f"\t{without_line_breaks(e.text_pair)}" if e.text_pair is not None else "")
        rows.append(f"{e.line}\t{','.join(e.labels)}\t{suggested[i]}\t{quality[i]:.4f}\t{int(issues[i])}\t{text}")
    return rows


def main(argv: Sequence[str], config_dir: Path) -> int:
    args = parse(argv, config_dir)
    if not Path(args.train_fn).is_file():
        raise UserError(f"--train_fn: file not found: {args.train_fn}")
    check_output_file(args.output, "--output")
    fmt = CorpusFormat.from_args(args, args.multi_label)
    fmt.check()
    corpus = read_corpus(args.train_fn, fmt, args.skip_bad_lines)
    report_bad_lines(args.train_fn, corpus, lambda message: print(message, file=sys.stderr))
    examples = corpus.examples
    labels = corpus.label_names or sorted({label for e in examples for label in e.labels})
    if len(labels) < 2:
        raise UserError(f"{args.train_fn}: one label only ({', '.join(labels)}): nothing to tell apart")
    probs, thresholds = out_of_fold(args, examples, labels)
    rows = rank(examples, labels, probs, args.multi_label, thresholds)
    with atomic_open(args.output) as out:
        out.write("\n".join([HEADER, *rows]) + "\n")
    flagged = sum(row.split("\t")[4] == "1" for row in rows)
    print(f"Wrote {len(rows)} rows to {args.output}; {flagged} flagged as likely label errors", file=sys.stderr)
    return 0
