"""The trivial baseline and ``--linear`` member: TF-IDF of word and character n-grams + a linear model.

Single-label texts: multinomial logistic regression; multi-label: one logistic regression per label;
``--regression``: ridge regression. Sentence pairs are featurized as ``[a, b, a * b]`` (the
element-wise product carries the overlap of the two texts). scikit-learn fits it in seconds; the
regularization strength is chosen on the validation split from a small grid.

The fitted model is kept as plain arrays and lists (n-gram lists, idf weights, coefficients), so a
model file holding it still loads with ``torch.load(weights_only=True)``; prediction rebuilds the
scikit-learn vectorizers from them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge

MODEL_NAME = "linear"
DESCRIPTION = "TF-IDF word 1-2-grams + char 2-4-grams, linear model"
C_GRID = (1.0, 4.0, 16.0)  # inverse regularization of logistic regression
ALPHA_GRID = (0.3, 1.0, 3.0)  # ridge regularization
WORD = {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b", "max_features": 200_000}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 4), "max_features": 300_000}
SHARED = {"lowercase": True, "sublinear_tf": True, "dtype": np.float32}


def _vectorizer(params: dict[str, Any], min_df: int, vocabulary: Sequence[str] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(**params, **SHARED, min_df=min_df,
                           vocabulary=None if vocabulary is None else {t: i for i, t in enumerate(vocabulary)})


@dataclass
class TfidfFeatures:
    """Word and char TF-IDF of texts (and of pairs as ``[a, b, a * b]``)."""

    word: TfidfVectorizer
    char: TfidfVectorizer
    pair: bool

    @classmethod
    def fit(cls, texts: Sequence[str], pairs: Sequence[str] | None) -> "TfidfFeatures":
        corpus = list(texts) + list(pairs or [])
        min_df = 2 if len(corpus) >= 50 else 1  # tiny sets: keep every n-gram
        features = cls(_vectorizer(WORD, min_df), _vectorizer(CHAR, min_df), pairs is not None)
        for vectorizer in (features.word, features.char):
            try:
                vectorizer.fit(corpus)
            except ValueError:  # no n-gram survives min_df (texts of one character, say)
                vectorizer.set_params(min_df=1).fit(corpus)
        return features

    def _single(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return sparse.hstack([self.word.transform(texts), self.char.transform(texts)], format="csr")

    def __call__(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> sparse.csr_matrix:
        """|X| = (len(texts), n_features)."""
        a = self._single(list(texts))
        if not self.pair:
            return a
        b = self._single(list(pairs) if pairs is not None else [""] * len(texts))
        return sparse.hstack([a, b, a.multiply(b)], format="csr")

    @property
    def size(self) -> int:
        width = len(self.word.vocabulary_) + len(self.char.vocabulary_)
        return width * 3 if self.pair else width

    def to_plain(self) -> dict[str, Any]:
        def plain(vectorizer: TfidfVectorizer) -> dict[str, Any]:
            terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
            return {"terms": terms, "idf": torch.from_numpy(vectorizer.idf_.astype(np.float32))}

        return {"word": plain(self.word), "char": plain(self.char), "pair": self.pair}

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> "TfidfFeatures":
        def rebuilt(params: dict[str, Any], saved: dict[str, Any]) -> TfidfVectorizer:
            vectorizer = _vectorizer(params, 1, saved["terms"])
            vectorizer.idf_ = saved["idf"].numpy().astype(np.float64)
            return vectorizer

        return cls(rebuilt(WORD, data["word"]), rebuilt(CHAR, data["char"]), bool(data["pair"]))


class LinearClassifier:
    """A fitted TF-IDF + linear model, usable as a :class:`~simple_ntc.predict.Predictor`.

    ``output`` says how scores become predictions: ``softmax`` (single-label), ``sigmoid``
    (multi-label, one score per label) or ``identity`` (regression: the score itself).
    """

    def __init__(self, features: TfidfFeatures, coef: torch.Tensor, intercept: torch.Tensor, labels: Sequence[str],
                 output: str, thresholds: Sequence[float] | None = None, regularization: float = 1.0) -> None:
        self.features = features
        self.coef, self.intercept = coef, intercept  # |coef| = (n_outputs, n_features), |intercept| = (n_outputs,)
        self.labels, self.output = list(labels), output
        self.multi_label, self.regression, self.pair = output == "sigmoid", output == "identity", features.pair
        self.thresholds = list(thresholds) if thresholds is not None else [0.5] * len(self.labels)
        self.regularization = regularization

    @property
    def model_names(self) -> list[str]:
        return [MODEL_NAME]

    def predict_features(self, x: sparse.csr_matrix) -> torch.Tensor:
        """|x| = (n, n_features) -> |probs| = (n, len(labels)): softmax, per-label sigmoid, or the score."""
        z = (torch.from_numpy(np.asarray(x @ self.coef.numpy().T)) + self.intercept).float()
        if self.output == "softmax":
            return torch.softmax(z, dim=-1)
        return torch.sigmoid(z) if self.output == "sigmoid" else z

    def probabilities(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None, models: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """|probs| = (len(texts), len(labels)): softmax, per-label sigmoid, or the predicted score."""
        if not len(texts):
            return {MODEL_NAME: torch.empty(0, len(self.coef))}
        return {MODEL_NAME: self.predict_features(self.features(texts, text_pairs if self.pair else None))}

    def to_file_data(self) -> dict[str, Any]:
        return {"kind": MODEL_NAME, "labels": self.labels, "output": self.output, "features": self.features.to_plain(),
                "coef": self.coef, "intercept": self.intercept, "thresholds": [float(t) for t in self.thresholds],
                "regularization": self.regularization, "multi_label": self.multi_label, "pair": self.pair,
                "regression": self.regression}

    @classmethod
    def from_file_data(cls, data: dict[str, Any], *_: Any) -> "LinearClassifier":
        return cls(TfidfFeatures.from_plain(data["features"]), data["coef"].float(), data["intercept"].float(),
                   data["labels"], data["output"], data.get("thresholds"), data.get("regularization", 1.0))


def _binary_as_softmax(coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's one-row binary model as two rows whose softmax equals its sigmoid."""
    return np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])


def _fit_logistic(x: sparse.csr_matrix, y: np.ndarray, n_classes: int, c: float, seed: int) -> tuple[np.ndarray, ...]:
    """Coefficients over all ``n_classes`` (classes absent from ``y`` get a very low score)."""
    present = np.unique(y)
    coef = np.zeros((n_classes, x.shape[1]), dtype=np.float32)
    intercept = np.full(n_classes, -30.0, dtype=np.float32)
    if len(present) == 1:
        intercept[present[0]] = 30.0
        return coef, intercept
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed).fit(x, y)
    rows, bias = model.coef_, model.intercept_
    if len(present) == 2:
        rows, bias = _binary_as_softmax(rows, bias)
    coef[present], intercept[present] = rows, bias
    return coef, intercept


def _fit_per_label(x: sparse.csr_matrix, y: np.ndarray, c: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per label column. |y| = (n, n_labels) of 0/1."""
    coef = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    intercept = np.zeros(y.shape[1], dtype=np.float32)
    for label in range(y.shape[1]):
        column = y[:, label]
        if column.min() == column.max():  # never (or always) on in training: a constant
            intercept[label] = 30.0 if column.max() > 0 else -30.0
            continue
        model = LogisticRegression(C=c, max_iter=1000, random_state=seed).fit(x, column)
        coef[label], intercept[label] = model.coef_[0], model.intercept_[0]
    return coef, intercept


def _fit_ridge(x: sparse.csr_matrix, y: np.ndarray, alpha: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    model = Ridge(alpha=alpha, random_state=seed).fit(x, y)
    return model.coef_.reshape(1, -1).astype(np.float32), np.atleast_1d(model.intercept_).astype(np.float32)


def fit_linear(
    texts: Sequence[str],
    targets: Sequence[Any],
    labels: Sequence[str],
    output: str,
    valid: tuple[Sequence[str], Sequence[Any]],
    selection_score: Callable[[torch.Tensor, Sequence[Any]], float],
    pairs: Sequence[str] | None = None,
    valid_pairs: Sequence[str] | None = None,
    seed: int = 42,
) -> LinearClassifier:
    """Fit on the training texts; keep the regularization whose ``selection_score`` on ``valid`` is highest.

    ``targets`` are class indices (softmax), multi-hot rows (sigmoid) or floats (identity);
    ``selection_score(probs, valid_targets)`` scores the :meth:`LinearClassifier.probabilities` of a candidate.
    """
    features = TfidfFeatures.fit(texts, pairs)
    x, x_valid = features(texts, pairs), features(valid[0], valid_pairs)
    y = np.asarray(targets, dtype=np.float64 if output == "identity" else None)
    best: tuple[float, LinearClassifier] | None = None
    for strength in ALPHA_GRID if output == "identity" else C_GRID:
        if output == "softmax":
            coef, intercept = _fit_logistic(x, y.astype(int), len(labels), strength, seed)
        elif output == "sigmoid":
            coef, intercept = _fit_per_label(x, y.astype(int), strength, seed)
        else:
            coef, intercept = _fit_ridge(x, y, strength, seed)
        candidate = LinearClassifier(features, torch.from_numpy(coef), torch.from_numpy(intercept), labels, output,
                                     regularization=strength)
        score = selection_score(candidate.predict_features(x_valid), valid[1])
        if best is None or score > best[0]:
            best = (score, candidate)
    assert best is not None
    return best[1]
