"""The real KorNLI and UnSmile files through train.py --bert and classify.py (skipped without the data).

A tiny BERT trained for one epoch cannot classify them well; these tests check that the files are read
as their users expect: KorNLI's headered pairs with named columns, UnSmile's eleven 0/1 label columns
in header order, and classify.py answering in those labels.
"""
from __future__ import annotations

from pathlib import Path

import torch

from tests.conftest import require_data, run_cli
from tests.tiny_bert import build_tiny_bert

TINY = ["--batch_size", 32, "--lr", 1e-3, "--n_epochs", 1, "--max_length", 64, "--verbose", 1]


def head(source: Path, target: Path, rows: int) -> Path:
    """The header and the first ``rows`` rows of a real file."""
    with open(source, encoding="utf-8") as lines:
        target.write_text("".join(line for _, line in zip(range(rows + 1), lines)), encoding="utf-8")
    return target


def texts_of(*paths: Path) -> list[str]:
    return [field for path in paths for line in path.read_text(encoding="utf-8").splitlines()[1:]
            for field in line.split("\t") if not field.isdigit()]


def test_kornli_pairs_with_named_columns(tmp_path):
    train_fn = head(require_data("kornli/xnli.dev.ko.tsv"), tmp_path / "train.tsv", 400)
    test_fn = head(require_data("kornli/xnli.test.ko.tsv"), tmp_path / "test.tsv", 100)
    tiny = build_tiny_bert(tmp_path / "tiny-bert", texts_of(train_fn, test_fn), max_positions=128)
    model_fn = tmp_path / "kornli.pth"
    columns = ["--text_col", "sentence1", "--text_pair_col", "sentence2", "--label_col", "gold_label"]
    trained = run_cli("train.py", "--model_fn", model_fn, "--train_fn", train_fn, "--valid_ratio", 0.25,
                      "--test_fn", test_fn, *columns, "--bert", "--pretrained_model_name", tiny, *TINY)
    assert trained.returncode == 0, trained.stderr
    assert "Data: 300 train, 100 valid, 100 test examples" in trained.stdout
    assert "sentence-pair classifier of 3 labels" in trained.stdout
    assert torch.load(model_fn, weights_only=True)["labels"] == ["contradiction", "entailment", "neutral"]
    classified = run_cli("classify.py", "--model_fn", model_fn,
                         stdin="그는 학교에 갔다\t그는 집에 있었다\n\n비가 온다\t날씨가 맑다\n")
    assert classified.returncode == 0, classified.stderr
    lines = classified.stdout.splitlines()
    assert len(lines) == 3 and lines[1] == "\t"
    assert {lines[0].split("\t")[0], lines[2].split("\t")[0]} <= {"contradiction", "entailment", "neutral"}
    scored = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", test_fn, *columns)
    assert scored.returncode == 0, scored.stderr
    assert "== test / bert: n=100 accuracy=" in scored.stdout
    assert (tmp_path / "kornli.eval.test.confusion.png").stat().st_size > 0


def test_unsmile_label_columns_in_header_order(tmp_path):
    train_fn = head(require_data("korean-unsmile/unsmile_train_v1.0.tsv"), tmp_path / "train.tsv", 400)
    valid_fn = head(require_data("korean-unsmile/unsmile_valid_v1.0.tsv"), tmp_path / "valid.tsv", 100)
    header = train_fn.read_text(encoding="utf-8").split("\n", 1)[0].split("\t")
    tiny = build_tiny_bert(tmp_path / "tiny-bert", texts_of(train_fn, valid_fn), max_positions=128)
    model_fn = tmp_path / "unsmile.pth"
    trained = run_cli("train.py", "--model_fn", model_fn, "--train_fn", train_fn, "--valid_fn", valid_fn,
                      "--text_col", "문장", "--multi_label", "--tune_thresholds", "--bert",
                      "--pretrained_model_name", tiny, *TINY)
    assert trained.returncode == 0, trained.stderr
    saved = torch.load(model_fn, weights_only=True)
    assert saved["multi_label"] and saved["labels"] == header[1:] and len(saved["labels"]) == 11
    assert "samples_f1=" in trained.stdout and "기타 혐오" in trained.stdout
    classified = run_cli("classify.py", "--model_fn", model_fn, "--threshold", 1e-6,
                         stdin="이런 댓글 좀 달지 마라\n오늘 날씨 좋다\n")
    assert classified.returncode == 0, classified.stderr
    for line in classified.stdout.splitlines():
        labels, text = line.split("\t")
        assert set(labels.split(",")) == set(header[1:]) and text  # a threshold near 0: every label, names whole
