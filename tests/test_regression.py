"""--regression: numeric labels of sentence pairs (KorSTS layout) for light models, --linear and --bert."""
from __future__ import annotations

import re

import pytest
import torch

from simple_ntc.predict import is_regression, load_predictor
from simple_ntc.errors import UserError
from simple_ntc.train import main as train_main
from tests.conftest import FIXTURES, ROOT, assert_one_line_error, run_cli

STS = FIXTURES / "breadth"
COLUMNS = ["--text_col", "sentence1", "--text_pair_col", "sentence2", "--label_col", "score"]
TINY = ["--word_vec_size", 16, "--hidden_size", 16, "--n_layers", 1, "--n_heads", 2, "--ff_size", 32,
        "--n_filters", 8, 8, 8, "--batch_size", 32, "--tokenizer", "space", "--lr", 0.01, "--verbose", 1]
SAME = "남자가 집에서 요리를 하고 있다."
OTHER = "아이가 공원에서 공을 차고 있다."


def train(model_fn, *extra):
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", STS / "sts_train.tsv", "--valid_fn",
                     STS / "sts_valid.tsv", *COLUMNS, "--regression", *extra)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def light_model(tmp_path_factory):
    model_fn = tmp_path_factory.mktemp("sts") / "sts.pth"
    result = train(model_fn, "--cnn", "--transformer", "--linear", *TINY, "--n_epochs", 6)
    return model_fn, result.stdout


def test_light_models_train_with_mse_and_report_pearson_spearman_mse(light_model):
    model_fn, stdout = light_model
    data = torch.load(model_fn, weights_only=True)
    assert data["regression"] and data["pair"] and data["labels"] == ["score"]
    assert data["config"]["valid_metric"] == "pearson"  # chosen by Pearson, not accuracy
    valid = data["report"]["valid"]
    assert set(valid) == {"cnn", "transformer", "linear", "ensemble"}
    assert set(valid["ensemble"]) == {"n", "regression", "pearson", "spearman", "mse"}
    assert valid["linear"]["pearson"] > 0.6 and valid["ensemble"]["pearson"] > 0.5
    assert "== valid / cnn: n=100 pearson=" in stdout and "valid pearson  valid spearman  valid mse" in stdout
    assert re.search(r"\| valid loss=\S+ pearson=\S+ spearman=\S+ mse=", stdout)  # the engine's validation line


def test_classify_prints_the_predicted_score_of_each_pair(light_model):
    model_fn, _ = light_model
    lines = [f"{SAME}\t{SAME}", "", f"{SAME}\t{OTHER}"]
    result = run_cli("classify.py", "--model_fn", model_fn, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    rows = [row.split("\t", 1) for row in result.stdout.splitlines()]
    assert [text for _, text in rows] == lines and rows[1][0] == ""
    same, other = float(rows[0][0]), float(rows[2][0])
    predictor = load_predictor(model_fn)
    assert is_regression(predictor)
    expected = predictor.probabilities([SAME], [SAME])
    w = getattr(predictor, "ensemble_weights", None) or {name: 1 / 3 for name in expected}  # fitted, or a plain mean
    assert set(w) == set(expected) and sum(w.values()) == pytest.approx(1, abs=1e-3)
    assert same == pytest.approx(sum(w[name] * p[0, 0].item() for name, p in expected.items()), abs=1e-3)
    assert same > other  # identical sentences are more similar than unrelated ones


def test_eval_fn_scores_a_labeled_pair_file_and_rejects_non_numeric_labels(light_model, tmp_path):
    model_fn, _ = light_model
    result = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", STS / "sts_valid.tsv", *COLUMNS,
                     "--drop_transformer")
    assert result.returncode == 0, result.stderr
    assert "== sts_valid / cnn: n=100 pearson=" in result.stdout and "sts_valid / ensemble" in result.stdout
    assert "transformer" not in result.stdout
    bad = tmp_path / "bad.tsv"
    lines = (STS / "sts_valid.tsv").read_text(encoding="utf-8").splitlines()[:4]
    fields = lines[2].split("\t")
    lines[2] = "\t".join(fields[:4] + ["abc"] + fields[5:])
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_one_line_error(run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", bad, *COLUMNS),
                          f"{bad}:3: --regression needs a numeric label, got 'abc'")
    argv = ["--model_fn", str(tmp_path / "m.pth"), "--train_fn", str(bad), *COLUMNS, "--regression", "--linear",
            "--verbose", "0"]
    with pytest.raises(UserError, match=f"{bad}:3: --regression needs a numeric label"):
        train_main(argv, ROOT / "configs")
    with pytest.raises(UserError, match="--valid_metric 'accuracy_x' is not computed with --regression"):
        train_main([*argv, "--valid_metric", "accuracy_x"], ROOT / "configs")


def test_bert_regression_uses_one_output_and_mse(tmp_path):
    from tests.tiny_bert import build_tiny_bert, corpus_texts

    tiny = build_tiny_bert(tmp_path / "tiny", corpus_texts(STS / "sts_train.tsv"))
    model_fn = tmp_path / "bert.pth"
    result = train(model_fn, "--bert", "--pretrained_model_name", tiny, "--n_epochs", 2, "--lr", 1e-3,
                   "--batch_size", 32, "--verbose", 1)
    assert "as a regression sentence-pair classifier" in result.stdout
    data = torch.load(model_fn, weights_only=True)
    assert data["regression"] and data["model_config"]["problem_type"] == "regression"
    assert set(data["report"]["valid"]) == {"bert"} and "pearson" in data["report"]["valid"]["bert"]
    assert "pearson" in data["baseline"]["valid"]  # the TF-IDF baseline, scored beside it
    out = run_cli("classify.py", "--model_fn", model_fn, stdin=f"{SAME}\t{OTHER}\n")
    assert out.returncode == 0, out.stderr
    float(out.stdout.split("\t")[0])  # a score, not a label name
