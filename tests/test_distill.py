"""Distillation into the RNN/CNN: the loss, and train.py --teacher/--distill_fn end to end (tiny CNNs)."""
from __future__ import annotations

import math

import pytest
import torch

from simple_ntc.distill import UNLABELED, DistillationLoss, soften
from simple_ntc.errors import UserError
from simple_ntc.predict import load_predictor, predict_proba
from simple_ntc.train import main as train_main
from tests.conftest import CLASSIFICATION, ROOT

CONFIG_DIR = ROOT / "configs"
TINY = ["--cnn", "--tokenizer", "space", "--word_vec_size", "16", "--n_filters", "8", "8", "8", "--batch_size", "32",
        "--lr", "0.01", "--n_epochs", "4", "--early_stop", "0", "--verbose", "1"]


def texts_and_labels(name):
    rows = [line.split("\t") for line in (CLASSIFICATION / name).read_text(encoding="utf-8").splitlines()]
    return [r[1] for r in rows], [r[0] for r in rows]


def flipped(work, name):
    """The fixture file ``name`` with every label flipped, written into ``work``."""
    flip = {"positive": "negative", "negative": "positive"}
    path = work / f"flipped_{name}"
    path.write_text("".join(f"{flip[y]}\t{t}\n" for t, y in zip(*texts_and_labels(name))), encoding="utf-8")
    return path


def accuracy(model_fn, texts, labels):
    predictor = load_predictor(model_fn)
    predicted = predict_proba(predictor, texts).argmax(-1).tolist()
    return sum(predictor.labels[i] == y for i, y in zip(predicted, labels)) / len(labels)


def test_soften_is_softmax_of_logits_over_temperature():
    logits = torch.tensor([[2.0, 0.5, -1.0]])
    assert torch.allclose(soften(torch.softmax(logits, -1), 2.0), torch.softmax(logits / 2.0, -1), atol=1e-6)
    assert torch.allclose(soften(torch.softmax(logits, -1), 1.0), torch.softmax(logits, -1), atol=1e-6)


def test_loss_mixes_soft_and_gold_terms_and_unlabeled_rows_teach_only_through_the_teacher():
    torch.manual_seed(0)
    log_probs = torch.log_softmax(torch.randn(4, 3), -1)
    model = lambda ids, lengths: log_probs  # noqa: E731 - a student whose output we know
    soft = torch.softmax(torch.randn(4, 3), -1)
    batch = {"input_ids": None, "lengths": None, "labels": torch.tensor([0, 2, UNLABELED, UNLABELED]), "soft": soft}
    T = 3.0
    student_T = torch.log_softmax(log_probs / T, -1)
    kl = (soft * (soft.log() - student_T)).sum(-1).mean() * T * T
    gold = -(log_probs[0, 0] + log_probs[1, 2]) / 2
    assert math.isclose(float(DistillationLoss(T, 1.0)(model, batch).loss), float(kl), rel_tol=1e-5)
    assert math.isclose(float(DistillationLoss(T, 0.0)(model, batch).loss), float(gold), rel_tol=1e-5)
    assert math.isclose(float(DistillationLoss(T, 0.25)(model, batch).loss), float(0.25 * kl + 0.75 * gold),
                        rel_tol=1e-5)
    all_unlabeled = {**batch, "labels": torch.full((4,), UNLABELED)}
    out = DistillationLoss(T, 0.5)(model, all_unlabeled)
    assert math.isclose(float(out.loss), float(0.5 * kl), rel_tol=1e-5)
    expected = float((log_probs.argmax(-1) == soft.argmax(-1)).float().mean())  # against the teacher's top label
    assert float(out.accuracy) == expected


@pytest.fixture(scope="module")
def flipped_teacher(tmp_path_factory):
    """A teacher that learned the fixture with every label flipped: students that follow it are wrong."""
    work = tmp_path_factory.mktemp("teacher")
    train = flipped(work, "sentiment_train.tsv")
    model_fn = work / "teacher.pth"
    train_main(["--model_fn", str(model_fn), "--train_fn", str(train), "--valid_ratio", "0.2", *TINY, "--n_epochs", "8"],
               CONFIG_DIR)
    return model_fn


def test_student_follows_the_teacher_with_alpha_1_and_the_labels_with_alpha_0(flipped_teacher, tmp_path, capsys):
    test_texts, test_labels = texts_and_labels("sentiment_test.tsv")
    assert accuracy(flipped_teacher, test_texts, test_labels) < 0.3
    unlabeled = tmp_path / "unlabeled.txt"
    unlabeled.write_text("\n".join(texts_and_labels("sentiment_valid.tsv")[0]) + "\n\n", encoding="utf-8")
    common = ["--train_fn", str(CLASSIFICATION / "sentiment_train.tsv"), "--teacher", str(flipped_teacher), *TINY]
    taught = tmp_path / "taught.pth"
    # Validated on the teacher's labels, so that restoring the best epoch keeps the one that follows the teacher most
    # (6 seeds: accuracy 0.00-0.14, agreement 0.89-0.98).
    train_main(["--model_fn", str(taught), *common, "--valid_fn", str(flipped(tmp_path, "sentiment_valid.tsv")),
                "--distill_fn", str(unlabeled), "--distill_alpha", "1.0", "--temperature", "2", "--n_epochs", "8"],
               CONFIG_DIR)
    assert "400 labeled + 80 unlabeled examples" in capsys.readouterr().out
    assert accuracy(taught, test_texts, test_labels) < 0.35  # learned the teacher, not the gold labels (chance: 0.5)
    teacher_labels = predict_proba(load_predictor(flipped_teacher), test_texts).argmax(-1)
    assert float((predict_proba(load_predictor(taught), test_texts).argmax(-1) == teacher_labels).float().mean()) > 0.75
    assert torch.load(taught, weights_only=True)["kind"] == "rnn_cnn"  # an ordinary model file
    gold = tmp_path / "gold.pth"
    train_main(["--model_fn", str(gold), *common, "--valid_fn", str(CLASSIFICATION / "sentiment_valid.tsv"),
                "--distill_alpha", "0.0"], CONFIG_DIR)
    assert accuracy(gold, test_texts, test_labels) > 0.8


@pytest.mark.parametrize("extra, message", [
    (["--cnn", "--distill_fn", "x.txt"], "--distill_fn needs --teacher"),
    (["--bert", "--pretrained_model_name", ".", "--teacher", "t.pth"], "--teacher trains an RNN/CNN student"),
    (["--cnn", "--teacher", "missing.pth"], "--teacher: file not found: missing.pth"),
])
def test_distillation_mistakes_are_user_errors(extra, message):
    with pytest.raises(UserError, match=message):
        train_main(["--model_fn", "m.pth", "--train_fn", str(CLASSIFICATION / "sentiment_train.tsv"), *extra],
                   CONFIG_DIR)


def test_a_teacher_with_other_labels_is_refused(flipped_teacher, tmp_path):
    other = tmp_path / "other.tsv"
    other.write_text("".join(f"{'good' if y == 'positive' else 'bad'}\t{t}\n"
                             for t, y in zip(*texts_and_labels("sentiment_train.tsv"))), encoding="utf-8")
    with pytest.raises(UserError, match=r"its labels \(negative, positive\) differ from the training data's"):
        train_main(["--model_fn", str(tmp_path / "s.pth"), "--train_fn", str(other), "--teacher", str(flipped_teacher),
                    *TINY], CONFIG_DIR)
