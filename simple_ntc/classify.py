"""``classify.py``: stream lines from stdin, print ``labels<TAB>text`` for each, in input order.

Lines are read ``batch_size * read_ahead`` at a time, predicted in length-sorted batches and printed
before the next chunk is read, so output starts early and memory stays flat for any input size.
An empty (or whitespace-only) line prints an empty label field (``<TAB>`` and the line), so output
line N always answers input line N. Sentence-pair models read ``text_a<TAB>text_b`` lines; multi-label
models print every label at or above its threshold, comma-separated (as train.py reads label fields).

``--eval_fn labeled.tsv`` scores a labeled file instead (the training report, no training).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

import torch

from .config import ArgumentParser, parse_args
from .data.corpus import add_format_arguments
from .errors import UserError
from .predict import Predictor, load_predictor, predict_proba


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="classify.py",
        description="Classify each line of stdin with a model from train.py.\n\n"
        "  cat lines.txt | python classify.py --model_fn models/nsmc.pth --top_k 2\n\n"
        "Prints one line per input line, in input order: the top-k labels (space-separated), a tab, the input\n"
        "line. Empty input lines print an empty label field. Sentence-pair models read 'text_a<TAB>text_b' lines.\n"
        "Multi-label models print all labels at or above their thresholds, comma-separated.\n\n"
        "  python classify.py --model_fn models/nsmc.pth --eval_fn labeled.tsv [--text_col document --label_col label]\n\n"
        "scores a labeled file (accuracy, F1, per-class report, confusion matrix and its PNG heatmap next to the\n"
        "model) without training; its format flags are train.py's.",
    )
    parser.add_argument("--model_fn", help="model file written by train.py")
    parser.add_argument("--top_k", type=int, help="print the K most probable labels, most probable first")
    parser.add_argument("--batch_size", type=int, help="lines per model batch")
    parser.add_argument("--read_ahead", type=int, help="batches read from stdin before predicting (they are sorted "
                        "by length together; 1 gives the lowest latency)")
    parser.add_argument("--drop_rnn", action=argparse.BooleanOptionalAction, help="leave the RNN out of the ensemble")
    parser.add_argument("--drop_cnn", action=argparse.BooleanOptionalAction, help="leave the CNN out of the ensemble")
    parser.add_argument("--output_probs", action=argparse.BooleanOptionalAction,
                        help="add a column with the probabilities of the printed labels: labels<TAB>probs<TAB>text")
    parser.add_argument("--gpu_id", type=int, help="CUDA device index, -1 for CPU")
    parser.add_argument("--threshold", type=float, help="multi-label: one probability threshold for every label "
                        "(empty: the thresholds saved with the model, 0.5 unless tuned)")
    evaluation = parser.add_argument_group("scoring a labeled file (--eval_fn)")
    evaluation.add_argument("--eval_fn", help="labeled corpus to score instead of classifying stdin")
    add_format_arguments(evaluation)
    return parser


def chosen_models(predictor: Predictor, drop: Sequence[str]) -> list[str]:
    names = [name for name in predictor.model_names if name not in drop]
    if not names:
        raise UserError(f"every model of the file ({', '.join(predictor.model_names)}) was dropped")
    return names


def read_lines(stream: BinaryIO) -> Iterator[str]:
    """Decoded lines without their line ending; invalid UTF-8 is replaced (with one warning)."""
    warned = False
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("utf-8", errors="replace")
            if not warned:
                print(f"classify.py: warning: stdin:{number}: invalid UTF-8 replaced", file=sys.stderr)
                warned = True
        yield line.rstrip("\r\n")


def chunks(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def format_rows(
    predictor: Predictor, lines: list[str], models: Sequence[str], top_k: int, output_probs: bool
) -> list[str]:
    """The output line of every input line."""
    texts = [i for i, line in enumerate(lines) if line.strip()]
    split = [lines[i].split("\t", 1) for i in texts]
    pairs = [parts[1] if len(parts) > 1 else "" for parts in split] if predictor.pair else None
    inputs = [parts[0] for parts in split] if pairs is not None else [lines[i] for i in texts]
    fields = [("", "")] * len(lines)
    if texts:
        probs = predict_proba(predictor, inputs, pairs, models)  # |probs| = (len(texts), n_classes)
        for row, p in zip(texts, probs):
            if predictor.multi_label:
                order = [i for i in p.argsort(descending=True).tolist() if p[i] >= predictor.thresholds[i]]
                names = ",".join(predictor.labels[i] for i in order)  # label names may hold spaces
            else:
                order = torch.topk(p, top_k).indices.tolist()
                names = " ".join(predictor.labels[i] for i in order)
            fields[row] = (names, " ".join(f"{p[i]:.4f}" for i in order))
    if output_probs:
        return [f"{labels}\t{probs}\t{line}" for (labels, probs), line in zip(fields, lines)]
    return [f"{labels}\t{line}" for (labels, _), line in zip(fields, lines)]


def classify_stream(
    predictor: Predictor, stdin: BinaryIO, stdout: TextIO, models: Sequence[str], top_k: int = 1,
    batch_size: int = 256, read_ahead: int = 8, output_probs: bool = False,
) -> int:
    """Classify every line of ``stdin`` onto ``stdout``; returns the number of lines."""
    count = 0
    for chunk in chunks(read_lines(stdin), batch_size * read_ahead):
        stdout.write("\n".join(format_rows(predictor, chunk, models, top_k, output_probs)) + "\n")
        stdout.flush()
        count += len(chunk)
    return count


def evaluate_file(args: argparse.Namespace, predictor: Predictor, models: Sequence[str]) -> None:
    """Print the training report for ``--eval_fn`` and save its confusion heatmap next to the model."""
    from .data.corpus import CorpusFormat, read_corpus
    from .data.splits import report_bad_lines
    from .evaluate import check_examples, report

    fmt = CorpusFormat.from_args(args, predictor.multi_label)
    fmt.check()
    corpus = read_corpus(args.eval_fn, fmt, args.skip_bad_lines)
    report_bad_lines(args.eval_fn, corpus)
    if corpus.label_names is not None and sorted(corpus.label_names) != sorted(predictor.labels):
        raise UserError(f"{args.eval_fn}:1: label columns ({', '.join(corpus.label_names)}) differ from the "
                        f"model's labels ({', '.join(predictor.labels)}); name them with --label_cols")
    check_examples(predictor, corpus.examples, args.eval_fn)
    report(predictor, {Path(args.eval_fn).stem: corpus.examples}, args.model_fn, models=models)


def main(argv: Sequence[str], config_dir: Path) -> int:
    args = parse_args(build_parser(), config_dir / "classify.yaml", argv, required=["model_fn"])
    for flag in ("batch_size", "read_ahead", "top_k"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be a positive integer, got {getattr(args, flag)}")
    if args.gpu_id >= 0 and not torch.cuda.is_available():
        raise UserError(f"--gpu_id {args.gpu_id} asks for a GPU but CUDA is not available; use --gpu_id -1")
    device = torch.device("cpu") if args.gpu_id < 0 else torch.device(f"cuda:{args.gpu_id}")
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        raise UserError(f"--threshold must be in (0, 1), got {args.threshold}")
    if args.eval_fn and not Path(args.eval_fn).is_file():
        raise UserError(f"--eval_fn: file not found: {args.eval_fn}")
    predictor = load_predictor(args.model_fn, device, args.batch_size)
    if args.threshold is not None:
        if not predictor.multi_label:
            raise UserError("--threshold applies to multi-label models; this model predicts one label per text")
        predictor.thresholds = [args.threshold] * len(predictor.labels)
    drop = [name for name, flag in (("rnn", args.drop_rnn), ("cnn", args.drop_cnn)) if flag]
    models = chosen_models(predictor, drop)
    if args.eval_fn:
        evaluate_file(args, predictor, models)
        return 0
    if args.top_k > len(predictor.labels):
        raise UserError(f"--top_k {args.top_k} exceeds the {len(predictor.labels)} labels of the model")
    classify_stream(predictor, sys.stdin.buffer, sys.stdout, models, args.top_k, args.batch_size, args.read_ahead,
                    args.output_probs)
    return 0
