"""Training curves: what the recorder keeps through fit(), --resume, the PNG, and --bert writing it beside the model.

The RNN/CNN and summarization pipelines writing theirs are checked by tests/test_app.py, which trains those models.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from simple_ntc.curves import CurveHistory, CurveRecorder, TrainingCurves, Validation, curves_path, draw_curves
from simple_ntc.curves.plot import row_title, running_average
from simple_ntc.curves.recorder import HISTORY_FILE
from simple_ntc.engine import EngineOptions, fit, seed_everything
from tests import toy_task
from tests.conftest import FIXTURES, ROOT
from tests.tiny_bert import build_tiny_bert, corpus_texts
from tests.toy_task import ToyDataset, ToyModel

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRAIN, VALID = ToyDataset(64, seed=0), ToyDataset(32, seed=1)  # 8 batches of 8 per epoch


def options(**overrides) -> EngineOptions:
    base = EngineOptions(n_epochs=3, batch_size=8, lr=0.05, optimizer="adamw", scheduler="constant",
                         warmup_ratio=0.0, warmup_steps=2, max_grad_norm=1.0, verbose=0, valid_metric="accuracy")
    return dataclasses.replace(base, **overrides)


def train_toy(checkpoint_dir: Path, opts: EngineOptions, validate: bool = True) -> CurveRecorder:
    """A toy run through fit() with a recorder attached, as the task pipelines attach it."""
    seed_everything(0)
    recorder = TrainingCurves().recorder("toy", checkpoint_dir, opts)
    fit(ToyModel(), toy_task.loader(TRAIN, opts.batch_size, shuffle=True, seed=opts.seed), toy_task.loss_fn, opts,
        checkpoint_dir, toy_task.loader(VALID, 16, shuffle=False) if validate else None,
        toy_task.eval_fn if validate else None, toy_task.metrics() if validate else None,
        attach_handlers=recorder.attach)
    return recorder


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> CurveHistory:
    return train_toy(tmp_path_factory.mktemp("full"), options()).history


def test_recorder_keeps_every_step_every_validation_and_the_best(uninterrupted):
    history = uninterrupted
    assert history.iterations == list(range(1, 25))
    assert history.epoch_ends == [8, 16, 24]
    assert all(value > 0 for value in history.loss + history.grad_norm)
    assert 0 < history.lr[0] < history.lr[1] and set(history.lr[1:]) == {0.05}  # the lr after each step: warmup, constant
    assert [(v.epoch, v.iteration) for v in history.validations] == [(1, 8), (2, 16), (3, 24)]
    assert all({"loss", "accuracy"} <= set(v.metrics) for v in history.validations)
    accuracies = [v.metrics["accuracy"] for v in history.validations]
    best = history.best()
    assert best.metrics["accuracy"] == max(accuracies)
    assert best is history.validations[accuracies.index(max(accuracies))]  # the first of equal bests, as fit keeps
    assert row_title(history).startswith(f"toy: best accuracy = {best.metrics['accuracy']:.4f} at epoch {best.epoch}")


def test_resumed_run_continues_the_curves_exactly(tmp_path, uninterrupted):
    checkpoint_dir = tmp_path / "ckpt"
    first = train_toy(checkpoint_dir, options(n_epochs=2)).history
    assert first.iterations == list(range(1, 17))
    saved = json.loads((checkpoint_dir / HISTORY_FILE).read_text(encoding="utf-8"))
    assert saved["iterations"] == first.iterations
    # steps recorded after the last checkpoint (a run killed mid-epoch) are not part of the resumed run
    saved["iterations"] += [17, 18]
    saved["loss"] += [9.0, 9.0]
    saved["lr"] += [1.0, 1.0]
    saved["grad_norm"] += [9.0, 9.0]
    (checkpoint_dir / HISTORY_FILE).write_text(json.dumps(saved), encoding="utf-8")

    resumed = train_toy(checkpoint_dir, options(resume=True)).history
    assert resumed.iterations == uninterrupted.iterations
    assert resumed.epoch_ends == uninterrupted.epoch_ends
    for name in ("loss", "lr", "grad_norm"):
        assert getattr(resumed, name) == pytest.approx(getattr(uninterrupted, name), abs=1e-6), name
    assert [v.iteration for v in resumed.validations] == [8, 16, 24]
    for got, expected in zip(resumed.validations, uninterrupted.validations):
        assert got.metrics == pytest.approx(expected.metrics, abs=1e-6)

    # --resume of the finished run trains nothing and still has the whole history
    again = train_toy(checkpoint_dir, options(resume=True)).history
    assert again.iterations == uninterrupted.iterations and len(again.validations) == 3


def test_a_run_without_validation_keeps_its_last_weights(tmp_path):
    history = train_toy(tmp_path / "ckpt", options(n_epochs=1), validate=False).history
    assert history.iterations == list(range(1, 9)) and history.validations == []
    assert history.best() is None
    assert row_title(history) == "toy: no validation, the weights of the last iteration (8) were kept"


def test_running_average_starts_at_the_first_value_and_skips_nan():
    assert running_average([1.0, 3.0, math.nan, 3.0], alpha=0.5) == [1.0, 2.0, 2.0, 2.5]
    assert running_average([2.0] * 10) == [2.0] * 10  # a short run is not smoothed away


def test_png_has_one_row_of_four_panels_per_model_and_marks_the_best(tmp_path, uninterrupted):
    without_validation = CurveHistory("cnn", iterations=[1, 2], loss=[0.7, 0.6], lr=[1e-3, 1e-3],
                                      grad_norm=[0.5, 0.4], epoch_ends=[2])
    figure = draw_curves([uninterrupted, without_validation], "Training curves of x.pth")
    rows = figure.subfigs
    assert len(rows) == 2 and [len(row.axes) for row in rows] == [4, 4]
    assert [axes.get_title() for axes in rows[0].axes] == ["training loss", "validation metrics", "learning rate",
                                                           "gradient norm |g|"]
    best = uninterrupted.best()
    stars = [line for line in rows[0].axes[1].lines if line.get_marker() == "*"]
    assert len(stars) == 1 and list(stars[0].get_xdata()) == [best.iteration]
    for axes in rows[0].axes:  # the kept weights are marked in every panel of the row
        assert any(list(line.get_xdata()) == [best.iteration, best.iteration] for line in axes.lines)
    assert "no validation set" in [text.get_text() for text in rows[1].axes[1].texts]

    model_fn = tmp_path / "model.pth"
    curves = TrainingCurves()
    curves.recorders.append(CurveRecorder("rnn", tmp_path / "ckpt", save=False))
    curves.recorders[0].history = uninterrupted
    messages = []
    assert curves.save(model_fn, messages.append) == tmp_path / "model.curves.png"
    assert (tmp_path / "model.curves.png").read_bytes().startswith(PNG_SIGNATURE)
    assert messages == [f"Training curves: {tmp_path / 'model.curves.png'}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.curves.png"]  # no temporary file left behind

    (tmp_path / "blocked.curves.png").mkdir()  # an unwritable target is a warning: the model is already saved
    assert curves.save(tmp_path / "blocked.pth", messages.append) is None
    assert messages[-1].startswith(f"warning: cannot write the training curves {tmp_path / 'blocked.curves.png'}")


def test_curves_path_is_beside_a_model_file_or_a_summarizer_directory(tmp_path):
    assert curves_path(tmp_path / "models" / "nsmc.pth") == tmp_path / "models" / "nsmc.curves.png"
    (tmp_path / "models" / "sum.v2").mkdir(parents=True)
    assert curves_path(tmp_path / "models" / "sum.v2") == tmp_path / "models" / "sum.v2.curves.png"


def test_history_round_trips_through_json():
    history = CurveHistory("bert", "loss", "min", [1], [0.5], [1e-5], [2.0], [1], [Validation(1, 1, {"loss": 0.4})])
    assert CurveHistory.from_dict(json.loads(json.dumps(history.to_dict()))) == history
    assert history.best() == Validation(1, 1, {"loss": 0.4})


def test_bert_training_writes_its_curves_beside_the_model(tmp_path, monkeypatch):
    """train.py --bert on sentence pairs (in this process): one row named bert, with the validation metrics."""
    from simple_ntc.train import main as train_main

    monkeypatch.setenv("WANDB_MODE", "disabled")
    tiny = build_tiny_bert(tmp_path / "tiny-bert", corpus_texts(*FIXTURES.glob("*/*.tsv")), n_layers=1)
    model_fn = tmp_path / "nli.pth"
    train_main(["--model_fn", str(model_fn), "--train_fn", str(FIXTURES / "plm" / "nli_train.tsv"), "--valid_fn",
                str(FIXTURES / "plm" / "nli_valid.tsv"), "--bert", "--pretrained_model_name", str(tiny),
                "--n_epochs", "2", "--batch_size", "16", "--lr", "3e-3", "--verbose", "0"], ROOT / "configs")
    assert (tmp_path / "nli.curves.png").read_bytes().startswith(PNG_SIGNATURE)
    saved = json.loads((tmp_path / "nli.pth.ckpt" / "bert" / HISTORY_FILE).read_text(encoding="utf-8"))
    history = CurveHistory.from_dict(saved)
    assert history.name == "bert" and history.iterations[-1] == len(history.loss) == history.epoch_ends[-1]
    assert len(history.epoch_ends) == 2 and {"loss", "accuracy", "macro_f1"} <= set(history.validations[-1].metrics)
