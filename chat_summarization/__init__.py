"""Dialogue summarization (BART-family) trained by the shared hand-written Ignite engine.

Data flows one way: file (:mod:`.dataset`) -> token ids (:mod:`.features`) -> batches -> engine
(:mod:`.training`) -> saved model directory (:mod:`.model`) -> summaries (:mod:`.generate`) ->
CSV (:mod:`.output`) -> ROUGE (:mod:`.rouge`).
"""
