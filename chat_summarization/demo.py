"""The summarization part of ``make demo``: train the embedded small BART briefly, summarize, compare with baselines.

With the real data: 48 Korean DialogSum dialogues (edition-2024 dev.csv rows 0-47) for training,
rows 48-55 for validation, and 8 held-out dialogues (rows 491-498) summarized and scored against
their references. Without it: the project's own fixtures. A couple of minutes on a 2-core CPU.

A model trained from scratch on 48 dialogues for a few minutes does not summarize: the screen
then says so in plain words and shows the lead2 baseline beside the reference, never the model's
text as a result. Its summaries are shown only when they beat lead2 and differ between dialogues.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "summarization"
KOREAN_DEV = Path("ko-dialogsum-upstage") / "edition-2024" / "dev.csv"
SHOWN_CHARS = 90


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def comparison(test_fn: Path, rows: str | None, model_csv: Path, lead2_csv: Path, template_csv: Path) -> list[str]:
    """Lines for the screen: the model's ROUGE beside lead2 and template, and one example, honestly labelled."""
    from .dataset import parse_rows, read_dialogues, read_summaries
    from .rouge import score_corpus

    dialogues = read_dialogues(test_fn, parse_rows(rows, "rows"), need_summary=True)
    references = [list(d.summaries) for d in dialogues]
    scored = {}
    for name, path in (("model", model_csv), ("lead2", lead2_csv), ("template", template_csv)):
        table = read_summaries(path, role="prediction")
        summaries = [table[d.fname][0] for d in dialogues]
        scored[name] = (score_corpus(summaries, references).final, summaries)
    model_final, model_summaries = scored["model"]
    distinct = len({s.strip() for s in model_summaries})
    lines = [f"final ROUGE on {len(dialogues)} held-out dialogues: model {model_final:.2f} | lead2 "
             f"{scored['lead2'][0]:.2f} | template {scored['template'][0]:.2f}; the model wrote {distinct} "
             f"distinct summaries for {len(dialogues)} dialogues"]
    first = dialogues[0]
    if model_final > scored["lead2"][0] and distinct * 2 > len(dialogues):
        lines += [f"{first.fname} model:     {_short(model_summaries[0])}",
                  f"{first.fname} lead2:     {_short(scored['lead2'][1][0])}"]
    else:
        what = (f"it writes generic text ({distinct} distinct summaries for {len(dialogues)} dialogues)"
                if distinct * 2 <= len(dialogues) else
                "its summaries differ between dialogues but score below lead2's: they take words of the dialogue "
                "without forming good sentences")
        lines += [f"the model does not summarize yet: trained from scratch on a few dozen dialogues for a few "
                  f"minutes, {what}. This part shows the pipeline (train -> "
                  "summarize -> score against baselines), not a useful summarizer; README says what more data "
                  "and a pretrained model reach. The baseline instead:",
                  f"{first.fname} lead2:     {_short(scored['lead2'][1][0])}"]
    return lines + [f"{first.fname} reference: {_short(first.summaries[0])}"]


def _show(*args) -> Callable[[], list[str]]:
    return lambda: comparison(*args)


def demo_steps(workdir: Path, data: Path | None, python: str) -> list[dict]:
    """Steps (kwargs of demo.run) that train, summarize, write both baselines and compare."""
    model_dir = workdir / "summarizer"
    outputs = {name: workdir / f"summaries_{name}.csv" for name in ("model", "lead2", "template")}
    if data is not None and (data / KOREAN_DEV).is_file():
        test_fn, rows = data / KOREAN_DEV, "491:499"
        train = ["--train_fn", str(test_fn), "--train_rows", "0:48", "--valid_fn", str(test_fn), "--valid_rows",
                 "48:56", "--n_epochs", "6", "--batch_size", "16"]
        what = "summarization: the embedded BART from scratch on 48 Korean DialogSum dialogues (6 epochs)"
    else:
        test_fn, rows = FIXTURES / "valid.csv", None
        train = ["--train_fn", str(FIXTURES / "train.csv"), "--valid_fn", str(FIXTURES / "valid.csv"),
                 "--n_epochs", "8", "--batch_size", "4", "--lr", "3e-3"]
        what = "summarization: the embedded BART from scratch on the fixture dialogues (8 epochs)"
    test = ["--test_fn", str(test_fn), *(["--test_rows", rows] if rows else [])]
    return [
        {"title": what, "command": [python, "train.py", "--task", "summarization", "--model_fn", str(model_dir),
                                    *train, "--verbose", "1"], "quiet": True},
        {"command": [python, "summarize.py", "--model_fn", str(model_dir), *test, "--output", str(outputs["model"]),
                     "--no-progress"], "quiet": True},
        {"command": [python, "summarize.py", "--baseline", "lead2", *test, "--output", str(outputs["lead2"])],
         "quiet": True},
        {"command": [python, "summarize.py", "--baseline", "template", *test, "--output", str(outputs["template"])],
         "quiet": True, "show": _show(test_fn, rows, outputs["model"], outputs["lead2"], outputs["template"])},
    ]
