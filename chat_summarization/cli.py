"""The four jobs of summarize.py: write summaries, score them, vote between files, write baselines.

Only writing summaries needs torch and transformers; scoring, voting and baselines start fast
without them.
"""
from __future__ import annotations

import argparse
import sys

from simple_ntc.atomic import check_output_file
from simple_ntc.errors import UserError

from .baselines import baseline_summaries
from .collapse import identical_share_warning
from .dataset import Dialogue, compare_fnames, merge_references, parse_rows, read_dialogues, read_summaries
from .output import write_summaries
from .rouge import RougeReport, get_tokenizer, score_corpus
from .vote import MIN_CANDIDATES, vote

MODES = ("--score", "--vote", "--baseline")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mode_of(args: argparse.Namespace) -> str:
    chosen = [flag for flag, on in zip(MODES, (args.score, bool(args.vote), bool(args.baseline))) if on]
    if len(chosen) > 1:
        raise UserError(f"choose one of {', '.join(MODES)}, not {' and '.join(chosen)}")
    return chosen[0].lstrip("-") if chosen else "generate"


def _need(args: argparse.Namespace, mode: str, *names: str) -> None:
    for name in names:
        if not getattr(args, name):
            raise UserError(f"{mode} needs --{name}")
    if "output" in names:
        check_output_file(args.output, "--output")  # before any long work


def summarize_file(args: argparse.Namespace) -> int:
    """``--model_fn DIR --test_fn FILE --output FILE``: one summary per dialogue, in input order."""
    _need(args, "summarizing", "model_fn", "test_fn", "output")
    if args.batch_size is None or args.batch_size < 1:
        raise UserError(f"--batch_size must be a positive integer, got {args.batch_size}")
    if args.max_source_length is not None and args.max_source_length < 3:
        raise UserError(f"--max_source_length must be at least 3 (bos, a token, eos), got {args.max_source_length}")
    from simple_ntc.engine import resolve_device

    from .encoder_decoder import position_limit
    from .generate import summarize_dialogues
    from .model import load_summarizer

    dialogues = read_dialogues(args.test_fn, parse_rows(args.test_rows, "--test_rows"), what="test file",
                               allow_empty=True)
    summarizer = load_summarizer(args.model_fn)
    settings = summarizer.info.generation_settings.updated(
        num_beams=args.num_beams, max_length=args.max_length, no_repeat_ngram_size=args.no_repeat_ngram_size,
        length_penalty=args.length_penalty)
    settings.validate()
    max_source_length = args.max_source_length or summarizer.info.max_source_length
    limit = position_limit(summarizer.model.config)
    if limit is not None and max_source_length > limit:
        raise UserError(f"--max_source_length {max_source_length} exceeds the model's {limit} positions")
    device = resolve_device(args.gpu_id)
    warn_empty_dialogues(dialogues)
    readable = [d for d in dialogues if d.dialogue]
    written = iter(summarize_dialogues(summarizer.model, summarizer.tokenizer, readable, settings, args.batch_size,
                                       max_source_length, device, progress=args.progress) if readable else ())
    summaries = [next(written) if d.dialogue else "" for d in dialogues]
    count = write_summaries(args.output, zip((d.fname for d in dialogues), summaries))
    _say(f"wrote {count} summaries to {args.output} (num_beams={settings.num_beams}, "
         f"max_length={settings.max_length})")
    warning = identical_share_warning([s for d, s in zip(dialogues, summaries) if d.dialogue], args.output)
    if warning:
        _say(warning)
    return 0


def warn_empty_dialogues(dialogues: list[Dialogue]) -> None:
    """One warning per row whose dialogue is empty: its summary is written empty."""
    for dialogue in dialogues:
        if not dialogue.dialogue:
            _say(f"warning: {dialogue.where}: empty dialogue for fname {dialogue.fname!r}; its summary is left empty")


def score_files(pred: str, refs: list[str], rows: slice | None, tokenizer: str) -> RougeReport:
    """ROUGE of a ``fname,summary`` file against one or more reference files of the same fnames."""
    predictions = read_summaries(pred, role="prediction")
    references = merge_references([(ref, read_summaries(ref, rows, role="reference")) for ref in refs])
    compare_fnames(list(references), list(predictions), f"the references ({', '.join(refs)})", pred)
    fnames = list(references)
    return score_corpus([predictions[f][0] for f in fnames], [references[f] for f in fnames], tokenizer)


def score(args: argparse.Namespace) -> int:
    """``--score --pred FILE --ref FILE [--ref FILE]``: print ROUGE-1/2/L F1 and the final score."""
    _need(args, "--score", "pred", "ref")
    report = score_files(args.pred, args.ref, parse_rows(args.ref_rows, "--ref_rows"), args.rouge_tokenizer)
    print(report.format(), flush=True)
    return 0


def vote_files(args: argparse.Namespace) -> int:
    """``--vote a.csv b.csv c.csv --output voted.csv``: per fname, the consensus candidate."""
    _need(args, "--vote", "output")
    files = list(args.vote)
    if len(files) < MIN_CANDIDATES:
        raise UserError(f"--vote needs at least {MIN_CANDIDATES} prediction files, got {len(files)} "
                        "(ROUGE F1 is symmetric, so two candidates cannot outvote each other)")
    tables = [read_summaries(path, role="prediction") for path in files]
    for path, table in zip(files[1:], tables[1:]):
        compare_fnames(list(tables[0]), list(table), files[0], path)
    fnames = list(tables[0])
    candidates = [[table[f][0] for table in tables] for f in fnames]
    tokenizer = get_tokenizer(args.rouge_tokenizer, [text for row in candidates for text in row])
    winners = vote(candidates, tokenizer)
    write_summaries(args.output, ((f, row[w]) for f, row, w in zip(fnames, candidates, winners)))
    wins = ", ".join(f"{path} {winners.count(i)}" for i, path in enumerate(files))
    _say(f"wrote {len(fnames)} voted summaries to {args.output} (chosen from: {wins})")
    return 0


def baseline_file(args: argparse.Namespace) -> int:
    """``--baseline lead2|template --test_fn FILE --output FILE``: trivial summaries to compare with."""
    _need(args, f"--baseline {args.baseline}", "test_fn", "output")
    dialogues = read_dialogues(args.test_fn, parse_rows(args.test_rows, "--test_rows"), what="test file",
                               allow_empty=True)
    warn_empty_dialogues(dialogues)
    summaries = [s if d.dialogue else "" for d, s in
                 zip(dialogues, baseline_summaries(args.baseline, dialogues, args.template))]
    count = write_summaries(args.output, zip((d.fname for d in dialogues), summaries))
    _say(f"wrote {count} {args.baseline} baseline summaries to {args.output}")
    return 0


def run(args: argparse.Namespace) -> int:
    mode = mode_of(args)
    if mode != "score":
        for flag, value in (("--pred", args.pred), ("--ref", args.ref)):
            if value:
                raise UserError(f"{flag} is only used with --score")
    return {"generate": summarize_file, "score": score, "vote": vote_files, "baseline": baseline_file}[mode](args)
