#!/usr/bin/env python
"""Steps/s of the Ignite engine vs a bare PyTorch loop: same model, batches, optimizer and scheduler.

    python bench/engine_overhead.py [--model cnn|rnn] [--rows 8000] [--epochs 2] [--repeats 3]

Prints both speeds and their ratio (target: engine / bare >= 0.95), for the engine silent
(--verbose 0) and with its progress bar (--verbose 2).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from unittest import mock
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine_note, nsmc_texts_and_labels, timed  # noqa: E402
from simple_ntc import classification  # noqa: E402
from simple_ntc.data.dataset import EncodedDataset, make_loader  # noqa: E402
from simple_ntc.data.tokenization import TextTokenizer  # noqa: E402
from simple_ntc.engine import EngineOptions, create_optimizer, create_scheduler, fit, seed_everything  # noqa: E402
from simple_ntc.models import build_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("cnn", "rnn"), default="cnn", help="architecture to train")
    parser.add_argument("--rows", type=int, default=8000, help="training rows of NSMC (or the fixture)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed run")
    parser.add_argument("--batch_size", type=int, default=64, help="batch size")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per setting; the best one counts")
    args = parser.parse_args()

    texts, labels, source = nsmc_texts_and_labels(args.rows)
    tokenizer = TextTokenizer.train("space", texts, max_length=128, min_freq=2)
    dataset = EncodedDataset(tokenizer.encode(texts), labels)
    loader = make_loader(dataset, tokenizer.pad_id, args.batch_size, shuffle=True, seed=0)
    kwargs = {"input_size": tokenizer.vocab_size, "word_vec_size": 128, "n_classes": 2, "dropout": 0.3,
              "pad_id": tokenizer.pad_id}
    kwargs.update({"hidden_size": 128, "n_layers": 2} if args.model == "rnn" else {})
    options = EngineOptions(n_epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, optimizer="adam",
                            scheduler="linear", max_grad_norm=5.0, gpu_id=-1, verbose=0, early_stop=0)
    steps = len(loader) * args.epochs

    def bare() -> None:
        seed_everything(0)
        model = build_model(args.model, kwargs)
        optimizer = create_optimizer(model, "adam", 1e-3)
        scheduler = create_scheduler(optimizer, "linear", steps)
        model.train()
        for epoch in range(args.epochs):
            loader.batch_sampler.set_epoch(epoch)
            for batch in loader:
                loss = classification.loss_fn(model, batch).loss
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()

    def engine(verbose: int) -> None:
        seed_everything(0)
        model = build_model(args.model, kwargs)
        # the bar is drawn only on a terminal: measure it even when this output goes to a file
        with tempfile.TemporaryDirectory() as checkpoint_dir, \
                mock.patch("simple_ntc.engine.experiment.on_terminal", lambda: True):
            fit(model, loader, classification.loss_fn, dataclasses.replace(options, verbose=verbose),
                Path(checkpoint_dir))

    print(f"data: {source} ({len(dataset)} rows, {len(loader)} batches of {args.batch_size}); "
          f"model: {args.model}; {args.epochs} epoch(s) per run; torch threads={torch.get_num_threads()}")
    print(machine_note())
    runs = {"bare PyTorch loop": bare, "engine, silent": lambda: engine(0),
            "engine, progress bar": lambda: engine(2)}
    bare()  # warm-up: allocator, kernels, caches
    times = {name: float("inf") for name in runs}
    for _ in range(args.repeats):  # interleaved, so slow phases of the machine hit every setting
        for name, run in runs.items():
            times[name] = min(times[name], timed(run))
    bare_time = times.pop("bare PyTorch loop")
    print(f"{'bare PyTorch loop':<22}: {steps / bare_time:8.1f} steps/s")
    for name, engine_time in times.items():
        ratio = bare_time / engine_time
        verdict = "ok" if ratio >= 0.95 else "BELOW TARGET"
        print(f"{name:<22}: {steps / engine_time:8.1f} steps/s  ratio engine/bare = {ratio:.3f} "
              f"(target >= 0.95: {verdict})")


if __name__ == "__main__":
    main()
