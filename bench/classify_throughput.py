#!/usr/bin/env python
"""Lines/s and peak memory of classify.py on NSMC lines, against a naive in-process reference.

    python bench/classify_throughput.py [--model_fn M] [--lines 25000] [--batch_size 256]

Without --model_fn a small RNN+CNN model is trained first (1 epoch on 5,000 rows). The
reference predicts the same lines like the ancestor did: fixed batches in input order, padded to
the longest line of each batch. Peak memory is measured for 1x and 4x the input to show that
classify.py streams (memory does not grow with the input).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, machine_note, nsmc_texts_and_labels  # noqa: E402


def run_classify(model_fn: Path, input_path: Path, batch_size: int) -> tuple[float, int, int]:
    """Wall time, peak RSS (bytes) and output line count of one classify.py run."""
    command = [sys.executable, str(ROOT / "classify.py"), "--model_fn", str(model_fn), "--batch_size",
               str(batch_size)]
    peak = 0
    with open(input_path, "rb") as stdin, tempfile.TemporaryFile() as stdout:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=stdin, stdout=stdout, cwd=ROOT)
        watched = psutil.Process(process.pid)

        def watch() -> None:
            nonlocal peak
            while process.poll() is None:
                try:
                    peak = max(peak, watched.memory_info().rss)
                except psutil.NoSuchProcess:
                    break
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        code = process.wait()
        elapsed = time.perf_counter() - started
        watcher.join()
        if code != 0:
            sys.exit(f"classify.py failed with exit code {code}")
        stdout.seek(0)
        lines = sum(1 for _ in stdout)
    return elapsed, peak, lines


def naive_reference(model_fn: Path, texts: list[str], batch_size: int) -> float:
    """Seconds to predict ``texts`` in input-order batches (no length sorting), in-process."""
    from simple_ntc.data.dataset import PadCollator
    from simple_ntc.predict import load_predictor

    predictor = load_predictor(model_fn)
    collate = PadCollator(predictor.tokenizer.pad_id)
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            batch = collate([(i, ids, None) for i, ids in enumerate(predictor.tokenizer.encode(chunk))])
            probs = [m(batch["input_ids"], batch["lengths"]).exp() for m in predictor.models.values()]
            torch.stack(probs).mean(0).argmax(-1).tolist()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_fn", help="model file to use (default: train a small RNN+CNN first)")
    parser.add_argument("--lines", type=int, default=25000, help="input lines")
    parser.add_argument("--batch_size", type=int, default=256, help="classify.py --batch_size")
    args = parser.parse_args()

    texts, _, source = nsmc_texts_and_labels(args.lines)
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        model_fn = Path(args.model_fn) if args.model_fn else work / "bench.pth"
        if not args.model_fn:
            train_texts, labels, _ = nsmc_texts_and_labels(5000)
            corpus = work / "train.tsv"
            corpus.write_text("".join(f"{y}\t{t}\n" for t, y in zip(train_texts, labels)), encoding="utf-8")
            subprocess.run([sys.executable, str(ROOT / "train.py"), "--model_fn", str(model_fn), "--train_fn",
                            str(corpus), "--rnn", "--cnn", "--n_epochs", "1", "--verbose", "0"], check=True, cwd=ROOT)
        one_x, four_x = work / "1x.txt", work / "4x.txt"
        one_x.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
        four_x.write_text("".join(t + "\n" for t in texts) * 4, encoding="utf-8")
        startup, _, _ = run_classify(model_fn, _one_line(work), args.batch_size)
        elapsed, peak, count = run_classify(model_fn, one_x, args.batch_size)
        elapsed4, peak4, count4 = run_classify(model_fn, four_x, args.batch_size)
        assert count == len(texts) and count4 == 4 * len(texts), (count, count4)
        reference = naive_reference(model_fn, texts, args.batch_size)

    print(f"data: {source} ({len(texts)} lines); model: {model_fn.name if args.model_fn else 'small RNN+CNN'}; "
          f"batch_size={args.batch_size}; torch threads in classify.py={os.environ.get('OMP_NUM_THREADS', 'default')}")
    print(machine_note())
    print(f"classify.py start-up (1 line)       : {startup:6.2f} s")
    print(f"classify.py, {len(texts)} lines         : {elapsed:6.2f} s = {len(texts) / elapsed:8.0f} lines/s "
          f"(incl. start-up), peak RSS {peak / 2**20:6.0f} MiB")
    print(f"classify.py, {4 * len(texts)} lines        : {elapsed4:6.2f} s = {4 * len(texts) / elapsed4:8.0f} lines/s "
          f"(incl. start-up), peak RSS {peak4 / 2**20:6.0f} MiB (x{peak4 / peak:.2f} memory for x4 input)")
    model_time = elapsed - startup
    print(f"naive in-process reference          : {reference:6.2f} s = {len(texts) / reference:8.0f} lines/s "
          f"(unsorted batches, no start-up)")
    print(f"ratio classify.py (minus start-up) / naive reference speed: {reference / model_time:.2f}x")


def _one_line(work: Path) -> Path:
    path = work / "one.txt"
    path.write_text("한 줄\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
