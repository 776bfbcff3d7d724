"""Training-level guarantees through the CLI: exact resume, seeding, multi-process, padding invariance."""
from __future__ import annotations

import re

import pytest
import torch

from simple_ntc.engine.checkpoint import find_last_checkpoint
from simple_ntc.models import CNNClassifier, RNNClassifier
from tests.conftest import CLASSIFICATION, run_cli

TRAIN = CLASSIFICATION / "sentiment_train.tsv"
VALID = CLASSIFICATION / "sentiment_valid.tsv"
TINY = ["--train_fn", TRAIN, "--valid_fn", VALID, "--word_vec_size", 16, "--hidden_size", 16, "--n_layers", 1,
        "--n_filters", 8, 8, 8, "--batch_size", 32, "--verbose", 0, "--tokenizer", "space", "--rnn", "--cnn"]


def train(model_fn, *extra):
    result = run_cli("train.py", "--model_fn", model_fn, *TINY, *extra)
    assert result.returncode == 0, result.stderr
    return torch.load(model_fn, weights_only=True)


def assert_same_models(a: dict, b: dict) -> None:
    assert a["models"].keys() == b["models"].keys()
    for name in a["models"]:
        for key, value in a["models"][name]["state_dict"].items():
            assert torch.equal(value, b["models"][name]["state_dict"][key]), (name, key)


def test_two_epochs_resumed_to_three_equal_three_epochs(tmp_path):
    # A schedule that does not depend on the total length; extending a run re-plans a linear one
    # (an interrupted run resumes exactly with any schedule: see tests/test_engine.py).
    schedule = ["--early_stop", 0, "--scheduler", "constant", "--warmup_steps", 3]
    full = train(tmp_path / "full.pth", "--n_epochs", 3, *schedule)
    train(tmp_path / "part.pth", "--n_epochs", 2, *schedule)
    resumed = train(tmp_path / "part.pth", "--n_epochs", 3, "--resume", *schedule)
    assert_same_models(full, resumed)
    assert full["report"] == resumed["report"]


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    a = train(tmp_path / "a.pth", "--n_epochs", 1, "--seed", 3)
    b = train(tmp_path / "b.pth", "--n_epochs", 1, "--seed", 3)
    c = train(tmp_path / "c.pth", "--n_epochs", 1, "--seed", 4)
    assert_same_models(a, b)
    with pytest.raises(AssertionError):
        assert_same_models(a, c)


def test_two_gloo_processes_train_and_rank_zero_writes_one_model(tmp_path):
    model_fn = tmp_path / "ddp" / "m.pth"
    result = run_cli("train.py", "--model_fn", model_fn, *TINY, "--n_epochs", 2, "--nproc_per_node", 2,
                     "--backend", "gloo", "--verbose", 1)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in model_fn.parent.iterdir()) == ["m.curves.png", "m.pth", "m.pth.ckpt",
                                                                "m.valid.confusion.png"]
    assert result.stdout.count("== valid / ensemble") == 1  # only rank 0 reports
    data = torch.load(model_fn, weights_only=True)
    assert set(data["models"]) == {"rnn", "cnn"}
    classify = run_cli("classify.py", "--model_fn", model_fn, stdin="이 영화 정말 최고예요\n")
    assert classify.returncode == 0 and classify.stdout.endswith("\t이 영화 정말 최고예요\n")


@pytest.mark.parametrize("model", [
    RNNClassifier(50, 8, 8, 3, n_layers=2, dropout=0.0),
    CNNClassifier(50, 8, 3, window_sizes=[2, 3, 5], n_filters=[4, 4, 4], dropout=0.0),
])
def test_predictions_do_not_depend_on_padding(model):
    """A text scored alone and in a batch padded for a longer one gets the same output."""
    torch.manual_seed(0)
    model.eval()
    short = torch.tensor([[5, 6, 7]])
    batch = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]])
    alone = model(short, torch.tensor([3]))
    padded = model(batch, torch.tensor([3, 8]))[:1]
    torch.testing.assert_close(alone, padded)


def test_resume_skips_a_finished_model_and_finishes_an_interrupted_one(tmp_path):
    """RNN finished, CNN killed after epoch 1: --resume trains only the CNN's last epoch, exactly."""
    full = train(tmp_path / "full.pth", "--n_epochs", 2, "--n_saved", 2, "--early_stop", 0)
    checkpoints = tmp_path / "full.pth.ckpt"
    (checkpoints / "cnn" / "finished.json").unlink()
    find_last_checkpoint(checkpoints / "cnn").unlink()  # the state of epoch 2
    result = run_cli("train.py", "--model_fn", tmp_path / "full.pth", *TINY, "--n_epochs", 2, "--n_saved", 2,
                     "--early_stop", 0, "--resume", "--verbose", 1)
    assert result.returncode == 0, result.stderr
    assert "rnn holds a finished run (2 epoch(s)); using its best weights" in result.stdout
    assert "Resuming from" in result.stdout and re.search(r"last_checkpoint_\d+\.pt \(epoch 1 of 2\)", result.stdout)
    assert result.stdout.count("Epoch 2/2") == 1  # only the CNN trained
    assert_same_models(full, torch.load(tmp_path / "full.pth", weights_only=True))
