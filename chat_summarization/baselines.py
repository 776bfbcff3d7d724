"""Trivial summaries any model must beat: the first two turns, or one fixed sentence."""
from __future__ import annotations

from .dataset import Dialogue
from .rouge import has_hangul

BASELINES = ("lead2", "template")
TEMPLATES = {"ko": "#Person1#은 #Person2#에게 이야기한다.", "en": "#Person1# talks with #Person2#."}


def template_for(dialogues: list[Dialogue]) -> str:
    """The fixed sentence in the data's language: Korean when the dialogues hold Hangul, else English."""
    return TEMPLATES["ko" if has_hangul([d.dialogue for d in dialogues]) else "en"]


def lead(dialogue: str, turns: int = 2) -> str:
    """The first ``turns`` non-empty lines of a dialogue, joined by a space."""
    lines = [line.strip() for line in dialogue.split("\n") if line.strip()]
    return " ".join(lines[:turns])


def baseline_summaries(kind: str, dialogues: list[Dialogue], template: str | None = None) -> list[str]:
    """``lead2``: the first two turns; ``template``: ``template`` (empty: one in the data's language) for every dialogue."""
    if kind == "lead2":
        return [lead(d.dialogue, 2) for d in dialogues]
    if kind == "template":
        template = template or template_for(dialogues)
        return [template for _ in dialogues]
    raise ValueError(f"unknown baseline {kind!r}; choose from {', '.join(BASELINES)}")
