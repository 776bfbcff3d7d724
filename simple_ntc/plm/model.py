"""Pretrained sequence classifiers and their fast tokenizers.

Loaded from a hub name (where a hub is reachable) or a local ``save_pretrained`` directory, and
packed into our model file as plain types (config dict, state_dict, tokenizer files as strings) so
that classify.py rebuilds them with neither the hub nor the original directory.
"""
from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PretrainedConfig, PreTrainedModel
from transformers.models.auto.configuration_auto import CONFIG_MAPPING
from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from ..errors import UserError, first_line
from .first_position import compute_first_position_only

FLAG = "--pretrained_model_name"
UNBOUNDED_LENGTH = 100_000  # tokenizers without a known limit say 1e30


def quiet_transformers() -> None:
    """No load reports, download bars or hub retry warnings: we report what matters ourselves."""
    import huggingface_hub

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    huggingface_hub.utils.logging.set_verbosity_error()
    huggingface_hub.utils.disable_progress_bars()


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``name`` or ``owner/name``; anything else is meant as a local directory."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def resolve_source(name: str) -> str:
    """A checked local directory, or ``name`` itself to be fetched from the hub."""
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UserError(f"{FLAG} {name}: not a directory; give a model directory written by save_pretrained "
                            "or a hub name")
        if not (path / "config.json").is_file():
            raise UserError(f"{FLAG} {name}: not a model directory (no config.json); give a directory written by "
                            "save_pretrained or a hub name")
        return str(path)
    if _looks_like_path(name):
        raise UserError(f"{FLAG} {name}: directory not found")
    return name


def load_pretrained(
    name: str, labels: Sequence[str], multi_label: bool, regression: bool = False
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, list[str]]:
    """Model with a fresh ``len(labels)``-way head, its fast tokenizer, and the newly initialized weight names."""
    quiet_transformers()
    source = resolve_source(name)
    where = "" if Path(source).is_dir() else " (not a local directory, and the hub could not provide it)"
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except Exception as error:  # noqa: BLE001 - any failure means no usable tokenizer
        raise UserError(f"{FLAG} {name}: cannot load its tokenizer{where}: {first_line(error)}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(f"{FLAG} {name}: needs a fast tokenizer (tokenizer.json); {type(tokenizer).__name__} is not")
    if len(tokenizer) <= len(set(tokenizer.all_special_tokens)):
        # transformers builds an empty tokenizer of the model's type for a directory without tokenizer files
        raise UserError(f"{FLAG} {name}: cannot load its tokenizer: it has no vocabulary (no tokenizer.json, "
                        "vocab.txt or similar file)")
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            problem_type="regression" if regression else
            "multi_label_classification" if multi_label else "single_label_classification",
            ignore_mismatched_sizes=True, output_loading_info=True)
    except Exception as error:  # noqa: BLE001 - unknown architecture, missing or damaged weights, no hub
        raise UserError(f"{FLAG} {name}: cannot load a sequence classification model{where}: "
                        f"{first_line(error)}") from None
    ensure_pad_token(model, tokenizer)
    compute_first_position_only(model)
    new = sorted({*info.get("missing_keys", ()), *(k for k, *_ in info.get("mismatched_keys", ()))})
    return model, tokenizer, new


def ensure_pad_token(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Decoder-style tokenizers (GPT-2, ...) have no padding token: pad with end-of-sequence instead."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise UserError(f"the tokenizer of {model.config.name_or_path} has neither a padding nor an "
                            "end-of-sequence token to pad batches with")
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id


def usable_max_length(requested: int, tokenizer: PreTrainedTokenizerBase, config: PretrainedConfig) -> int:
    """``requested``, capped by what the tokenizer and the position embeddings support."""
    limits = [requested]
    if 0 < tokenizer.model_max_length < UNBOUNDED_LENGTH:
        limits.append(int(tokenizer.model_max_length))
    elif getattr(config, "max_position_embeddings", None):
        limits.append(int(config.max_position_embeddings))
    return min(limits)


def model_input_names(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """The tokenizer outputs the model's ``forward`` accepts (``token_type_ids`` only where used)."""
    import inspect

    accepted = inspect.signature(model.forward).parameters
    return [name for name in tokenizer.model_input_names if name in accepted]


# --- in the model file -------------------------------------------------------------------------


def tokenizer_files(tokenizer: PreTrainedTokenizerBase) -> dict[str, str]:
    """The text files ``save_pretrained`` writes (tokenizer.json, tokenizer_config.json, ...).

    Binary vocabularies (a sentencepiece model) are left out: the fast tokenizer needs only tokenizer.json.
    """
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                try:
                    files[path.relative_to(tmp).as_posix()] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue
    return files


# What save_pretrained writes for a fast tokenizer: plain names only, never a path.
_TOKENIZER_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\.(json|txt|jinja|model)$")


def check_tokenizer_files(files: object) -> Mapping[str, str]:
    """The tokenizer files of a model file, or a one-line :class:`UserError` for a crafted entry.

    A model file is data: a name like ``../../x`` or ``/home/u/.bashrc`` must never become a path.
    """
    if not isinstance(files, Mapping) or "tokenizer.json" not in files:
        raise UserError("the model file's tokenizer has no tokenizer.json; it was not written by train.py --bert")
    for name, text in files.items():
        if not isinstance(name, str) or not _TOKENIZER_FILE.match(name) or not isinstance(text, str):
            raise UserError(f"the model file names a tokenizer file {str(name)[:80]!r}, which is not a plain file "
                            f"name that save_pretrained writes; refusing to load it (a damaged or crafted file)")
    return files


def tokenizer_from_files(files: Mapping[str, str]) -> PreTrainedTokenizerBase:
    """The fast tokenizer saved in a model file, rebuilt in a private temporary directory of plain file names."""
    quiet_transformers()
    files = check_tokenizer_files(files)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            path = Path(tmp) / name
            if path.parent != Path(tmp):  # unreachable after the name check; a second guard costs nothing
                raise UserError(f"tokenizer file {name!r} would leave its directory")
            path.write_text(text, encoding="utf-8")
        return AutoTokenizer.from_pretrained(tmp)


def config_to_dict(config: PretrainedConfig) -> dict[str, Any]:
    """The full model config as JSON-compatible plain types."""
    return json.loads(config.to_json_string(use_diff=False))


def config_from_dict(values: Mapping[str, Any]) -> PretrainedConfig:
    model_type = values.get("model_type")
    if model_type not in CONFIG_MAPPING:
        raise UserError(f"model type {model_type!r} is unknown to transformers {transformers.__version__}")
    return CONFIG_MAPPING[model_type].from_dict(dict(values))


def _model_class(config: PretrainedConfig) -> type[PreTrainedModel]:
    try:
        return MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(config)]
    except KeyError:
        raise UserError(f"transformers {transformers.__version__} has no sequence classifier for model type "
                        f"{config.model_type!r}") from None


def model_from_config(values: Mapping[str, Any]) -> PreTrainedModel:
    """An untrained model of the saved architecture (its weights come from a checkpoint next)."""
    quiet_transformers()
    model = _model_class(config_from_dict(values))(config_from_dict(values))
    compute_first_position_only(model)
    return model


def model_from_state(values: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]) -> PreTrainedModel:
    """The saved model, in eval mode; a file missing some weights is an error, not a random init."""
    quiet_transformers()
    config = config_from_dict(values)
    model, info = _model_class(config).from_pretrained(None, config=config, state_dict=dict(state_dict),
                                                       output_loading_info=True)
    if info.get("missing_keys"):
        raise UserError(f"the model file lacks weights: {', '.join(sorted(info['missing_keys'])[:3])}")
    compute_first_position_only(model)
    return model.eval()


def plain_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
