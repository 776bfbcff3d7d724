"""Token-budget batches (--max_tokens): the sampler's contract, and --bert / summarization training with it."""
from __future__ import annotations

import re

import pytest
import torch

from simple_ntc.data.batching import BucketBatchSampler
from simple_ntc.data.token_budget import TokenBudgetBatchSampler, token_budget_batches
from simple_ntc.errors import UserError
from simple_ntc.train import main as train_main
from tests.conftest import CLASSIFICATION, FIXTURES, ROOT
from tests.tiny_bert import build_tiny_bert, corpus_texts

LENGTHS = torch.randint(1, 60, (500,), generator=torch.Generator().manual_seed(0)).tolist()


def cost(batch, lengths=LENGTHS):
    return len(batch) * max(lengths[i] for i in batch)


def test_batches_hold_every_example_once_within_the_budget():
    batches = token_budget_batches(LENGTHS, 256, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(len(LENGTHS)))
    assert all(cost(b) <= 256 for b in batches)
    assert max(len(b) for b in batches) >= 4 * min(len(b) for b in batches)  # short texts travel in big batches
    assert all(len(b) <= 5 for b in token_budget_batches(LENGTHS, 256, max_rows=5))
    assert token_budget_batches([3, 500, 2], 100) == [[1], [0, 2]]  # a text over the budget goes alone


def test_sampler_keeps_its_batches_and_length_across_epochs_and_shuffles_their_order():
    sampler = TokenBudgetBatchSampler(LENGTHS, 512, seed=1, num_replicas=1, rank=0)
    first, second = list(sampler), list(sampler)  # each pass moves to the next epoch
    assert len(first) == len(second) == len(sampler)
    assert first != second and sorted(map(sorted, first)) == sorted(map(sorted, second))
    sampler.set_epoch(0)
    assert list(sampler) == first  # the order depends only on the seed and the epoch (exact resume)
    inference = TokenBudgetBatchSampler(LENGTHS, 512, shuffle=False, num_replicas=1, rank=0)
    assert max(LENGTHS[i] for i in next(iter(inference))) == max(LENGTHS)  # longest first
    assert isinstance(sampler, BucketBatchSampler)  # the engine sees the interface it knows


def test_two_processes_split_each_global_batch_and_together_see_one_process_batches():
    single = TokenBudgetBatchSampler(LENGTHS, 512, seed=2, num_replicas=1, rank=0)
    ranks = [TokenBudgetBatchSampler(LENGTHS, 512, seed=2, num_replicas=2, rank=r) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(single)
    for whole, part0, part1 in zip(single, *ranks):
        assert sorted(part0 + part1) == sorted(whole) or len(whole) == 1


def test_bert_training_with_max_tokens_counts_updates_by_the_budget(tmp_path, capsys):
    tiny = build_tiny_bert(tmp_path / "tiny-bert", corpus_texts(*FIXTURES.glob("*/*.tsv")))
    train = CLASSIFICATION / "sentiment_train.tsv"
    base = ["--model_fn", str(tmp_path / "m.pth"), "--train_fn", str(train), "--valid_fn",
            str(CLASSIFICATION / "sentiment_valid.tsv"), "--bert", "--pretrained_model_name", str(tiny),
            "--n_epochs", "3", "--lr", "3e-3", "--scheduler", "constant", "--warmup_ratio", "0", "--early_stop", "0",
            "--max_length", "64", "--verbose", "1"]
    train_main([*base, "--max_tokens", "256"], ROOT / "configs")
    out = capsys.readouterr().out
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    texts = [line.split("\t")[1] for line in train.read_text(encoding="utf-8").splitlines()]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=64)["input_ids"]]
    per_epoch = len(token_budget_batches(lengths, 256, seed=42))
    assert per_epoch < len(texts) / 32  # fewer, fuller updates than batches of 32 rows
    assert re.search(rf"Epoch 3/3 \(iteration {3 * per_epoch}\)", out), out
    accuracy = float(re.search(r"== valid / bert: n=80 accuracy=([0-9.]+)", out).group(1))
    assert accuracy > 0.8  # it learned
    with pytest.raises(UserError, match="--max_tokens 32 must hold one text of --max_length 64 tokens"):
        train_main([*base, "--max_tokens", "32"], ROOT / "configs")
    with pytest.raises(UserError, match="--max_tokens needs --bert"):
        train_main(["--model_fn", "m.pth", "--train_fn", str(train), "--cnn", "--max_tokens", "512"], ROOT / "configs")


def test_summarization_batches_count_dialogue_and_summary_tokens():
    from chat_summarization.dataset import read_dialogues
    from chat_summarization.features import SequenceFormat, SummarizationDataset
    from chat_summarization.token_budget import example_costs, token_budget_training_loader
    from chat_summarization.tokenizer import find_tags, train_bpe_tokenizer

    dialogues = read_dialogues(FIXTURES / "summarization" / "train.csv", need_summary=True)
    texts = [t for d in dialogues for t in (d.dialogue, *d.summaries)]
    tokenizer = train_bpe_tokenizer(texts, 300, find_tags(texts))
    fmt = SequenceFormat.of(tokenizer, tokenizer.eos_token_id)
    dataset = SummarizationDataset(dialogues, tokenizer, fmt, 128, 32)
    costs = example_costs(dataset)
    budget = 2 * max(costs)
    loader = token_budget_training_loader(dataset, budget, seed=0, pad_id=fmt.pad_id)
    seen = []
    for batch in loader:
        rows = batch["index"].tolist()
        seen.extend(rows)
        assert len(rows) * max(costs[i] for i in rows) <= budget
        assert batch["input_ids"].size(0) == batch["labels"].size(0) == len(rows)
    assert sorted(seen) == list(range(len(dataset)))
