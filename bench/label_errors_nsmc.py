"""README figure: find_label_errors.py on 10,000 NSMC rows with 10% of the labels flipped at random.

    python bench/label_errors_nsmc.py --model cnn_linear   # or: cnn; linear (the TF-IDF + LR baseline)

Writes the flipped file to a temporary directory, runs find_label_errors.py on it (5 folds) and prints
the AUROC of ``1 - quality`` against "was flipped" and the share of flipped rows that cleanlab flags.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from sklearn.metrics import roc_auc_score

from bench.common import ROOT, shared_data

MODEL_FLAGS = {
    "cnn": ["--cnn", "--tokenizer", "char", "--n_epochs", "4", "--word_vec_size", "64", "--n_filters", "64", "64",
            "64", "--window_sizes", "2", "3", "4", "--max_length", "100"],
    "linear": ["--linear"],
}
MODEL_FLAGS["cnn_linear"] = MODEL_FLAGS["cnn"] + ["--linear"]  # the CNN and the TF-IDF model, averaged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(MODEL_FLAGS), default="cnn")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = shared_data()
    if data is None:
        sys.exit("bench/label_errors_nsmc.py: ../shared/data/nsmc is not available")
    lines = (data / "nsmc" / "ratings_test.head25k.txt").read_text(encoding="utf-8").splitlines()[:args.rows + 1]
    rng = random.Random(args.seed)
    flipped = set(rng.sample(range(2, len(lines) + 1), round((len(lines) - 1) * 0.1)))  # 1-based file lines
    rows = [lines[0]]
    for number, line in enumerate(lines[1:], 2):
        doc_id, text, label = line.split("\t")
        rows.append(f"{doc_id}\t{text}\t{1 - int(label) if number in flipped else label}")
    with tempfile.TemporaryDirectory() as tmp:
        train, output = Path(tmp) / "flipped.tsv", Path(tmp) / "errors.tsv"
        train.write_text("\n".join(rows) + "\n", encoding="utf-8")
        subprocess.run([sys.executable, str(ROOT / "find_label_errors.py"), "--train_fn", str(train), "--text_col",
                        "document", "--label_col", "label", "--skip_bad_lines", "--folds", str(args.folds),
                        "--output", str(output), "--verbose", "0", "--gpu_id", "-1", *MODEL_FLAGS[args.model]],
                       check=True)
        ranked = [row.split("\t") for row in output.read_text(encoding="utf-8").splitlines()[1:]]
    was_flipped = [int(r[0]) in flipped for r in ranked]
    auroc = roc_auc_score(was_flipped, [1 - float(r[3]) for r in ranked])
    caught = sum(f and r[4] == "1" for f, r in zip(was_flipped, ranked))
    print(f"model={args.model} rows={len(ranked)} flipped={sum(was_flipped)} folds={args.folds} "
          f"AUROC={auroc:.3f} recall_of_flagged={caught / sum(was_flipped):.1%} "
          f"flagged={sum(r[4] == '1' for r in ranked)}")


if __name__ == "__main__":
    main()
