"""The page's summarizer: one dialogue -> the summary summarize.py writes for it (same settings, same decoding)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..errors import UserError

if TYPE_CHECKING:  # chat_summarization (transformers) is imported only when a summarizer is served
    from chat_summarization.generate import GenerationSettings
    from chat_summarization.model import Summarizer


@dataclass
class SummarizerService:
    """A loaded summarizer with the generation settings summarize.py would use."""

    summarizer: Summarizer
    settings: GenerationSettings
    max_source_length: int
    device: torch.device
    directory: Path

    @classmethod
    def load(cls, directory: str | Path, device: torch.device, num_beams: int | None = None,
             max_length: int | None = None) -> "SummarizerService":
        """Load a summarizer directory; ``num_beams``/``max_length`` override its saved settings (like summarize.py)."""
        from chat_summarization.model import load_summarizer, quiet_transformers

        with quiet_transformers():
            summarizer = load_summarizer(directory)
        settings = summarizer.info.generation_settings.updated(num_beams=num_beams, max_length=max_length)
        settings.validate()
        max_source_length = summarizer.info.max_source_length
        limit = getattr(summarizer.model.config, "max_position_embeddings", None)
        if limit is not None and max_source_length > limit:
            raise UserError(f"{directory}: max_source_length {max_source_length} exceeds the model's {limit} positions")
        summarizer.model.to(device).eval()
        return cls(summarizer, settings, max_source_length, device, Path(directory))

    def summarize(self, dialogue: str) -> str | None:
        """The summary of one dialogue (None for an empty one)."""
        from chat_summarization.dataset import Dialogue, normalize_text
        from chat_summarization.generate import summarize_dialogues

        text = normalize_text(dialogue)
        if not text:
            return None
        model, tokenizer = self.summarizer.model, self.summarizer.tokenizer
        return summarize_dialogues(model, tokenizer, [Dialogue("app", text)], self.settings, 1,
                                   self.max_source_length, self.device, progress=False)[0]
