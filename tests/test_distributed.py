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


def test_inference_batches_are_never_padded_with_repeats_and_training_repeats_weigh_nothing():
    from simple_ntc.data.batching import BucketBatchSampler
    from simple_ntc.data.token_budget import TokenBudgetBatchSampler

    lengths = [5, 4, 3, 2, 1]  # batches of 2: [0, 1], [2, 3], [4]
    for make in (lambda r, shuffle: BucketBatchSampler(lengths, 2, shuffle=shuffle, num_replicas=2, rank=r),
                 lambda r, shuffle: TokenBudgetBatchSampler(lengths, 10, shuffle=shuffle, max_rows=2,
                                                            num_replicas=2, rank=r)):
        ranks = [make(r, False) for r in (0, 1)]
        seen = [i for sampler in ranks for batch in sampler for i in batch]
        assert sorted(seen) == list(range(5))  # every example exactly once
        assert [len(s) for s in ranks] == [len(list(iter(s))) for s in ranks] == [3, 2]
        training = [make(r, True) for r in (0, 1)]
        shards = [list(iter(s)) for s in training]
        assert len(shards[0]) == len(shards[1])  # DDP needs the same number of steps everywhere
        for position, (a, b) in enumerate(zip(*shards)):
            weights = [s.loss_weight(position) for s in training]
            if len(set(a + b)) == 1:  # a one-example batch: rank 1 repeats it with weight 0
                assert weights == [2.0, 0.0]
            else:
                assert weights == [1.0, 1.0]
