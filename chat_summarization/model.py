"""Seq2seq models: a pretrained one from a hub name or local directory, or the embedded small BART.

A trained summarizer is one directory written by ``save_pretrained``: model weights and config,
tokenizer files, generation config, and ``summarization_config.json`` (source length and the
generation settings chosen at training time), so summarize.py needs nothing else.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from transformers import (
    AutoConfig,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    BartConfig,
    BartForConditionalGeneration,
    MBartConfig,
    MBartForConditionalGeneration,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from simple_ntc.errors import UserError, first_line

from .copy_attention import (
    CopyBartConfig,
    CopyBartForConditionalGeneration,
    CopyMBartConfig,
    CopyMBartForConditionalGeneration,
    register_copy_models,
)
from .encoder_decoder import (
    fit_encoder_decoder_embeddings,
    is_encoder_decoder_model,
    position_limit,
    set_special_ids,
    use_cls_sep_as_bos_eos,
)
from .generate import GenerationSettings

SETTINGS_FILE = "summarization_config.json"
register_copy_models()  # a saved copy-attention model loads through AutoModelForSeq2SeqLM


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No "Loading weights" / "Writing model shards" progress bars from transformers."""
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


LAYER_NORMS = ("pre", "post")
# the embedded model's config class by (layer_norm, copy_attention), and the model class of each
EMBEDDED_CONFIGS = {("post", False): BartConfig, ("pre", False): MBartConfig,
                    ("post", True): CopyBartConfig, ("pre", True): CopyMBartConfig}
EMBEDDED_MODELS = {BartConfig: BartForConditionalGeneration, MBartConfig: MBartForConditionalGeneration,
                   CopyBartConfig: CopyBartForConditionalGeneration, CopyMBartConfig: CopyMBartForConditionalGeneration}


@dataclass
class BartSize:
    """Architecture of the embedded default BART (trained from scratch).

    ``layer_norm="pre"`` normalizes before each sublayer (MBart's layers, with a final LayerNorm), which
    keeps the encoder output varying across positions when a few hundred dialogues train it from
    scratch; ``"post"`` is the original BART layer. ``copy_attention`` adds a pointer-generator head
    (:mod:`.copy_attention`): summaries can copy the dialogue's tokens.
    """

    d_model: int = 256
    encoder_layers: int = 3
    decoder_layers: int = 3
    attention_heads: int = 4
    ffn_dim: int = 1024
    dropout: float = 0.1
    layer_norm: str = "post"
    copy_attention: bool = False


def small_bart_config(tokenizer: PreTrainedTokenizerBase, size: BartSize, max_positions: int) -> PretrainedConfig:
    """A BART (post-LN) or MBart (pre-LN) config for ``tokenizer``, with a copy head when asked.

    The decoder starts from ``</s>`` and first writes ``<s>``, as BART does.
    """
    if size.d_model % size.attention_heads:
        raise UserError(f"--d_model {size.d_model} must be divisible by --attention_heads {size.attention_heads}")
    if size.layer_norm not in LAYER_NORMS:
        raise UserError(f"--layer_norm must be one of {', '.join(LAYER_NORMS)}, got {size.layer_norm!r}")
    config_class = EMBEDDED_CONFIGS[size.layer_norm, size.copy_attention]
    return config_class(
        vocab_size=len(tokenizer),
        d_model=size.d_model,
        encoder_layers=size.encoder_layers,
        decoder_layers=size.decoder_layers,
        encoder_attention_heads=size.attention_heads,
        decoder_attention_heads=size.attention_heads,
        encoder_ffn_dim=size.ffn_dim,
        decoder_ffn_dim=size.ffn_dim,
        dropout=size.dropout,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
    )


def load_pretrained_tokenizer(name: str) -> PreTrainedTokenizerBase:
    """A tokenizer from a directory or hub name; a BERT-style one gets [CLS]/[SEP] as its bos/eos."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load the tokenizer of {name!r} (a local directory, or a hub name where a hub "
                        f"is reachable): {first_line(error)}") from None
    use_cls_sep_as_bos_eos(tokenizer)
    return tokenizer


def load_pretrained_model(name: str) -> PreTrainedModel:
    try:
        with quiet_transformers():
            return AutoModelForSeq2SeqLM.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load a seq2seq model from {name!r}: {first_line(error)}") from None


def load_pretrained_config(name: str) -> PretrainedConfig:
    try:
        return AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load the config of {name!r}: {first_line(error)}") from None


def model_from_config(config: PretrainedConfig) -> PreTrainedModel:
    """A freshly initialized model of ``config`` (seed first for reproducible weights)."""
    model_class = EMBEDDED_MODELS.get(type(config))
    return model_class(config) if model_class else AutoModelForSeq2SeqLM.from_config(config)


def load_config(directory: Path) -> PretrainedConfig:
    return AutoConfig.from_pretrained(directory)


def fit_embeddings(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Grow the embeddings to the tokenizer (after tags were added)."""
    if is_encoder_decoder_model(model):  # it resizes its two parts itself; its decoder starts from bos ([CLS])
        fit_encoder_decoder_embeddings(model, tokenizer)
        set_special_ids(model.config, tokenizer)
    elif model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))


def apply_generation_settings(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                              settings: GenerationSettings) -> None:
    """Write ``settings`` into the model's generation config (saved as generation_config.json)."""
    config = model.generation_config
    config.num_beams = settings.num_beams
    config.max_new_tokens = settings.max_length
    config.no_repeat_ngram_size = settings.no_repeat_ngram_size
    config.length_penalty = settings.length_penalty
    config.early_stopping = settings.num_beams > 1
    config.decoder_start_token_id = model.config.decoder_start_token_id
    config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    config.eos_token_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else config.eos_token_id


@dataclass
class SummarizerInfo:
    """What summarize.py needs besides weights and tokenizer; stored as summarization_config.json."""

    max_source_length: int
    max_target_length: int
    generation: dict[str, Any]
    tags: list[str]
    base_model: str
    rouge_tokenizer: str = "auto"

    @property
    def generation_settings(self) -> GenerationSettings:
        return GenerationSettings.from_dict(self.generation)


def save_summarizer(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, directory: Path,
                    info: SummarizerInfo) -> None:
    """Model, tokenizer, generation config and :class:`SummarizerInfo` into ``directory``.

    Everything is written into a new sibling directory that then replaces ``directory`` by two renames,
    so a crash while saving never leaves new weights beside an old config: the old summarizer stays
    whole until the new one is complete (between the renames, it is ``<name>.old-*`` beside it).
    """
    if directory.exists() and not directory.is_dir():
        raise UserError(f"--model_fn {directory} is a file; a trained summarizer is saved as a directory")
    directory.parent.mkdir(parents=True, exist_ok=True)
    apply_generation_settings(model, tokenizer, info.generation_settings)
    new = Path(tempfile.mkdtemp(prefix=f"{directory.name}.new-", dir=directory.parent))
    try:
        with quiet_transformers():
            model.save_pretrained(new)
            tokenizer.save_pretrained(new)
        (new / SETTINGS_FILE).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")
        _swap_in(new, directory)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def _swap_in(new: Path, directory: Path) -> None:
    """Put the complete directory ``new`` at ``directory``, then delete the one it replaces."""
    if not directory.exists():
        new.rename(directory)
        return
    old = Path(tempfile.mkdtemp(prefix=f"{directory.name}.old-", dir=directory.parent))
    old.rmdir()
    directory.rename(old)
    new.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


@dataclass
class Summarizer:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    info: SummarizerInfo


def load_summarizer(directory: str | Path) -> Summarizer:
    """Load what :func:`save_summarizer` wrote; a wrong path is a one-line :class:`UserError`."""
    directory = Path(directory)
    if not directory.exists():
        raise UserError(f"model directory not found: {directory}")
    if not directory.is_dir() or not (directory / "config.json").is_file():
        raise UserError(f"{directory} is not a trained summarizer (no config.json); pass the --model_fn "
                        "directory written by train.py --task summarization")
    tokenizer = load_pretrained_tokenizer(str(directory))
    model = load_pretrained_model(str(directory))
    settings_path = directory / SETTINGS_FILE
    if settings_path.is_file():
        try:
            info = SummarizerInfo(**json.loads(settings_path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as error:
            raise UserError(f"{settings_path}: unreadable summarizer settings: {error}") from None
    else:  # any other seq2seq directory: its own generation defaults
        info = _info_of_foreign_model(model, str(directory))
    return Summarizer(model, tokenizer, info)


def _info_of_foreign_model(model: PreTrainedModel, name: str) -> SummarizerInfo:
    """Settings of a seq2seq directory not written by train.py, from its own configs."""
    generation = model.generation_config
    settings = GenerationSettings(
        num_beams=generation.num_beams or 1,
        max_length=generation.max_new_tokens or generation.max_length or GenerationSettings.max_length,
        no_repeat_ngram_size=generation.no_repeat_ngram_size or 0,
        length_penalty=generation.length_penalty if generation.length_penalty is not None else 1.0,
    )
    positions = position_limit(model.config) or 512
    return SummarizerInfo(max_source_length=positions, max_target_length=settings.max_length,
                          generation=asdict(settings), tags=[], base_model=name)
