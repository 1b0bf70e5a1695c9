"""A third policy, written by following docs/policies.md, is one folder (``tests/policies/flat/``) and one
registry line (`registry.register`, here in a fixture): its own feed command (``buy_widget``, FLAT-0), its own
mode (``flat``), its own journal postings (FLAT-1 payable, FLAT-4 released, FLAT-3 paid back to the original
payment) and its own deadline (FLAT-2). Recorded, quoted, requested, scheduled, journalled, exported and settled
through the CLI and the HTTP API, next to a Kingsoft instance that keeps its policy."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.bootstrap import Settings, bootstrap
from adapters.formats.feed import BadInput
from adapters.http.app import create_app
from adapters.services import keys
from adapters.services.overview import account_overview
from domain.errors import LedgerError
from domain.policies import registry
from tests.feedkit import ledger_with, quote, record
from tests.integration.conftest import InProcessCLI
from tests.policies import flat
from tests.stores import STORES, store_url

pytestmark = pytest.mark.store

BUY = {"type": "buy_widget", "id": "buy-w-1", "at": "2026-03-02T09:00:00+00:00", "instance": "w-1",
       "account": "acme", "order": "wo-1", "price": "99.99", "currency": "EUR", "days": 30}
KEC = {"type": "purchase", "id": "buy-kec-1", "at": "2026-03-01T09:00:00+08:00", "instance": "kec-1",
       "account": "acme", "product": "KEC", "order": "o-kec-1", "months": 1, "monthly_price": "100.00",
       "payment": {"cash": "100.00"}}
REQUEST = {"type": "request_refund", "id": "rq-w-1", "at": "2026-03-05T10:00:00+00:00", "instance": "w-1",
           "refund": "rf-w-1", "mode": "flat"}
COMPLETE = {"type": "complete_refund", "id": "done-w-1", "at": "2026-03-06T10:00:00+00:00", "refund": "rf-w-1"}


def feed(*lines: dict) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


@pytest.fixture(autouse=True)
def flat_registered() -> Iterator[None]:
    unregister = registry.register(flat.POLICY)  # the one registry line
    yield
    unregister()


@pytest.fixture(params=STORES)
def cli(request, tmp_path: Path) -> InProcessCLI:
    return InProcessCLI(store_url(request.param, tmp_path), tmp_path)


def test_the_cli_records_quotes_requests_schedules_journals_exports_and_settles_it(cli: InProcessCLI,
                                                                                   tmp_path: Path):
    assert "recorded 2" in cli.ok("record", "-", input=feed(BUY, KEC))
    q = cli.json("quote", "w-1", "--at", "2026-03-05T10:00:00+00:00", "--mode", "flat")
    assert (q["policy"], q["mode"], q["amount"], q["currency"]) == ("flat-2026", "flat", "50.00", "EUR")  # FLAT-1
    assert [(ln["rule"], ln["refund"]) for ln in q["lines"]] == [("FLAT-1", "50.00")]  # 49.995 half-up
    assert cli.json("quote", "w-1", "--at", "2026-04-02T10:00:00+00:00")["reasons"][0]["rule"] == "FLAT-1"
    assert cli.json("quote", "kec-1", "--at", "2026-03-02T10:00:00+08:00")["policy"] == "kingsoft-2021-05-27"
    bad = cli.run("record", "-", input=feed({**REQUEST, "instance": "kec-1", "refund": "rf-k"}))
    assert bad.returncode == 2 and "mode: 'flat' is not a mode of kingsoft-2021-05-27" in bad.stderr + bad.stdout

    cli.ok("record", "-", input=feed(REQUEST))
    late = cli.json("overdue", "--at", "2026-03-12T00:00:00+00:00")  # FLAT-2: 2 working days from Thu 5 March
    assert [(o["refund"], o["rule"], o["policy"]) for o in late["overdue"]] == [("rf-w-1", "FLAT-2", "flat-2026")]
    assert cli.json("overdue", "--at", "2026-03-09T09:00:00+00:00")["overdue"] == []  # due Mon 9 March, end of day

    cli.ok("record", "-", input=feed(COMPLETE))
    assert cli.json("overdue", "--at", "2026-03-12T00:00:00+00:00")["overdue"] == []
    cli.ok("journal", "--from", "2026-03-01T00:00:00+00:00", "--to", "2026-04-01T00:00:00+00:00",
           "--out", str(tmp_path / "j.csv"), "--format", "csv")
    rows = list(csv.DictReader((tmp_path / "j.csv").open(encoding="utf-8")))
    mine = {(r["kind"], r["account"], r["amount"], r["rules"]) for r in rows if r["ref"] == "rf-w-1"}
    assert mine == {("refund_accepted", "Liabilities:Deferred", "89.85", "FLAT-1, FLAT-4"),  # payable, released
                    ("refund_accepted", "Liabilities:RefundsPayable", "-50.00", "FLAT-1, FLAT-4"),
                    ("refund_accepted", "Income:Revenue:Released", "-39.85", "FLAT-1, FLAT-4"),
                    ("refund_completed", "Liabilities:RefundsPayable", "50.00", "FLAT-3"),  # paid back (FLAT-3)
                    ("refund_completed", "Assets:Payouts:OriginalPayment", "-50.00", "FLAT-3")}, mine
    paid = {(r["account"], r["amount"], r["rules"]) for r in rows if r["ref"] == "wo-1"}
    assert paid == {("Assets:Receipts:Cash", "99.99", "FLAT-0"), ("Liabilities:Deferred", "-99.99", "FLAT-0")}
    cli.ok("export", "refunds", "--from", "2026-03-01T00:00:00+00:00", "--to", "2026-04-01T00:00:00+00:00",
           "--out", str(tmp_path / "r.csv"))
    refunds = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert [(r["refund"], r["policy"], r["state"]) for r in refunds] == [("rf-w-1", "flat-2026", "completed")]


def test_its_parameters_are_overridden_like_any_others_and_a_mode_no_policy_knows_is_bad_input():
    ledger = ledger_with(BUY, KEC)
    assert quote(ledger, "w-1", at=datetime.fromisoformat(REQUEST["at"]), mode="flat",
                 overrides={"share": "0.25"}).amount == Decimal("25.00")  # FLAT-1 with share 25%: 24.9975
    with pytest.raises(LedgerError, match="unknown policy parameter"):
        quote(ledger, "w-1", at=datetime.fromisoformat(REQUEST["at"]), mode="flat", overrides={"colour": "red"})
    known = "auto, five_day, self_service, exception, flat, money_back, "  # the fallback's first, then registered
    with pytest.raises(BadInput, match=f"line 1: mode: unknown mode 'nope' \\(known: {known}"):
        record(ledger, {**REQUEST, "mode": "nope"})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # starlette's TestClient on httpx
def test_the_http_api_records_quotes_requests_schedules_and_exports_it(tmp_path: Path):
    app = bootstrap(Settings.resolve(store_url("sqlite", tmp_path)))
    try:
        secret = keys.create_key(app, "admin", name="admin").key
        with TestClient(create_app(app), headers={"Authorization": f"Bearer {secret}"}) as http:
            def post(*lines: dict) -> httpx.Response:
                return http.post("/v1/feeds", content=feed(*lines))

            assert post(BUY, KEC).json()["recorded"] == 2
            q = http.get("/v1/instances/w-1/quote", params={"at": "2026-03-05T10:00:00+00:00", "mode": "flat"}).json()
            assert (q["policy"], q["mode"], q["amount"]) == ("flat-2026", "flat", "50.00")
            bad = post({**BUY, "days": 0, "id": "buy-w-2", "instance": "w-2", "order": "wo-2"})
            assert bad.status_code == 422 and "days" in bad.text
            assert post(REQUEST).json()["recorded"] == 1
            late = http.get("/v1/overdue", params={"at": "2026-03-12T00:00:00+00:00"}).json()["overdue"]
            assert [(o["refund"], o["rule"]) for o in late] == [("rf-w-1", "FLAT-2")]
            assert post(COMPLETE).json()["recorded"] == 1
            assert http.get("/v1/overdue", params={"at": "2026-03-12T00:00:00+00:00"}).json()["overdue"] == []
            export = http.get("/v1/exports/orders", params={"from": "2026-03-01T00:00:00+00:00",
                                                         "to": "2026-04-01T00:00:00+00:00"})
            orders = {(r["order"], r["paid"]) for r in csv.DictReader(io.StringIO(export.text))}
            assert ("wo-1", "99.99") in orders, orders
        # a policy without a quota (K-Q1 is Kingsoft's): its applications fill no quota month
        assert account_overview(app, "acme").quota == []
    finally:
        app.close()
