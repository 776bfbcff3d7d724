# Two commands do all the set-up on a fresh machine:
#   make demo   - install into .venv, then train and use the models on an embedded default
#   make test   - install into .venv, then run the test suite
#   make bench  - run the benchmarks in bench/ (each prints ratios against a reference run alongside)
#   make app    - serve the web page (app.py) on the models `make demo` trained, at http://127.0.0.1:7860
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test bench clean app browser

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) demo.py

test: setup browser  # one pytest worker per CPU core, a test file per worker (its module fixtures built once)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n auto --dist loadfile tests

# app.py's browser test drives Debian's chromium through Playwright (never a browser download of its own):
# install it when it is missing and we may (root with apt-get); otherwise that one test is skipped, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && echo "installing chromium for the browser test" && \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null; } || \
	echo "note: chromium is missing and could not be installed; the browser test of app.py will be skipped"

app: setup
	$(PY) app.py --model_fn outputs/demo/nsmc.pth --summarizer outputs/demo/summarizer

bench: setup  # every benchmark, one after the other (about 15 minutes on 2 CPU cores); run on a quiet machine
	$(PY) bench/engine_overhead.py
	$(PY) bench/classify_throughput.py
	$(PY) bench/plm_vs_hf_trainer.py
	OMP_NUM_THREADS=1 $(PY) bench/summarization_vs_seq2seq_trainer.py

clean:
	rm -rf $(VENV) models outputs
