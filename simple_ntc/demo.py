"""Classification part of ``make demo``: train an RNN+CNN ensemble, then classify a few lines."""
from __future__ import annotations

from pathlib import Path


FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "classification"
SAMPLES = ["이 영화 정말 최고예요 배우들 연기가 대단하네요", "", "시간 낭비였어요 스토리가 너무 지루함",
           "그냥 그랬어요", "ㅋㅋㅋ 완전 명작"]


def demo_steps(workdir: Path, data: Path | None, python: str) -> list[dict]:
    """Commands (``run(**step)`` keyword arguments) of the classification demo."""
    model_fn = workdir / "nsmc.pth"
    nsmc = data / "nsmc" if data else None
    if nsmc and (nsmc / "ratings_train.head5k.txt").is_file():
        corpus = ["--train_fn", str(nsmc / "ratings_train.head5k.txt"), "--test_fn",
                  str(nsmc / "ratings_test.head25k.txt"), "--text_col", "document", "--label_col", "label"]
    else:
        corpus = ["--train_fn", str(FIXTURES / "sentiment_train.tsv"), "--valid_fn",
                  str(FIXTURES / "sentiment_valid.tsv"), "--test_fn", str(FIXTURES / "sentiment_test.tsv")]
    samples = workdir / "samples.txt"
    samples.write_text("\n".join(SAMPLES) + "\n", encoding="utf-8")
    return [
        {"command": [python, "train.py", "--model_fn", str(model_fn), *corpus, "--rnn", "--cnn", "--verbose", "1"]},
        {"command": [python, "classify.py", "--model_fn", str(model_fn), "--top_k", "2", "--output_probs"],
         "stdin": samples},
    ]


