"""What the page's model panel shows: a model's kind and labels, training scores, confusion matrices, curves.

Everything comes from the model file (labels, config, the scores train.py stored) and the PNGs train.py
wrote beside it (``x.valid.confusion.png``, ``x.curves.png``). A confusion heatmap missing beside the
model is drawn from the stored scores into ``workdir``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..curves import curves_path
from ..predict import Predictor
from .summarizer import SummarizerService

MAX_LABELS_SHOWN = 50


@dataclass
class PanelFigure:
    caption: str
    path: Path


@dataclass
class ModelPanel:
    """One model's section of the panel (Markdown texts and PNG files)."""

    title: str
    description: str
    scores: str = ""
    confusion: list[PanelFigure] = field(default_factory=list)
    curves: PanelFigure | None = None
    curves_note: str = ""
    config: dict[str, Any] | None = None


def code(text: object) -> str:
    """``text`` as a Markdown code span (safe for any characters but newlines)."""
    text = str(text).replace("\n", " ")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _curves(model_path: Path) -> tuple[PanelFigure | None, str]:
    path = curves_path(model_path)
    if path.is_file():
        return PanelFigure("training curves", path), ""
    return None, (f"No training curves beside the model ({path.name}): a model trained before training curves "
                  "were recorded has none; retrain it to get them.")


def describe_classifier(model_fn: Path, data: Mapping[str, Any], predictor: Predictor) -> str:
    config = data.get("config") or {}
    names = predictor.model_names
    if data.get("kind") == "plm":
        kind = f"fine-tuned {code(data.get('pretrained_model_name') or 'transformer')} ({', '.join(names)})"
    else:
        kind = " + ".join(name.upper() for name in names) + (" ensemble (mean of probabilities)" if len(names) > 1
                                                             else "")
        kind += f"; tokenizer {code(config.get('tokenizer', '?'))}"
    labels = predictor.labels
    shown = ", ".join(code(label) for label in labels[:MAX_LABELS_SHOWN])
    more = f" and {len(labels) - MAX_LABELS_SHOWN} more" if len(labels) > MAX_LABELS_SHOWN else ""
    lines = [f"**Model file:** {code(model_fn)}", f"**Model:** {kind}",
             f"**Input:** {'sentence pairs (text_a, text_b)' if predictor.pair else 'single texts'}",
             f"**Labels ({len(labels)}{', multi-label' if predictor.multi_label else ''}):** {shown}{more}"]
    if predictor.multi_label:
        lines.append("**Thresholds:** " + ", ".join(f"{code(label)} {t:.2f}"
                                                    for label, t in zip(labels, predictor.thresholds)))
    if config.get("train_fn"):
        lines.append(f"**Trained on:** {code(config['train_fn'])}")
    return "  \n".join(lines)


def scores_table(report: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The scores train.py stored: one row per split and model (ensemble included)."""
    summaries = [(split, name, summary) for split, per_model in report.items() for name, summary in per_model.items()]
    if not summaries:
        return ""
    multi_label = any(summary.get("multi_label") for _, _, summary in summaries)
    columns = ["split", "model", "examples", "exact match" if multi_label else "accuracy", "macro-F1", "micro-F1",
               *(["samples-F1"] if multi_label else [])]
    keys = ["accuracy", "macro_f1", "micro_f1", *(["samples_f1"] if multi_label else [])]
    rows = [f"| {split} | {name} | {summary.get('n', '')} | "
            + " | ".join(f"{summary[key]:.4f}" if key in summary else "" for key in keys) + " |"
            for split, name, summary in summaries]
    header = ["| " + " | ".join(columns) + " |", "|---|---|" + "---:|" * (len(columns) - 2)]
    return "\n".join([*header, *rows])


def confusion_figures(model_fn: Path, report: Mapping[str, Mapping[str, Mapping[str, Any]]], labels: Sequence[str],
                      workdir: Path) -> list[PanelFigure]:
    """Each split's heatmap: the PNG beside the model, else one drawn from the stored counts."""
    from ..evaluate import heatmap_path, save_confusion_heatmap

    figures = []
    for split, per_model in report.items():
        name = "ensemble" if "ensemble" in per_model else next(iter(per_model), None)
        if name is None:
            continue
        path = heatmap_path(model_fn, split)
        if not path.is_file():
            path = workdir / f"{split}.confusion.png"
            save_confusion_heatmap(path, per_model[name], labels, f"{split} / {name}")
        figures.append(PanelFigure(f"{split} / {name}", path))
    return figures


def classifier_panel(model_fn: str | Path, data: Mapping[str, Any], predictor: Predictor, workdir: Path) -> ModelPanel:
    model_fn = Path(model_fn)
    report = data.get("report") or {}
    curves, note = _curves(model_fn)
    return ModelPanel("Classifier", describe_classifier(model_fn, data, predictor), scores_table(report),
                      confusion_figures(model_fn, report, predictor.labels, workdir), curves, note,
                      data.get("config"))


def summarizer_panel(service: SummarizerService) -> ModelPanel:
    info, settings = service.summarizer.info, service.settings
    parameters = sum(p.numel() for p in service.summarizer.model.parameters())
    lines = [f"**Directory:** {code(service.directory)}", f"**Base model:** {code(info.base_model)} "
             f"({parameters / 1e6:.1f}M parameters)",
             f"**Generation:** {settings.num_beams} beam(s), at most {settings.max_length} tokens, "
             f"no_repeat_ngram_size {settings.no_repeat_ngram_size}, length_penalty {settings.length_penalty}",
             f"**Dialogue tokens kept:** {service.max_source_length}"]
    if info.tags:
        lines.append("**Tags (special tokens):** " + ", ".join(code(tag) for tag in info.tags))
    curves, note = _curves(service.directory)
    return ModelPanel("Summarizer", "  \n".join(lines), curves=curves, curves_note=note)
