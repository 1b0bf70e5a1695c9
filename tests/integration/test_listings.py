"""The listings through the real CLI: `instances`, `accounts` and `refunds` list exactly what the recorded
feeds contain (the expected sets are worked out here from the feed files), as known at --known-at."""

import json
from collections import Counter

import pytest

from tests.integration.conftest import CLI, ROOT

AUDIT = ROOT / "examples" / "audit-story.jsonl"  # recorded with its own (2026) recorded times
FEEDS = [ROOT / "examples" / "seed-examples.jsonl", ROOT / "examples" / "korpro-examples.jsonl"]
SETTLE = {"type": "complete_refund", "id": "t-settle", "at": "2026-02-20T00:00:00Z", "refund": "rf-kp-2"}
BEFORE_THE_REFUND = "2026-04-21T00:00:00Z"  # after the audit story's retraction, before its refund request


def lines() -> list[dict]:
    return [json.loads(x) for path in [AUDIT, *FEEDS] for x in path.read_text().splitlines() if x.strip()] + [SETTLE]


def opened(feed: list[dict]) -> dict[str, dict]:
    """Instance -> its opening line (purchase or subscription), unless a retraction voids it."""
    void = {x["target"] for x in feed if x["type"] == "retract"}
    return {x["instance"]: x for x in feed if x["type"] in ("purchase", "subscribe") and x.get("id") not in void}


@pytest.fixture
def ledger(cli: CLI) -> CLI:
    assert "denied 0" in cli.ok("record", "--preserve-recorded-at", str(AUDIT))
    for feed in FEEDS:
        assert "denied 0" in cli.ok("record", str(feed))
    cli.ok("record", "-", input=json.dumps(SETTLE) + "\n")
    return cli


def test_instances_and_accounts_list_exactly_what_was_opened(ledger: CLI):
    feed = lines()
    heads = opened(feed)
    listed = ledger.json("instances")["instances"]
    assert [r["instance"] for r in listed] == sorted(heads)
    for r in listed:
        head = heads[r["instance"]]
        assert (r["account"], r["opened_at"]) == (head["account"], head["at"].replace("Z", "+00:00"))
        assert r["product"] == head.get("product", "KorPro")
    # K-L3: an accepted Kingsoft application releases its instance; a KorPro request never does
    kingsoft_requests = {x["instance"]: x["refund"] for x in feed
                         if x["type"] == "request_refund" and heads[x["instance"]]["type"] == "purchase"}
    assert {r["instance"]: r["released_by"] for r in listed} == {
        name: kingsoft_requests.get(name) for name in heads}
    assert ledger.json("accounts")["accounts"] == [
        {"account": a, "instances": n} for a, n in sorted(Counter(h["account"] for h in heads.values()).items())]


def test_instances_filter_by_account_product_and_limit(ledger: CLI):
    heads = opened(lines())
    acme = sorted(name for name, h in heads.items() if h["account"] == "acme")
    assert [r["instance"] for r in ledger.json("instances", "--account", "acme")["instances"]] == acme
    korpro = sorted(name for name, h in heads.items() if h["type"] == "subscribe")
    assert [r["instance"] for r in ledger.json("instances", "--product", "KorPro")["instances"]] == korpro
    assert [r["instance"] for r in ledger.json("instances", "--limit", "2")["instances"]] == sorted(heads)[:2]
    table = ledger.ok("instances")
    assert all(name in table for name in heads) and f"{len(heads)} instance(s)" in table


def test_refunds_list_every_request_and_open_ones_as_known_at(ledger: CLI):
    feed = lines()
    requested = {x["refund"]: x for x in feed if x["type"] == "request_refund"}
    settled = {x["refund"] for x in feed if x["type"] in ("complete_refund", "reject_refund")}
    listed = ledger.json("refunds")["refunds"]
    assert sorted(r["refund"] for r in listed) == sorted(requested)
    assert {r["refund"]: r["instance"] for r in listed} == {k: x["instance"] for k, x in requested.items()}
    assert list(listed[0]) == ["refund", "instance", "account", "policy", "mode", "requested_at", "recorded_at",
                               "currency", "amount", "state", "settled_at"]
    still_open = ledger.json("refunds", "--open")["refunds"]
    assert sorted(r["refund"] for r in still_open) == sorted(set(requested) - settled)
    assert {r["state"] for r in listed if r["refund"] in settled} == {"completed"}
    heads = opened(feed)
    umbrella = [k for k, x in requested.items() if heads[x["instance"]]["account"] == "umbrella"]
    assert [r["refund"] for r in ledger.json("refunds", "--account", "umbrella")["refunds"]] == umbrella
    # as known before the audit story's refund was recorded (and before the other feeds were recorded)
    assert ledger.json("refunds", "--known-at", BEFORE_THE_REFUND)["refunds"] == []
    early = ledger.json("instances", "--known-at", BEFORE_THE_REFUND)["instances"]
    audit = opened([json.loads(x) for x in AUDIT.read_text().splitlines() if x.strip()])
    assert [(r["instance"], r["released_by"]) for r in early] == [(name, None) for name in sorted(audit)]
