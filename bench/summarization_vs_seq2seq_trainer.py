#!/usr/bin/env python
"""Our Ignite engine vs HF Seq2SeqTrainer, and summarize.py's generation vs naive batched generate().

Same tiny BART (same initial weights), same tokenized dialogues, same batch size, one epoch each:
    training samples/s of simple_ntc's engine (length-bucketed batches) / Seq2SeqTrainer's
    (default random sampler, and train_sampling_strategy="group_by_length");
and on the same dialogues and beam settings (every summary max_length tokens long):
    seconds of naive generate() (input order, batches padded to their longest) / summarize.py's
    (batches sorted by length, cross-attention cache not copied between beams).
Uses ../shared/data/ko-dialogsum-upstage/edition-2024/dev.csv when present, else the fixtures.

    OMP_NUM_THREADS=1 python bench/summarization_vs_seq2seq_trainer.py [--rows 256] [--batch_size 16]
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
from chat_summarization.features import SequenceFormat, SummarizationDataset, training_loader  # noqa: E402
from chat_summarization.generate import GenerationSettings, summarize_dialogues  # noqa: E402
from chat_summarization.model import BartSize, model_from_config, small_bart_config  # noqa: E402
from chat_summarization.rouge import score_corpus  # noqa: E402
from chat_summarization.token_budget import token_budget_training_loader  # noqa: E402
from chat_summarization.tokenizer import SummaryDecoder, find_tags, train_bpe_tokenizer  # noqa: E402
from chat_summarization.training import summarization_loss  # noqa: E402
from simple_ntc.engine import EngineOptions, fit, seed_everything  # noqa: E402

DATA = Path(os.environ.get("SIMPLE_NTC_DATA", ROOT.parent / "shared" / "data"))
KOREAN_DEV = DATA / "ko-dialogsum-upstage" / "edition-2024" / "dev.csv"
FIXTURE = ROOT / "tests" / "fixtures" / "summarization" / "train.csv"
LR = 1e-3


def load_dialogues(rows: int):
    if KOREAN_DEV.is_file():
        return read_dialogues(KOREAN_DEV, slice(0, rows), need_summary=True), f"{KOREAN_DEV} rows 0:{rows}"
    fixture = read_dialogues(FIXTURE, need_summary=True)
    repeated = (fixture * (rows // len(fixture) + 1))[:rows]
    return repeated, f"{FIXTURE} repeated to {rows} rows (real data not found)"


def time_our_engine(model, dataset, pad_id: int, batch_size: int, workdir: Path, max_tokens: int = 0) -> float:
    options = EngineOptions(n_epochs=1, batch_size=batch_size, lr=LR, optimizer="adamw", weight_decay=0.01,
                            scheduler="linear", warmup_ratio=0.1, max_grad_norm=1.0, verbose=0, gpu_id=-1)
    if max_tokens:  # train.py --task summarization --max_tokens
        loader = token_budget_training_loader(dataset, max_tokens, seed=0, pad_id=pad_id)
        print(f"ours: --max_tokens {max_tokens}: {len(loader)} updates (batch size {batch_size}: "
              f"{-(-len(dataset) // batch_size)})", flush=True)
    else:
        loader = training_loader(dataset, batch_size, seed=0, pad_id=pad_id)
    started = time.perf_counter()
    fit(model, loader, summarization_loss, options, workdir / "ours")
    return time.perf_counter() - started


def time_seq2seq_trainer(model, tokenizer, dataset, batch_size: int, workdir: Path, strategy: str) -> float:
    features = [{"input_ids": s, "attention_mask": [1] * len(s), "labels": t}
                for s, t in zip(dataset.sources, dataset.targets)]
    args = Seq2SeqTrainingArguments(
        output_dir=str(workdir / f"hf-{strategy}"), per_device_train_batch_size=batch_size, num_train_epochs=1,
        learning_rate=LR, weight_decay=0.01, lr_scheduler_type="linear", warmup_steps=0.1, max_grad_norm=1.0,
        save_strategy="no", logging_strategy="no", report_to=[], disable_tqdm=True, use_cpu=True,
        dataloader_num_workers=0, train_sampling_strategy=strategy, seed=0,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=256, help="training dialogues")
    parser.add_argument("--batch_size", type=int, default=16, help="training batch size (both trainers)")
    parser.add_argument("--max_tokens", type=int, default=0, help="ours: batches of at most N padded tokens "
                        "(dialogue + summary) instead of --batch_size rows; 0: rows")
    parser.add_argument("--score_rows", type=int, default=64, help="held-out dialogues scored after training")
    parser.add_argument("--generate_rows", type=int, default=64, help="dialogues to summarize")
    parser.add_argument("--generate_batch_size", type=int, default=16, help="generation batch size (both)")
    parser.add_argument("--num_beams", type=int, default=4, help="beam size (both)")
    parser.add_argument("--max_length", type=int, default=60, help="summary tokens (both)")
    args = parser.parse_args()
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
          f"batch size {args.batch_size}; {torch.get_num_threads()} CPU thread(s)", flush=True)

    trained = {name: copy.deepcopy(initial) for name in ("ours", "hf_random", "hf_grouped")}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        seed_everything(0)
        ours = time_our_engine(trained["ours"], dataset, fmt.pad_id, args.batch_size, workdir, args.max_tokens)
        seed_everything(0)
        hf_random = time_seq2seq_trainer(trained["hf_random"], tokenizer, dataset, args.batch_size, workdir, "random")
        seed_everything(0)
        hf_grouped = time_seq2seq_trainer(trained["hf_grouped"], tokenizer, dataset, args.batch_size, workdir,
                                          "group_by_length")
    n = len(dataset)
    print(f"training samples/s: ours {n / ours:.1f} | Seq2SeqTrainer {n / hf_random:.1f} (random sampler), "
          f"{n / hf_grouped:.1f} (group_by_length)")
    print(f"training ratio ours / Seq2SeqTrainer: {hf_random / ours:.2f}x (random), "
          f"{hf_grouped / ours:.2f}x (group_by_length)  [target >= 1.2x]", flush=True)
    held_out = read_held_out(args.rows, args.score_rows)
    if held_out:
        greedy = GenerationSettings(num_beams=1, max_length=args.max_length)
        scores = {}
        for name, model in trained.items():
            summaries = summarize_dialogues(model.eval(), tokenizer, held_out, greedy, args.generate_batch_size, 512,
                                            torch.device("cpu"), progress=False)
            scores[name] = score_corpus(summaries, [list(d.summaries) for d in held_out]).final
        print(f"ROUGE final (mean of R-1/2/L F1, greedy) on {len(held_out)} held-out dialogues after one epoch: "
              + ", ".join(f"{name} {score:.2f}" for name, score in scores.items()), flush=True)

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


if __name__ == "__main__":
    main()
