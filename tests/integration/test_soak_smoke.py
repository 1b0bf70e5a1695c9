"""The soak (bench/soak.py, issue 30 item 11) runs, tiny, so it cannot rot: a few clients for a few seconds on
PostgreSQL with ``--workers 2`` and a worker killed half-way, every check of it passing. The README's figures
come from the full run (32 clients, 2 minutes); no timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.conftest import ROOT
from tests.stores import PG_URL, fresh_pg_database


@pytest.mark.skipif(not PG_URL, reason="no PostgreSQL: run through `make test` (scripts/test-env)")
def test_the_soak_runs_and_its_checks_hold_with_a_worker_killed(tmp_path):
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, "-m", "bench.soak", "--db", fresh_pg_database(), "--clients", "4",
                           "--seconds", "12", "--json", str(out), "--log", str(tmp_path / "server.log")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr + (tmp_path / "server.log").read_text()[-3000:]
    figures = json.loads(out.read_text())
    assert figures["ok"] and set(figures["routes"]) == {"quote", "instances", "feeds", "refund-requests"}
    checks = figures["checks"]
    assert checks["verify"] and checks["acknowledged"]["feeds"] > 0 and checks["workers_at_the_end"] == 2
    assert "died" in (tmp_path / "server.log").read_text()  # a worker was killed (and replaced)
