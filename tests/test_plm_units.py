"""The pieces of the pretrained-transformer path, in process: encoding, padding, losses, metrics, thresholds, files."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from simple_ntc.data.corpus import Example
from simple_ntc.errors import UserError
from simple_ntc.metrics import multi_label_summary
from simple_ntc.data.corpus import example_targets
from simple_ntc.plm.data import FeatureDataset, PadToLongest, PairEncoder, make_loader
from simple_ntc.plm.model import load_pretrained, resolve_source, usable_max_length
from simple_ntc.plm.predict import PLMClassifier
from simple_ntc.plm.task import MultiLabelScores, task_for
from simple_ntc.plm.thresholds import apply_thresholds, tune_thresholds
from simple_ntc.plots import save_heatmap
from tests.conftest import FIXTURES
from tests.tiny_bert import build_tiny_bert, corpus_texts

LABELS = ["contradiction", "entailment", "neutral"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), corpus_texts(*FIXTURES.glob("*/*.tsv")))


@pytest.fixture(scope="module")
def loaded(tiny_dir):
    return load_pretrained(str(tiny_dir), LABELS, multi_label=False)


def test_load_pretrained_adds_a_new_head_with_our_labels(loaded):
    model, tokenizer, new_weights = loaded
    assert new_weights == ["classifier.bias", "classifier.weight"]
    assert model.config.num_labels == 3 and model.config.id2label == dict(enumerate(LABELS))
    assert tokenizer.is_fast


def test_pairs_are_encoded_as_two_segments_and_truncated(loaded):
    model, tokenizer, _ = loaded
    encode = PairEncoder(tokenizer, 12, ["input_ids", "token_type_ids", "attention_mask"])
    features = encode(["철수는 사과를 좋아한다"], ["철수는 사과를 싫어한다"])[0]
    tokens = tokenizer.convert_ids_to_tokens(features["input_ids"])
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2 and tokens[-1] == "[SEP]"
    second = tokens.index("[SEP]") + 1
    assert features["token_type_ids"] == [0] * second + [1] * (len(tokens) - second)
    long = encode(["사과 " * 40], ["우유 " * 40])[0]
    assert len(long["input_ids"]) == 12 and long["token_type_ids"].count(1) > 0  # both sides truncated
    single = PairEncoder(tokenizer, 12, ["input_ids", "attention_mask"])(["철수는 사과를 좋아한다"])[0]
    assert set(single) == {"input_ids"}  # no token types for models that do not take them


@pytest.mark.parametrize("side", ["right", "left"])
def test_batches_are_padded_to_their_longest_example(side):
    dataset = FeatureDataset([{"input_ids": [5, 6, 7], "token_type_ids": [0, 0, 1]}, {"input_ids": [8],
                              "token_type_ids": [0]}], [[1.0, 0.0], [0.0, 1.0]])
    batch = PadToLongest(pad_id=0, padding_side=side)([dataset[0], dataset[1]])
    inputs = batch["inputs"]
    expected_ids = [[5, 6, 7], [8, 0, 0]] if side == "right" else [[5, 6, 7], [0, 0, 8]]
    assert inputs["input_ids"].tolist() == expected_ids
    assert inputs["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0] if side == "right" else [0, 0, 1]]
    assert inputs["token_type_ids"].shape == (2, 3)
    assert batch["labels"].dtype == torch.float and batch["index"].tolist() == [0, 1]


def test_length_bucketed_loader_pads_each_batch_to_its_own_longest():
    lengths = [3, 30, 4, 29, 5, 31, 3, 28]
    dataset = FeatureDataset([{"input_ids": list(range(n))} for n in lengths], [0] * len(lengths))
    loader = make_loader(dataset, PadToLongest(0), batch_size=2, shuffle=True, seed=1)
    widths = sorted(batch["inputs"]["input_ids"].shape[1] for batch in loader)
    assert widths == [3, 5, 29, 31]  # sorted into [31, 30] [29, 28] [5, 4] [3, 3]: short with short
    seen = sorted(i for batch in loader for i in batch["index"].tolist())
    assert seen == list(range(len(lengths)))


def test_targets_are_class_indices_or_multi_hot_rows():
    examples = [Example("a", ("y",)), Example("b", ("x", "z")), Example("c", ())]
    assert example_targets(examples[:1], ["x", "y"], False) == [1]
    assert example_targets(examples, ["x", "y", "z"], True) == [[0, 1, 0], [1, 0, 1], [0, 0, 0]]


def test_multi_label_loss_is_bce_of_the_logits(loaded):
    model, tokenizer, _ = loaded
    batch = PadToLongest(tokenizer.pad_token_id)(
        [(0, {"input_ids": [2, 10, 11, 3]}, [1.0, 0.0, 1.0]), (1, {"input_ids": [2, 12, 3]}, [0.0, 0.0, 0.0])])
    model.eval()
    out = task_for(True).loss_fn(model, batch)
    logits = model(**batch["inputs"]).logits
    assert out.loss.item() == pytest.approx(
        torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["labels"]).item())


def test_multi_label_scores_match_sklearn():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 4, generator=generator)
    targets = (torch.rand(50, 4, generator=generator) > 0.6).float()
    metric = MultiLabelScores(0.5)
    metric.reset()
    metric.update((logits[:20], targets[:20]))
    metric.update((logits[20:], targets[20:]))
    scores = metric.compute()
    predicted = (torch.sigmoid(logits) >= 0.5).int().numpy()
    truth = targets.int().numpy()
    for average in ("micro", "macro", "samples"):
        assert scores[f"{average}_f1"] == pytest.approx(f1_score(truth, predicted, average=average, zero_division=0))
    summary = multi_label_summary(truth, predicted, ["a", "b", "c", "d"])
    assert scores["accuracy"] == pytest.approx(summary["accuracy"])
    assert summary["samples_f1"] == pytest.approx(scores["samples_f1"])
    assert "samples avg" in summary["report"]
    tn, fp, fn, tp = summary["label_counts"][0]
    assert tp == int(((predicted[:, 0] == 1) & (truth[:, 0] == 1)).sum()) and tn + fp + fn + tp == 50


def test_tuned_thresholds_maximize_f1_per_label():
    probs = torch.tensor([[0.9, 0.30, 0.2], [0.8, 0.25, 0.1], [0.2, 0.10, 0.3], [0.1, 0.35, 0.4]])
    targets = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]])
    thresholds = tune_thresholds(probs, targets, default=0.5)
    assert thresholds[0] == 0.5  # already perfect at the default: ties keep the default
    assert 0.1 < thresholds[1] <= 0.25  # catches both positives (0.30, 0.25) and not 0.10
    assert thresholds[2] == 0.5  # no positive example: nothing to tune
    assert apply_thresholds(probs, thresholds)[:, 1].tolist() == [True, True, False, True]


def test_heatmap_png_is_written_atomically(tmp_path):
    path = tmp_path / "deep" / "m.valid.confusion.png"
    named = save_heatmap(path, [[5, 1], [2, 7]], ["negative", "positive"], ["negative", "positive"], "valid / rnn")
    assert named and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    korean = save_heatmap(tmp_path / "k.png", [[1, 0], [0, 1]], ["여성/가족", "clean"], ["TN", "TP"], "valid")
    assert isinstance(korean, bool) and (tmp_path / "k.png").stat().st_size > 0


def test_max_length_is_capped_by_the_model(loaded):
    model, tokenizer, _ = loaded
    assert usable_max_length(512, tokenizer, model.config) == 64  # the tiny BERT's position embeddings
    assert usable_max_length(16, tokenizer, model.config) == 16


def test_source_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="directory not found"):
        resolve_source(str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(UserError, match=r"not a model directory \(no config.json\)"):
        resolve_source(str(tmp_path))
    with pytest.raises(UserError, match="not a directory"):
        resolve_source(str(tmp_path / "notes.txt"))
    assert resolve_source("beomi/kcbert-base") == "beomi/kcbert-base"  # a hub name is left to the hub


def test_a_directory_without_weights_or_tokenizer_is_refused(tmp_path, tiny_dir):
    no_weights = shutil.copytree(tiny_dir, tmp_path / "no-weights")
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(UserError, match=f"--pretrained_model_name {no_weights}: cannot load a sequence classification"):
        load_pretrained(str(no_weights), LABELS, multi_label=False)
    no_tokenizer = shutil.copytree(tiny_dir, tmp_path / "no-tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (no_tokenizer / name).unlink()
    with pytest.raises(UserError, match="cannot load its tokenizer: it has no vocabulary"):
        load_pretrained(str(no_tokenizer), LABELS, multi_label=False)


def test_classifier_survives_its_file_data_without_the_directory(loaded):
    model, tokenizer, _ = loaded
    predictor = PLMClassifier(model, tokenizer, LABELS, pair=True, max_length=32)
    data = predictor.to_file_data()
    assert all(isinstance(text, str) for text in data["tokenizer_files"].values())
    restored = PLMClassifier.from_file_data(data, torch.device("cpu"), 4)
    texts, pairs = ["철수는 사과를 좋아한다", "영희는 빵을 샀다 ㅋㅋ"], ["철수는 사과를 싫어한다", "영희는 빵을 좋아한다"]
    assert restored.tokenizer(texts, pairs)["input_ids"] == tokenizer(texts, pairs)["input_ids"]
    torch.testing.assert_close(restored.probabilities(texts, pairs)["bert"], predictor.probabilities(texts, pairs)["bert"])
    assert np.allclose(restored.probabilities(texts, pairs)["bert"].sum(dim=1).numpy(), 1.0)
