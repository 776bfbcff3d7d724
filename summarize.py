#!/usr/bin/env python
"""Write, score, vote on and baseline dialogue summaries.

    python summarize.py --model_fn models/sum --test_fn test.csv --output output.csv
    python summarize.py --score --pred output.csv --ref dev.csv [--ref dev_other.csv]
    python summarize.py --vote a.csv b.csv c.csv --output voted.csv
    python summarize.py --baseline lead2 --test_fn dev.csv --output lead2.csv

Outputs are CSV files `fname,summary` in input order, written atomically (never a partial file).
Defaults come from configs/summarize.yaml; --config my.yaml overrides them; flags override both.
Generation flags left empty use the settings saved with the model by train.py.
"""
import argparse
import sys
from pathlib import Path

from simple_ntc.config import ArgumentParser, parse_args
from simple_ntc.errors import run_cli

CONFIG = Path(__file__).resolve().parent / "configs" / "summarize.yaml"


def build_parser() -> ArgumentParser:
    from chat_summarization.baselines import BASELINES
    from chat_summarization.rouge import TOKENIZERS

    parser = ArgumentParser(prog="summarize.py", description=__doc__)
    write = parser.add_argument_group("writing summaries (the default job)")
    write.add_argument("--model_fn", metavar="DIR",
                       help="summarizer directory written by train.py --task summarization")
    write.add_argument("--test_fn",
                       help="dialogues to summarize: CSV with fname,dialogue (summary optional) or JSON Lines")
    write.add_argument("--test_rows", metavar="START:END", help="only these data rows of --test_fn (Python slice, "
                       "header excluded, e.g. 400:); empty: all")
    write.add_argument("--output", help="CSV file to write (fname,summary); written atomically")
    write.add_argument("--num_beams", type=int, help="beam size; empty: the model's saved setting")
    write.add_argument("--max_length", type=int, help="maximum summary length in tokens; empty: the model's setting")
    write.add_argument("--no_repeat_ngram_size", type=int, help="forbid repeating n-grams of this size (0: off); "
                       "empty: the model's setting")
    write.add_argument("--length_penalty", type=float, help="beam score length exponent; empty: the model's setting")
    write.add_argument("--batch_size", type=int, help="dialogues per generate() batch (batches are sorted by length)")
    write.add_argument("--max_source_length", type=int, help="dialogue tokens kept; empty: as in training")
    write.add_argument("--gpu_id", type=int, help="CUDA device index, -1 for CPU; empty: GPU 0 when available")
    write.add_argument("--progress", action=argparse.BooleanOptionalAction, help="show a progress bar on stderr")

    score = parser.add_argument_group("scoring (--score)")
    score.add_argument("--score", action=argparse.BooleanOptionalAction,
                       help="print ROUGE-1/2/L F1 and the final score (their mean) of --pred against --ref")
    score.add_argument("--pred", help="predictions: CSV fname,summary")
    score.add_argument("--ref", action="append", help="references: a file with fname and summary (or summary1..N) "
                       "columns; repeat for several references per fname (mean and best over references)")
    score.add_argument("--ref_rows", metavar="START:END", help="only these data rows of each --ref file (e.g. 400:)")
    score.add_argument("--rouge_tokenizer", choices=TOKENIZERS, help="auto: Kiwi morphemes when the text holds "
                       "Hangul, else words; kiwi; word; space (pre-tokenized text)")

    other = parser.add_argument_group("voting and baselines")
    other.add_argument("--vote", nargs="+", metavar="CSV", help="prediction files to vote between: per fname, the "
                       "summary with the highest mean ROUGE against the other files' summaries (3 files or more)")
    other.add_argument("--baseline", choices=BASELINES, help="write trivial summaries of --test_fn: lead2 = the first "
                       "two turns, template = --template for every dialogue")
    other.add_argument("--template", help="the fixed sentence of --baseline template; empty: one in the data's "
                       "language (Korean when the dialogues hold Hangul, else English)")
    return parser


def main() -> int:
    args = parse_args(build_parser(), CONFIG, sys.argv[1:])
    from chat_summarization.cli import run

    return run(args)


if __name__ == "__main__":
    run_cli(main)
