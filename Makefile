# Two commands do all the set-up on a fresh machine:
#   make demo   - install into .venv, then train and use the models on an embedded default
#   make test   - install into .venv, then run the test suite
#   make bench  - run the benchmarks in bench/ (each prints ratios against a reference run alongside)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) demo.py

test: setup
	$(PY) -m pytest -q tests

bench: setup  # every benchmark, one after the other (about 15 minutes on 2 CPU cores); run on a quiet machine
	$(PY) bench/engine_overhead.py
	$(PY) bench/classify_throughput.py
	$(PY) bench/plm_vs_hf_trainer.py
	OMP_NUM_THREADS=1 $(PY) bench/summarization_vs_seq2seq_trainer.py

clean:
	rm -rf $(VENV) models outputs
