#!/usr/bin/env python
"""Serving backends on the same lines: lines/s, ratio to PyTorch fp32, tokenization share, peak memory, agreement.

    python bench/classify_backends.py --model_fn models/nsmc.pth                     # NSMC test split
    python bench/classify_backends.py --model_fn models/sst2_minilm.pth --data sst2  # SST-2 dev

Every backend (PyTorch fp32 and int8, ONNX Runtime fp32 and int8) runs in a fresh process with the
same threads on the same lines, predicting them as classify.py does (chunks of batch_size x
read_ahead lines, sorted by length into batches). ONNX graphs are exported once beforehand with
export.py's code, as a server would load them. Printed per backend: load time, lines/s and its ratio
to PyTorch fp32, the share of the time spent tokenizing, peak RSS, and against PyTorch fp32 the
largest probability gap, the share of equal labels and the accuracy on the labeled lines.

NSMC lines are the test split of train.py's NSMC command (seed 42, --valid_ratio 0.1 --test_ratio 0.1
of ratings_test.head25k.txt), repeated up to --lines for the speed figures.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_note, shared_data  # noqa: E402

BACKENDS = {"torch fp32": ("torch", "none"), "torch int8": ("torch", "int8"),
            "onnxruntime fp32": ("onnxruntime", "none"), "onnxruntime int8": ("onnxruntime", "int8")}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_fn", required=True, help="model file of train.py")
    parser.add_argument("--data", choices=("nsmc", "sst2"), default="nsmc", help="labeled lines to run on")
    parser.add_argument("--lines", type=int, default=0, help="lines for the speed figures (repeats the labeled "
                        "lines; 0: the labeled lines once)")
    parser.add_argument("--batch_size", type=int, default=64, help="classify.py --batch_size")
    parser.add_argument("--read_ahead", type=int, default=32, help="classify.py --read_ahead")
    parser.add_argument("--threads", type=int, default=2, help="torch and ONNX Runtime threads")
    parser.add_argument("--only", nargs="+", choices=list(BACKENDS), default=list(BACKENDS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--work_dir", help=argparse.SUPPRESS)
    return parser.parse_args()


def labeled_lines(data: str) -> tuple[list[str], list[str], str]:
    """Texts and gold labels: the NSMC test split of the README's command, or the SST-2 dev set."""
    base = shared_data()
    if base is None:
        sys.exit("real data not found: ../shared/data (set SIMPLE_NTC_DATA)")
    if data == "sst2":
        path = base / "sst2" / "dev.tsv"
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
        return [r[0] for r in rows], [r[1] for r in rows], f"{path} (872 sentences)"
    from simple_ntc.data.corpus import CorpusFormat
    from simple_ntc.data.splits import load_splits

    path = base / "nsmc" / "ratings_test.head25k.txt"
    fmt = CorpusFormat(text_col="document", label_col="label")
    splits = load_splits(str(path), fmt, None, None, 0.1, 0.1, 42, False, lambda message: None)
    test = splits.test
    return [e.text for e in test], [e.labels[0] for e in test], f"{path}, test split of seed 42 ({len(test)} reviews)"


def chunks(lines: list[str], size: int):
    for start in range(0, len(lines), size):
        yield lines[start:start + size]


def tokenize_all(predictor, lines: list[str], size: int) -> None:
    """What the predictor's own tokenization costs on these lines (RNN/CNN tokenizer or transformer encoder)."""
    encode = predictor.tokenizer.encode if hasattr(predictor.tokenizer, "kind") else predictor.encode
    for chunk in chunks(lines, size):
        encode(chunk)


def worker(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from simple_ntc.predict import predict_proba
    from simple_ntc.serving.backends import load_for_serving

    work = Path(args.work_dir)
    labeled = json.loads((work / "labeled.json").read_text(encoding="utf-8"))
    speed_lines = json.loads((work / "speed.json").read_text(encoding="utf-8"))
    backend, quantize = BACKENDS[args.worker]
    model = work / "model.onnx" if backend == "onnxruntime" else Path(args.model_fn)
    started = time.perf_counter()
    predictor = load_for_serving(model, backend, quantize, torch.device("cpu"), args.batch_size)
    predict_proba(predictor, ["warm up"])
    load_seconds = time.perf_counter() - started
    size = args.batch_size * args.read_ahead
    probs = torch.cat([predict_proba(predictor, chunk) for chunk in chunks(labeled, size)])
    np.save(work / f"{args.worker.replace(' ', '_')}.npy", probs.numpy())
    started = time.perf_counter()
    for chunk in chunks(speed_lines, size):
        predict_proba(predictor, chunk)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    tokenize_all(predictor, speed_lines, size)
    tokenize_seconds = time.perf_counter() - started
    peak = peak_rss()
    print("RESULT " + json.dumps({"load": load_seconds, "seconds": seconds, "tokenize": tokenize_seconds,
                                  "peak": peak, "labels": predictor.labels}), flush=True)


def peak_rss() -> int:
    """This process's own peak resident memory in bytes (VmHWM; ``ru_maxrss`` would include the parent's,
    which Linux carries over to a child across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def export_once(model_fn: str, work: Path) -> float:
    """The fp32 ONNX graphs of ``model_fn`` in ``work/model.onnx`` (int8 is quantized at load); seconds taken."""
    from simple_ntc.model_file import load_model_file
    from simple_ntc.serving.onnx_export import export_graphs
    from simple_ntc.serving.onnx_files import write_graphs

    started = time.perf_counter()
    write_graphs(export_graphs(load_model_file(model_fn), model_fn), work / "model.onnx")
    return time.perf_counter() - started


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return
    import numpy as np

    texts, gold, source = labeled_lines(args.data)
    speed = texts if not args.lines else (texts * (args.lines // len(texts) + 1))[:args.lines]
    print(f"model {args.model_fn}; data {source}; speed on {len(speed)} lines; batch {args.batch_size} x read_ahead "
          f"{args.read_ahead}; {args.threads} threads; {machine_note()}", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1"}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "labeled.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        (work / "speed.json").write_text(json.dumps(speed, ensure_ascii=False), encoding="utf-8")
        if any(BACKENDS[name][0] == "onnxruntime" for name in args.only):
            print(f"export.py (fp32 graphs): {export_once(args.model_fn, work):.1f} s", flush=True)
        for name in args.only:
            command = [sys.executable, __file__, "--model_fn", args.model_fn, "--batch_size", str(args.batch_size),
                       "--read_ahead", str(args.read_ahead), "--threads", str(args.threads), "--worker", name,
                       "--work_dir", str(work)]
            process = subprocess.run(command, env=env, text=True, capture_output=True)
            lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
            if process.returncode != 0 or not lines:
                sys.exit(f"{name} failed:\n{process.stderr[-3000:]}")
            results[name] = json.loads(lines[-1][len("RESULT "):])
            results[name]["probs"] = np.load(work / f"{name.replace(' ', '_')}.npy")
    report(results, gold, len(speed))


def report(results: dict, gold: list[str], n_speed: int) -> None:
    import numpy as np

    reference = results.get("torch fp32")
    print(f"{'backend':17s} {'load s':>7s} {'lines/s':>8s} {'ratio':>6s} {'tokenize':>8s} {'peak RSS':>9s}  "
          f"{'max |dp|':>8s} {'same labels':>11s} {'accuracy':>8s}")
    for name, r in results.items():
        labels = np.asarray(r["labels"])
        predicted = labels[r["probs"].argmax(axis=1)]
        accuracy = float((predicted == np.asarray(gold)).mean())
        speed = n_speed / r["seconds"]
        ratio = speed / (n_speed / reference["seconds"]) if reference else float("nan")
        gap = float(np.abs(r["probs"] - reference["probs"]).max()) if reference else float("nan")
        same = float((r["probs"].argmax(1) == reference["probs"].argmax(1)).mean()) if reference else float("nan")
        print(f"{name:17s} {r['load']:7.2f} {speed:8.0f} {ratio:5.2f}x {r['tokenize'] / r['seconds']:8.0%} "
              f"{r['peak'] / 2**20:6.0f} MiB  {gap:8.1e} {same:11.2%} {accuracy:8.4f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
