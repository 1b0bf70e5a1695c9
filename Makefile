# Two set-up commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := sqlite:///demo.db

.PHONY: demo test bench serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,dask]'
	touch $(STAMP)

demo: $(STAMP)
	rm -f demo.db demo.db-wal demo.db-shm
	@echo "== The audit story (README, For auditors), migrated with its own recorded times: first, they are the oldest =="
	$(BIN)/billing-ledger --db $(DEMO_DB) record --preserve-recorded-at examples/audit-story.jsonl
	$(BIN)/billing-ledger --db $(DEMO_DB) record examples/seed-examples.jsonl
	@echo "== Seed example 1: 24 months at 50/month, paid 696, refund asked after 417 days =="
	$(BIN)/billing-ledger --db $(DEMO_DB) quote kec-1 --at 2027-02-22T10:00:00+08:00
	@echo "== Seed example 2: 1 core at 120/year, upgraded on day 90, refund asked 5 days later =="
	$(BIN)/billing-ledger --db $(DEMO_DB) quote kec-2 --at 2027-04-06T00:00:00+08:00
	$(BIN)/billing-ledger --db $(DEMO_DB) record examples/korpro-examples.jsonl
	@echo "== KorPro, performance-based: January's actual savings were 40% of the estimate (P-G2) =="
	$(BIN)/billing-ledger --db $(DEMO_DB) quote kp-1 --at 2026-03-10T00:00:00Z --mode savings_shortfall
	@echo "== KorPro, performance-based: a 36-hour outage in February (P-O1) =="
	$(BIN)/billing-ledger --db $(DEMO_DB) quote kp-1 --at 2026-03-10T00:00:00Z --mode outage
	@echo "== KorPro, fixed-rate (25 CPUs): cancelled within the 14-day trial (P-F1) =="
	$(BIN)/billing-ledger --db $(DEMO_DB) quote kp-2 --at 2026-01-20T00:00:00Z --mode trial
	@echo "== KorPro, fixed-rate: the billing error on inv-202 was approved at once (P-B1); its payment is late (P-R3) =="
	$(BIN)/billing-ledger --db $(DEMO_DB) overdue --at 2026-03-10T00:00:00Z

# The HTTP API and the web console on the demo ledger (made by `make demo` when missing):
# http://127.0.0.1:8000/console (sign in with a key: billing-ledger --db sqlite:///demo.db keys create --role auditor)
serve: $(STAMP)
	@test -f demo.db || $(MAKE) demo
	$(BIN)/billing-ledger --db $(DEMO_DB) serve --host 127.0.0.1 --port 8000

# The suite runs on SQLite and, through a throwaway server that scripts/ installs and starts, on PostgreSQL;
# scripts/test-env also installs chromium for the HTML timeline's render test and the console's browser tests.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy  # domain, projections, adapters: [tool.mypy] in pyproject.toml
	scripts/test-env $(BIN)/pytest -rs

# Speed is reported here, never asserted in tests. BENCH_INSTANCES=100000 make bench for a bigger run;
# BENCH_ARGS=--no-scale-out leaves out the ledger-wide jobs at --workers 1 and 2 (hours at 1,000,000 instances).
BENCH_INSTANCES ?= 10000
BENCH_REPEAT ?= 1
BENCH_ARGS ?=
bench: $(STAMP)
	scripts/test-env $(BIN)/python -m bench.run --instances $(BENCH_INSTANCES) --scale-out-repeat $(BENCH_REPEAT) $(BENCH_ARGS) --json bench/results.json

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm .pytest_cache .hypothesis .mypy_cache
