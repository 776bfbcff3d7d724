"""The memorization check of the whole path on real data (opt-in: it takes several minutes on 2 CPU cores).

Tokenization with BOS/EOS, label shifting, training, generation, decoding and scoring are all
exercised: the embedded small BART trained on 32 Korean DialogSum dialogues must write them back
with a final ROUGE >= 80 (a model that ignores its encoder or never learned to stop scores ~20).
Run it with ``SIMPLE_NTC_SLOW=1 python -m pytest tests/test_summarization_memorization.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SIMPLE_NTC_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
DEV = DATA / "ko-dialogsum-upstage" / "edition-2024" / "dev.csv"

pytestmark = [
    pytest.mark.skipif(not DEV.is_file(), reason=f"real data not found: {DEV} (set SIMPLE_NTC_DATA)"),
    pytest.mark.skipif(os.environ.get("SIMPLE_NTC_SLOW") != "1",
                       reason="takes several minutes; set SIMPLE_NTC_SLOW=1 to run it (README: memorization check)"),
]


def run(*args: str | Path) -> str:
    result = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_embedded_bart_memorizes_32_dialogues(tmp_path):
    model = tmp_path / "memorized"
    run("train.py", "--task", "summarization", "--model_fn", model, "--train_fn", DEV, "--train_rows", "0:32",
        "--valid_fn", DEV, "--valid_rows", "0:32", "--lr", "1e-3", "--batch_size", "16", "--n_epochs", "60",
        "--verbose", "0")
    output = tmp_path / "memorized.csv"
    run("summarize.py", "--model_fn", model, "--test_fn", DEV, "--test_rows", "0:32", "--output", output,
        "--no-progress")
    report = run("summarize.py", "--score", "--pred", output, "--ref", DEV, "--ref_rows", "0:32")
    final = float(report.splitlines()[-1].split()[-1])
    assert final >= 80.0, report
