"""``app.py``: a web page (Gradio) to try a trained classifier and summarizer and see how training went.

:mod:`.classifier` and :mod:`.summarizer` answer like classify.py and summarize.py do; :mod:`.model_panel`
gathers what the page shows about a model; :mod:`.highlight` turns per-word scores into highlighted words;
:mod:`.page` lays the page out; :mod:`.cli` parses the flags, loads the models and serves the page.
"""
