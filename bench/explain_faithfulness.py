"""README figure: are --explain's top words faithful? Delete the top-1 word vs a random word of the same line.

    python bench/explain_faithfulness.py --dataset nsmc     # or: --dataset sst2

Trains a CNN with train.py (10,000 training rows), explains its predicted label on 500 held-out lines of
at least two words, and prints the mean drop of that label's probability when the top-1 word of the
explanation is deleted from the line, beside the mean drop when a random word of the line (seeded) is.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, shared_data

DATASETS = {  # training file, held-out file, text and label columns, tokenizer
    "nsmc": ("nsmc/ratings_test.head25k.txt", "nsmc/ratings_train.head5k.txt", "document", "label", "char"),
    "sst2": ("sst2/train.tsv", "sst2/dev.tsv", "sentence", "label", "word"),
}


def read(path: Path, text_col: str, label_col: str, limit: int) -> list[tuple[str, str]]:
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    names = header.split("\t")
    rows = [dict(zip(names, line.split("\t"))) for line in lines]
    return [(r[label_col], r[text_col].strip()) for r in rows if r.get(text_col, "").strip()][:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="nsmc")
    parser.add_argument("--train_rows", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = shared_data()
    if data is None:
        sys.exit("bench/explain_faithfulness.py: ../shared/data is not available")
    train_fn, held_fn, text_col, label_col, tokenizer = DATASETS[args.dataset]
    train = read(data / train_fn, text_col, label_col, args.train_rows)
    held = [t for _, t in read(data / held_fn, text_col, label_col, 10 * args.lines) if len(t.split()) >= 2]
    held = held[:args.lines]
    with tempfile.TemporaryDirectory() as tmp:
        train_path, model_fn = Path(tmp) / "train.tsv", Path(tmp) / "cnn.pth"
        train_path.write_text("".join(f"{label}\t{text}\n" for label, text in train), encoding="utf-8")
        subprocess.run([sys.executable, str(ROOT / "train.py"), "--model_fn", str(model_fn), "--train_fn",
                        str(train_path), "--cnn", "--tokenizer", tokenizer, "--n_epochs", "4", "--word_vec_size", "64",
                        "--n_filters", "64", "64", "64", "--window_sizes", "2", "3", "4", "--max_length", "100",
                        "--verbose", "0", "--gpu_id", "-1"], check=True)
        measure(model_fn, held, args)


def measure(model_fn: Path, lines: list[str], args: argparse.Namespace) -> None:
    from simple_ntc.explain import explain
    from simple_ntc.predict import load_predictor, predict_proba

    predictor = load_predictor(model_fn)
    probs = predict_proba(predictor, lines)  # |probs| = (n, n_classes)
    labels = probs.argmax(dim=1).tolist()
    explanations = explain(predictor, lines, None, [[label] for label in labels])
    rng = random.Random(args.seed)
    top_deleted, random_deleted = [], []
    for line, (explanation,) in zip(lines, explanations):
        words = explanation.words
        top = max(range(len(words)), key=lambda j: explanation.scores[j])
        other = rng.randrange(len(words))
        top_deleted.append(" ".join(words[:top] + words[top + 1:]))
        random_deleted.append(" ".join(words[:other] + words[other + 1:]))
    index = list(range(len(lines)))
    base = probs[index, labels]
    drop_top = (base - predict_proba(predictor, top_deleted)[index, labels]).mean().item()
    drop_random = (base - predict_proba(predictor, random_deleted)[index, labels]).mean().item()
    print(f"dataset={args.dataset} model=CNN lines={len(lines)} mean drop of the predicted label's probability: "
          f"top-1 word deleted {drop_top:.3f}, random word deleted {drop_random:.3f}")


if __name__ == "__main__":
    main()
