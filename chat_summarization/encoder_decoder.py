"""Warm-started encoder-decoders (bert2bert, Rothe et al. 2020) from any BERT-family encoder checkpoint.

``EncoderDecoderModel.from_encoder_decoder_pretrained`` initializes the encoder and the decoder
from the same checkpoint (the decoder gets causal self-attention and new cross-attention layers).
Tied encoder-decoder weights are not offered: transformers 5 dropped ``tie_encoder_decoder`` from
``EncoderDecoderModel`` (the flag is accepted and ignored there). BERT tokenizers have ``[CLS]``/``[SEP]`` and no
``<s>``/``</s>``: ``[CLS]`` becomes the beginning and the decoder start, ``[SEP]`` the end, so sources
are ``[CLS] dialogue [SEP]`` and the decoder writes ``summary [SEP]`` after ``[CLS]``.
A trained one is saved with ``save_pretrained`` like any seq2seq model and loads with
``AutoModelForSeq2SeqLM`` (model type ``encoder-decoder``).
"""
from __future__ import annotations

from transformers import (
    AutoConfig,
    EncoderDecoderConfig,
    EncoderDecoderModel,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from transformers.utils import logging as hf_logging

from simple_ntc.errors import UserError, first_line


def use_cls_sep_as_bos_eos(tokenizer: PreTrainedTokenizerBase) -> None:
    """Give a BERT-style tokenizer (``[CLS]``/``[SEP]``, no bos/eos) its beginning and end tokens."""
    if tokenizer.bos_token is None and tokenizer.cls_token is not None:
        tokenizer.bos_token = tokenizer.cls_token
    if tokenizer.eos_token is None and tokenizer.sep_token is not None:
        tokenizer.eos_token = tokenizer.sep_token
    if tokenizer.pad_token is None:
        raise UserError("the tokenizer has no pad token; an encoder-decoder needs one")


def set_special_ids(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase) -> None:
    """Decoder start, end, pad and vocabulary size of an encoder-decoder config, from ``tokenizer``."""
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.bos_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.vocab_size = max(config.encoder.vocab_size, getattr(config, "vocab_size", None) or 0, len(tokenizer))
    config.decoder.vocab_size = config.encoder.vocab_size = config.vocab_size


def encoder_decoder_config(name: str, tokenizer: PreTrainedTokenizerBase) -> EncoderDecoderConfig:
    """The config of a bert2bert built from the encoder checkpoint ``name`` (what --resume rebuilds from)."""
    try:
        encoder = AutoConfig.from_pretrained(name)
        decoder = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise UserError(f"--encoder_decoder_from {name!r}: cannot load its config: {first_line(error)}") from None
    if getattr(encoder, "is_encoder_decoder", False):
        raise UserError(f"--encoder_decoder_from {name!r} is already an encoder-decoder; pass it as "
                        "--pretrained_model_name")
    decoder.is_decoder, decoder.add_cross_attention = True, True
    config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    set_special_ids(config, tokenizer)
    return config


def build_encoder_decoder(name: str, tokenizer: PreTrainedTokenizerBase) -> EncoderDecoderModel:
    """Encoder and decoder initialized from ``name`` (cross-attention new), embeddings grown to ``tokenizer``."""
    from .model import quiet_transformers

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # no load report listing the new cross-attention weights: they are new by design
    try:
        with quiet_transformers():
            model = EncoderDecoderModel.from_encoder_decoder_pretrained(name, name)
            fit_encoder_decoder_embeddings(model, tokenizer)
    except (OSError, ValueError) as error:
        raise UserError(f"--encoder_decoder_from {name!r}: cannot build a bert2bert from it: "
                        f"{first_line(error)}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    set_special_ids(model.config, tokenizer)
    return model


def fit_encoder_decoder_embeddings(model: EncoderDecoderModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Grow the encoder's and the decoder's embeddings to the tokenizer (after the tags were added)."""
    size = len(tokenizer)
    for part in (model.encoder, model.decoder):
        if part.get_input_embeddings().num_embeddings < size:
            part.resize_token_embeddings(size)
    model.config.vocab_size = max(getattr(model.config, "vocab_size", None) or 0, size)
    model.config.encoder.vocab_size = model.config.decoder.vocab_size = model.config.vocab_size


def is_encoder_decoder_model(model: PreTrainedModel) -> bool:
    return isinstance(model, EncoderDecoderModel)


def position_limit(config: PretrainedConfig) -> int | None:
    """Most positions the model reads: its own, or its encoder's (an encoder-decoder config has none itself)."""
    limit = getattr(config, "max_position_embeddings", None)
    encoder = getattr(config, "encoder", None)
    if limit is None and encoder is not None:
        limit = getattr(encoder, "max_position_embeddings", None)
    return limit
