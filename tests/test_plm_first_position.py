"""The last layer computed for [CLS] alone gives the classifier's logits and gradients unchanged."""
from __future__ import annotations

import copy

import pytest
import torch
from transformers import (BertConfig, BertForSequenceClassification, ElectraConfig, ElectraForSequenceClassification,
                          GPT2Config, GPT2ForSequenceClassification, RobertaConfig, RobertaForSequenceClassification)

from simple_ntc.plm.first_position import FirstPositionLayer, compute_first_position_only
from simple_ntc.plm.model import model_from_config, model_from_state, plain_state_dict

SIZES = {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 32, "max_position_embeddings": 40, "num_labels": 3}


def tiny(kind: str, attention: str, dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(0)
    common = {**SIZES, "hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout,
              "attn_implementation": attention}
    if kind == "bert":
        return BertForSequenceClassification(BertConfig(**common))
    if kind == "roberta":
        return RobertaForSequenceClassification(RobertaConfig(**common, pad_token_id=1))
    return ElectraForSequenceClassification(ElectraConfig(**common, embedding_size=8))


def padded_batch() -> dict[str, torch.Tensor]:
    """Three rows of 12, 7 and 3 real tokens, padded with 1 (RoBERTa's pad id; any id for the others)."""
    torch.manual_seed(1)
    input_ids = torch.randint(5, 50, (3, 12))  # |input_ids| = (batch_size, length)
    attention_mask = (torch.arange(12) < torch.tensor([12, 7, 3])[:, None]).long()
    return {"input_ids": input_ids.masked_fill(attention_mask == 0, 1), "attention_mask": attention_mask}


def gradients(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    model.zero_grad()
    logits = model(**batch).logits  # |logits| = (batch_size, n_labels)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    return logits.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("kind", ["bert", "roberta", "electra"])
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_the_shortened_last_layer_gives_the_same_logits_and_gradients(kind, attention):
    full = tiny(kind, attention)
    short = copy.deepcopy(full)
    assert compute_first_position_only(short)
    assert isinstance(short.base_model.encoder.layer[-1], FirstPositionLayer)
    batch = padded_batch()
    full_logits, full_grads = gradients(full.train(), batch)
    short_logits, short_grads = gradients(short.train(), batch)
    torch.testing.assert_close(short_logits, full_logits, atol=1e-5, rtol=1e-5)
    assert short_grads.keys() == full_grads.keys()  # every weight still learns, the last layer's included
    for name, grad in full_grads.items():
        torch.testing.assert_close(short_grads[name], grad, atol=1e-5, rtol=1e-4, msg=name)
    # the last layer's queries read one position per row: a different token elsewhere leaves them unchanged
    assert short.base_model(**batch).last_hidden_state.shape == (3, 1, SIZES["hidden_size"])


def test_attention_dropout_is_still_applied_in_training_and_not_in_evaluation():
    model = tiny("bert", "sdpa", dropout=0.5)
    compute_first_position_only(model)
    batch = padded_batch()
    torch.manual_seed(0)
    first = model.train()(**batch).logits
    second = model(**batch).logits
    assert not torch.allclose(first, second)
    model.eval()
    torch.testing.assert_close(model(**batch).logits, model(**batch).logits)


def test_weights_keep_their_names_so_saved_models_load_both_ways():
    plain = tiny("bert", "sdpa").eval()
    short = copy.deepcopy(plain)
    compute_first_position_only(short)
    assert list(short.state_dict()) == list(plain.state_dict())
    restored = model_from_state(plain.config.to_dict(), plain_state_dict(short))
    assert isinstance(restored.base_model.encoder.layer[-1], FirstPositionLayer)
    assert isinstance(model_from_config(plain.config.to_dict()).base_model.encoder.layer[-1], FirstPositionLayer)
    batch = padded_batch()
    torch.testing.assert_close(restored(**batch).logits, plain(**batch).logits, atol=1e-5, rtol=1e-5)


def test_models_that_read_another_position_are_left_alone():
    gpt2 = GPT2ForSequenceClassification(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=4, n_positions=40,
                                                    pad_token_id=0))
    assert not compute_first_position_only(gpt2)
    eager_only = tiny("bert", "sdpa")
    eager_only.config._attn_implementation = "flex_attention"
    assert not compute_first_position_only(eager_only)
    assert not any(isinstance(m, FirstPositionLayer) for m in (*gpt2.modules(), *eager_only.modules()))
