"""Confusion-matrix heatmaps as PNG files (matplotlib, Agg backend, written atomically).

Colours are row-normalized (each true label's row sums to 1) and every cell shows its count. Label
names that no installed font can draw (e.g. Hangul without a Korean font) become indices on the
axes; the caller prints the index -> name key with the text report.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .atomic import atomic_open

PREFERRED_FAMILIES = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "AppleGothic",
                      "UnDotum", "DejaVu Sans")


def _families() -> list[str]:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [family for family in PREFERRED_FAMILIES if family in installed] or ["DejaVu Sans"]


def drawable(texts: Sequence[str], families: Sequence[str]) -> bool:
    """Whether every character of ``texts`` has a glyph in one of ``families``."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    charmaps = []
    for family in families:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        charmaps.append(FT2Font(path).get_charmap())
    return all(any(ord(c) in charmap for charmap in charmaps) for c in "".join(texts) if not c.isspace())


def save_heatmap(
    path: str | Path,
    counts: Sequence[Sequence[int]],
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
    xlabel: str = "predicted",
    ylabel: str = "true",
    column_groups: int = 1,
) -> bool:
    """Write the heatmap; returns whether label names were drawn (False: indices stand for them).

    Colours are shares of each row, or of each of ``column_groups`` equal column groups of a row (per-label
    ``TN FP | FN TP`` counts use 2: the share of the label's negatives, then of its positives).
    """
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot as plt

    families = _families()
    names_drawable = drawable(row_labels, families)
    rows = list(row_labels) if names_drawable else [str(i) for i in range(len(row_labels))]
    if list(column_labels) == list(row_labels):
        columns = rows
    else:
        columns = [str(c) for c in column_labels]
        if not drawable(columns, families):
            columns = [str(i) for i in range(len(columns))]
    if not drawable([title], families):
        title = "".join(c if c.isascii() else "?" for c in title)
    matrix = np.asarray(counts, dtype=float)
    groups = matrix.reshape(len(matrix), column_groups, -1)  # |groups| = (n_rows, column_groups, group_width)
    shares = (groups / np.maximum(groups.sum(axis=2, keepdims=True), 1)).reshape(matrix.shape)
    width = 2.5 + 0.7 * max(len(columns), 2)
    height = 2.0 + 0.5 * max(len(rows), 2)
    with matplotlib.rc_context({"font.family": families}):
        figure, axes = plt.subplots(figsize=(width, height), dpi=100)
        image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
        rotate = len(columns) > 4
        axes.set_xticks(range(len(columns)), columns, rotation=45 if rotate else 0, ha="right" if rotate else "center")
        axes.set_yticks(range(len(rows)), rows)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        for (i, j), value in np.ndenumerate(matrix):
            axes.text(j, i, f"{int(value)}", ha="center", va="center",
                      color="white" if shares[i, j] > 0.5 else "black", fontsize=8)
        share_of = "the true label's row" if column_groups == 1 else "the label's true negatives / positives"
        figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label=f"share of {share_of}")
        figure.tight_layout()
        with atomic_open(path, "wb") as handle:
            figure.savefig(handle, format="png")
        plt.close(figure)
    return names_drawable
