# The two commands of the README:
#   make demo   set up (first time) and run the helpdesk on the embedded default (SQLite, no credentials)
#   make test   set up, start the real test peers, and run the whole test suite (SQLite and PostgreSQL)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench bench-mail peers

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/helpdesk demo

peers:
	bash tests/peers/ensure.sh

test: $(STAMP) peers
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/triage_bench.py

bench-mail: $(STAMP) peers
	$(PY) bench/ingest_bench.py
