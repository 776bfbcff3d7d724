"""Each kind of model, with some of the words of its input lines masked.

The unit of masking is a whitespace-separated word of the input (of both texts of a sentence pair).
A masker prepares a batch of lines once and then answers, for any ``keep`` matrix of 0/1 per word,
the probabilities of each chosen model with the words at 0 masked: every subword token of such a word
becomes the model's mask token (``[MASK]`` for BERT-family models, ``<unk>`` for RNN/CNN/Transformer
vocabularies); the TF-IDF model (``--linear``) reads the line without those words. The ``keep`` rows may
hold several copies of the batch one after another (Captum evaluates several masked variants at once).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from ..data.dataset import pad_rows
from ..data.tokenization import word_of_offset, word_spans
from ..errors import UserError
from ..predict import Predictor, RNNCNNClassifier, is_regression

MaskedProbabilities = Callable[[torch.Tensor], dict[str, torch.Tensor]]  # keep -> per model |probs| = (rows, C)


class Masker(Protocol):
    model_names: list[str]

    def prepare(self, texts: Sequence[str], pairs: Sequence[str] | None, units: Sequence[int],
                models: Sequence[str]) -> MaskedProbabilities:
        """Probabilities of ``models`` for the lines with masked words; words ``>= units[i]`` of line i stay."""
        ...


def _copies(keep: torch.Tensor, n: int) -> int:
    """How many copies of an ``n``-line batch the rows of ``keep`` hold. |keep| = (copies * n, n_words)."""
    return keep.shape[0] // n


def _token_mask(words: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """True where a token belongs to a masked word. |words| = (rows, n_tokens) word index or -1; |keep| = (rows, W)."""
    kept = keep.gather(1, words.clamp(min=0)) > 0.5  # |kept| = (rows, n_tokens)
    return (words >= 0) & ~kept


def _limit_units(words: list[int], units: int) -> list[int]:
    return [w if 0 <= w < units else -1 for w in words]


class VocabularyMasker:
    """RNN/CNN/Transformer models on a learned vocabulary: masked tokens become ``<unk>``."""

    def __init__(self, predictor: RNNCNNClassifier) -> None:
        self.predictor = predictor
        self.model_names = predictor.model_names

    def prepare(self, texts: Sequence[str], pairs: Sequence[str] | None, units: Sequence[int],
                models: Sequence[str]) -> MaskedProbabilities:
        p, tokenizer = self.predictor, self.predictor.tokenizer
        encoded = (tokenizer.encode_pair_words(texts, pairs) if p.pair and pairs is not None
                   else tokenizer.encode_words(texts))
        ids = pad_rows([i for i, _ in encoded], tokenizer.pad_id)  # |ids| = (n, n_tokens)
        words = pad_rows([_limit_units(w, u) for (_, w), u in zip(encoded, units)], -1)
        lengths = torch.tensor([len(i) for i, _ in encoded])
        chosen = [name for name in models if name in p.models]

        def probabilities(keep: torch.Tensor) -> dict[str, torch.Tensor]:
            copies = _copies(keep, len(texts))
            x = ids.repeat(copies, 1).masked_fill(_token_mask(words.repeat(copies, 1), keep), tokenizer.unk_id)
            with torch.inference_mode():
                return {name: p.models[name](x.to(p.device), lengths.repeat(copies)).float().exp().cpu()
                        for name in chosen}  # |probs| = (copies * n, n_classes)

        return probabilities


class PretrainedMasker:
    """``--bert`` models: the subword tokens of a masked word become the tokenizer's mask (or unknown) token."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self.model_names = predictor.model_names
        tokenizer = predictor.tokenizer
        self.mask_id = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.unk_token_id

    def _words(self, texts: Sequence[str], pairs: Sequence[str] | None, encoded: Any, i: int) -> list[int]:
        sides = [texts[i]] + ([pairs[i]] if pairs is not None else [])
        starts = [[start for start, _ in word_spans(text)] for text in sides]
        words = []
        for side, (start, end) in zip(encoded.sequence_ids(i), encoded["offset_mapping"][i]):
            if side is None:
                words.append(-1)
                continue
            word = word_of_offset(sides[side], starts[side], start, end)
            words.append(word + (len(starts[0]) if side == 1 and word >= 0 else 0))
        return words

    def prepare(self, texts: Sequence[str], pairs: Sequence[str] | None, units: Sequence[int],
                models: Sequence[str]) -> MaskedProbabilities:
        p = self.predictor
        pairs = (list(pairs) if pairs is not None else [""] * len(texts)) if p.pair else None
        with_types = p.encode.with_token_types
        encoded = p.tokenizer(list(texts), pairs, truncation=True, max_length=p.max_length, return_attention_mask=False,
                              return_token_type_ids=with_types, return_offsets_mapping=True)
        names = ["input_ids", "token_type_ids"] if with_types else ["input_ids"]
        features = [(i, {name: encoded[name][i] for name in names}, None) for i in range(len(texts))]
        inputs = p.collate(features)["inputs"]  # |inputs[name]| = (n, n_tokens)
        words = pad_rows([_limit_units(self._words(texts, pairs, encoded, i), units[i]) for i in range(len(texts))],
                         -1, p.collate.left)

        def probabilities(keep: torch.Tensor) -> dict[str, torch.Tensor]:
            copies = _copies(keep, len(texts))
            batch = {name: tensor.repeat(copies, 1) for name, tensor in inputs.items()}
            batch["input_ids"] = batch["input_ids"].masked_fill(_token_mask(words.repeat(copies, 1), keep), self.mask_id)
            with torch.inference_mode():
                logits = p.model(**{k: v.to(p.device) for k, v in batch.items()}).logits.float()
            # |logits| = (copies * n, n_labels)
            probs = torch.sigmoid(logits) if p.multi_label else torch.softmax(logits, dim=-1)
            return {name: probs.cpu() for name in p.model_names if name in models}

        return probabilities


class LinearMasker:
    """The TF-IDF model (``--linear``): a masked word is left out of the line it reads."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self.model_names = predictor.model_names

    def prepare(self, texts: Sequence[str], pairs: Sequence[str] | None, units: Sequence[int],
                models: Sequence[str]) -> MaskedProbabilities:
        p = self.predictor
        split_a = [text.split() for text in texts]
        split_b = [pair.split() for pair in pairs] if p.pair and pairs is not None else None

        def kept(words: list[str], row: torch.Tensor, first: int, units: int) -> str:
            return " ".join(w for j, w in enumerate(words, first) if j >= units or row[j] > 0.5)

        def probabilities(keep: torch.Tensor) -> dict[str, torch.Tensor]:
            if not any(name in models for name in p.model_names):
                return {}
            lines = [i % len(texts) for i in range(keep.shape[0])]
            a = [kept(split_a[i], keep[r], 0, units[i]) for r, i in enumerate(lines)]
            b = None if split_b is None else [kept(split_b[i], keep[r], len(split_a[i]), units[i])
                                             for r, i in enumerate(lines)]
            return p.probabilities(a, b)

        return probabilities


class JointMasker:
    """The members of a joint model file (e.g. RNN/CNN plus ``--linear``), each masking its own way."""

    def __init__(self, maskers: Sequence[Masker]) -> None:
        self.maskers = list(maskers)
        self.model_names = [name for m in self.maskers for name in m.model_names]

    def prepare(self, texts: Sequence[str], pairs: Sequence[str] | None, units: Sequence[int],
                models: Sequence[str]) -> MaskedProbabilities:
        parts = [m.prepare(texts, pairs, units, models) for m in self.maskers
                 if any(name in models for name in m.model_names)]

        def probabilities(keep: torch.Tensor) -> dict[str, torch.Tensor]:
            probs: dict[str, torch.Tensor] = {}
            for part in parts:
                probs.update(part(keep))
            return {name: probs[name] for name in models}

        return probabilities


def masker_for(predictor: Predictor) -> Masker:
    """The masker of a loaded predictor; one-line errors for models that cannot be explained."""
    from ..joint import JointPredictor
    from ..linear import LinearClassifier

    if is_regression(predictor):
        raise UserError("this model predicts a score (--regression), not labels: there is no label to explain")
    if isinstance(predictor, JointPredictor):
        return JointMasker([masker_for(member) for member in predictor.members])
    if isinstance(predictor, RNNCNNClassifier):
        return VocabularyMasker(predictor)
    if isinstance(predictor, LinearClassifier):
        return LinearMasker(predictor)
    if type(predictor).__name__ == "PLMClassifier":  # without importing transformers for light models
        return PretrainedMasker(predictor)
    raise UserError("explanations mask the input of PyTorch models: use --backend torch (and no ONNX file)")
