"""A copy mechanism for the embedded BART: summaries can take tokens straight from their dialogue.

A pointer-generator (See et al. 2017) on top of BART's LM head. At each summary position a copy
attention over the dialogue's tokens gives a copy distribution (the attention weights scattered onto
the dialogue's token ids), and a gate mixes it with the LM head's distribution:

    p(token) = gate * softmax(lm_logits)[token] + (1 - gate) * sum of attention on dialogue positions holding token

The copy keys read each position's encoder state *and* its token embedding, so the names and
objects of a dialogue can be copied even while the encoder is still learning. A summary that copies
from its dialogue depends on it by construction: this is what keeps a model trained from scratch on
a few hundred dialogues from writing one generic sentence for every dialogue.

``logits`` of the model are the log of the mixed probabilities, so cross-entropy, label smoothing,
beam search and greedy decoding use them unchanged. The encoder output carries the dialogue's token
ids and copy keys (:class:`CopyEncoderOutput`), so ``generate()`` expands them with the beams and
computes the keys once per dialogue.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForSeq2SeqLM,
    BartConfig,
    BartForConditionalGeneration,
    MBartConfig,
    MBartForConditionalGeneration,
)
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput

MIN_PROBABILITY = 1e-12  # log(0) guard: a token neither generated nor copyable


@dataclass
class CopyEncoderOutput(BaseModelOutput):
    """The encoder output plus what the copy head needs at every decoding step."""

    source_ids: torch.LongTensor | None = None  # |source_ids| = (batch_size, source_length)
    copy_keys: torch.FloatTensor | None = None  # |copy_keys| = (batch_size, source_length, d_model)


class CopyHead(nn.Module):
    """Copy attention and the generate-or-copy gate."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.gate = nn.Linear(2 * d_model, 1)

    def keys(self, encoder_states: torch.Tensor, source_embeddings: torch.Tensor) -> torch.Tensor:
        """|encoder_states| = |source_embeddings| = (batch_size, source_length, d_model) -> same shape."""
        return self.key(encoder_states + source_embeddings)

    def forward(self, hidden: torch.Tensor, lm_logits: torch.Tensor, encoder: CopyEncoderOutput,
                source_mask: torch.Tensor | None) -> torch.Tensor:
        """Log-probabilities of the mixed distribution.

        |hidden| = (batch_size, target_length, d_model), |lm_logits| = (batch_size, target_length, vocab_size),
        |source_mask| = (batch_size, source_length) -> (batch_size, target_length, vocab_size).
        """
        scores = self.query(hidden) @ encoder.copy_keys.transpose(1, 2) / math.sqrt(hidden.size(-1))
        if source_mask is not None:  # |scores| = (batch_size, target_length, source_length)
            scores = scores.masked_fill(~source_mask[:, None, :].bool(), torch.finfo(scores.dtype).min)
        attention = scores.float().softmax(-1)
        context = attention.to(hidden.dtype) @ encoder.last_hidden_state  # |context| = (batch, target, d_model)
        generate = torch.sigmoid(self.gate(torch.cat([hidden, context], -1))).float()  # (batch, target, 1)
        probabilities = lm_logits.float().softmax(-1) * generate
        source_ids = encoder.source_ids[:, None, :].expand(-1, hidden.size(1), -1)
        probabilities = probabilities.scatter_add(-1, source_ids, attention * (1 - generate))
        return probabilities.clamp_min(MIN_PROBABILITY).log()


class _SourceKeepingEncoder(nn.Module):
    """The model's encoder, returning a :class:`CopyEncoderOutput` (what ``generate()`` runs once)."""

    def __init__(self, model: "CopyMixin") -> None:
        super().__init__()
        object.__setattr__(self, "owner", model)  # not a submodule: no second copy of the weights

    def forward(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None,
                **kwargs) -> CopyEncoderOutput:
        return self.owner.encode_for_copy(input_ids, attention_mask, **kwargs)


class CopyMixin:
    """Pointer-generator forward for a BART-family ``...ForConditionalGeneration`` (``model``, ``lm_head``)."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.copy_head = CopyHead(config.d_model)
        self.post_init()

    def get_encoder(self, modality: str | None = None):
        if modality is not None:
            return super().get_encoder(modality)
        return _SourceKeepingEncoder(self)

    def encode_for_copy(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None,
                        **kwargs) -> CopyEncoderOutput:
        kwargs["return_dict"] = True
        out = self.model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        embeddings = self.model.get_input_embeddings()(input_ids)  # |embeddings| = (batch, source, d_model)
        keys = self.copy_head.keys(out.last_hidden_state, embeddings)
        return CopyEncoderOutput(last_hidden_state=out.last_hidden_state, hidden_states=out.hidden_states,
                                 attentions=out.attentions, source_ids=input_ids, copy_keys=keys)

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                encoder_outputs=None, past_key_values=None, use_cache=None, labels=None, **kwargs):
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels=labels)
        if encoder_outputs is None or getattr(encoder_outputs, "copy_keys", None) is None:
            encoder_outputs = self.encode_for_copy(input_ids, attention_mask)
        outputs = self.model(None, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                             encoder_outputs=encoder_outputs, decoder_attention_mask=decoder_attention_mask,
                             past_key_values=past_key_values, use_cache=use_cache, **kwargs)
        hidden = outputs.last_hidden_state  # |hidden| = (batch_size, target_length, d_model)
        lm_logits = self.lm_head(hidden) + self.final_logits_bias.to(hidden.device)
        logits = self.copy_head(hidden, lm_logits, encoder_outputs, attention_mask)
        loss = None
        if labels is not None:  # |logits| are log-probabilities: cross-entropy is their negative mean
            loss = nn.functional.nll_loss(logits.flatten(0, 1), labels.flatten().to(logits.device))
        return Seq2SeqLMOutput(loss=loss, logits=logits, past_key_values=outputs.past_key_values,
                               decoder_hidden_states=outputs.decoder_hidden_states,
                               decoder_attentions=outputs.decoder_attentions,
                               cross_attentions=outputs.cross_attentions,
                               encoder_last_hidden_state=outputs.encoder_last_hidden_state,
                               encoder_hidden_states=outputs.encoder_hidden_states,
                               encoder_attentions=outputs.encoder_attentions)


class CopyBartConfig(BartConfig):
    model_type = "copy_bart"


class CopyMBartConfig(MBartConfig):
    model_type = "copy_mbart"


class CopyBartForConditionalGeneration(CopyMixin, BartForConditionalGeneration):
    """The embedded BART (post-LayerNorm) with a copy mechanism."""

    config_class = CopyBartConfig


class CopyMBartForConditionalGeneration(CopyMixin, MBartForConditionalGeneration):
    """The embedded MBart-style BART (pre-LayerNorm) with a copy mechanism."""

    config_class = CopyMBartConfig


def register_copy_models() -> None:
    """Let ``AutoConfig`` / ``AutoModelForSeq2SeqLM`` load a saved copy model (idempotent)."""
    for config_class, model_class in ((CopyBartConfig, CopyBartForConditionalGeneration),
                                      (CopyMBartConfig, CopyMBartForConditionalGeneration)):
        try:
            AutoConfig.register(config_class.model_type, config_class)
            AutoModelForSeq2SeqLM.register(config_class, model_class)
        except ValueError:  # already registered
            pass
