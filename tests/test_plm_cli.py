"""train.py --bert -> model file -> classify.py, as a user runs them, with a tiny BERT from a temp directory."""
from __future__ import annotations

import shutil

import pytest
import torch

from simple_ntc.predict import load_predictor
from tests.conftest import CLASSIFICATION, FIXTURES, assert_one_line_error, run_cli
from tests.tiny_bert import build_tiny_bert, corpus_texts

PLM = FIXTURES / "plm"
SENTIMENT = [CLASSIFICATION / f"sentiment_{split}.tsv" for split in ("train", "valid", "test")]
# a tiny untrained BERT learns the fixtures in a few epochs at a high learning rate
TINY = ["--batch_size", 8, "--lr", 3e-3, "--scheduler", "constant", "--warmup_ratio", 0, "--early_stop", 0,
        "--verbose", 0]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("pretrained") / "tiny-bert",
                           corpus_texts(*FIXTURES.glob("*/*.tsv")))


def train(model_fn, pretrained, *args, n_epochs=4):
    result = run_cli("train.py", "--model_fn", model_fn, "--bert", "--pretrained_model_name", pretrained, *TINY,
                     "--n_epochs", n_epochs, *args)
    assert result.returncode == 0, result.stderr
    return result


def classify(model_fn, lines, *extra):
    result = run_cli("classify.py", "--model_fn", model_fn, *extra, stdin="".join(line + "\n" for line in lines))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def labels_of(output_lines):
    return [line.split("\t", 1)[0] for line in output_lines]


@pytest.fixture(scope="module")
def sentiment_model(tmp_path_factory, tiny_dir):
    """Trained from a copy of the pretrained directory that is deleted before anything is classified."""
    work = tmp_path_factory.mktemp("sentiment")
    pretrained = shutil.copytree(tiny_dir, work / "copy-of-tiny-bert")
    model_fn = work / "sentiment.pth"
    result = train(model_fn, pretrained, "--train_fn", SENTIMENT[0], "--valid_fn", SENTIMENT[1], "--test_fn",
                   SENTIMENT[2], "--verbose", 1, n_epochs=3)
    shutil.rmtree(pretrained)
    return model_fn, result.stdout


@pytest.fixture(scope="module")
def pair_model(tmp_path_factory, tiny_dir):
    model_fn = tmp_path_factory.mktemp("nli") / "nli.pth"
    train(model_fn, tiny_dir, "--train_fn", PLM / "nli_train.tsv", "--valid_fn", PLM / "nli_valid.tsv")
    return model_fn


@pytest.fixture(scope="module")
def multi_label_model(tmp_path_factory, tiny_dir):
    model_fn = tmp_path_factory.mktemp("unsmile") / "unsmile.pth"
    result = train(model_fn, tiny_dir, "--train_fn", PLM / "unsmile_train.tsv", "--valid_fn",
                   PLM / "unsmile_valid.tsv", "--text_col", "문장", "--multi_label", "--tune_thresholds",
                   "--verbose", 1)
    return model_fn, result.stdout


# --- single-label -------------------------------------------------------------------------------


def test_single_label_round_trip_without_the_pretrained_directory(sentiment_model):
    model_fn, _ = sentiment_model
    lines = ["이 영화 정말 최고예요", "", "스토리 너무 지루해요", "음악 완전 명작입니다"]
    out = classify(model_fn, lines)
    assert len(out) == len(lines) and [line.split("\t", 1)[1] for line in out] == lines
    assert labels_of(out) == ["positive", "", "negative", "positive"]
    top2 = classify(model_fn, ["스토리 너무 지루해요"], "--top_k", 2, "--output_probs")[0].split("\t")
    assert top2[0].split() == ["negative", "positive"]
    assert sum(float(p) for p in top2[1].split()) == pytest.approx(1.0, abs=1e-3)


def test_model_file_is_weights_only_and_self_contained(sentiment_model):
    model_fn, _ = sentiment_model
    data = torch.load(model_fn, weights_only=True)
    assert data["format"] == "simple-ntc-classifier" and data["kind"] == "plm"
    assert data["labels"] == ["negative", "positive"] and not data["multi_label"] and not data["pair"]
    assert data["model_config"]["model_type"] == "bert" and "tokenizer.json" in data["tokenizer_files"]
    assert all(isinstance(v, torch.Tensor) for v in data["state_dict"].values())
    assert data["report"]["test"]["bert"]["accuracy"] > 0.9
    assert data["config"]["lr"] == 3e-3 and data["config"]["optimizer"] == "adamw"


def test_training_reports_and_saves_confusion_heatmaps(sentiment_model):
    model_fn, stdout = sentiment_model
    for split in ("valid", "test"):
        assert f"== {split} / bert: n=80 accuracy=" in stdout
        png = model_fn.with_name(f"sentiment.{split}.confusion.png")
        assert png.read_bytes()[:4] == b"\x89PNG"
        assert f"Confusion heatmap of {split} / bert: {png}" in stdout
    assert "true \\ pred" in stdout and "support" in stdout


def test_eval_fn_scores_a_labeled_file_without_training(sentiment_model):
    model_fn, stdout = sentiment_model
    result = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", SENTIMENT[2])
    assert result.returncode == 0, result.stderr
    trained = torch.load(model_fn, weights_only=True)["report"]["test"]["bert"]
    assert f"== sentiment_test / bert: n=80 accuracy={trained['accuracy']:.4f}" in result.stdout
    assert f"macro_f1={trained['macro_f1']:.4f}" in result.stdout and "true \\ pred" in result.stdout
    assert model_fn.with_name("sentiment.eval.sentiment_test.confusion.png").is_file()
    bad = model_fn.with_name("bad.tsv")
    bad.write_text("positive\t좋아요\nneutral\t그냥 그래요\n", encoding="utf-8")
    assert_one_line_error(run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", bad),
                          f"{bad}:2: label 'neutral' is not a label of the model")


def test_bert_defaults_apply_when_flags_are_left_empty(tmp_path, tiny_dir):
    model_fn = tmp_path / "defaults.pth"
    result = run_cli("train.py", "--model_fn", model_fn, "--bert", "--pretrained_model_name", tiny_dir,
                     "--train_fn", SENTIMENT[1], "--n_epochs", 1, "--verbose", 0)
    assert result.returncode == 0, result.stderr
    config = torch.load(model_fn, weights_only=True)["config"]
    expected = {"lr": 5e-5, "scheduler": "linear", "warmup_ratio": 0.2, "optimizer": "adamw", "weight_decay": 0.01,
                "batch_size": 32, "max_length": 128, "max_grad_norm": 1.0}
    assert {key: config[key] for key in expected} == expected


# --- sentence pairs -----------------------------------------------------------------------------


def test_pair_round_trip_reads_two_columns(pair_model):
    data = torch.load(pair_model, weights_only=True)
    assert data["pair"] and data["labels"] == ["contradiction", "entailment", "neutral"]
    assert data["report"]["valid"]["bert"]["accuracy"] >= 0.9  # needs both sentences: see the fixture
    rows = ["철수는 사과를 좋아한다\t철수는 사과를 즐겨 먹는다", "철수는 사과를 좋아한다\t철수는 사과를 질색한다",
            "철수는 어제 시장에서 사과를 샀다\t철수는 사과를 좋아한다"]
    out = classify(pair_model, rows)
    assert [line.split("\t", 1)[1] for line in out] == rows
    assert labels_of(out) == ["entailment", "contradiction", "neutral"]
    predictor = load_predictor(pair_model)
    a, b = zip(*(row.split("\t") for row in rows))
    probs = predictor.probabilities(list(a), list(b))["bert"]
    shown = [float(line.split("\t")[1]) for line in classify(pair_model, rows, "--output_probs")]
    assert shown == pytest.approx(probs.max(dim=1).values.tolist(), abs=1e-4)


def test_pair_columns_of_a_headered_kornli_style_file(tmp_path, tiny_dir, pair_model):
    model_fn = tmp_path / "kornli.pth"
    result = train(model_fn, tiny_dir, "--train_fn", PLM / "nli_kornli_style.tsv", "--text_col", "sentence1",
                   "--text_pair_col", "sentence2", "--label_col", "gold_label", "--valid_ratio", 0.2,
                   "--verbose", 1, n_epochs=1)
    assert "Data: 360 train, 90 valid, 0 test examples" in result.stdout
    assert "single-label sentence-pair classifier of 3 labels" in result.stdout
    assert torch.load(model_fn, weights_only=True)["pair"]
    scored = run_cli("classify.py", "--model_fn", pair_model, "--eval_fn", PLM / "nli_kornli_style.tsv",
                     "--text_col", "sentence1", "--text_pair_col", "sentence2", "--label_col", "gold_label")
    assert scored.returncode == 0, scored.stderr
    assert "== nli_kornli_style / bert: n=450 accuracy=" in scored.stdout
    assert_one_line_error(run_cli("classify.py", "--model_fn", pair_model, "--eval_fn", SENTIMENT[2]),
                          "the model classifies sentence pairs, the file has single texts")


# --- multi-label --------------------------------------------------------------------------------


def test_multi_label_round_trip_from_0_1_columns(multi_label_model):
    model_fn, stdout = multi_label_model
    data = torch.load(model_fn, weights_only=True)
    assert data["multi_label"] and data["labels"] == ["여성/가족", "남성", "기타 혐오", "악플/욕설", "clean"]
    assert data["report"]["valid"]["bert"]["macro_f1"] >= 0.9
    assert "samples_f1=" in stdout and "samples avg" in stdout and "TN" in stdout
    out = classify(model_fn, ["여자들은 원래 꺼져라 제발", "친구들은 영화를 보러 갔다", "남자들은 원래 노인들은 원래 밥을 맛있게 먹었다"])
    assert [set(labels.split(",")) for labels in labels_of(out)] == [
        {"여성/가족", "악플/욕설"}, {"clean"}, {"남성", "기타 혐오"}]  # names with spaces stay whole


def test_tuned_thresholds_are_saved_and_threshold_overrides_them(multi_label_model):
    model_fn, stdout = multi_label_model
    thresholds = torch.load(model_fn, weights_only=True)["thresholds"]
    assert len(thresholds) == 5 and all(0.0 < t < 1.0 for t in thresholds)
    assert "Thresholds tuned on valid: 여성/가족=" in stdout
    assert load_predictor(model_fn).thresholds == thresholds
    everything = classify(model_fn, ["친구들은 영화를 보러 갔다"], "--threshold", 0.0001)
    assert labels_of(everything)[0].split(",") != ["clean"] and len(labels_of(everything)[0].split(",")) == 5
    scored = run_cli("classify.py", "--model_fn", model_fn, "--eval_fn", PLM / "unsmile_valid.tsv",
                     "--text_col", "문장")
    assert scored.returncode == 0, scored.stderr
    assert "== unsmile_valid / bert: n=90" in scored.stdout and "samples avg" in scored.stdout
    assert model_fn.with_name("unsmile.eval.unsmile_valid.confusion.png").is_file()


def test_multi_label_from_a_comma_separated_label_field(tmp_path, tiny_dir):
    model_fn = tmp_path / "labels.pth"
    train(model_fn, tiny_dir, "--train_fn", PLM / "labels_train.tsv", "--valid_fn", PLM / "labels_valid.tsv",
          "--multi_label")
    data = torch.load(model_fn, weights_only=True)
    assert data["labels"] == sorted(["여성/가족", "남성", "기타 혐오", "악플/욕설", "clean"])
    assert data["report"]["valid"]["bert"]["micro_f1"] >= 0.9
    out = classify(model_fn, ["아재들은 다 다 없어져야 한다"])
    assert set(labels_of(out)[0].split(",")) == {"남성", "악플/욕설"}


def test_label_cols_choose_the_label_columns(tmp_path, tiny_dir):
    model_fn = tmp_path / "two.pth"
    train(model_fn, tiny_dir, "--train_fn", PLM / "unsmile_train.tsv", "--valid_fn", PLM / "unsmile_valid.tsv",
          "--text_col", "문장", "--multi_label", "--label_cols", "남성", "악플/욕설", n_epochs=1)
    assert torch.load(model_fn, weights_only=True)["labels"] == ["남성", "악플/욕설"]


# --- resume, seeds ------------------------------------------------------------------------------


def test_resume_and_seeds_give_identical_weights(tmp_path, tiny_dir):
    def run(name, *extra):
        train(tmp_path / name, tiny_dir, "--train_fn", PLM / "nli_valid.tsv", "--valid_ratio", 0.25, *extra)
        return torch.load(tmp_path / name, weights_only=True)["state_dict"]

    full = run("full.pth", "--n_epochs", 2, "--seed", 5)
    run("part.pth", "--n_epochs", 1, "--seed", 5)
    resumed = run("part.pth", "--n_epochs", 2, "--seed", 5, "--resume")  # another process: also seed determinism
    other = run("other.pth", "--n_epochs", 2, "--seed", 6)
    for key, value in full.items():
        assert torch.equal(value, resumed[key]), key
    assert not all(torch.equal(value, other[key]) for key, value in full.items())


# --- user mistakes ------------------------------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    (["--bert"], "--bert needs --pretrained_model_name NAME_OR_LOCAL_DIR"),
    (["--bert", "--pretrained_model_name", "{tmp}/missing"], "--pretrained_model_name {tmp}/missing: directory not found"),
    (["--bert", "--pretrained_model_name", "{tmp}"], "not a model directory (no config.json)"),
    (["--bert", "--pretrained_model_name", "{tiny}", "--tune_thresholds"], "--tune_thresholds needs --multi_label"),
    (["--bert", "--pretrained_model_name", "{tiny}", "--multi_label", "--threshold", 1.5],
     "--threshold must be in (0, 1), got 1.5"),
    (["--cnn", "--multi_label"], "--multi_label needs --bert"),
    (["--bert", "--cnn", "--pretrained_model_name", "{tiny}"], "--bert trains alone; drop --rnn/--cnn"),
])
def test_bad_plm_arguments(tmp_path, tiny_dir, args, expected):
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    args = [str(a).format(tmp=tmp_path, tiny=tiny_dir) for a in args]
    result = run_cli("train.py", "--model_fn", tmp_path / "m.pth", "--train_fn", SENTIMENT[1], *args,
                     "--n_epochs", 1, "--verbose", 0)
    assert_one_line_error(result, expected.format(tmp=tmp_path))


def test_classify_threshold_needs_a_multi_label_model(sentiment_model):
    model_fn, _ = sentiment_model
    assert_one_line_error(run_cli("classify.py", "--model_fn", model_fn, "--threshold", 0.3, stdin="x\n"),
                          "--threshold applies to multi-label models")
