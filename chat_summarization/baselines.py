"""Trivial summaries any model must beat: the first two turns, or one fixed sentence."""
from __future__ import annotations

from .dataset import Dialogue

BASELINES = ("lead2", "template")
DEFAULT_TEMPLATE = "#Person1#은 #Person2#에게 이야기한다."


def lead(dialogue: str, turns: int = 2) -> str:
    """The first ``turns`` non-empty lines of a dialogue, joined by a space."""
    lines = [line.strip() for line in dialogue.split("\n") if line.strip()]
    return " ".join(lines[:turns])


def baseline_summaries(kind: str, dialogues: list[Dialogue], template: str = DEFAULT_TEMPLATE) -> list[str]:
    """``lead2``: the first two turns; ``template``: ``template`` for every dialogue."""
    if kind == "lead2":
        return [lead(d.dialogue, 2) for d in dialogues]
    if kind == "template":
        return [template for _ in dialogues]
    raise ValueError(f"unknown baseline {kind!r}; choose from {', '.join(BASELINES)}")
