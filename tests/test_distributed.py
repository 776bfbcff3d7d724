"""Several processes train the same model as one: 2 gloo processes on CPU against 1 process."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from simple_ntc.engine import EngineOptions, fit, is_main_process, launch, seed_everything
from tests import toy_task
from tests.test_engine import assert_same_weights
from tests.toy_task import ToyDataset, ToyModel

# 37 training examples in batches of 5: a last batch of 2, so each rank gets 1;
# 13 validation examples in batches of 4: a last batch of 1 that only rank 0 sees.
OPTIONS = EngineOptions(n_epochs=2, batch_size=5, lr=0.5, optimizer="sgd", scheduler="linear", warmup_steps=2,
                        grad_acc=2, verbose=0, valid_metric="accuracy", early_stop=0)


def train_toy(local_rank: int, out_dir: Path) -> None:
    """Train the toy task (dropout 0, SGD) and let rank 0 write its weights and validation history."""
    seed_everything(0)
    model = ToyModel(dropout=0.0)
    train, valid = ToyDataset(37), ToyDataset(13, seed=1)
    result = fit(model, toy_task.loader(train, OPTIONS.batch_size, shuffle=True, seed=OPTIONS.seed), toy_task.loss_fn,
                 OPTIONS, out_dir / "ckpt", toy_task.loader(valid, 4, shuffle=False), toy_task.eval_fn,
                 toy_task.metrics())
    if is_main_process():
        torch.save(model.state_dict(), out_dir / "weights.pt")
        (out_dir / "history.json").write_text(json.dumps([h["valid"] for h in result.history]))


def test_two_gloo_processes_train_the_same_weights_and_metrics_as_one_process(tmp_path):
    train_toy(0, tmp_path / "one")
    launch(train_toy, tmp_path / "two", nproc_per_node=2, backend="gloo")
    one, two = (torch.load(tmp_path / d / "weights.pt", weights_only=True) for d in ("one", "two"))
    assert_same_weights(one, two, atol=1e-5)
    assert not torch.equal(one["out.weight"], ToyModel(dropout=0.0).state_dict()["out.weight"])
    h1, h2 = (json.loads((tmp_path / d / "history.json").read_text()) for d in ("one", "two"))
    assert [h["accuracy"] for h in h1] == [h["accuracy"] for h in h2]  # every example counted exactly once
    for a, b in zip(h1, h2):
        assert abs(a["loss"] - b["loss"]) < 1e-6
