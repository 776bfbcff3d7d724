#!/usr/bin/env python
"""Our Ignite engine vs HF Seq2SeqTrainer, and summarize.py's generation vs naive batched generate().

Same tiny BART (same initial weights), same tokenized dialogues, same batch size, same epochs:
    training samples/s of simple_ntc's engine (length-bucketed batches, or --max_tokens budgets) /
    Seq2SeqTrainer's (default random sampler, and train_sampling_strategy="group_by_length"),
    each trained --repeats times in turn (seeds 0, 1, ...; median speeds compared), and what each
    trained model scores on held-out dialogues (teacher-forced loss per token, greedy ROUGE);
and on the same dialogues and beam settings (every summary max_length tokens long):
    seconds of naive generate() (input order, batches padded to their longest) / summarize.py's
    (batches sorted by length, cross-attention cache not copied between beams).
Uses ../shared/data/ko-dialogsum-upstage/edition-2024/dev.csv when present, else the fixtures.

    OMP_NUM_THREADS=1 python bench/summarization_vs_seq2seq_trainer.py [--rows 256] [--batch_size 16]
    OMP_NUM_THREADS=2 python bench/summarization_vs_seq2seq_trainer.py --max_tokens 4096 --repeats 3 --n_epochs 10 \
        --only ours hf_grouped --generate_rows 0
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from transformers import (  # noqa: E402
    DataCollatorForSeq2Seq,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
)
from transformers.utils import logging as hf_logging  # noqa: E402

from chat_summarization.dataset import read_dialogues  # noqa: E402
from chat_summarization.features import (  # noqa: E402
    IGNORE_INDEX,
    SequenceFormat,
    SummarizationDataset,
    sorted_loader,
    training_loader,
)
from chat_summarization.generate import GenerationSettings, summarize_dialogues  # noqa: E402
from chat_summarization.model import BartSize, model_from_config, small_bart_config  # noqa: E402
from chat_summarization.rouge import score_corpus  # noqa: E402
from chat_summarization.token_budget import token_budget_training_loader  # noqa: E402
from chat_summarization.tokenizer import SummaryDecoder, find_tags, train_bpe_tokenizer  # noqa: E402
from chat_summarization.training import summarization_loss, token_losses  # noqa: E402
from simple_ntc.engine import EngineOptions, fit, seed_everything  # noqa: E402

from bench.common import machine_note, median, positive_int, run_order  # noqa: E402

DATA = Path(os.environ.get("SIMPLE_NTC_DATA", ROOT.parent / "shared" / "data"))
KOREAN_DEV = DATA / "ko-dialogsum-upstage" / "edition-2024" / "dev.csv"
FIXTURE = ROOT / "tests" / "fixtures" / "summarization" / "train.csv"
LR = 1e-3
CONTENDERS = ("ours", "hf_random", "hf_grouped")


def load_dialogues(rows: int):
    if KOREAN_DEV.is_file():
        return read_dialogues(KOREAN_DEV, slice(0, rows), need_summary=True), f"{KOREAN_DEV} rows 0:{rows}"
    fixture = read_dialogues(FIXTURE, need_summary=True)
    repeated = (fixture * (rows // len(fixture) + 1))[:rows]
    return repeated, f"{FIXTURE} repeated to {rows} rows (real data not found)"


def time_our_engine(model, dataset, pad_id: int, batch_size: int, workdir: Path, max_tokens: int = 0,
                    n_epochs: int = 1, seed: int = 0) -> float:
    options = EngineOptions(n_epochs=n_epochs, batch_size=batch_size, lr=LR, optimizer="adamw", weight_decay=0.01,
                            scheduler="linear", warmup_ratio=0.1, max_grad_norm=1.0, verbose=0, gpu_id=-1,
                            seed=seed, early_stop=0)
    if max_tokens:  # train.py --task summarization --max_tokens
        loader = token_budget_training_loader(dataset, max_tokens, seed=seed, pad_id=pad_id)
    else:
        loader = training_loader(dataset, batch_size, seed=seed, pad_id=pad_id)
    started = time.perf_counter()
    fit(model, loader, summarization_loss, options, workdir)
    return time.perf_counter() - started


def time_seq2seq_trainer(model, tokenizer, dataset, batch_size: int, workdir: Path, strategy: str,
                         n_epochs: int = 1, seed: int = 0) -> float:
    features = [{"input_ids": s, "attention_mask": [1] * len(s), "labels": t}
                for s, t in zip(dataset.sources, dataset.targets)]
    args = Seq2SeqTrainingArguments(
        output_dir=str(workdir), per_device_train_batch_size=batch_size, num_train_epochs=n_epochs,
        learning_rate=LR, weight_decay=0.01, lr_scheduler_type="linear", warmup_steps=0.1, max_grad_norm=1.0,
        save_strategy="no", logging_strategy="no", report_to=[], disable_tqdm=True, use_cpu=True,
        dataloader_num_workers=0, train_sampling_strategy=strategy, seed=seed,
    )
    collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100)
    trainer = Seq2SeqTrainer(model=model, args=args, data_collator=collator, train_dataset=features)
    started = time.perf_counter()
    trainer.train()
    return time.perf_counter() - started


def read_held_out(train_rows: int, rows: int):
    """Dialogues after the training rows of the Korean dev file, to score each trainer's model (none without it)."""
    if not KOREAN_DEV.is_file() or rows < 1:
        return []
    return read_dialogues(KOREAN_DEV, slice(train_rows, train_rows + rows), need_summary=True)


def naive_generate(model, tokenizer, dialogues, settings: GenerationSettings, batch_size: int,
                   max_source_length: int) -> list[str]:
    """What a hand-rolled loop does: input order, pad each batch to its longest, stock generate()."""
    fmt = SequenceFormat.of(tokenizer, model.config.decoder_start_token_id)
    sources = SummarizationDataset(dialogues, tokenizer, fmt, max_source_length).sources
    decode = SummaryDecoder(tokenizer)
    summaries = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(sources), batch_size):
            batch = tokenizer.pad({"input_ids": sources[start:start + batch_size]}, return_tensors="pt")
            ids = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                 **settings.generate_kwargs())
            summaries.extend(decode(ids.tolist()))
    return summaries


def held_out_loss(model, dataset: SummarizationDataset, pad_id: int) -> float:
    """Teacher-forced cross-entropy per summary token on held-out dialogues (the same code for every contender)."""
    model.eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for batch in sorted_loader(dataset, 16, pad_id, distributed=False):
            summed, _ = token_losses(model, batch, batch["labels"])
            total += float(summed)
            tokens += int((batch["labels"] != IGNORE_INDEX).sum())
    return total / max(tokens, 1)


def train_contender(name: str, initial, tokenizer, dataset, pad_id: int, args, workdir: Path, seed: int):
    """A copy of ``initial`` trained by ``name`` with ``seed``; the copy and the seconds training took."""
    model = copy.deepcopy(initial)
    seed_everything(seed)
    if name == "ours":
        seconds = time_our_engine(model, dataset, pad_id, args.batch_size, workdir / f"ours-{seed}", args.max_tokens,
                                  args.n_epochs, seed)
    else:
        strategy = "random" if name == "hf_random" else "group_by_length"
        seconds = time_seq2seq_trainer(model, tokenizer, dataset, args.batch_size, workdir / f"{name}-{seed}",
                                       strategy, args.n_epochs, seed)
    return model, seconds


def compare_training(initial, tokenizer, dataset, fmt: SequenceFormat, held_out: list, args) -> None:
    """Time every contender ``--repeats`` times (seed 0, 1, ...) and score what each trained."""
    held_out_set = SummarizationDataset(held_out, tokenizer, fmt, 512, 128) if held_out else None
    runs: dict[str, list[dict]] = {name: [] for name in args.only}
    greedy = GenerationSettings(num_beams=1, max_length=args.max_length)
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name in run_order(list(args.only), repeat):
                model, seconds = train_contender(name, initial, tokenizer, dataset, fmt.pad_id, args, Path(tmp),
                                                 repeat)
                run = {"samples_per_s": len(dataset) * args.n_epochs / seconds}
                if held_out_set is not None:
                    run["loss"] = held_out_loss(model, held_out_set, fmt.pad_id)
                    summaries = summarize_dialogues(model.eval(), tokenizer, held_out, greedy,
                                                    args.generate_batch_size, 512, torch.device("cpu"), progress=False)
                    run["rouge"] = score_corpus(summaries, [list(d.summaries) for d in held_out]).final
                runs[name].append(run)
                quality = f"  held-out loss {run['loss']:.3f}  ROUGE final {run['rouge']:.2f}" if "loss" in run else ""
                print(f"{name:11s} {run['samples_per_s']:6.1f} samples/s  seed {repeat}{quality}", flush=True)
    report_training(runs, len(held_out), args)


def report_training(runs: dict[str, list[dict]], held_out_rows: int, args) -> None:
    medians = {name: median([r["samples_per_s"] for r in name_runs]) for name, name_runs in runs.items()}
    print("training samples/s (median of " + str(args.repeats) + "): "
          + " | ".join(f"{name} {speed:.1f}" for name, speed in medians.items()))
    ratios = [f"{medians['ours'] / medians[name]:.2f}x ({label})" for name, label in
              (("hf_random", "random"), ("hf_grouped", "group_by_length")) if name in medians and "ours" in medians]
    if ratios:
        print(f"training ratio ours / Seq2SeqTrainer: {', '.join(ratios)}  [target >= 1.2x]", flush=True)
    if held_out_rows:
        for name, name_runs in runs.items():
            losses = [r["loss"] for r in name_runs]
            rouges = [r["rouge"] for r in name_runs]
            print(f"{name:11s} on {held_out_rows} held-out dialogues after {args.n_epochs} epoch(s): loss "
                  f"{sum(losses) / len(losses):.3f} (seeds {min(losses):.3f}-{max(losses):.3f}), ROUGE final "
                  f"(greedy) {sum(rouges) / len(rouges):.2f} (seeds {min(rouges):.2f}-{max(rouges):.2f})")


def compare_generation(initial, tokenizer, dialogues, args) -> None:
    model = copy.deepcopy(initial).eval()
    model.generation_config.min_new_tokens = args.max_length  # an untrained model: same summary lengths for both
    test = dialogues[:args.generate_rows]
    settings = GenerationSettings(num_beams=args.num_beams, max_length=args.max_length)
    started = time.perf_counter()
    naive = naive_generate(model, tokenizer, test, settings, args.generate_batch_size, 512)
    naive_seconds = time.perf_counter() - started
    started = time.perf_counter()
    sorted_batches = summarize_dialogues(model, tokenizer, test, settings, args.generate_batch_size, 512,
                                         torch.device("cpu"), progress=False)
    our_seconds = time.perf_counter() - started
    same = sum(a == b for a, b in zip(naive, sorted_batches))
    print(f"generation of {len(test)} summaries (num_beams={args.num_beams}, max_length={args.max_length}): "
          f"naive {naive_seconds:.1f}s | summarize.py {our_seconds:.1f}s | identical summaries {same}/{len(test)}")
    print(f"generation ratio naive / summarize.py: {naive_seconds / our_seconds:.2f}x  [target >= 1.3x]")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=256, help="training dialogues")
    parser.add_argument("--batch_size", type=int, default=16, help="training batch size (both trainers)")
    parser.add_argument("--max_tokens", type=int, default=0, help="ours: batches of at most N padded tokens "
                        "(dialogue + summary) instead of --batch_size rows; 0: rows")
    parser.add_argument("--n_epochs", type=int, default=1, help="training epochs (all contenders)")
    parser.add_argument("--repeats", type=positive_int, default=1, help="trainings of each contender (seeds 0, 1, ...), "
                        "taken in turn; median speeds are compared")
    parser.add_argument("--only", nargs="+", choices=CONTENDERS, default=list(CONTENDERS), help="contenders")
    parser.add_argument("--score_rows", type=int, default=64, help="held-out dialogues scored after training")
    parser.add_argument("--generate_rows", type=int, default=64, help="dialogues to summarize (0: no generation "
                        "comparison)")
    parser.add_argument("--generate_batch_size", type=int, default=16, help="generation batch size (both)")
    parser.add_argument("--num_beams", type=int, default=4, help="beam size (both)")
    parser.add_argument("--max_length", type=int, default=60, help="summary tokens (both)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    dialogues, source = load_dialogues(args.rows)
    texts = [text for d in dialogues for text in (d.dialogue, *d.summaries)]
    tokenizer = train_bpe_tokenizer(texts, 4000, find_tags(texts))
    seed_everything(0)
    config = small_bart_config(tokenizer, BartSize(d_model=128, encoder_layers=2, decoder_layers=2,
                                                   attention_heads=4, ffn_dim=512, dropout=0.1), 512)
    initial = model_from_config(config)
    fmt = SequenceFormat.of(tokenizer, config.decoder_start_token_id)
    dataset = SummarizationDataset(dialogues, tokenizer, fmt, max_source_length=512, max_target_length=128)
    print(f"data: {source}; tiny BART {sum(p.numel() for p in initial.parameters()) / 1e6:.1f}M parameters; "
          f"batch size {args.batch_size}; {torch.get_num_threads()} CPU thread(s); {machine_note()}", flush=True)
    if args.max_tokens:
        loader = token_budget_training_loader(dataset, args.max_tokens, seed=0, pad_id=fmt.pad_id)
        print(f"ours: --max_tokens {args.max_tokens}: {len(loader)} updates per epoch (batch size "
              f"{args.batch_size}: {-(-len(dataset) // args.batch_size)})", flush=True)
    compare_training(initial, tokenizer, dataset, fmt, read_held_out(args.rows, args.score_rows), args)
    if args.generate_rows > 0:
        compare_generation(initial, tokenizer, dialogues, args)


if __name__ == "__main__":
    main()
