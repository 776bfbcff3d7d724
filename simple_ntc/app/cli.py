"""``app.py``: parse the flags, load the models (every problem is a one-line error here, before serving), serve.

    python app.py --model_fn models/nsmc.pth [--summarizer models/sum] [--port 7860]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..config import ArgumentParser, parse_args
from ..errors import UserError, first_line
from .classifier import ClassifierService
from .model_panel import classifier_panel, code, summarizer_panel
from .summarizer import SummarizerService

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="app.py",
        description="Serve a web page to try a classifier and/or a summarizer, with a panel of their labels, training\n"
        "scores, confusion matrices and training curves.\n\n"
        "  python app.py --model_fn models/nsmc.pth --summarizer models/sum --port 7860\n\n"
        "then open http://127.0.0.1:7860 in a browser. The page needs no internet connection.\n"
        "Defaults come from configs/app.yaml; --config overrides them; flags override both.",
    )
    parser.add_argument("--model_fn", help="classifier model file written by train.py (RNN, CNN, their ensemble, "
                        "--bert; single texts, sentence pairs or multi-label)")
    parser.add_argument("--summarizer", metavar="DIR",
                        help="summarizer directory written by train.py --task summarization")
    parser.add_argument("--host", help="address to listen on: 127.0.0.1 serves this machine only, 0.0.0.0 every "
                        "network interface")
    parser.add_argument("--port", type=int, help="port to listen on")
    parser.add_argument("--top_k", type=int, help="labels in the prediction, most probable first (classify.py "
                        "--top_k); the chart shows every label's probability anyway")
    parser.add_argument("--threshold", type=float, help="multi-label: one probability threshold for every label "
                        "(empty: the thresholds saved with the model)")
    parser.add_argument("--num_beams", type=int, help="summarizer beam size (empty: the model's saved setting)")
    parser.add_argument("--max_length", type=int,
                        help="maximum summary length in tokens (empty: the model's saved setting)")
    parser.add_argument("--gpu_id", type=int, help="CUDA device index, -1 for CPU")
    return parser


def check_args(args: argparse.Namespace) -> None:
    if not args.model_fn and not args.summarizer:
        raise UserError("nothing to serve: give --model_fn (a classifier) and/or --summarizer (a summarizer directory)")
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port must be in 1..65535, got {args.port}")
    if args.top_k < 1:
        raise UserError(f"--top_k must be a positive integer, got {args.top_k}")
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        raise UserError(f"--threshold must be in (0, 1), got {args.threshold}")
    if args.threshold is not None and not args.model_fn:
        raise UserError("--threshold applies to a classifier; give --model_fn")
    for flag in ("num_beams", "max_length"):
        if getattr(args, flag) is not None and not args.summarizer:
            raise UserError(f"--{flag} applies to a summarizer; give --summarizer")


def check_port(host: str, port: int) -> None:
    """A one-line error now, rather than a failure after the models are loaded, when the port is taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise UserError(f"--host {host}: not an address of this machine ({error.strerror})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as error:
            raise UserError(f"cannot listen on {host}:{port} ({error.strerror}); is another app using it? "
                            "choose another --port") from None


def load_classifier(args: argparse.Namespace, device: Any) -> tuple[ClassifierService, dict[str, Any]]:
    """The classifier and its model file's contents (labels, config, stored scores)."""
    from ..model_file import load_model_file
    from ..predict import load_predictor

    data = load_model_file(args.model_fn)  # one-line errors for a missing, damaged or foreign file
    try:
        predictor = load_predictor(args.model_fn, device)
    except UserError:
        raise
    except Exception as error:  # noqa: BLE001 - a readable file whose contents do not make a model
        raise UserError(f"cannot load the classifier in {args.model_fn}: {first_line(error)}") from None
    if args.threshold is not None:
        if not predictor.multi_label:
            raise UserError("--threshold applies to multi-label models; this model predicts one label per text")
        predictor.thresholds = [args.threshold] * len(predictor.labels)
    if not predictor.multi_label and args.top_k > len(predictor.labels):
        raise UserError(f"--top_k {args.top_k} exceeds the {len(predictor.labels)} labels of the model")
    return ClassifierService(predictor, args.top_k), data


def load_summarizer(args: argparse.Namespace, device: Any) -> SummarizerService:
    try:
        return SummarizerService.load(args.summarizer, device, args.num_beams, args.max_length)
    except UserError:
        raise
    except Exception as error:  # noqa: BLE001 - e.g. truncated weights: a damaged model, said in one line
        raise UserError(f"cannot load the summarizer in {args.summarizer}: {first_line(error)}") from None


def subtitle(args: argparse.Namespace) -> str:
    parts = ([f"classifier {code(args.model_fn)}"] if args.model_fn else []) + (
        [f"summarizer {code(args.summarizer)}"] if args.summarizer else [])
    return " · ".join(parts)


def allow_local_requests(host: str) -> None:
    """Gradio checks its own URL at start-up; a proxy set in the environment must not be asked for it."""
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        for name in ("NO_PROXY", "no_proxy"):
            hosts = [h for h in os.environ.get(name, "").split(",") if h]
            os.environ[name] = ",".join(dict.fromkeys([*hosts, "127.0.0.1", "localhost", host]))


@contextlib.contextmanager
def loaded_page(args: argparse.Namespace) -> Iterator[Any]:
    """The page with every model loaded; files it draws live in a temporary folder until the block ends."""
    from ..engine.distributed import resolve_device
    from .page import build_page

    device = resolve_device(args.gpu_id)
    classifier, summarizer, panels = None, None, []
    with tempfile.TemporaryDirectory(prefix="simple-ntc-app-") as workdir:
        if args.model_fn:
            classifier, data = load_classifier(args, device)
            panels.append(classifier_panel(args.model_fn, data, classifier.predictor, Path(workdir)))
        if args.summarizer:
            summarizer = load_summarizer(args, device)
            panels.append(summarizer_panel(summarizer))
        yield build_page(classifier, summarizer, panels, subtitle(args))


def serve(page: Any, host: str, port: int) -> None:
    """Start the server, say where, and serve until interrupted."""
    allow_local_requests(host)
    try:
        page.launch(server_name=host, server_port=port, quiet=True, footer_links=[], ssr_mode=False,
                    prevent_thread_lock=True)
    except OSError as error:
        raise UserError(f"cannot serve on {host}:{port}: {first_line(error)}") from None
    print(f"app.py: serving on http://{host}:{port} (Ctrl+C stops it)", flush=True)
    page.block_thread()


def main(argv: Sequence[str], config_dir: Path) -> int:
    args = parse_args(build_parser(), config_dir / "app.yaml", argv)
    check_args(args)
    check_port(args.host, args.port)
    with loaded_page(args) as page:
        serve(page, args.host, args.port)
    return 0
