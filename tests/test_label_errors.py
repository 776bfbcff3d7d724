"""find_label_errors.py: out-of-fold probabilities ranked by cleanlab; flipped labels rank low."""
from __future__ import annotations

import random

import pytest
from sklearn.metrics import roc_auc_score

from tests.conftest import CLASSIFICATION, FIXTURES, assert_one_line_error, require_data, run_cli


def flipped_copy(source, target, share: float, seed: int, labels=("negative", "positive"), skip_header=False):
    """``source`` with ``share`` of its labels flipped (seeded); the set of flipped 1-based line numbers."""
    lines = source.read_text(encoding="utf-8").splitlines()
    rng = random.Random(seed)
    first = 2 if skip_header else 1
    flipped = set(rng.sample(range(first, len(lines) + 1), round((len(lines) - first + 1) * share)))
    out = []
    for number, line in enumerate(lines, 1):
        if number in flipped:
            fields = line.split("\t")
            column = -1 if skip_header else 0
            fields[column] = labels[1 - labels.index(fields[column])]
            line = "\t".join(fields)
        out.append(line)
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return flipped


def read_errors(path):
    header, *rows = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert header == "line\tgiven\tsuggested\tquality\tissue\ttext"
    return [row.split("\t", 5) for row in rows]


def check_ranking(rows, flipped, n_rows, min_auroc, min_recall):
    assert sorted(int(r[0]) for r in rows) == sorted(set(int(r[0]) for r in rows)) and len(rows) == n_rows
    qualities = [float(r[3]) for r in rows]
    assert qualities == sorted(qualities) and all(0.0 <= q <= 1.0 for q in qualities)
    auroc = roc_auc_score([int(r[0]) in flipped for r in rows], [1 - q for q in qualities])
    recall = sum(int(r[0]) in flipped and r[4] == "1" for r in rows) / len(flipped)
    assert auroc >= min_auroc and recall >= min_recall, (auroc, recall)


@pytest.mark.parametrize("seed", [0, 1])
def test_flipped_fixture_labels_rank_low_with_cnn_and_tfidf_members(tmp_path, seed):
    train = tmp_path / "train.tsv"
    flipped = flipped_copy(CLASSIFICATION / "sentiment_train.tsv", train, 0.1, seed)
    output = tmp_path / "errors.tsv"
    result = run_cli("find_label_errors.py", "--train_fn", train, "--cnn", "--linear", "--folds", 3,
                     "--n_epochs", 3, "--word_vec_size", 16, "--n_filters", 16, 16, "--window_sizes", 2, 3,
                     "--tokenizer", "char", "--verbose", 0, "--gpu_id", -1, "--output", output)
    assert result.returncode == 0, result.stderr
    rows = read_errors(output)
    check_ranking(rows, flipped, 400, 0.85, 0.6)
    lines = train.read_text(encoding="utf-8").splitlines()
    assert all(lines[int(r[0]) - 1] == f"{r[1]}\t{r[5]}" for r in rows)  # given label and text of that file line


def test_multi_label_pairs_of_columns_and_one_line_errors(tmp_path):
    output = tmp_path / "errors.tsv"
    result = run_cli("find_label_errors.py", "--train_fn", FIXTURES / "plm" / "unsmile_train.tsv", "--text_col",
                     "문장", "--multi_label", "--linear", "--folds", 2, "--verbose", 0, "--output", output)
    assert result.returncode == 0, result.stderr
    rows = read_errors(output)
    assert len(rows) == 360 and {r[4] for r in rows} <= {"0", "1"}
    assert {int(r[0]) for r in rows} == set(range(2, 362))  # 1-based file lines after the header
    assert_one_line_error(run_cli("find_label_errors.py", "--train_fn", CLASSIFICATION / "sentiment_train.tsv",
                                  "--linear", "--folds", 1, "--output", output), "--folds must be at least 2")
    assert_one_line_error(run_cli("find_label_errors.py", "--train_fn", CLASSIFICATION / "sentiment_train.tsv",
                                  "--linear", "--folds", 2, "--output", tmp_path), "--output")
    assert_one_line_error(run_cli("find_label_errors.py", "--train_fn", CLASSIFICATION / "sentiment_train.tsv",
                                  "--folds", 2, "--output", output), "choose what to train")


def test_nsmc_slice_with_flipped_labels(tmp_path):
    """2,000 real NSMC rows, 10% flipped: the TF-IDF member's out-of-fold ranking finds them."""
    source = require_data("nsmc/ratings_train.head5k.txt")
    sample = tmp_path / "nsmc.tsv"
    sample.write_text("\n".join(source.read_text(encoding="utf-8").splitlines()[:2001]) + "\n", encoding="utf-8")
    train = tmp_path / "flipped.tsv"
    flipped = flipped_copy(sample, train, 0.1, 0, labels=("0", "1"), skip_header=True)
    output = tmp_path / "errors.tsv"
    result = run_cli("find_label_errors.py", "--train_fn", train, "--text_col", "document", "--label_col", "label",
                     "--linear", "--folds", 3, "--verbose", 0, "--output", output)
    assert result.returncode == 0, result.stderr
    check_ranking(read_errors(output), flipped, 2000, 0.70, 0.5)  # measured: 0.77, 0.67
