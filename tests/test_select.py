"""classify.py --select_uncertain / --select_by: the lines most worth labeling next."""
from __future__ import annotations

import pytest
import torch

from simple_ntc.data.tokenization import TextTokenizer
from simple_ntc.predict import RNNCNNClassifier
from simple_ntc.select import most_useful, rarity, uncertainty
from tests.conftest import CLASSIFICATION, assert_one_line_error, run_cli


def test_single_label_uncertainty_is_scaled_to_0_1():
    probs = torch.tensor([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.25, 0.25]])
    assert uncertainty(probs, False).tolist() == pytest.approx([0.0, 1.0, 0.75])


def test_multi_label_uncertainty_is_the_label_nearest_its_threshold():
    probs = torch.tensor([[0.0, 1.0], [0.3, 0.99], [0.2, 0.9]])
    scores = uncertainty(probs, True, [0.3, 0.5])
    # row 0: both labels sure; row 1: label 0 at its threshold; row 2: max(1 - 0.1/0.3, 1 - 0.4/0.5)
    assert scores.tolist() == pytest.approx([0.0, 1.0, 2 / 3])


def test_rarity_is_the_share_of_unknown_tokens_and_ties_keep_input_order():
    tokenizer = TextTokenizer.train("space", ["a b c"], 16)
    predictor = RNNCNNClassifier(tokenizer, ["x", "y"], {})
    assert rarity(predictor, ["a b", "a zz", "qq zz", "a b c d"]).tolist() == pytest.approx([0, 0.5, 1, 0.25])
    assert most_useful(torch.tensor([0.2, 0.5, 0.5, 0.1]), 3) == [1, 2, 0]


@pytest.fixture(scope="module")
def cnn_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("select") / "cnn.pth"
    result = run_cli("train.py", "--model_fn", path, "--train_fn", CLASSIFICATION / "sentiment_train.tsv",
                     "--valid_fn", CLASSIFICATION / "sentiment_valid.tsv", "--cnn", "--n_epochs", 2,
                     "--word_vec_size", 16, "--n_filters", 8, 8, "--window_sizes", 2, 3, "--tokenizer", "space",
                     "--verbose", 0, "--gpu_id", -1)
    assert result.returncode == 0, result.stderr
    return path


def test_select_uncertain_prints_the_top_lines_most_useful_first(cnn_file):
    lines = [line.split("\t", 1)[1] for line in (CLASSIFICATION / "sentiment_valid.tsv").read_text().splitlines()]
    stdin = "\n".join(lines + ["", "완전히 처음 보는 낱말들"]) + "\n"
    result = run_cli("classify.py", "--model_fn", cnn_file, "--select_uncertain", 5, stdin=stdin)
    assert result.returncode == 0, result.stderr
    rows = [row.split("\t") for row in result.stdout.rstrip("\n").split("\n")]
    assert len(rows) == 5 and all(len(row) == 3 and row[1] in ("positive", "negative") for row in rows)
    scores = [float(row[0]) for row in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    rare = run_cli("classify.py", "--model_fn", cnn_file, "--select_uncertain", 1, "--select_by", "rarity",
                   stdin=stdin)
    assert rare.stdout.split("\t")[0] == "1.0000" and rare.stdout.rstrip("\n").endswith("완전히 처음 보는 낱말들")
    mixed = run_cli("classify.py", "--model_fn", cnn_file, "--select_uncertain", 100, "--select_by", "mixed",
                    stdin=stdin)
    assert len(mixed.stdout.rstrip("\n").split("\n")) == len(lines) + 1  # every non-empty line, once
    assert_one_line_error(run_cli("classify.py", "--model_fn", cnn_file, "--select_uncertain", 0, stdin="x\n"),
                          "--select_uncertain must be a positive integer")
    assert_one_line_error(run_cli("classify.py", "--model_fn", cnn_file, "--select_uncertain", 2, "--explain",
                                  stdin="x\n"), "does not combine")
