"""Trustworthy runs: mid-epoch resume, iteration-named checkpoints, run identity, NaN stops, GradScaler, ties."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from ignite.engine import Engine, Events
from ignite.metrics import Metric
from torch import nn

from simple_ntc.engine import EngineOptions, create_optimizer, create_scheduler, create_train_step
from simple_ntc.engine.checkpoint import find_last_checkpoint
from simple_ntc.engine.resume import RUN_KEY, run_identity
from simple_ntc.engine.step import StepOutput
from simple_ntc.errors import UserError
from tests import toy_task
from tests.test_engine import assert_same_weights, options, run_fit, state
from tests.toy_task import ToyDataset, ToyModel


class Crash(Exception):
    pass


def crash_at(iteration: int):
    def attach(trainer, _evaluator):
        @trainer.on(Events.ITERATION_COMPLETED(once=iteration))
        def crash(_engine):
            raise Crash()

    return attach


def last_names(tmp_path) -> list[str]:
    return sorted((p.name for p in (tmp_path / "ckpt").glob("last_*.pt")), key=lambda n: int(n[16:-3]))


def test_mid_epoch_resume_continues_with_the_next_batch_and_equals_an_uninterrupted_run(tmp_path):
    # 64 examples / 8 = 8 batches per epoch, --grad_acc 2: 4 updates per epoch, --save_every 3 updates:
    # full states at iterations 6, 8 (epoch end), 12, 16 (epoch end), 18, 24 (the end).
    train, valid = ToyDataset(64), ToyDataset(32, seed=1)
    opts = options(n_epochs=3, grad_acc=2, save_every=3, n_saved=2, valid_metric="loss")  # dropout 0.2 draws RNG
    full, full_result = run_fit(tmp_path / "full", opts, train, valid)
    with pytest.raises(Crash):
        run_fit(tmp_path / "part", opts, train, valid, attach_handlers=crash_at(14))
    assert last_names(tmp_path / "part") == ["last_checkpoint_8.pt", "last_checkpoint_12.pt"]  # --n_saved 2
    resumed, result = run_fit(tmp_path / "part", dataclasses.replace(opts, resume=True), train, valid, seed=7)
    assert result.resumed_from.name == "last_checkpoint_12.pt"
    assert_same_weights(state(full), state(resumed))
    assert (result.best_score, result.best_epoch) == (full_result.best_score, full_result.best_epoch)
    # the resumed checkpointer knows the files of the interrupted run: no stale last_checkpoint_8.pt
    assert last_names(tmp_path / "part") == ["last_checkpoint_18.pt", "last_checkpoint_24.pt"]


def test_resumed_mid_epoch_state_trains_the_rest_of_the_epoch_once(tmp_path):
    train = ToyDataset(40)  # 5 batches per epoch
    seen: list[int] = []

    def count(trainer, _evaluator):
        trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: seen.append(e.state.iteration))

    with pytest.raises(Crash):
        run_fit(tmp_path, options(n_epochs=2, save_every=2), train, attach_handlers=crash_at(3))
    run_fit(tmp_path, options(n_epochs=2, save_every=2, resume=True), train, attach_handlers=count)
    assert seen == list(range(3, 11))


def test_resume_refuses_other_data_and_adopts_nothing_silently(tmp_path):
    data = tmp_path / "train.tsv"
    data.write_text("1\tgood\n0\tbad\n", encoding="utf-8")
    meta = {RUN_KEY: run_identity(42, {"--train_fn": data}, **{"--valid_ratio": 0.2})}
    run_fit(tmp_path, options(n_epochs=1), ToyDataset(16), meta=meta)
    data.write_text("1\tgood\n0\tbad\n1\tmore\n", encoding="utf-8")
    changed = {RUN_KEY: run_identity(42, {"--train_fn": data}, **{"--valid_ratio": 0.2})}
    with pytest.raises(UserError, match=r"--train_fn differs .* \(its content differs\)"):
        run_fit(tmp_path, options(n_epochs=2, resume=True), ToyDataset(16), meta=changed)
    data.write_text("1\tgood\n0\tbad\n", encoding="utf-8")
    other_split = {RUN_KEY: run_identity(42, {"--train_fn": data}, **{"--valid_ratio": 0.3})}
    with pytest.raises(UserError, match=r"--valid_ratio differs .* \(0.2 then, 0.3 now\)"):
        run_fit(tmp_path, options(n_epochs=2, resume=True), ToyDataset(16), meta=other_split)
    other_seed = {RUN_KEY: run_identity(7, {"--train_fn": data}, **{"--valid_ratio": 0.2})}
    with pytest.raises(UserError, match="--seed differs"):
        run_fit(tmp_path, options(n_epochs=2, resume=True), ToyDataset(16), meta=other_seed)
    run_fit(tmp_path, options(n_epochs=2, resume=True), ToyDataset(16), meta=meta)


def test_fresh_run_deletes_only_the_files_runs_wrote(tmp_path):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    foreign = [ckpt / "last_checkpoint_99.pt", ckpt / "best_model_1_accuracy=0.9.pt"]
    for path in foreign:
        path.write_bytes(b"the user's own file")
    run_fit(tmp_path, options(n_epochs=2, n_saved=2), ToyDataset(16))
    assert find_last_checkpoint(ckpt).name == "last_checkpoint_4.pt"  # not the foreign _99
    run_fit(tmp_path, options(n_epochs=1), ToyDataset(16))
    assert last_names(tmp_path) == ["last_checkpoint_2.pt", "last_checkpoint_99.pt"]
    assert all(path.read_bytes() == b"the user's own file" for path in foreign)


def test_nan_loss_stops_with_the_iteration_and_keeps_the_last_good_checkpoint(tmp_path):
    def loss_fn(model, batch):
        out = toy_task.loss_fn(model, batch)
        return StepOutput(out.loss * float("nan"), out.accuracy) if torch.is_grad_enabled() and nan_now[0] else out

    nan_now = [False]

    def poison(trainer, _evaluator):
        trainer.add_event_handler(Events.ITERATION_COMPLETED(once=6), lambda _: nan_now.__setitem__(0, True))

    opts = options(n_epochs=3)
    model = ToyModel()
    loader = toy_task.loader(ToyDataset(32), 8, shuffle=True)
    from simple_ntc.engine import fit

    with pytest.raises(UserError, match=r"training loss is nan at iteration 7 \(epoch 2\).*last good checkpoint is "
                       r".*last_checkpoint_4\.pt") as error:
        fit(model, loader, loss_fn, opts, tmp_path / "ckpt", attach_handlers=poison)
    assert "\n" not in str(error.value)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_grad_scaler_skips_the_optimizer_and_scheduler_steps_on_inf_gradients_and_lowers_the_scale():
    torch.manual_seed(0)
    model = ToyModel(dropout=0.0)
    optimizer = create_optimizer(model, "sgd", 0.1)
    scheduler = create_scheduler(optimizer, "linear", 10)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    inject = [True]
    model.out.weight.register_hook(lambda g: g * float("inf") if inject[0] else g)
    step = create_train_step(model, optimizer, scheduler, toy_task.loss_fn, torch.device("cpu"), scaler=scaler)
    trainer = Engine(step)
    batch = toy_task.collate([ToyDataset(8)[i] for i in range(8)])
    before = state(model)
    trainer.state.iteration, trainer.state.epoch_length = 1, 2
    out = step(trainer, batch)
    assert math.isfinite(out["loss"])
    assert_same_weights(before, state(model))  # optimizer step skipped
    assert scheduler.last_epoch == 0  # scheduler step skipped
    assert scaler.get_scale() == 512.0  # scale halved
    inject[0] = False
    trainer.state.iteration = 2
    step(trainer, batch)
    assert scheduler.last_epoch == 1
    assert not torch.equal(before["out.weight"], model.out.weight)


class Constant(Metric):
    """A validation score that never changes: every validation ties."""

    def reset(self) -> None:
        pass

    def update(self, output) -> None:
        pass

    def compute(self) -> float:
        return 0.5


@pytest.fixture(autouse=True)
def _constant_metric(monkeypatch):
    real = toy_task.metrics
    monkeypatch.setattr(toy_task, "metrics", lambda: {**real(), "const": Constant()})


def test_tied_scores_restore_exactly_the_best_checkpoint_reported(tmp_path):
    opts = options(n_epochs=3, n_best=3, valid_metric="const", valid_mode="max", lr=0.1)
    model, result = run_fit(tmp_path, opts, ToyDataset(32), ToyDataset(16, seed=1))
    assert result.best_epoch == 1
    assert result.best_checkpoint.name.startswith("best_model_4_")  # epoch 1 ends at iteration 4
    assert_same_weights(torch.load(result.best_checkpoint, weights_only=True), state(model))


def test_early_stopping_line_only_when_training_stopped_early(tmp_path, capsys):
    # patience 1 runs out in the last validation: training was ending anyway
    _, result = run_fit(tmp_path, options(n_epochs=2, verbose=1, valid_metric="const", valid_mode="max",
                                          early_stop=1), ToyDataset(16), ToyDataset(8, seed=1))
    assert not result.stopped_early
    assert "Early stopping" not in capsys.readouterr().out
    _, result = run_fit(tmp_path, options(n_epochs=3, verbose=1, valid_metric="const", valid_mode="max",
                                          early_stop=1), ToyDataset(16), ToyDataset(8, seed=1))
    assert result.stopped_early and result.epochs_run == 2
    assert "Early stopping: no improvement of const in 1 validations" in capsys.readouterr().out


def test_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    run_fit(tmp_path, options(n_epochs=1, verbose=2), ToyDataset(16), ToyDataset(8, seed=1))
    captured = capsys.readouterr()
    assert "\r" not in captured.err + captured.out
    assert "Epoch 1/1" in captured.out  # the epoch line instead
    monkeypatch.setattr("simple_ntc.engine.experiment.on_terminal", lambda: True)
    run_fit(tmp_path, options(n_epochs=1, verbose=2), ToyDataset(16), ToyDataset(8, seed=1))
    assert "\r" in capsys.readouterr().err


def test_fused_kernels_only_on_devices_that_have_them(monkeypatch):
    from simple_ntc.engine import optim

    class FakeParam:
        requires_grad = True
        device = torch.device("cuda")

        def is_floating_point(self) -> bool:
            return True

    class OnCuda(nn.Module):
        def parameters(self, recurse=True):
            return iter([FakeParam()])

    assert not optim._fused_kernel_applies(OnCuda(), optim.FUSED_DEVICES[torch.optim.Adagrad])  # CPU-only kernel
    assert optim._fused_kernel_applies(OnCuda(), optim.FUSED_DEVICES[torch.optim.AdamW])
    assert create_optimizer(ToyModel(), "adagrad", 0.1).defaults["fused"] is True  # on CPU it is used
    assert not create_optimizer(ToyModel(), "radam", 0.1).defaults.get("fused")


def test_save_every_must_not_be_negative():
    with pytest.raises(UserError, match="--save_every must be >= 0"):
        EngineOptions(save_every=-1).validate()


def test_threshold_reaches_multi_label_validation_metrics():
    from ignite.engine import Engine as Evaluator

    from simple_ntc.plm.task import task_for

    logits = torch.logit(torch.tensor([[0.7, 0.1], [0.9, 0.6]]))  # |logits| = (2 examples, 2 labels)
    targets = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    scores = {}
    for threshold in (0.5, 0.8):
        evaluator = Evaluator(lambda engine, batch: batch)
        for name, metric in task_for(True).metrics(threshold).items():
            metric.attach(evaluator, name)
        scores[threshold] = evaluator.run([(logits, targets)]).metrics["accuracy"]
    assert scores == {0.5: 1.0, 0.8: 0.0}


def test_scheduler_none_says_it_ignores_the_warmup(tmp_path, capsys):
    run_fit(tmp_path, options(scheduler="none", warmup_ratio=0.2, verbose=1), ToyDataset(16))
    assert "--scheduler none keeps the learning rate constant" in capsys.readouterr().out


def test_help_says_what_weight_decay_and_warmup_do():
    import argparse

    from simple_ntc.engine import add_engine_arguments

    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "decoupled from the gradient with adamw" in text and "L2 penalty added to the gradient with adam" in text
    assert "ignored by --scheduler none" in text
    assert "--save_every UPDATES" in text
