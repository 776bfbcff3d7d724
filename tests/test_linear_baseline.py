"""The TF-IDF + linear baseline: fitted per task, stored as plain arrays, served like any other model."""
from __future__ import annotations

import io

import pytest
import torch

from simple_ntc.baseline import fit_baseline, format_scoreboard
from simple_ntc.data.corpus import CorpusFormat, read_corpus
from simple_ntc.linear import MODEL_NAME, LinearClassifier
from simple_ntc.predict import RNNCNNClassifier
from simple_ntc.joint import JointPredictor
from tests.conftest import CLASSIFICATION, FIXTURES

PLM = FIXTURES / "plm"
BREADTH = FIXTURES / "breadth"


def examples(path, **fmt):
    return read_corpus(path, CorpusFormat(**fmt)).examples


def quiet(_message):
    pass


def reloaded(model: LinearClassifier) -> LinearClassifier:
    buffer = io.BytesIO()
    torch.save(model.to_file_data(), buffer)
    buffer.seek(0)
    return LinearClassifier.from_file_data(torch.load(buffer, weights_only=True))


def accuracy(model, rows, labels):
    probs = model.probabilities([e.text for e in rows], [e.text_pair or "" for e in rows])[MODEL_NAME]
    return float((probs.argmax(dim=-1) == torch.tensor([labels.index(e.label) for e in rows])).float().mean())


@pytest.fixture(scope="module")
def sentiment():
    train, valid = examples(CLASSIFICATION / "sentiment_train.tsv"), examples(CLASSIFICATION / "sentiment_valid.tsv")
    return train, valid, fit_baseline(train, valid, ["negative", "positive"], log=quiet)


def test_single_label_baseline_learns_and_reloads_weights_only_with_equal_probabilities(sentiment):
    _, valid, model = sentiment
    assert accuracy(model, valid, model.labels) >= 0.95  # the fixture's words decide the label
    texts = [e.text for e in valid]
    again = reloaded(model)
    assert torch.allclose(again.probabilities(texts)[MODEL_NAME], model.probabilities(texts)[MODEL_NAME], atol=1e-6)
    assert model.regularization in (1.0, 4.0, 16.0)


def test_binary_softmax_rows_reproduce_scikit_learns_probabilities(sentiment):
    from sklearn.linear_model import LogisticRegression

    train, valid, model = sentiment
    x = model.features([e.text for e in train])
    reference = LogisticRegression(C=model.regularization, max_iter=1000, random_state=42).fit(
        x, [e.label == "positive" for e in train])
    ours = model.probabilities([e.text for e in valid])[MODEL_NAME]
    theirs = reference.predict_proba(model.features([e.text for e in valid]))
    assert torch.allclose(ours, torch.tensor(theirs, dtype=torch.float), atol=1e-4)


def test_pairs_use_both_texts_and_multi_label_uses_one_sigmoid_per_label():
    nli_train, nli_valid = examples(PLM / "nli_train.tsv"), examples(PLM / "nli_valid.tsv")
    labels = sorted({e.label for e in nli_train})
    pair_model = fit_baseline(nli_train, nli_valid, labels, pair=True, log=quiet)
    assert pair_model.pair and pair_model.features.size % 3 == 0  # [a, b, a * b]
    assert accuracy(pair_model, nli_valid, labels) > 1 / len(labels) + 0.15
    fmt = {"text_col": "문장", "multi_label": True}
    corpus = read_corpus(PLM / "unsmile_train.tsv", CorpusFormat(**fmt))
    valid = examples(PLM / "unsmile_valid.tsv", **fmt)
    multi = fit_baseline(corpus.examples, valid, corpus.label_names, multi_label=True, tune_thresholds=True, log=quiet)
    probs = reloaded(multi).probabilities([e.text for e in valid])[MODEL_NAME]
    assert probs.shape == (len(valid), len(corpus.label_names)) and multi.multi_label
    assert not torch.allclose(probs.sum(dim=-1), torch.ones(len(valid)))  # sigmoids, not a softmax
    assert all(0.05 <= t <= 0.95 for t in multi.thresholds)


def test_regression_baseline_predicts_scores_that_follow_the_labels():
    from simple_ntc.regression import summary

    fmt = {"text_col": "sentence1", "text_pair_col": "sentence2", "label_col": "score"}
    train, valid = examples(BREADTH / "sts_train.tsv", **fmt), examples(BREADTH / "sts_valid.tsv", **fmt)
    model = fit_baseline(train, valid, ["score"], pair=True, regression=True, log=quiet)
    scores = model.probabilities([e.text for e in valid], [e.text_pair for e in valid])[MODEL_NAME]
    assert scores.shape == (len(valid), 1) and model.regression
    assert summary([float(e.label) for e in valid], scores[:, 0].numpy())["pearson"] > 0.6


def test_joint_predictor_serves_the_members_models_side_by_side(sentiment):
    _, valid, model = sentiment

    class Constant:  # a stand-in member with the Predictor protocol
        labels, multi_label, pair, model_names = ["negative", "positive"], False, False, ["const"]

        def probabilities(self, texts, text_pairs=None, models=None):
            return {"const": torch.tensor([[1.0, 0.0]] * len(texts))}

    joint = JointPredictor([Constant(), model])
    texts = [e.text for e in valid[:3]]
    probs = joint.probabilities(texts, None, ["linear", "const"])
    assert list(probs) == ["linear", "const"] and joint.model_names == ["const", "linear"]
    assert torch.equal(probs["linear"], model.probabilities(texts)[MODEL_NAME])
    other = RNNCNNClassifier.__new__(RNNCNNClassifier)
    other.labels, other.multi_label, other.models = ["a", "b"], False, {}
    with pytest.raises(Exception, match="share their labels"):
        JointPredictor([model, other])


def test_scoreboard_has_a_row_per_model_and_the_baseline():
    results = {"valid": {"cnn": {"accuracy": 0.8, "macro_f1": 0.79}, "ensemble": {"accuracy": 0.85, "macro_f1": 0.84}},
               "test": {"cnn": {"accuracy": 0.7, "macro_f1": 0.69}, "ensemble": {"accuracy": 0.75, "macro_f1": 0.74}}}
    baseline = {"valid": {"accuracy": 0.9, "macro_f1": 0.89}, "test": {"accuracy": 0.6, "macro_f1": 0.59}}
    lines = format_scoreboard(results, baseline).splitlines()
    assert lines[0].split() == ["model", "valid", "accuracy", "valid", "macro_f1", "test", "accuracy", "test",
                                "macro_f1"]
    assert lines[1].split() == ["cnn", "0.8000", "0.7900", "0.7000", "0.6900"]
    assert lines[3].split()[-4:] == ["0.9000", "0.8900", "0.6000", "0.5900"] and lines[3].startswith("baseline")
