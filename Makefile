# Two commands do all the set-up on a fresh machine:
#   make demo   - install into .venv, then train and use the models on an embedded default
#   make test   - install into .venv, then run the test suite
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

bench: setup
	$(PY) bench/engine_overhead.py

clean:
	rm -rf $(VENV) models outputs
