"""The README's NSMC figures, re-run (opt-in: about 6 minutes on one CPU thread).

The 25k-line NSMC file split 20,000 / 2,500 / 2,500 by the default seed, every other flag at its
default: RNN, CNN and ensemble test accuracy must each reach 0.80 and the ensemble must stay within
0.005 of the better single model. Run it with ``SIMPLE_NTC_SLOW=1 python -m pytest tests/test_nsmc_figures.py``.
"""
from __future__ import annotations

import os

import pytest
import torch

from tests.conftest import require_data, run_cli

pytestmark = pytest.mark.skipif(os.environ.get("SIMPLE_NTC_SLOW") != "1",
                                reason="takes about 6 minutes; set SIMPLE_NTC_SLOW=1 to run it (README: NSMC figures)")


def test_nsmc_defaults_reach_80_percent_and_the_ensemble_keeps_up(tmp_path):
    corpus = require_data("nsmc/ratings_test.head25k.txt")
    model_fn = tmp_path / "nsmc.pth"
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", corpus, "--text_col", "document",
                     "--label_col", "label", "--valid_ratio", 0.1, "--test_ratio", 0.1, "--rnn", "--cnn",
                     "--verbose", 1, timeout=3600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Data: 20000 train, 2500 valid, 2500 test examples" in result.stdout
    test = torch.load(model_fn, weights_only=True)["report"]["test"]
    accuracy = {name: test[name]["accuracy"] for name in ("rnn", "cnn", "ensemble")}
    assert min(accuracy.values()) >= 0.80, accuracy
    assert accuracy["ensemble"] >= max(accuracy["rnn"], accuracy["cnn"]) - 0.005, accuracy
