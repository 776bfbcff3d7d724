"""``export.py``: a model file of train.py -> ONNX graphs for ``classify.py --backend onnxruntime``.

Every export is checked before it is written: on a few texts (``--check_fn`` or built-in ones) the
ONNX fp32 probabilities must equal PyTorch's within 1e-4; with ``--quantize int8`` the int8 labels
are compared with the fp32 ones and the agreement is printed.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from .config import ArgumentParser, parse_args
from .errors import UserError
from .model_file import load_model_file
from .predict import with_ensemble_weights
from .serving import QUANTIZATIONS
from .serving.agreement import FP32_TOLERANCE, compare
from .serving.backends import TORCH_PREDICTORS
from .serving.kinds import check_servable
from .serving.onnx_export import EXPORTERS, export_graphs, quantize_graph
from .serving.onnx_files import check_output, write_graphs
from .serving.onnx_predict import onnx_predictor

# Korean and English, short and long: enough to exercise padding, truncation and both scripts.
CHECK_TEXTS = [
    "이 영화 정말 최고예요", "스토리 너무 지루해요", "배우들 연기는 좋았지만 결말이 아쉬웠다", "ㅋㅋㅋ", "별로",
    "a wonderful , moving film", "dull", "the plot goes nowhere and the jokes fall flat , but the music is lovely",
    "음악 완전 명작입니다 다시 보고 싶어요 " * 4, "?", "不好", "OK",
]


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="export.py",
        description="Export a model file of train.py to ONNX (dynamic batch and length axes) for\n"
        "classify.py --backend onnxruntime.\n\n"
        "  python export.py --model_fn models/nsmc.pth --output models/nsmc.onnx [--quantize int8]\n"
        "  python classify.py --model_fn models/nsmc.onnx < lines.txt\n\n"
        "A model file with one model (--bert, or --rnn/--cnn alone) exports to one .onnx file; one with several\n"
        "(--rnn --cnn) to a directory of <model>.onnx files. Labels and tokenizer travel inside the graphs.\n"
        "The export is checked before it is written: ONNX fp32 probabilities equal PyTorch's within 1e-4.",
    )
    parser.add_argument("--model_fn", help="model file written by train.py")
    parser.add_argument("--output", help="the .onnx file (one model) or directory (several models) to write")
    parser.add_argument("--quantize", choices=QUANTIZATIONS,
                        help="int8: ONNX Runtime dynamic int8 quantization (weights int8, activations per batch)")
    parser.add_argument("--check_fn", help="lines to check the export on (text, or text_a<TAB>text_b for sentence-"
                        "pair models); empty: a dozen built-in Korean and English texts")
    return parser


def check_texts(check_fn: str | None, pair: bool) -> tuple[list[str], list[str] | None]:
    """The texts (and pairs) the export is checked on."""
    if check_fn:
        try:
            lines = [line for line in Path(check_fn).read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"--check_fn: cannot read {check_fn}: {getattr(error, 'strerror', None) or error}") from None
        if not lines:
            raise UserError(f"--check_fn {check_fn} holds no text")
    else:
        lines = CHECK_TEXTS
    split = [line.split("\t", 1) for line in lines]
    if pair:
        return [s[0] for s in split], [s[1] if len(s) > 1 else s[0] for s in split]
    return lines, None


def main(argv: Sequence[str], config_dir: Path) -> int:
    args = parse_args(build_parser(), config_dir / "export.yaml", argv, required=["model_fn", "output"])
    data = load_model_file(args.model_fn)
    kind = check_servable(data, EXPORTERS, "ONNX export", args.model_fn, regression=False)
    check_output(args.output, len(data.get("models", {})) or 1)
    texts, pairs = check_texts(args.check_fn, bool(data.get("pair")))
    reference = with_ensemble_weights(TORCH_PREDICTORS[kind](data, torch.device("cpu"), 64), data)
    graphs = export_graphs(data, args.model_fn)
    fp32 = compare(reference, onnx_predictor(graphs, args.output), texts, pairs)
    print(f"ONNX fp32 vs PyTorch: {fp32}")
    if fp32.max_abs_diff > FP32_TOLERANCE:
        raise UserError(f"the ONNX graphs differ from the PyTorch model by {fp32.max_abs_diff:.2e} > "
                        f"{FP32_TOLERANCE:.0e} in probability; nothing was written")
    if args.quantize == "int8":
        graphs = [quantize_graph(graph) for graph in graphs]
        print(f"ONNX int8 vs PyTorch fp32: {compare(reference, onnx_predictor(graphs, args.output), texts, pairs)}")
    written = write_graphs(graphs, args.output)
    for path, graph in zip(written, graphs):
        print(f"Wrote {path} ({graph.name}, {'int8' if args.quantize == 'int8' else 'fp32'}, "
              f"{path.stat().st_size / 2**20:.2f} MiB)")
    return 0

