# The two commands of the README:
#   make run    set up (first time), show the triage of the sample queries, then run the helpdesk on the
#               embedded default (SQLite, drop folder var/inbox, mail written to var/outbox) until Ctrl-C
#   make test   set up, start the real test peers, and run the whole test suite (SQLite and PostgreSQL) in two
#               worker processes (each with its own Dovecot, PostgreSQL database and browser)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run demo test bench bench-mail bench-web peers

# "compat": the checkout goes on sys.path through a .pth line; setuptools' default editable finder costs every
# command about 12 ms of start-up (pyproject.toml keeps setuptools at a version that has the mode; its notice
# that the mode is transitional is silenced, the reason is this comment)
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Compat editable installs" \
		$(PY) -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/helpdesk demo
	$(VENV)/bin/helpdesk run

demo: $(STAMP)
	$(VENV)/bin/helpdesk demo

peers:
	bash tests/peers/ensure.sh

test: $(STAMP) peers
	$(PY) -m pytest -q -n 2

bench: $(STAMP)
	$(PY) bench/triage_bench.py

bench-mail: $(STAMP) peers
	$(PY) bench/ingest_bench.py

bench-web: $(STAMP) peers
	$(PY) bench/web_bench.py
