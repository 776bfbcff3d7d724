"""What the transformer work added to every model: heatmaps, classify.py --eval_fn, and a lean RNN/CNN classify.py."""
from __future__ import annotations

import pytest
import torch

from tests.conftest import CLASSIFICATION, FIXTURES, assert_one_line_error, run_cli

TRAIN, VALID, TEST = (CLASSIFICATION / f"sentiment_{split}.tsv" for split in ("train", "valid", "test"))
CNN = ["--cnn", "--word_vec_size", 16, "--n_filters", 8, 8, 8, "--batch_size", 32, "--tokenizer", "space",
       "--n_epochs", 3, "--lr", 0.01]


@pytest.fixture(scope="module")
def cnn_model(tmp_path_factory):
    model_fn = tmp_path_factory.mktemp("cnn") / "cnn.pth"
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", TRAIN, "--valid_fn", VALID, "--test_fn", TEST,
                     *CNN, "--verbose", 1)
    assert result.returncode == 0, result.stderr
    return model_fn, result.stdout


def test_rnn_cnn_training_saves_confusion_heatmaps_next_to_the_model(cnn_model):
    model_fn, stdout = cnn_model
    for split in ("valid", "test"):
        png = model_fn.with_name(f"cnn.{split}.confusion.png")
        assert png.read_bytes()[:4] == b"\x89PNG" and f"Confusion heatmap of {split} / cnn: {png}" in stdout


def test_eval_fn_scores_rnn_cnn_models_with_headered_files(cnn_model, tmp_path):
    model_fn, _ = cnn_model
    trained = torch.load(model_fn, weights_only=True)["report"]["test"]["cnn"]
    result = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", TEST)
    assert result.returncode == 0, result.stderr
    assert f"== sentiment_test / cnn: n=80 accuracy={trained['accuracy']:.4f}" in result.stdout
    headered = tmp_path / "headered.csv"
    rows = [line.split("\t") for line in TEST.read_text(encoding="utf-8").splitlines()]
    headered.write_text("text,sentiment\n" + "".join(f'"{text}",{label}\n' for label, text in rows), encoding="utf-8")
    result = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", headered, "--text_col", "text",
                     "--label_col", "sentiment")
    assert result.returncode == 0, result.stderr
    assert f"== headered / cnn: n=80 accuracy={trained['accuracy']:.4f}" in result.stdout
    assert_one_line_error(run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", tmp_path / "none.tsv"),
                          "--eval_fn: file not found")
    pairs = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", FIXTURES / "plm" / "nli_valid.tsv")
    assert_one_line_error(pairs, "nli_valid.tsv:1: a sentence pair (3 tab-separated columns), "
                                 "but the model classifies single texts")


def test_classify_imports_plotting_and_scoring_only_for_eval_fn(cnn_model):
    """Heatmaps (matplotlib) and reports (scikit-learn) cost start-up time that plain classification must not pay;
    tests/test_classification_cli.py checks the same for transformers and ignite."""
    model_fn, _ = cnn_model
    result = run_cli("classify.py", "--model_fn", model_fn, stdin="이 영화 정말 최고예요\n",
                     env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "torch" in imported  # the import log works
    assert not [name for name in imported if name.split(".")[0] in ("matplotlib", "sklearn", "transformers")]


def test_sentence_pairs_train_light_models_and_multi_label_needs_bert_or_linear(tmp_path):
    model_fn = tmp_path / "m.pth"
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", FIXTURES / "plm" / "nli_train.tsv", *CNN,
                     "--verbose", 0)
    assert result.returncode == 0, result.stderr  # read as text_a <sep> text_b (issue 15)
    data = torch.load(model_fn, weights_only=True)
    assert data["pair"] and '"<sep>"' in data["tokenizer"]["json"]
    from simple_ntc.errors import UserError
    from simple_ntc.train import main as train_main
    from tests.conftest import ROOT

    with pytest.raises(UserError, match="--multi_label needs --bert or --linear alone"):
        train_main(["--model_fn", str(model_fn), "--train_fn", str(FIXTURES / "plm" / "unsmile_train.tsv"),
                    "--text_col", "문장", "--multi_label", *map(str, CNN)], ROOT / "configs")
