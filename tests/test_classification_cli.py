"""train.py -> model file -> classify.py, as a user runs them (RNN/CNN)."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from simple_ntc.predict import load_predictor
from tests.conftest import CLASSIFICATION, ROOT, assert_one_line_error, run_cli

TINY = ["--word_vec_size", 16, "--hidden_size", 16, "--n_layers", 1, "--n_filters", 8, 8, 8,
        "--batch_size", 32, "--verbose", 0, "--tokenizer", "space"]
TRAIN = CLASSIFICATION / "sentiment_train.tsv"
VALID = CLASSIFICATION / "sentiment_valid.tsv"
TEST = CLASSIFICATION / "sentiment_test.tsv"


def train(model_fn, *extra, n_epochs=3):
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", TRAIN, "--valid_fn", VALID, *TINY,
                     "--n_epochs", n_epochs, *extra)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def ensemble_model(tmp_path_factory):
    model_fn = tmp_path_factory.mktemp("model") / "sentiment.pth"
    train(model_fn, "--rnn", "--cnn", "--test_fn", TEST, "--verbose", 1, "--lr", 0.01, n_epochs=5)
    return model_fn


def classify(model_fn, lines, *extra):
    return run_cli("classify.py", "--model_fn", model_fn, *extra, stdin="".join(line + "\n" for line in lines))


def test_model_file_holds_both_models_vocab_labels_and_config_and_loads_weights_only(ensemble_model):
    data = torch.load(ensemble_model, weights_only=True)
    assert data["format"] == "simple-ntc-classifier" and data["kind"] == "rnn_cnn"
    assert set(data["models"]) == {"rnn", "cnn"}
    assert data["labels"] == ["negative", "positive"]
    assert data["tokenizer"]["kind"] == "space"
    assert data["config"]["train_fn"] == str(TRAIN)
    assert set(data["report"]["test"]) == {"rnn", "cnn", "ensemble"}
    assert data["report"]["test"]["ensemble"]["accuracy"] > 0.9  # the fixture is easy


def test_training_prints_accuracy_macro_f1_and_per_class_reports(tmp_path):
    result = train(tmp_path / "m.pth", "--rnn", "--cnn", "--test_fn", TEST, "--verbose", 1, n_epochs=1)
    for split in ("valid", "test"):
        for name in ("rnn", "cnn", "ensemble"):
            assert f"== {split} / {name}: n=80 accuracy=" in result.stdout
    assert "macro_f1=" in result.stdout and "negative" in result.stdout and "support" in result.stdout


def test_classify_prints_one_line_per_input_in_order_with_empty_lines_kept(ensemble_model):
    lines = ["이 영화 정말 최고예요", "", "스토리 너무 지루해요", "   ", "음악 완전 명작입니다"]
    result = classify(ensemble_model, lines)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(lines)
    assert [o.split("\t", 1)[1] for o in out] == lines
    assert [o.split("\t", 1)[0] for o in out] == ["positive", "", "negative", "", "positive"]


def test_top_k_and_output_probs(ensemble_model):
    result = classify(ensemble_model, ["스토리 너무 지루해요"], "--top_k", 2, "--output_probs")
    labels, probs, text = result.stdout.rstrip("\n").split("\t")
    assert labels.split() == ["negative", "positive"]
    p = [float(x) for x in probs.split()]
    assert p[0] >= p[1] and abs(sum(p) - 1) < 1e-3
    assert text == "스토리 너무 지루해요"
    assert_one_line_error(classify(ensemble_model, ["x"], "--top_k", 3), "--top_k 3 exceeds the 2 labels")


def test_drop_flags_choose_the_models_of_the_ensemble(ensemble_model):
    lines = ["이 작품 기대 이상이었어요", "결말 시간 낭비였어요 ㅠㅠ", "대사 별로입니다"]
    predictor = load_predictor(ensemble_model)
    per_model = predictor.probabilities(lines)
    for flag, kept in (("--drop_rnn", "cnn"), ("--drop_cnn", "rnn")):
        out = classify(ensemble_model, lines, flag, "--output_probs").stdout.splitlines()
        probs = [float(line.split("\t")[1]) for line in out]
        expected = per_model[kept].max(dim=1).values.tolist()
        assert probs == pytest.approx(expected, abs=1e-4)
    both = classify(ensemble_model, lines, "--output_probs").stdout.splitlines()
    w = getattr(predictor, "ensemble_weights", None) or {"rnn": 0.5, "cnn": 0.5}  # kept by train.py, or a plain mean
    mean = ((w["rnn"] * per_model["rnn"] + w["cnn"] * per_model["cnn"]) / (w["rnn"] + w["cnn"])).max(dim=1).values
    assert [float(line.split("\t")[1]) for line in both] == pytest.approx(mean.tolist(), abs=1e-4)
    assert_one_line_error(classify(ensemble_model, lines, "--drop_rnn", "--drop_cnn"), "was dropped")


def test_texts_shorter_than_the_largest_cnn_window(tmp_path):
    model_fn = tmp_path / "cnn.pth"
    train(model_fn, "--cnn", "--window_sizes", 3, 5, 7, "--n_filters", 4, 4, 4, n_epochs=1)
    result = classify(model_fn, ["별로", "a", "최고 최고"])
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


@pytest.mark.parametrize("tokenizer", ["char", "kiwi", "bpe"])
def test_tokenizer_choice_is_saved_and_reused_by_classify(tmp_path, tokenizer):
    model_fn = tmp_path / f"{tokenizer}.pth"
    train(model_fn, "--cnn", "--tokenizer", tokenizer, "--bpe_vocab_size", 300, "--lr", 0.01)
    assert torch.load(model_fn, weights_only=True)["tokenizer"]["kind"] == tokenizer
    result = classify(model_fn, ["이 영화 정말 최고예요", "결말 너무 지루해요"])
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["positive", "negative"]


def test_headered_nsmc_style_file_with_chosen_columns(tmp_path):
    model_fn = tmp_path / "nsmc.pth"
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", CLASSIFICATION / "nsmc_style.tsv",
                     "--text_col", "document", "--label_col", "label", "--valid_ratio", 0.2, "--test_ratio", 0.1,
                     "--cnn", *TINY, "--n_epochs", 1, "--verbose", 1)
    assert result.returncode == 0, result.stderr
    assert "Data: 280 train, 80 valid, 40 test examples" in result.stdout
    assert torch.load(model_fn, weights_only=True)["labels"] == ["0", "1"]


def test_classify_streams_output_before_stdin_ends(ensemble_model):
    process = subprocess.Popen([sys.executable, str(ROOT / "classify.py"), "--model_fn", str(ensemble_model),
                                "--batch_size", "4", "--read_ahead", "1"], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        process.stdin.write("이 영화 정말 최고예요\n" * 4)
        process.stdin.flush()
        started = time.time()
        first = process.stdout.readline()  # stdin is still open: this needs streaming output
        assert first.startswith("positive\t") and time.time() - started < 60
        process.stdin.write("결말 너무 지루해요\n")
        process.stdin.close()
        rest = process.stdout.read().splitlines()
        assert len(rest) == 4 and rest[-1].startswith("negative\t")
    finally:
        process.kill()
        process.wait()


def test_wandb_flag_logs_offline_without_an_account(tmp_path):
    from tests.wandb_history import read_history, wait_for_exit_record

    model_fn = tmp_path / "wb.pth"
    env = {"WANDB_API_KEY": "", "HOME": str(tmp_path)}  # no key, no ~/.netrc: never a login prompt
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", TRAIN, "--valid_fn", VALID, *TINY,
                     "--cnn", "--n_epochs", 1, "--wandb", "--log_every", 1, env=env)
    assert result.returncode == 0, result.stderr
    run_files = list((tmp_path / "wb.pth.ckpt" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(run_files) == 1
    wait_for_exit_record(run_files[0], timeout=5)
    history = read_history(run_files[0])
    assert len(history["training/loss"]) == 13  # 400 rows / batch 32, logged every iteration
    assert {"training/grad_norm", "lr/group_0", "validation/accuracy"} <= set(history)


def test_classify_of_rnn_cnn_models_imports_neither_transformers_nor_ignite(ensemble_model):
    code = ("import atexit, runpy, sys\n"
            "atexit.register(lambda: sys.stderr.write('LOADED:' + ','.join(m for m in ('transformers', 'ignite') "
            "if m in sys.modules) + '\\n'))\n"
            f"sys.argv = ['classify.py', '--model_fn', {str(ensemble_model)!r}]\n"
            "runpy.run_path('classify.py', run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, input="이 영화 정말 최고예요\n", text=True,
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("positive\t")
    assert "LOADED:\n" in result.stderr
