"""``classify.py``: stream lines from stdin, print ``labels<TAB>text`` for each, in input order.

Lines are read ``batch_size * read_ahead`` at a time, predicted in length-sorted batches and printed
before the next chunk is read, so output starts early and memory stays flat for any input size.
An empty (or whitespace-only) line prints an empty label field (``<TAB>`` and the line), so output
line N always answers input line N. Sentence-pair models read ``text_a<TAB>text_b`` lines; multi-label
models print every label at or above its threshold, comma-separated (as train.py reads label fields).

``--explain`` adds the words behind each decision (:mod:`simple_ntc.explain`), ``--select_uncertain N``
prints the lines most worth labeling (:mod:`simple_ntc.select`), ``--aspect_model`` chains a keyword
model with a per-keyword sentiment model (:mod:`simple_ntc.chains`).
``--eval_fn labeled.tsv`` scores a labeled file instead (the training report, no training).
``--test_fn test.csv --id_col id --output submission.csv`` writes a competition submission
(:mod:`simple_ntc.submission`). Regression models print the predicted score as the label field.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import numpy as np

from .atomic import check_output_file
from .config import ArgumentParser, parse_args
from .data.corpus import add_format_arguments
from .data.textfile import replaced_lines, without_line_breaks
from .errors import UserError
from .predictor import Predictor, is_regression, predict_proba
from .serving import BACKENDS, QUANTIZATIONS
from .submission import MULTI_LABEL_OUTPUTS

if TYPE_CHECKING:
    from .explain import Explanation
    from .explain.html import ExplainedLine


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
    after = parser.add_argument_group("explanations, what to label next, keyword -> sentiment chains")
    after.add_argument("--explain", action=argparse.BooleanOptionalAction,
                       help="add a column before the text: the --explain_top_k words that most support the predicted "
                       "label, strongest first, as word=score (score: the drop of the label's probability when the "
                       "word, all its subwords, is masked; negative: the word lowers it); multi-label and chains: "
                       "label:word=score,...;label:...")
    after.add_argument("--explain_top_k", type=int, help="words per explanation")
    after.add_argument("--explain_html", metavar="FILE", help="also write one offline HTML page: every line with its "
                       "label(s), probabilities and its words coloured by score (written when stdin ends)")
    after.add_argument("--select_uncertain", type=int, metavar="N", help="read all of stdin and print the N lines most "
                       "worth labeling, most useful first, as score<TAB>labels<TAB>text")
    after.add_argument("--select_by", choices=("uncertainty", "rarity", "mixed"),
                       help="--select_uncertain score: uncertainty ((1 - max p) * K / (K - 1); multi-label: closeness "
                       "of the most uncertain label to its threshold, in [0, 1]), rarity (share of the line's tokens "
                       "unknown to the model's vocabulary) or mixed (their mean)")
    after.add_argument("--aspect_model", metavar="FILE", help="sentence-pair model (sentiment<TAB>text<TAB>keyword rows) "
                       "applied to (line, keyword) for each keyword the multi-label --model_fn predicts; prints "
                       "keyword:sentiment keyword:sentiment<TAB>text (--output_probs: keyword_p:sentiment_p per pair)")
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


def split_pairs(predictor: Predictor, lines: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """Texts (and, for a sentence-pair model, second texts) of ``text_a<TAB>text_b`` lines."""
    split = [line.split("\t", 1) for line in lines]
    if not predictor.pair:
        return list(lines), None
    return [parts[0] for parts in split], [parts[1] if len(parts) > 1 else "" for parts in split]


@dataclass
class Explaining:
    """``--explain``/``--explain_html``: how many words to print, and where the HTML page's lines go."""

    top_k: int = 5
    column: bool = True  # print the explanation column (--explain); False: only the HTML page
    page: list[ExplainedLine] | None = None
    batch_size: int = 64


def format_rows(
    predictor: Predictor, lines: list[str], models: Sequence[str], top_k: int, output_probs: bool,
    explaining: Explaining | None = None,
) -> list[str]:
    """The output line of every input line (with ``explaining``: and the words behind each decision)."""
    texts = [i for i, line in enumerate(lines) if line.strip()]
    inputs, pairs = split_pairs(predictor, [lines[i] for i in texts])
    fields = [("", "")] * len(lines)
    targets: list[list[int]] = [[] for _ in texts]
    if texts:
        probs = np.asarray(predict_proba(predictor, inputs, pairs, models))  # |probs| = (len(texts), n_classes)
        for n, (row, p) in enumerate(zip(texts, probs)):
            if is_regression(predictor):  # the predicted score is the label field
                fields[row] = (f"{p[0]:.4f}", f"{p[0]:.4f}")
                continue
            if predictor.multi_label:
                order = [i for i in np.argsort(-p, kind="stable").tolist() if p[i] >= predictor.thresholds[i]]
                names = ",".join(predictor.labels[i] for i in order)  # label names may hold spaces
                targets[n] = order
            else:
                order = np.argsort(-p, kind="stable")[:top_k].tolist()
                names = " ".join(predictor.labels[i] for i in order)
                targets[n] = order[:1]
            fields[row] = (names, " ".join(f"{p[i]:.4f}" for i in order))
    columns = [[labels] + ([probs] if output_probs else []) for labels, probs in fields]
    if explaining is not None:
        add_explanations(predictor, lines, texts, inputs, pairs, targets, models, fields, columns, explaining)
    return ["\t".join([*cells, line]) for cells, line in zip(columns, lines)]


def add_explanations(
    predictor: Predictor, lines: list[str], texts: list[int], inputs: list[str], pairs: list[str] | None,
    targets: list[list[int]], models: Sequence[str], fields: list[tuple[str, str]], columns: list[list[str]],
    explaining: Explaining,
) -> None:
    """Append the explanation column to ``columns`` (and the lines to the HTML page)."""
    from .explain import explain, format_explanations
    from .explain.html import ExplainedLine

    explained: list[list[Explanation]] = [[] for _ in lines]
    if texts:
        for row, found in zip(texts, explain(predictor, inputs, pairs, targets, models, explaining.batch_size)):
            explained[row] = found
    for row, line in enumerate(lines):
        if explaining.column:
            columns[row].append(format_explanations(explained[row], explaining.top_k, predictor.multi_label))
        if explaining.page is not None:
            explaining.page.append(ExplainedLine(fields[row][0], fields[row][1], line, explained[row]))


def format_chained_rows(keywords: Predictor, aspects: Predictor, lines: list[str], models: Sequence[str],
                        output_probs: bool, explaining: Explaining | None = None) -> list[str]:
    """``keyword:sentiment ...<TAB>[probs<TAB>][explanation<TAB>]text`` for every line (--aspect_model)."""
    from .chains import ChainedLine, chain
    from .explain import format_explanations
    from .explain.html import ExplainedLine

    texts = [i for i, line in enumerate(lines) if line.strip()]
    found = chain(keywords, aspects, [lines[i] for i in texts], models, explaining is not None,
                  explaining.batch_size if explaining else 64)
    chained = [ChainedLine() for _ in lines]
    for row, line in zip(texts, found):
        chained[row] = line
    out = []
    for line, c in zip(lines, chained):
        cells = [c.labels()] + ([c.probs()] if output_probs else [])
        if explaining is not None and explaining.column:
            cells.append(format_explanations(c.explanations, explaining.top_k, True) if c.explanations else "")
        if explaining is not None and explaining.page is not None:
            explaining.page.append(ExplainedLine(c.labels(), c.probs(), line, c.explanations))
        out.append("\t".join([*cells, line]))
    return out


def classify_stream(
    predictor: Predictor, stdin: BinaryIO, stdout: TextIO, models: Sequence[str], top_k: int = 1,
    batch_size: int = 256, read_ahead: int = 8, output_probs: bool = False, explaining: Explaining | None = None,
    aspects: Predictor | None = None,
) -> int:
    """Classify every line of ``stdin`` onto ``stdout``; returns the number of lines."""
    count = 0
    for chunk in chunks(read_lines(stdin), batch_size * read_ahead):
        rows = (format_chained_rows(predictor, aspects, chunk, models, output_probs, explaining) if aspects
                else format_rows(predictor, chunk, models, top_k, output_probs, explaining))
        stdout.write("\n".join(rows) + "\n")
        stdout.flush()
        count += len(chunk)
    return count


def select_lines(args: argparse.Namespace, predictor: Predictor, models: Sequence[str], stdout: TextIO) -> int:
    """``--select_uncertain N``: read all of stdin, print the N lines most worth labeling as score<TAB>labels<TAB>text."""
    from .select import most_useful, selection_scores

    lines = [line for line in read_lines(sys.stdin.buffer) if line.strip()]
    if not lines:
        return 0
    texts, pairs = split_pairs(predictor, lines)
    probs = predict_proba(predictor, texts, pairs, models)  # |probs| = (len(lines), n_classes)
    scores = selection_scores(predictor, probs, texts, pairs, args.select_by)
    labels = [row.split("\t", 1)[0] for row in format_rows(predictor, lines, models, 1, False)]
    chosen = most_useful(scores, args.select_uncertain)
    stdout.write("".join(f"{float(scores[i]):.4f}\t{labels[i]}\t{lines[i]}\n" for i in chosen))
    return len(chosen)


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
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        raise UserError(f"--threshold must be in (0, 1), got {args.threshold}")
    if args.eval_fn and not Path(args.eval_fn).is_file():
        raise UserError(f"--eval_fn: file not found: {args.eval_fn}")
    check_submission_args(args)
    check_after_training_args(args)
    predictor = load_classifier(args)
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
    if args.select_uncertain is not None:
        if is_regression(predictor):
            raise UserError("--select_uncertain ranks the uncertainty of labels; this model predicts a score "
                            "(--regression)")
        select_lines(args, predictor, models, sys.stdout)
        return 0
    aspects = None
    if args.aspect_model:
        from .chains import check_chain
        from .predict import load_predictor

        aspects = load_predictor(args.aspect_model, torch_device(args.gpu_id), args.batch_size)
        check_chain(predictor, aspects)
    explaining = None
    if args.explain or args.explain_html:
        from .explain import masker_for

        masker_for(predictor if aspects is None else aspects)  # a one-line error now for models it cannot explain
        page: list[ExplainedLine] | None = [] if args.explain_html else None
        explaining = Explaining(args.explain_top_k, bool(args.explain), page,
                                args.batch_size)
    classify_stream(predictor, sys.stdin.buffer, sys.stdout, models, args.top_k, args.batch_size, args.read_ahead,
                    args.output_probs, explaining, aspects)
    if explaining is not None and explaining.page is not None:
        from .atomic import atomic_open
        from .explain.html import render

        with atomic_open(args.explain_html) as page:
            page.write(render(explaining.page))
    return 0


def runs_without_torch(args: argparse.Namespace) -> bool:
    """Plain stdin classification on CPU of an export.py output: no PyTorch needed (fast start-up)."""
    from .serving.onnx_format import is_onnx_model

    plain = not (args.explain or args.explain_html or args.select_uncertain is not None or args.aspect_model
                 or args.eval_fn or args.test_fn)
    return (plain and args.gpu_id < 0 and args.backend in (None, "onnxruntime") and args.quantize == "none"
            and is_onnx_model(args.model_fn))


def torch_device(gpu_id: int) -> Any:
    """The torch device of ``--gpu_id`` (imports PyTorch); a one-line error when CUDA is asked for but absent."""
    import torch

    if gpu_id >= 0 and not torch.cuda.is_available():
        raise UserError(f"--gpu_id {gpu_id} asks for a GPU but CUDA is not available; use --gpu_id -1")
    return torch.device("cpu") if gpu_id < 0 else torch.device(f"cuda:{gpu_id}")


def load_classifier(args: argparse.Namespace) -> Predictor:
    """``--model_fn`` on its backend; an RNN/CNN export on plain stdin runs on numpy and ONNX Runtime alone."""
    if runs_without_torch(args):
        from .serving.onnx_format import read_graphs
        from .serving.onnx_numpy import load_numpy_predictor

        graphs = read_graphs(args.model_fn)  # once: a --bert export goes on to ONNX Runtime's torch-side predictor
        predictor = load_numpy_predictor(graphs, args.model_fn, args.batch_size)
        if predictor is not None:
            return predictor
        from .serving.onnx_predict import onnx_predictor

        return onnx_predictor(graphs, args.model_fn, args.quantize, -1, args.batch_size)
    device = torch_device(args.gpu_id)
    from .serving.backends import load_for_serving

    return load_for_serving(args.model_fn, args.backend, args.quantize, device, args.batch_size)


def check_after_training_args(args: argparse.Namespace) -> None:
    """--explain, --select_uncertain and --aspect_model: values, and what combines with what."""
    if args.explain_top_k < 1:
        raise UserError(f"--explain_top_k must be a positive integer, got {args.explain_top_k}")
    if args.select_uncertain is not None:
        if args.select_uncertain < 1:
            raise UserError(f"--select_uncertain must be a positive integer, got {args.select_uncertain}")
        if args.explain or args.explain_html or args.aspect_model:
            raise UserError("--select_uncertain ranks lines; it does not combine with --explain, --explain_html or "
                            "--aspect_model")
    if (args.explain or args.explain_html or args.select_uncertain or args.aspect_model) and (args.eval_fn or args.test_fn):
        raise UserError("--explain, --select_uncertain and --aspect_model read stdin; drop --eval_fn/--test_fn")
    if args.aspect_model:
        if not Path(args.aspect_model).is_file():
            raise UserError(f"--aspect_model: file not found: {args.aspect_model}")
        if args.top_k != 1:
            raise UserError("--aspect_model prints every keyword of the line; drop --top_k")
    if args.explain_html:
        check_output_file(args.explain_html, "--explain_html")
