"""The summarization part of ``make demo``: train the embedded small BART briefly, summarize, score.

With the real data: 48 Korean DialogSum dialogues (edition-2024 dev.csv rows 0-47) for training,
rows 48-55 for validation, and 8 held-out dialogues (rows 491-498) summarized and scored against
their references. Without it: the project's own fixtures. A couple of minutes on a 2-core CPU.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "summarization"
KOREAN_DEV = Path("ko-dialogsum-upstage") / "edition-2024" / "dev.csv"


def demo_steps(workdir: Path, data: Path | None, python: str) -> list[dict]:
    """Commands (kwargs of demo.run) that train, summarize and score."""
    model_dir, output = workdir / "summarizer", workdir / "summaries.csv"
    if data is not None and (data / KOREAN_DEV).is_file():
        dev = str(data / KOREAN_DEV)
        train = ["--train_fn", dev, "--train_rows", "0:48", "--valid_fn", dev, "--valid_rows", "48:56",
                 "--n_epochs", "6", "--batch_size", "16"]
        test = ["--test_fn", dev, "--test_rows", "491:499"]
        reference = ["--ref", dev, "--ref_rows", "491:499"]
    else:
        train = ["--train_fn", str(FIXTURES / "train.csv"), "--valid_fn", str(FIXTURES / "valid.csv"),
                 "--n_epochs", "8", "--batch_size", "4", "--lr", "3e-3"]
        test = ["--test_fn", str(FIXTURES / "valid.csv")]
        reference = ["--ref", str(FIXTURES / "valid.csv")]
    return [
        {"command": [python, "train.py", "--task", "summarization", "--model_fn", str(model_dir), *train,
                     "--verbose", "1"]},
        {"command": [python, "summarize.py", "--model_fn", str(model_dir), *test, "--output", str(output)]},
        {"command": [python, "summarize.py", "--score", "--pred", str(output), *reference]},
    ]
