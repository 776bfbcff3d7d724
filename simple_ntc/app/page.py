"""The page: a Gradio ``Blocks`` with a tab per job (classify, summarize) and a model panel.

Element ids (``classify-text``, ``classify-button``, ``classify-prediction``, ``summarize-dialogue``,
``summarize-button``, ``summary``, ...) are stable: the browser test and users' own scripts find the
page's parts by them. The page loads nothing from outside the app's own server.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .classifier import ClassifierService, Prediction
from .highlight import highlighted_words
from .model_panel import ModelPanel, PanelFigure, code
from .summarizer import SummarizerService

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry, no version check: the page works offline
LABELS_IN_CHART = 10
DIALOGUE_PLACEHOLDER = "#Person1#: Hello, how can I help you?\n#Person2#: I'd like to book a table for two."


def _cell(text: str) -> str:
    return code(text).replace("|", "\\|")


def prediction_markdown(prediction: Prediction | None) -> str:
    """The predicted labels (as classify.py prints them) and a table of every label's probability."""
    if prediction is None:
        return "*Type a text to classify.*"
    if prediction.label_field:
        head = f"**Prediction:** {code(prediction.label_field)}"
    else:
        head = "**Prediction:** no label (none reaches its threshold)"
    if prediction.thresholds is None:
        rows = [f"| {_cell(label)} | {p:.4f} |" for label, p in prediction.probabilities]
        table = ["| label | probability |", "|---|---:|", *rows]
    else:
        rows = [f"| {_cell(label)} | {p:.4f} | {prediction.thresholds[label]:.2f} | "
                f"{'yes' if label in prediction.predicted else ''} |" for label, p in prediction.probabilities]
        table = ["| label | probability | threshold | predicted |", "|---|---:|---:|:---:|", *rows]
    return "\n".join([head, "", *table])


def chart_value(prediction: Prediction | None) -> dict[str, float] | None:
    """``gr.Label`` value: the most probable labels and their probabilities."""
    if prediction is None:
        return None
    return dict(prediction.probabilities[:LABELS_IN_CHART])


def highlight_value(prediction: Prediction | None) -> list[tuple[str, float | None]] | None:
    if prediction is None or prediction.word_scores is None:
        return None
    return highlighted_words(prediction.word_scores)


def classify_handler(service: ClassifierService) -> Any:
    """The click handler: (text[, text_pair][, model]) -> (prediction Markdown, chart, highlighted words)."""
    pair, choose = service.predictor.pair, len(service.model_choices) > 1

    def handle(*inputs: str) -> tuple[str, dict[str, float] | None, Any]:
        values = list(inputs)
        text = values.pop(0)
        text_pair = values.pop(0) if pair else None
        model = values.pop(0) if choose else None
        prediction = service.predict(text or "", text_pair, model)
        return prediction_markdown(prediction), chart_value(prediction), highlight_value(prediction)

    return handle


def summarize_handler(service: SummarizerService) -> Any:
    def handle(dialogue: str) -> str:
        summary = service.summarize(dialogue or "")
        return "" if summary is None else summary

    return handle


def _image(gr: Any, figure: PanelFigure) -> Any:
    from PIL import Image

    with Image.open(figure.path) as image:
        image.load()
        return gr.Image(value=image.copy(), type="pil", format="png", label=figure.caption, show_label=False,
                        interactive=False, buttons=["download", "fullscreen"])  # the PNG has its own title


def _classify_tab(gr: Any, service: ClassifierService) -> None:
    predictor = service.predictor
    with gr.Tab("Classify a pair" if predictor.pair else "Classify", id="classify"):
        with gr.Row():
            with gr.Column(scale=3):
                inputs = [gr.Textbox(label="first text" if predictor.pair else "text", lines=3,
                                     placeholder="Type or paste a text", elem_id="classify-text")]
                if predictor.pair:
                    inputs.append(gr.Textbox(label="second text", lines=3, elem_id="classify-text-pair"))
                if len(service.model_choices) > 1:
                    inputs.append(gr.Radio(service.model_choices, value=service.model_choices[0], label="model",
                                           elem_id="classify-model"))
                button = gr.Button("Classify", variant="primary", elem_id="classify-button")
            with gr.Column(scale=2):
                markdown = gr.Markdown(prediction_markdown(None), elem_id="classify-prediction")
                chart = gr.Label(label="probabilities", num_top_classes=LABELS_IN_CHART, elem_id="classify-chart")
        words = gr.HighlightedText(label="words behind the decision", show_legend=False, combine_adjacent=False,
                                   visible=service.word_scorer is not None, elem_id="classify-words")
        outputs = [markdown, chart, words]
        handler = classify_handler(service)
        button.click(handler, inputs, outputs, api_name="classify")
        inputs[0].submit(handler, inputs, outputs)


def _summarize_tab(gr: Any, service: SummarizerService) -> None:
    settings = service.settings
    with gr.Tab("Summarize", id="summarize"):
        dialogue = gr.Textbox(label="dialogue (one turn per line)", lines=10, placeholder=DIALOGUE_PLACEHOLDER,
                              elem_id="summarize-dialogue")
        button = gr.Button("Summarize", variant="primary", elem_id="summarize-button")
        summary = gr.Textbox(label="summary", lines=3, interactive=False, elem_id="summary", buttons=["copy"])
        gr.Markdown(f"Beam search with {settings.num_beams} beam(s), at most {settings.max_length} tokens, as "
                    "summarize.py writes it with this model.")
        button.click(summarize_handler(service), [dialogue], [summary], api_name="summarize")


def _panel_section(gr: Any, panel: ModelPanel) -> None:
    gr.Markdown(f"### {panel.title}")
    gr.Markdown(panel.description, elem_id=f"panel-{panel.title.lower()}")
    if panel.scores:
        gr.Markdown("**Scores at the end of training** (best weights)\n\n" + panel.scores,
                    elem_id=f"panel-{panel.title.lower()}-scores")
    if panel.confusion:
        with gr.Row():
            for figure in panel.confusion:
                _image(gr, figure)
    if panel.curves is not None:
        _image(gr, panel.curves)
    elif panel.curves_note:
        gr.Markdown(f"*{panel.curves_note}*")
    if panel.config:
        with gr.Accordion("training configuration", open=False):
            gr.JSON(panel.config)


def build_page(classifier: ClassifierService | None, summarizer: SummarizerService | None,
               panels: Sequence[ModelPanel], subtitle: str = "") -> Any:
    """The whole page as a ``gr.Blocks`` (not launched)."""
    import gradio as gr

    with gr.Blocks(title="simple-ntc demo", analytics_enabled=False) as page:
        gr.Markdown("## simple-ntc demo" + (f"\n{subtitle}" if subtitle else ""))
        with gr.Tabs():
            if classifier is not None:
                _classify_tab(gr, classifier)
            if summarizer is not None:
                _summarize_tab(gr, summarizer)
            with gr.Tab("Model", id="model"):
                for panel in panels:
                    _panel_section(gr, panel)
    return page
