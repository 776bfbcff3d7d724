"""Collapse checks: distinct summaries, matched-vs-shuffled loss gap, token-weighted loss, warnings."""
from __future__ import annotations

import math

import pytest
import torch
from ignite.engine import Engine

from chat_summarization.baselines import TEMPLATES, baseline_summaries
from chat_summarization.collapse import (
    DistinctShare,
    InputDependence,
    TokenWeightedLoss,
    collapse_warning,
    identical_share_warning,
)
from chat_summarization.dataset import Dialogue
from chat_summarization.training import masked_decoder_inputs, shuffled_labels


def run_metric(metric, outputs):
    engine = Engine(lambda _engine, batch: batch)
    metric.attach(engine, "m")
    return engine.run(outputs).metrics


def test_distinct_share_counts_identical_texts_once():
    metrics = run_metric(DistinctShare(), [["a b", "a b ", "c"], ["a b", "d"]])
    assert metrics["distinct_summaries"] == 3 and metrics["distinct"] == pytest.approx(3 / 5)


def test_validation_loss_is_weighted_by_tokens_not_by_batches():
    # batch 1: 10 tokens at 1.0 each; batch 2: 1 token at 5.0 -> 15 / 11, not (1 + 5) / 2
    assert run_metric(TokenWeightedLoss(), [(10.0, 10), (5.0, 1)])["m"] == pytest.approx(15 / 11)


def test_shuffle_gap_compares_per_token_losses_and_skips_batches_of_one():
    outputs = [(10.0, 10, (30.0, 10)), (7.0, 1, None), (2.0, 2, (2.0, 1))]
    assert run_metric(InputDependence(), outputs)["m"] == pytest.approx(32 / 11 - 12 / 12)
    assert math.isnan(run_metric(InputDependence(), [(7.0, 1, None)])["m"])


def test_shuffled_labels_pair_each_summary_with_another_dialogue():
    labels = torch.tensor([[1, 2, -100], [3, 4, 5], [6, -100, -100]])
    assert shuffled_labels(labels).tolist() == [[6, -100, -100], [1, 2, -100], [3, 4, 5]]


def test_decoder_masking_keeps_the_start_token_and_masks_about_the_rate():
    class Shifter(torch.nn.Module):
        def prepare_decoder_input_ids_from_labels(self, labels):
            start = torch.full((labels.size(0), 1), 2)
            return torch.cat([start, labels[:, :-1].clamp(min=0)], dim=1)

    torch.manual_seed(0)
    labels = torch.randint(5, 50, (64, 40))
    inputs = masked_decoder_inputs(Shifter(), labels, 0.3, mask_id=4)
    assert (inputs[:, 0] == 2).all()
    assert 0.25 < (inputs[:, 1:] == 4).float().mean() < 0.35


def test_collapse_warning_in_plain_words_only_when_summaries_ignore_the_dialogues():
    collapsed = collapse_warning({"distinct": 1 / 99, "distinct_summaries": 1.0, "shuffle_gap": 0.0001})
    assert "do not depend on the dialogues" in collapsed and "1 distinct summaries for 99 dialogues" in collapsed
    assert collapse_warning({"distinct": 0.9, "distinct_summaries": 90.0, "shuffle_gap": 1.2}) is None
    barely = collapse_warning({"distinct": 0.9, "distinct_summaries": 90.0, "shuffle_gap": 0.01})
    assert "barely depend on the dialogues" in barely and "shuffle_gap=0.010" in barely


def test_identical_share_warning_names_the_text_and_the_file():
    warning = identical_share_warning(["same", "same", "other"], "out.csv")
    assert warning.startswith("warning: 2 of the 3 summaries in out.csv are the same text ('same')")
    assert identical_share_warning(["a", "b", "a", "c"], "out.csv") is None


def test_template_baseline_speaks_the_language_of_the_data():
    korean = [Dialogue("k", "#Person1#: 안녕하세요.")]
    english = [Dialogue("e", "#Person1#: Hello.")]
    assert baseline_summaries("template", korean) == [TEMPLATES["ko"]]
    assert baseline_summaries("template", english) == [TEMPLATES["en"]]
    assert baseline_summaries("template", english, "Fixed.") == ["Fixed."]


def _write(path, rows):
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["fname", "summary"], *rows])
    return path


def test_demo_shows_the_model_text_only_when_it_beats_lead2_and_reads_its_input(tmp_path):
    from chat_summarization.demo import FIXTURES, comparison
    from chat_summarization.dataset import read_dialogues

    valid = FIXTURES / "valid.csv"
    dialogues = read_dialogues(valid, need_summary=True)
    lead2 = _write(tmp_path / "lead2.csv", [(d.fname, d.dialogue.split("\n")[0]) for d in dialogues])
    template = _write(tmp_path / "template.csv", [(d.fname, TEMPLATES["ko"]) for d in dialogues])
    generic = "#Person1#은 #Person2#은은은은"
    collapsed = _write(tmp_path / "collapsed.csv", [(d.fname, generic) for d in dialogues])
    lines = comparison(valid, None, collapsed, lead2, template)
    assert "the model wrote 1 distinct summaries for 4 dialogues" in lines[0]
    assert "model" in lines[0] and "lead2" in lines[0] and "template" in lines[0]
    assert "does not summarize yet" in lines[1] and "generic text" in lines[1]
    assert not any(generic in line for line in lines)
    varied = _write(tmp_path / "varied.csv", [(d.fname, f"#Person1#은 {n}") for n, d in enumerate(dialogues)])
    lines = comparison(valid, None, varied, lead2, template)  # distinct, but far below lead2
    assert "does not summarize yet" in lines[1] and "differ between dialogues but score below lead2's" in lines[1]
    assert not any("#Person1#은 0" in line for line in lines)
    good = _write(tmp_path / "good.csv", [(d.fname, d.summaries[0]) for d in dialogues])
    lines = comparison(valid, None, good, lead2, template)
    assert lines[1].startswith("dev_0 model:") and lines[2].startswith("dev_0 lead2:")


def _count_my_shard(local_rank: int) -> None:
    import ignite.distributed as idist

    metric = DistinctShare()
    metric.reset()
    metric.update(["a", "b", "c"] if idist.get_rank() == 0 else ["a", "d"])  # shards of unequal size
    assert metric.compute() == {"distinct": 4 / 5, "distinct_summaries": 4.0}


def test_distinct_summaries_are_counted_across_two_processes_with_unequal_shards():
    import ignite.distributed as idist

    from tests.conftest import free_port

    with idist.Parallel(backend="gloo", nproc_per_node=2, master_addr="127.0.0.1", master_port=free_port()) as parallel:
        parallel.run(_count_my_shard)
