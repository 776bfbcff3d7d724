"""Fine-tuning pretrained transformers (``AutoModelForSequenceClassification``) through the shared engine.

:mod:`.model` loads a model and its fast tokenizer and packs both into the model file, :mod:`.data`
turns examples into length-bucketed, per-batch padded batches, :mod:`.task` holds the losses and
validation metrics (softmax + cross-entropy, or sigmoid + BCE for multi-label), :mod:`.thresholds`
tunes per-label decision thresholds, :mod:`.train` is the ``train.py --bert`` pipeline and
:mod:`.predict` the classifier that classify.py loads.
"""
