"""User mistakes give one line on stderr and exit code 2, never a traceback."""
from __future__ import annotations

import pytest
import torch

from tests.conftest import CLASSIFICATION, assert_one_line_error, run_cli

TRAIN = CLASSIFICATION / "sentiment_train.tsv"
FAST = ["--word_vec_size", 8, "--n_filters", 4, 4, 4, "--n_epochs", 1, "--verbose", 0, "--tokenizer", "space"]


def train(tmp_path, *args):
    return run_cli("train.py", "--model_fn", tmp_path / "m.pth", *args)


@pytest.mark.parametrize("args, expected", [
    (["--train_fn", TRAIN, "--cnn", "--optimizer", "adamz"], "unknown optimizer 'adamz'; choose from"),
    (["--train_fn", TRAIN, "--cnn", "--early_stop", "-1"], "--early_stop must be >= 0, got -1"),
    (["--train_fn", "missing.tsv", "--cnn"], "--train_fn: file not found: missing.tsv"),
    (["--train_fn", TRAIN, "--valid_fn", "nope.tsv", "--cnn"], "--valid_fn: file not found: nope.tsv"),
    (["--train_fn", TRAIN], "choose what to train: --rnn, --cnn"),
    (["--cnn"], "the following argument is required: --train_fn"),
    (["--train_fn", TRAIN, "--cnn", "--n_epochs", "two"], "argument --n_epochs: invalid int value: 'two'"),
    (["--train_fn", TRAIN, "--cnn", "--scheduler", "step"], "argument --scheduler: invalid choice: 'step'"),
    (["--train_fn", TRAIN, "--cnn", "--window_sizes", 3, 4], "--window_sizes and --n_filters need as many"),
    (["--train_fn", TRAIN, "--cnn", "--precision", "fp16", "--gpu_id", "-1"], "--precision fp16 needs a CUDA"),
    (["--train_fn", TRAIN, "--cnn", "--resume"], "--resume: no checkpoint to resume from in"),
    (["--train_fn", TRAIN, "--cnn", "--valid_metric", "bleu"], "--valid_metric 'bleu' is not computed"),
    (["--train_fn", TRAIN, "--cnn", "--task", "translation"], "unknown --task 'translation'"),
])
def test_bad_training_arguments(tmp_path, args, expected):
    assert_one_line_error(train(tmp_path, *args, *FAST), expected)


def test_malformed_rows_are_file_line_errors_and_can_be_skipped_and_counted(tmp_path):
    corpus = tmp_path / "bad.tsv"
    rows = TRAIN.read_text(encoding="utf-8").splitlines()[:40]
    rows[2] = "no tab on this line"
    rows[5] = "\t텍스트만 있고 레이블이 없음"
    corpus.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert_one_line_error(train(tmp_path, "--train_fn", corpus, "--cnn", *FAST),
                          f"{corpus}:3: expected label<TAB>text, found no tab")
    result = train(tmp_path, "--train_fn", corpus, "--cnn", "--skip_bad_lines", *FAST, "--verbose", 1)
    assert result.returncode == 0, result.stderr
    assert f"Skipped 2 malformed row(s) of {corpus} (first: line 3: expected label<TAB>text" in result.stdout
    assert "Data: 30 train, 8 valid" in result.stdout


def test_empty_label_and_unknown_label_in_valid_file(tmp_path):
    valid = tmp_path / "valid.tsv"
    valid.write_text("positive\t좋아요\n\t레이블 없음\n", encoding="utf-8")
    assert_one_line_error(train(tmp_path, "--train_fn", TRAIN, "--valid_fn", valid, "--cnn", *FAST),
                          f"{valid}:2: empty label")
    valid.write_text("positive\t좋아요\nneutral\t그저 그래요\n", encoding="utf-8")
    assert_one_line_error(train(tmp_path, "--train_fn", TRAIN, "--valid_fn", valid, "--cnn", *FAST),
                          f"{valid}:2: label 'neutral' does not occur in {TRAIN}")


def test_missing_header_column(tmp_path):
    assert_one_line_error(train(tmp_path, "--train_fn", CLASSIFICATION / "nsmc_style.tsv", "--text_col", "text",
                                "--label_col", "label", "--cnn", *FAST), "no column 'text' in the header")


def test_yaml_config_errors_name_file_and_line(tmp_path):
    config = tmp_path / "my.yaml"
    config.write_text("cnn: true\nn_epochs: 1\nlearning_rate: 0.1\n", encoding="utf-8")
    assert_one_line_error(train(tmp_path, "--train_fn", TRAIN, "--config", config),
                          f"{config}:3: unknown option 'learning_rate'")
    config.write_text("cnn: true\nn_epochs: many\n", encoding="utf-8")
    assert_one_line_error(train(tmp_path, "--train_fn", TRAIN, "--config", config),
                          f"{config}:2: invalid value 'many' for --n_epochs")
    config.write_text("cnn: [true\n", encoding="utf-8")
    assert_one_line_error(train(tmp_path, "--train_fn", TRAIN, "--config", config), f"{config}:2: invalid YAML")


def test_yaml_config_sets_defaults_and_flags_override_it(tmp_path):
    config = tmp_path / "my.yaml"
    config.write_text("cnn: true\nn_epochs: 1\ntokenizer: char\nword_vec_size: 8\nverbose: 0\n", encoding="utf-8")
    result = train(tmp_path, "--train_fn", TRAIN, "--config", config, "--tokenizer", "space")
    assert result.returncode == 0, result.stderr
    saved = torch.load(tmp_path / "m.pth", weights_only=True)
    assert saved["config"]["n_epochs"] == 1 and saved["config"]["word_vec_size"] == 8
    assert saved["tokenizer"]["kind"] == "space"


def test_classify_model_file_errors(tmp_path):
    assert_one_line_error(run_cli("classify.py", "--model_fn", tmp_path / "none.pth", stdin="x\n"),
                          f"model file not found: {tmp_path / 'none.pth'}")
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"definitely not a model")
    assert_one_line_error(run_cli("classify.py", "--model_fn", corrupt, stdin="x\n"),
                          f"cannot read model file {corrupt}")
    foreign = tmp_path / "foreign.pth"
    torch.save({"weights": torch.zeros(2)}, foreign)
    assert_one_line_error(run_cli("classify.py", "--model_fn", foreign, stdin="x\n"),
                          "is not a simple-ntc classifier model file")
    future = tmp_path / "future.pth"
    torch.save({"format": "simple-ntc-classifier", "version": 99, "kind": "rnn_cnn"}, future)
    assert_one_line_error(run_cli("classify.py", "--model_fn", future, stdin="x\n"),
                          "was written by a different simple-ntc version (model format v99)")


def test_help_documents_every_configured_flag():
    import yaml

    from tests.conftest import ROOT

    for script, config in (("train.py", "classification.yaml"), ("classify.py", "classify.yaml")):
        result = run_cli(script, "--help")
        assert result.returncode == 0
        for key in yaml.safe_load((ROOT / "configs" / config).read_text()):
            assert f"--{key}" in result.stdout, (script, key)
