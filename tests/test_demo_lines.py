"""What make demo prints for a classification model: its scores beside the TF-IDF baseline of the same split."""
from __future__ import annotations

import torch

from simple_ntc.demo import scores_of


def test_demo_scores_show_the_baseline_of_the_same_split(tmp_path):
    model_fn = tmp_path / "m.pth"
    scores = {"n": 80, "accuracy": 0.8125}
    torch.save({"report": {"valid": {"cnn": scores}, "test": {"cnn": {**scores, "accuracy": 0.75}}},
                "baseline": {"test": {"n": 80, "accuracy": 0.7}}}, model_fn)
    assert scores_of(model_fn)() == ["valid accuracy (80 texts): cnn 0.812",
                                     "test accuracy (80 texts): cnn 0.750 | baseline TF-IDF + linear 0.700"]
