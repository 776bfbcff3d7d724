"""The training engine against a bare PyTorch loop, and its resume, seeding and checkpoint contracts."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from ignite.engine import Events
from torch import nn

from simple_ntc.engine import EngineOptions, create_optimizer, create_scheduler, fit, seed_everything
from simple_ntc.engine.checkpoint import find_last_checkpoint
from simple_ntc.engine.step import _accumulation_group
from simple_ntc.errors import UserError
from tests import toy_task
from tests.toy_task import ToyDataset, ToyModel


def options(**overrides) -> EngineOptions:
    base = EngineOptions(n_epochs=1, batch_size=8, lr=0.05, optimizer="adamw", weight_decay=0.01,
                         scheduler="linear", warmup_ratio=0.2, verbose=0, valid_metric="accuracy")
    return dataclasses.replace(base, **overrides)


def run_fit(tmp_path: Path, opts: EngineOptions, train: ToyDataset, valid: ToyDataset | None = None,
            seed: int = 0, **kwargs):
    seed_everything(seed)
    model = ToyModel()
    train_loader = toy_task.loader(train, opts.batch_size, shuffle=True, seed=opts.seed)
    valid_loader = toy_task.loader(valid, 16, shuffle=False) if valid is not None else None
    result = fit(model, train_loader, toy_task.loss_fn, opts, tmp_path / "ckpt", valid_loader=valid_loader,
                 eval_fn=toy_task.eval_fn if valid is not None else None,
                 metrics=toy_task.metrics() if valid is not None else None, **kwargs)
    return model, result


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0.0, msg=key)


@pytest.mark.parametrize("position, expected", [
    (1, (3, False)), (3, (3, True)), (4, (3, False)), (9, (3, True)), (10, (1, True)),
])
def test_last_accumulation_group_of_an_epoch_is_shorter(position, expected):
    assert _accumulation_group(position, epoch_length=10, grad_acc=3) == expected


def test_one_epoch_equals_a_bare_pytorch_loop_with_accumulation_and_clipping(tmp_path):
    train = ToyDataset(80)  # 10 batches of 8: accumulation groups of 3, 3, 3, 1
    opts = options(grad_acc=3, max_grad_norm=0.05)
    engine_model, _ = run_fit(tmp_path, opts, train)

    seed_everything(0)
    model = ToyModel()
    loader = toy_task.loader(train, 8, shuffle=True, seed=opts.seed)
    optimizer = create_optimizer(model, "adamw", 0.05, weight_decay=0.01)
    total = math.ceil(len(loader) / 3)
    scheduler = create_scheduler(optimizer, "linear", total, math.ceil(total * 0.2))
    batches = list(loader)
    model.train()
    for start in range(0, len(batches), 3):
        group = batches[start:start + 3]
        for batch in group:
            (toy_task.loss_fn(model, batch).loss / len(group)).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.05)
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()

    assert_same_weights(state(engine_model), state(model), atol=1e-6)
    assert scheduler.last_epoch == total == 4


def test_step_outputs_loss_accuracy_norms_and_lr(tmp_path):
    seen = []

    def record(trainer, _evaluator):
        trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: seen.append(dict(e.state.output)))

    run_fit(tmp_path, options(max_grad_norm=1.0), ToyDataset(40), attach_handlers=record)
    assert len(seen) == 5
    for output in seen:
        assert set(output) == {"loss", "accuracy", "|param|", "|g_param|", "lr"}
        assert output["loss"] > 0 and 0 <= output["accuracy"] <= 1
        assert output["|param|"] > 0 and output["|g_param|"] > 0
    lrs = [o["lr"] for o in seen]
    assert lrs[0] > lrs[-1]  # linear decay after warmup


def test_two_identical_runs_give_identical_weights(tmp_path):
    a, _ = run_fit(tmp_path / "a", options(n_epochs=2), ToyDataset(64), ToyDataset(32, seed=1))
    b, _ = run_fit(tmp_path / "b", options(n_epochs=2), ToyDataset(64), ToyDataset(32, seed=1))
    assert_same_weights(state(a), state(b))


def test_resume_from_two_epochs_to_three_equals_three_epochs(tmp_path):
    train, valid = ToyDataset(64), ToyDataset(32, seed=1)
    opts = options(scheduler="constant", warmup_steps=3, valid_metric="loss")
    full, full_result = run_fit(tmp_path / "full", dataclasses.replace(opts, n_epochs=3), train, valid)
    run_fit(tmp_path / "part", dataclasses.replace(opts, n_epochs=2), train, valid)
    resumed, result = run_fit(tmp_path / "part", dataclasses.replace(opts, n_epochs=3, resume=True), train, valid,
                              seed=123)  # a different seed: everything must come from the checkpoint
    assert result.resumed_from.name == "last_checkpoint_16.pt"  # named by iteration: 2 epochs of 8 batches
    assert result.epochs_run == 3
    assert_same_weights(state(full), state(resumed))
    assert (result.best_score, result.best_epoch) == (full_result.best_score, full_result.best_epoch)


def test_resume_after_an_interruption_keeps_the_linear_schedule(tmp_path):
    train, valid = ToyDataset(64), ToyDataset(32, seed=1)
    opts = options(n_epochs=3, valid_metric="loss")
    full, _ = run_fit(tmp_path / "full", opts, train, valid)

    class Crash(Exception):
        pass

    def crash(_engine):
        raise Crash()

    def crash_after_two_epochs(trainer, _evaluator):  # runs after the epoch's checkpoint is written
        trainer.add_event_handler(Events.EPOCH_COMPLETED(once=2), crash)

    with pytest.raises(Crash):
        run_fit(tmp_path / "part", opts, train, valid, attach_handlers=crash_after_two_epochs)
    resumed, result = run_fit(tmp_path / "part", dataclasses.replace(opts, resume=True), train, valid)
    assert result.resumed_from.name == "last_checkpoint_16.pt"
    assert_same_weights(state(full), state(resumed))


def test_checkpoints_load_with_weights_only_and_best_weights_are_restored(tmp_path):
    model, result = run_fit(tmp_path, options(n_epochs=3, n_saved=2, lr=0.2), ToyDataset(64), ToyDataset(32, seed=1))
    ckpt_dir = tmp_path / "ckpt"
    last = sorted(p.name for p in ckpt_dir.glob("last_*.pt"))
    assert last == ["last_checkpoint_16.pt", "last_checkpoint_24.pt"]  # --n_saved 2 of 3 epoch ends
    full = torch.load(find_last_checkpoint(ckpt_dir), weights_only=True)
    assert {"model", "optimizer", "scheduler", "trainer", "rng", "meta", "best", "best_checkpointer"} <= set(full)
    assert full["trainer"]["iteration"] == 3 * full["trainer"]["epoch_length"]
    best = torch.load(result.best_checkpoint, weights_only=True)
    assert_same_weights(best, state(model))
    best_epoch_scores = [h["valid"]["accuracy"] for h in result.history]
    assert result.best_score == max(best_epoch_scores)
    assert result.best_epoch == 1 + best_epoch_scores.index(max(best_epoch_scores))


def test_early_stopping_stops_and_keeps_the_best(tmp_path):
    # lr=0 never changes the weights: the validation loss never improves after epoch 1.
    _, result = run_fit(tmp_path, options(n_epochs=10, lr=1e-12, scheduler="none", early_stop=2,
                                          valid_metric="loss"), ToyDataset(32), ToyDataset(16, seed=1))
    assert result.stopped_early
    assert result.epochs_run == 3
    assert result.best_epoch == 1


def test_resume_without_checkpoint_and_past_the_end_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no checkpoint to resume from"):
        run_fit(tmp_path, options(resume=True), ToyDataset(16))
    run_fit(tmp_path, options(n_epochs=2), ToyDataset(16))
    (tmp_path / "ckpt" / "finished.json").unlink()  # as if killed after its last checkpoint
    with pytest.raises(UserError, match="already trained 2 epoch"):
        run_fit(tmp_path, options(n_epochs=2, resume=True), ToyDataset(16))


def test_resuming_a_finished_run_trains_no_more_and_returns_its_best_weights(tmp_path):
    train, valid = ToyDataset(32), ToyDataset(16, seed=1)
    finished, result = run_fit(tmp_path, options(n_epochs=2), train, valid)
    again, resumed = run_fit(tmp_path, options(n_epochs=2, resume=True), train, valid, seed=99)
    assert_same_weights(state(finished), state(again))
    assert (resumed.best_score, resumed.best_epoch, resumed.epochs_run) == (result.best_score, result.best_epoch, 2)
    assert resumed.history == []


def test_unknown_valid_metric_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--valid_metric 'f1' is not computed"):
        run_fit(tmp_path, options(valid_metric="f1"), ToyDataset(16), ToyDataset(8))


def test_fresh_run_replaces_checkpoints_of_an_earlier_run(tmp_path):
    run_fit(tmp_path, options(n_epochs=3, n_saved=3), ToyDataset(16))
    run_fit(tmp_path, options(n_epochs=1, n_saved=3), ToyDataset(16))
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("last_*.pt")) == ["last_checkpoint_2.pt"]


def test_offline_wandb_run_holds_loss_lr_and_grad_norm_series(tmp_path, monkeypatch):
    from tests.wandb_history import read_history, wait_for_exit_record

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    opts = options(n_epochs=2, wandb=True, wandb_mode="auto", wandb_dir=str(tmp_path / "wb"), log_every=1)
    run_fit(tmp_path, opts, ToyDataset(40), ToyDataset(16, seed=1), run_config={"lr": 0.05})
    run_files = list((tmp_path / "wb" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(run_files) == 1
    wait_for_exit_record(run_files[0])
    history = read_history(run_files[0])
    assert len(history["training/loss"]) == 10
    assert len(history["training/grad_norm"]) == 10
    assert len(history["training/param_norm"]) == 10
    assert len(history["lr/group_0"]) == 10
    assert len(history["validation/accuracy"]) == 2
    assert history["lr/group_0"][0] != history["lr/group_0"][-1]


def test_validation_every_n_iterations(tmp_path):
    _, result = run_fit(tmp_path, options(n_epochs=2, valid_every=3), ToyDataset(40), ToyDataset(16, seed=1))
    assert [h["iteration"] for h in result.history] == [3, 6, 9]  # 5 iterations per epoch


def test_bf16_autocast_trains_on_cpu(tmp_path):
    model, result = run_fit(tmp_path, options(n_epochs=2, precision="bf16"), ToyDataset(40), ToyDataset(16, seed=1))
    assert all(math.isfinite(h["train"]["loss"]) for h in result.history)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast, not a bf16 model


def test_progress_bar_filter_passes_each_epochs_first_and_last_batch_and_throttles_the_rest():
    from ignite.engine import Engine

    from simple_ntc.engine.reporting import at_most_every

    engine, passed = Engine(lambda engine, batch: None), []
    engine.add_event_handler(Events.ITERATION_COMPLETED(event_filter=at_most_every(3600.0)),
                             lambda engine: passed.append(engine.state.iteration))
    engine.run(range(50), max_epochs=2)
    assert passed == [1, 50, 51, 100]
    engine, passed = Engine(lambda engine, batch: None), []
    engine.add_event_handler(Events.ITERATION_COMPLETED(event_filter=at_most_every(0.0)),
                             lambda engine: passed.append(engine.state.iteration))
    engine.run(range(5))
    assert passed == [1, 2, 3, 4, 5]


def test_with_defaults_fills_only_the_options_left_empty():
    filled = options(lr=None, warmup_ratio=None).with_defaults(lr=0.1, scheduler="cosine", warmup_ratio=0.3)
    assert (filled.lr, filled.scheduler, filled.warmup_ratio) == (0.1, "linear", 0.3)
