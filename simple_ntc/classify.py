"""``classify.py``: stream lines from stdin, print ``labels<TAB>text`` for each, in input order.

Lines are read ``batch_size * read_ahead`` at a time, predicted in length-sorted batches and printed
before the next chunk is read, so output starts early and memory stays flat for any input size.
An empty (or whitespace-only) line prints an empty label field (``<TAB>`` and the line), so output
line N always answers input line N. Sentence-pair models read ``text_a<TAB>text_b`` lines; multi-label
models print every label at or above its threshold, comma-separated (as train.py reads label fields).

``--eval_fn labeled.tsv`` scores a labeled file instead (the training report, no training).
``--test_fn test.csv --id_col id --output submission.csv`` writes a competition submission
(:mod:`simple_ntc.submission`). Regression models print the predicted score as the label field.
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
from .data.textfile import replaced_lines, without_line_breaks
from .errors import UserError
from .predict import Predictor, is_regression, predict_proba
from .serving import BACKENDS, QUANTIZATIONS
from .serving.backends import load_for_serving
from .submission import MULTI_LABEL_OUTPUTS


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
        "model) without training; its format flags are train.py's.\n\n"
        "  python classify.py --model_fn models/nsmc.pth --test_fn test.csv --id_col id --text_col document \\\n"
        "      --output submission.csv\n\n"
        "writes a competition submission: id,label for every row of test.csv, in input order (pairs: also\n"
        "--text_pair_col; multi-label: --multi_label_output; regression models write id,score).",
    )
    parser.add_argument("--model_fn", help="model file written by train.py")
    parser.add_argument("--top_k", type=int, help="print the K most probable labels, most probable first")
    parser.add_argument("--batch_size", type=int, help="lines per model batch")
    parser.add_argument("--read_ahead", type=int, help="batches read from stdin before predicting (they are sorted "
                        "by length together; 1 gives the lowest latency)")
    parser.add_argument("--drop_rnn", action=argparse.BooleanOptionalAction, help="leave the RNN out of the ensemble")
    parser.add_argument("--drop_cnn", action=argparse.BooleanOptionalAction, help="leave the CNN out of the ensemble")
    parser.add_argument("--drop_transformer", action=argparse.BooleanOptionalAction,
                        help="leave the Transformer out of the ensemble")
    parser.add_argument("--drop_linear", action=argparse.BooleanOptionalAction,
                        help="leave the TF-IDF linear model (train.py --linear) out of the ensemble")
    parser.add_argument("--output_probs", action=argparse.BooleanOptionalAction,
                        help="add a column with the probabilities of the printed labels: labels<TAB>probs<TAB>text")
    parser.add_argument("--gpu_id", type=int, help="CUDA device index, -1 for CPU")
    parser.add_argument("--backend", choices=BACKENDS, help="torch: PyTorch; onnxruntime: ONNX Runtime (CPU, or "
                        "CUDA with onnxruntime-gpu and --gpu_id) on a graph from export.py, or on a .pth model "
                        "exported in memory first; empty: onnxruntime for an export.py output, torch otherwise")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, help="int8: dynamic int8 quantization at load time "
                        "(PyTorch: Linear/LSTM layers, CPU only; onnxruntime: ONNX Runtime's quantize_dynamic)")
    parser.add_argument("--threshold", type=float, help="multi-label: one probability threshold for every label "
                        "(empty: the thresholds saved with the model, 0.5 unless tuned)")
    evaluation = parser.add_argument_group("scoring a labeled file (--eval_fn)")
    evaluation.add_argument("--eval_fn", help="labeled corpus to score instead of classifying stdin")
    add_format_arguments(evaluation)
    submission = parser.add_argument_group("competition submission (--test_fn; text and delimiter flags as above)")
    submission.add_argument("--test_fn", help="headered CSV/TSV test file to predict every row of")
    submission.add_argument("--id_col", help="id column of --test_fn, copied to the first column of --output")
    submission.add_argument("--output", help="submission file to write (atomically): id,label; the label column is "
                            "named by --label_col when given (regression: score)")
    submission.add_argument("--multi_label_output", choices=MULTI_LABEL_OUTPUTS,
                            help="multi-label models: 'labels' writes the predicted labels space-separated in one "
                            "column; 'columns' writes one 0/1 column per label")
    return parser


def chosen_models(predictor: Predictor, drop: Sequence[str]) -> list[str]:
    names = [name for name in predictor.model_names if name not in drop]
    if not names:
        raise UserError(f"every model of the file ({', '.join(predictor.model_names)}) was dropped")
    return names


def read_lines(stream: BinaryIO) -> Iterator[str]:
    """Decoded lines of stdin without their line ending, ready to echo.

    A BOM at the start is dropped; invalid UTF-8 is replaced, with a warning naming each such line; any
    character another reader would take for a line break (``\\r``, U+0085, U+2028, ...) becomes a space,
    so output line N answers input line N for every reader.
    """
    def warn(number: int) -> None:
        print(f"classify.py: warning: stdin:{number}: invalid UTF-8 replaced by U+FFFD", file=sys.stderr)

    for line in replaced_lines(stream, warn):
        yield without_line_breaks(line)


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
            if is_regression(predictor):  # the predicted score is the label field
                fields[row] = (f"{p[0]:.4f}", f"{p[0]:.4f}")
                continue
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
    report(predictor, {Path(args.eval_fn).stem: corpus.examples}, args.model_fn, models=models, evaluation=True)


def check_submission_args(args: argparse.Namespace) -> None:
    """--test_fn, --id_col and --output go together (and not with --eval_fn)."""
    if not args.test_fn:
        if args.output or args.id_col:
            raise UserError("--output and --id_col write a submission: give --test_fn too")
        return
    if args.eval_fn:
        raise UserError("--test_fn writes a submission and --eval_fn scores a labeled file: choose one")
    if not Path(args.test_fn).is_file():
        raise UserError(f"--test_fn: file not found: {args.test_fn}")
    for flag in ("id_col", "output"):
        if not getattr(args, flag):
            raise UserError(f"--test_fn needs --{flag}")


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
    check_submission_args(args)
    predictor = load_for_serving(args.model_fn, args.backend, args.quantize, device, args.batch_size)
    if args.threshold is not None:
        if not predictor.multi_label:
            raise UserError("--threshold applies to multi-label models; this model predicts one label per text")
        predictor.thresholds = [args.threshold] * len(predictor.labels)
    drop = [name for name, flag in (("rnn", args.drop_rnn), ("cnn", args.drop_cnn)) if flag]
    drop += [name for name in ("transformer", "linear") if getattr(args, f"drop_{name}", False)]
    models = chosen_models(predictor, drop)
    if args.test_fn:
        from .submission import write_submission

        count = write_submission(args, predictor, models)
        print(f"Wrote {count} rows to {args.output}", file=sys.stderr)
        return 0
    if args.eval_fn:
        evaluate_file(args, predictor, models)
        return 0
    if args.top_k > len(predictor.labels):
        raise UserError(f"--top_k {args.top_k} exceeds the {len(predictor.labels)} labels of the model")
    classify_stream(predictor, sys.stdin.buffer, sys.stdout, models, args.top_k, args.batch_size, args.read_ahead,
                    args.output_probs)
    return 0
