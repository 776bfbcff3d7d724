"""Ensemble weights chosen on validation: the fit, the weighted mean, and their path through model files."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from simple_ntc.ensemble import ensemble_probabilities, fit_weights, mean_probabilities, one_hot, validation_loss
from simple_ntc.train import choose_ensemble_weights


def confident(labels: np.ndarray, n_classes: int, right: np.ndarray, p: float = 0.8) -> torch.Tensor:
    """Probabilities that put ``p`` on the true label where ``right``, on the next label elsewhere."""
    guess = np.where(right, labels, (labels + 1) % n_classes)
    probs = np.full((len(labels), n_classes), (1 - p) / (n_classes - 1))
    probs[np.arange(len(labels)), guess] = p
    return torch.tensor(probs)


def test_a_strong_member_takes_nearly_all_the_weight_from_a_noisy_one():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    noisy = torch.tensor(rng.dirichlet(np.ones(3), 300))
    probs = {"noisy": noisy, "strong": confident(labels, 3, rng.random(300) < 0.95)}
    weights = fit_weights(probs, one_hot(labels, 3), "single_label")
    assert list(weights) == ["noisy", "strong"]
    assert weights["strong"] > 0.9 and sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    weighted = mean_probabilities(list(probs.values()), list(weights.values()))
    equal = mean_probabilities(list(probs.values()))
    targets = one_hot(labels, 3)
    assert validation_loss(np.array([1.0]), weighted.numpy()[None], targets, "single_label") < \
        validation_loss(np.array([1.0]), equal.numpy()[None], targets, "single_label") - 0.1


def test_members_right_on_different_halves_share_the_weight():
    labels = np.arange(400) % 4
    first_half = np.arange(400) < 200
    probs = {"a": confident(labels, 4, first_half), "b": confident(labels, 4, ~first_half)}
    weights = fit_weights(probs, one_hot(labels, 4), "single_label")
    assert 0.4 < weights["a"] < 0.6 and 0.4 < weights["b"] < 0.6


def test_regression_weights_minimize_squared_error_and_multi_label_uses_binary_cross_entropy():
    rng = np.random.default_rng(1)
    scores = rng.uniform(0, 5, 200)
    probs = {"close": torch.tensor(scores + rng.normal(0, 0.1, 200))[:, None],
             "far": torch.tensor(rng.uniform(0, 5, 200))[:, None]}
    assert fit_weights(probs, scores[:, None], "regression")["close"] > 0.95
    targets = (rng.random((200, 3)) < 0.3).astype(float)
    probs = {"sharp": torch.tensor(np.where(targets == 1, 0.9, 0.1)), "flat": torch.full((200, 3), 0.5)}
    assert fit_weights(probs, targets, "multi_label")["sharp"] > 0.95


class Saved:
    ensemble_weights = {"rnn": 0.6, "cnn": 0.4, "linear": 0.0}


def test_saved_weights_are_renormalized_over_the_chosen_models():
    probs = {"rnn": torch.tensor([[1.0, 0.0]]), "cnn": torch.tensor([[0.0, 1.0]]), "linear": torch.tensor([[0.5, 0.5]])}
    assert torch.allclose(ensemble_probabilities(Saved(), probs), torch.tensor([[0.6, 0.4]]))
    assert torch.allclose(ensemble_probabilities(Saved(), {"cnn": probs["cnn"]}), probs["cnn"])
    # only zero-weight models chosen (--drop_rnn --drop_cnn): their plain mean, not nothing
    assert torch.allclose(ensemble_probabilities(Saved(), {"linear": probs["linear"]}), probs["linear"])
    assert torch.allclose(ensemble_probabilities(object(), probs), torch.tensor([[0.5, 0.5]]))


def test_weights_are_fitted_only_for_several_models_with_a_validation_split():
    class One:
        model_names = ["cnn"]

    splits = argparse.Namespace(valid=["an example"])
    assert choose_ensemble_weights(argparse.Namespace(ensemble_weights="valid"), One(), splits) == {}
    two = One()
    two.model_names = ["rnn", "cnn"]
    assert choose_ensemble_weights(argparse.Namespace(ensemble_weights="equal"), two, splits) == {}
    assert choose_ensemble_weights(argparse.Namespace(ensemble_weights="valid"), two,
                                   argparse.Namespace(valid=[])) == {}
    assert not hasattr(two, "ensemble_weights")


class FixedProbabilities:
    """A predictor whose members' probabilities are given arrays (rows in the order of the examples)."""

    multi_label, pair = False, False

    def __init__(self, probs: dict[str, torch.Tensor], labels: list[str]) -> None:
        self.probs, self.labels, self.model_names = probs, labels, list(probs)

    def probabilities(self, texts, text_pairs=None, models=None):
        return {name: self.probs[name][:len(texts)] for name in (models or self.model_names)}


def examples_of(label_ids: np.ndarray, labels: list[str]) -> list:
    from simple_ntc.data.corpus import Example

    return [Example(f"text {i}", (labels[k],), line=i + 1) for i, k in enumerate(label_ids)]


def test_fitted_weights_are_kept_when_they_beat_the_plain_mean_on_valid():
    from simple_ntc.ensemble import choose_on_validation

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 300)
    predictor = FixedProbabilities({"noisy": torch.tensor(rng.dirichlet(np.ones(3) * 0.3, 300)),
                                    "strong": confident(labels, 3, rng.random(300) < 0.95, p=0.5)}, ["a", "b", "c"])
    weights, line = choose_on_validation(predictor, examples_of(labels, ["a", "b", "c"]))
    assert weights["strong"] > 0.9 and line.startswith("Ensemble weights (chosen on valid")
    assert "valid accuracy" in line and "for a plain mean" in line


def test_the_plain_mean_is_kept_when_the_fitted_weights_score_lower_on_valid():
    """The fit trusts the member with the lower log loss, whose hesitant errors the other one would fix."""
    from simple_ntc.ensemble import choose_on_validation

    n = 100
    labels = np.zeros(n, dtype=int)
    steady = np.tile([0.9, 0.1], (n, 1))  # right and sure on 70 rows ...
    steady[:30] = [0.45, 0.55]  # ... barely wrong on 30
    erratic = np.tile([0.5, 0.5], (n, 1))  # no opinion on 67 rows ...
    erratic[:30] = [0.99, 0.01]  # ... sure and right where the steady one errs
    erratic[n - 3:] = [0.01, 0.99]  # ... sure and wrong on 3: a large log loss for any weight it gets
    predictor = FixedProbabilities({"erratic": torch.tensor(erratic), "steady": torch.tensor(steady)}, ["a", "b"])
    weights, line = choose_on_validation(predictor, examples_of(labels, ["a", "b"]))
    # fitted (erratic ~0.06) keeps the steady member's 30 errors: accuracy 0.70; the plain mean errs on 3: 0.97
    assert weights == {} and line.startswith("Ensemble: a plain mean (weights fitted on valid")
    assert "scored valid accuracy 0.7000 < 0.9700 of the plain mean" in line
