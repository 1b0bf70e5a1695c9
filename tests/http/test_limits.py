"""The limits, on a server configured tight: a body over the limit is 413, more requests per key than the
rate is 429 with Retry-After (another key is not held back), and `serve --workers` needs PostgreSQL."""

from __future__ import annotations

from tests.http.conftest import EXE, seed, serving


def test_a_body_over_the_limit_is_413_and_too_many_requests_429_per_key(tmp_path):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    made = seed(db)
    tight = {"BILLING_LEDGER_HTTP_MAX_BODY": "1000", "BILLING_LEDGER_HTTP_RATE": "5/minute"}
    with serving(db, tmp_path, env=tight) as s:
        s.keys = made
        big = s.post("/v1/feeds", "recorder", content=b"\n" * 1001)
        assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
        assert s.post("/v1/feeds", "recorder", content=b"\n" * 1000).json()["lines"] == 0  # at the limit: fine
        answers = [s.get("/v1/verify", "auditor") for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]  # the recorder's requests are its own
        assert answers[-1].status_code == 429 and int(answers[-1].headers["retry-after"]) >= 1
        assert s.get("/v1/verify", "finance").status_code == 200


def test_more_than_one_worker_needs_postgresql(tmp_path):
    import subprocess

    done = subprocess.run([str(EXE), "--db", f"sqlite:///{tmp_path / 'l.db'}", "serve", "--workers", "2"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "PostgreSQL" in done.stderr
