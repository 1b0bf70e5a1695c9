"""Issue 30, defect 3: the rate limit is counted in the ledger's database, so it holds whatever the number of
worker processes: two servers on one ledger (as two workers of one) share each key's window. Before, each
process counted alone (``--workers 2`` let 46-59 of 60 requests through a limit of 30)."""

from __future__ import annotations

import contextlib

import pytest

from tests.http.conftest import seed, serving
from tests.stores import STORES, store_url


@pytest.mark.parametrize("store", STORES)
def test_two_server_processes_on_one_ledger_share_each_keys_rate(store, tmp_path):
    db = store_url(store, tmp_path)
    made = seed(db)
    rate = {"BILLING_LEDGER_HTTP_RATE": "5/minute"}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(serving(db, tmp_path, env=rate)) for _ in range(2)]
        for s in servers:
            s.keys = made
        answers = [servers[n % 2].get("/v1/verify", "auditor") for n in range(12)]
        assert [a.status_code for a in answers] == [200] * 5 + [429] * 7
        assert all(1 <= int(a.headers["retry-after"]) <= 60 for a in answers[5:])
        assert answers[5].headers["content-type"] == "application/problem+json"
        assert all(s.get("/v1/verify", "finance").status_code == 200 for s in servers)  # another key: its own
