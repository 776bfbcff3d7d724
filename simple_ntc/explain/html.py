"""``classify.py --explain_html``: one self-contained HTML page of explained lines (no external assets)."""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from .attribution import Explanation

STYLE = """body{font-family:sans-serif;margin:1.5em;line-height:1.9}
.line{border-bottom:1px solid #ddd;padding:.4em 0}.meta{color:#555;font-size:.85em}
.w{padding:.1em .15em;border-radius:.2em}.legend span{margin-right:1em}"""


@dataclass
class ExplainedLine:
    """One input line as printed: its labels and probabilities fields, the text, and one explanation per label."""

    labels: str
    probs: str
    text: str
    explanations: list[Explanation]


def _colour(score: float, scale: float) -> str:
    """Blue for words that support the label, red for words against it; stronger is more opaque."""
    alpha = min(1.0, abs(score) / scale) if scale > 0 else 0.0
    rgb = "30,110,255" if score >= 0 else "230,40,40"
    return f"background:rgba({rgb},{alpha * 0.85:.3f})"


def _words(explanation: Explanation) -> str:
    scale = max((abs(s) for s in explanation.scores), default=0.0)
    return " ".join(f'<span class="w" style="{_colour(s, scale)}" title="{s:+.4f}">{html.escape(w)}</span>'
                    for w, s in zip(explanation.words, explanation.scores))


def render(lines: Sequence[ExplainedLine], title: str = "classify.py --explain") -> str:
    """The page: per line its labels, probabilities, and its words coloured by score for each explained label."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             "<p class='legend'><span style='background:rgba(30,110,255,.6)'>supports the label</span>"
             "<span style='background:rgba(230,40,40,.6)'>speaks against it</span>"
             "score = drop of the label's probability when the word is masked (hover a word)</p>"]
    for number, line in enumerate(lines, 1):
        parts.append(f"<div class='line'><div class='meta'>{number}: <b>{html.escape(line.labels)}</b> "
                     f"{html.escape(line.probs)}</div>")
        if not line.explanations:
            parts.append(f"<div>{html.escape(line.text)}</div>")
        for explanation in line.explanations:
            label = f"<b>{html.escape(explanation.label)}</b>: " if len(line.explanations) > 1 else ""
            parts.append(f"<div>{label}{_words(explanation)}</div>")
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
