"""A refund's life through the real CLI on SQLite: requested, denied, completed, overdue (K-L1, K-L2, K-L3)."""

import json

from tests.integration.conftest import CLI


def lines(*objs) -> str:
    return "\n".join(json.dumps(o) for o in objs) + "\n"


BUY = {"type": "purchase", "at": "2026-01-01T00:00:00+08:00", "account": "acme", "months": 12,
       "monthly_price": "30.00", "payment": {"cash": "360.00"}}


def test_request_complete_and_overdue_through_the_cli_K_L1_K_L2_K_L3(cli: CLI):
    out = cli.ok("record", "-", input=lines(
        {**BUY, "instance": "db-1", "product": "MongoDB", "order": "o-1"},
        {**BUY, "instance": "db-2", "product": "MongoDB", "order": "o-2"},
        {**BUY, "instance": "cdn-1", "product": "CDN", "order": "o-3"},
        {"type": "request_refund", "at": "2026-01-09T10:00:00+08:00", "instance": "db-1", "refund": "r1"},
        {"type": "request_refund", "at": "2026-01-09T10:00:00+08:00", "instance": "db-2", "refund": "r2"},
        {"type": "request_refund", "at": "2026-01-09T10:00:00+08:00", "instance": "cdn-1", "refund": "r3"},
    ))
    assert "recorded 6, duplicates 0, denied 1" in out
    facts = cli.json("history", "db-1")["facts"]
    applied = facts[-1]
    assert applied["fact"] == "RefundApplied"
    assert applied["details"]["quote"]["amount"] == applied["details"]["amount"] == "351.00"  # 360 - 9 days x 1.00
    denied = cli.json("history", "cdn-1")["facts"][-1]
    assert denied["fact"] == "RefundDenied" and denied["details"]["reasons"][0]["rule"] == "K-F2"

    cli.ok("record", "-", input=lines({"type": "complete_refund", "at": "2026-01-12T09:00:00+08:00",
                                       "refund": "r1"}))
    late = json.loads(cli.ok("overdue", "--at", "2026-01-17T00:00:00+08:00", "--json"))["overdue"]
    assert [o["refund"] for o in late] == ["r2"]
    assert late[0]["due"] == "2026-01-16T23:59:59.999999+08:00"
    assert json.loads(cli.ok("overdue", "--at", "2026-01-16T12:00:00+08:00", "--json"))["overdue"] == []

    again = cli.run("record", "-", input=lines({"type": "complete_refund", "at": "2026-01-13T00:00:00+08:00",
                                                "refund": "r1"}))
    assert again.returncode == 2 and again.stderr.startswith("line 1: refund: refund 'r1' is completed")
    renew = cli.run("record", "-", input=lines({"type": "renew", "at": "2026-01-20T00:00:00+08:00",
                                                "instance": "db-1", "order": "o-9", "months": 1,
                                                "monthly_price": "30.00", "payment": {"cash": "30.00"}}))
    assert renew.returncode == 2 and "released by refund 'r1'" in renew.stderr


def test_quote_judges_the_mode_and_lists_every_reason(cli: CLI):
    cli.ok("record", "-", input=lines({**BUY, "instance": "cdn-1", "product": "CDN", "order": "o-3"}))
    q = cli.json("quote", "cdn-1", "--at", "2026-01-10T00:00:00+08:00")
    assert (q["eligible"], q["mode"], q["outcome"], q["amount"], q["lines"]) == (False, "none", "denied", "0.00", [])
    assert [r["rule"] for r in q["reasons"]] == ["K-F2", "K-S1", "K-F1"]
    ok = cli.json("quote", "cdn-1", "--at", "2026-01-10T00:00:00+08:00", "--exception-report", "ER-1")
    assert (ok["eligible"], ok["mode"], ok["amount"]) == (True, "exception", "351.00")  # 360 - 9 x 1.00
    bad = cli.run("quote", "cdn-1", "--at", "2026-01-10T00:00:00+08:00", "--mode", "sometimes")
    assert bad.returncode == 2 and "--mode" in bad.stderr
