# Two set-up commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := sqlite:///demo.db

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -f demo.db demo.db-wal demo.db-shm
	$(BIN)/billing-ledger --db $(DEMO_DB) record examples/seed-examples.jsonl
	@echo "== Seed example 1: 24 months at 50/month, paid 696, refund asked after 417 days =="
	$(BIN)/billing-ledger --db $(DEMO_DB) quote kec-1 --at 2027-02-22T10:00:00+08:00
	@echo "== Seed example 2: 1 core at 120/year, upgraded on day 90, refund asked 5 days later =="
	$(BIN)/billing-ledger --db $(DEMO_DB) quote kec-2 --at 2027-04-06T00:00:00+08:00

# The suite runs on SQLite and, through a throwaway server that scripts/ installs and starts, on PostgreSQL;
# scripts/test-env also installs chromium for the HTML timeline's render test.
test: $(STAMP)
	$(BIN)/ruff check .
	scripts/test-env $(BIN)/pytest -rs

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm .pytest_cache .hypothesis
