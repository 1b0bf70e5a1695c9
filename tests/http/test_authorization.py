"""Every endpoint x every key (each role, unnarrowed and narrowed to acme) x own / other / unknown target:
the status is computed from the issue's rules (`RULES`), never pasted. Deny by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.http.conftest import OTHER, OWN, ROLES

# Issue 15, "Roles and scopes": what each role may do; issue 28: the refund center's apply, escalate (a
# customer, its own), decide (support: decide, reject, complete, decide escalations; every read).
RULES = {
    "admin": {"record", "customer-read", "read", "verify", "what-if", "reconcile", "export", "keys", "apply",
              "escalate", "decide", "metrics", "webhooks"},
    "recorder": {"record", "apply"},
    "finance": {"customer-read", "read", "verify", "what-if", "reconcile", "export"},
    "auditor": {"customer-read", "read", "verify"},
    "support": {"customer-read", "read", "decide"},
    "customer": {"customer-read", "apply", "escalate"},
}
INSTANCE = {OWN: "kec-1", OTHER: "kp-1", "unknown": "no-such-instance"}
QUERY = {OWN: "at=2027-02-22T10:00:00%2B08:00", OTHER: "at=2026-03-10T00:00:00Z&mode=outage",
         "unknown": "at=2026-03-10T00:00:00Z"}  # a request each instance's policy can judge
AT = QUERY[OWN]
WITH = {OWN: "kec-2", OTHER: "kp-1", "unknown": "no-such-instance"}  # refunded with kec-1: none may be (422)
REFUND = {OTHER: "rf-kp-2", "unknown": "no-such-refund"}  # rf-kp-2 is umbrella's: no acme key sees it
BAD = {"nonsense": 1}  # a body every write refuses (422): a call that is let through writes nothing
STATEMENT = "kind,reference,account,amount,currency,booked_at\ncharge,o-1,acme,696.00,CNY,2026-01-01T10:00:00+08:00\n"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # {i}: the target instance, {a}: the target account
    needs: str  # the function (RULES) it needs
    kind: str  # instance: 404 outside the key's accounts; account: 403 outside them; listing: filtered;
    #            ledger: needs an unnarrowed key (403 otherwise); mine: needs a narrowed key (403 otherwise);
    #            refund: 404 outside the key's accounts (there is no acme refund: other and unknown only)
    body: Any = None
    ok: int = 200

    def targets(self) -> tuple[str, ...]:
        every = (OWN, OTHER, "unknown")
        return {"instance": every, "with": every, "account": (OWN, OTHER), "listing": (OWN, OTHER),
                "refund": (OTHER, "unknown")}.get(self.kind, ("-",))

    def call(self, server, key: str | None, target: str):
        path = self.path.format(i=INSTANCE.get(target, ""), a=target, q=QUERY.get(target, ""),
                                w=WITH.get(target, ""), r=REFUND.get(target, ""))
        body = self.body(target) if callable(self.body) else self.body
        kw = {"json": body} if isinstance(body, (dict, list)) else {"content": body} if body is not None else {}
        return server.request(self.method, path, key, **kw)


ENDPOINTS = [
    Endpoint("feeds", "POST", "/v1/feeds", "record", "ledger",  # a line already recorded: a duplicate, no write
             body=(__import__("tests.http.conftest", fromlist=["purchase"]).purchase("race-0", "race") + "\n")),
    Endpoint("instances", "GET", "/v1/instances?account={a}", "customer-read", "listing"),  # issue 25, item 14
    Endpoint("accounts", "GET", "/v1/accounts", "read", "listing"),
    Endpoint("events", "GET", "/v1/events?limit=1", "customer-read", "listing"),  # issue 29: filtered to accounts
    Endpoint("refunds", "GET", "/v1/refunds?account={a}", "customer-read", "listing"),
    Endpoint("quote", "GET", "/v1/instances/{i}/quote?{q}", "customer-read", "instance"),
    Endpoint("quote with", "GET", f"/v1/instances/kec-1/quote?{AT}&with={{w}}", "customer-read", "with", ok=422),
    Endpoint("history", "GET", "/v1/instances/{i}/history", "customer-read", "instance"),
    Endpoint("timeline", "GET", "/v1/instances/{i}/timeline", "customer-read", "instance"),
    Endpoint("diff", "GET", "/v1/instances/{i}/diff?{q}&known_at=2026-01-01T00:00:00Z&vs=2030-01-01T00:00:00Z",
             "read", "instance"),
    Endpoint("overdue", "GET", "/v1/overdue?at=2026-03-10T00:00:00Z", "read", "ledger"),
    Endpoint("verify", "GET", "/v1/verify", "verify", "ledger"),
    Endpoint("what-if instance", "POST", "/v1/what-if", "what-if", "instance",
             body=lambda t: {"instance": INSTANCE[t], "at": "2026-03-10T00:00:00+00:00",
                             "mode": "outage" if t == OTHER else "auto"}),
    Endpoint("what-if ledger", "POST", "/v1/what-if", "what-if", "account", body=lambda t: {"account": t}),
    Endpoint("reconcile", "POST", "/v1/reconcile", "reconcile", "ledger", body=STATEMENT),
    Endpoint("export", "GET", "/v1/exports/refunds?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z",
             "export", "ledger"),
    Endpoint("keys", "GET", "/v1/keys", "keys", "ledger"),
    Endpoint("metrics", "GET", "/metrics", "metrics", "ledger"),  # issue 29: an unnarrowed admin key only
    Endpoint("webhooks", "GET", "/v1/webhooks", "webhooks", "ledger"),
    Endpoint("webhook add", "POST", "/v1/webhooks", "webhooks", "ledger", body=BAD, ok=422),
    Endpoint("key rotation", "POST", "/v1/keys/k_0000000000000000/rotation", "keys", "ledger",  # no such key
             body={"overlap": "1s"}, ok=422),
    Endpoint("me instances", "GET", "/v1/me/instances", "customer-read", "mine"),
    Endpoint("refund request", "POST", "/v1/instances/{i}/refund-requests", "apply", "instance", body=BAD, ok=422),
    Endpoint("decision", "POST", "/v1/refunds/{r}/decision", "decide", "refund", body=BAD, ok=422),
    Endpoint("escalation", "POST", "/v1/refunds/{r}/escalation", "escalate", "refund", body=BAD, ok=422),
    Endpoint("escalation decision", "POST", "/v1/refunds/{r}/escalation-decision", "decide", "refund", body=BAD,
             ok=422),
    Endpoint("completion", "POST", "/v1/refunds/{r}/completion", "decide", "refund", body=BAD, ok=422),
    Endpoint("rejection", "POST", "/v1/refunds/{r}/rejection", "decide", "refund", body=BAD, ok=422),
]
KEYS = [*(r for r in ROLES if r != "customer"), *(f"{r}@{OWN}" for r in ROLES)]


def expected(e: Endpoint, key: str, target: str) -> int:
    role, _, narrowed_to = key.partition("@")
    if e.needs not in RULES[role]:
        return 403
    if e.kind == "ledger" and narrowed_to:
        return 403
    if e.kind == "mine" and not narrowed_to:
        return 403
    if e.kind == "refund" and (target == "unknown" or narrowed_to):
        return 404  # the only refund there is is not acme's
    if e.kind == "account" and narrowed_to and target != narrowed_to:
        return 403
    if e.kind == "instance" and (target == "unknown" or (narrowed_to and target != narrowed_to)):
        return 404
    if e.kind == "with" and narrowed_to and target != narrowed_to:
        return 404  # for a key that sees every instance, an unknown or foreign --with is bad input (422)
    return e.ok


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_every_key_gets_exactly_what_the_rules_allow(server, endpoint):
    wrong = []
    for key in KEYS:
        for target in endpoint.targets():
            got = endpoint.call(server, key, target)
            if got.status_code != expected(endpoint, key, target):
                wrong.append((key, target, got.status_code, expected(endpoint, key, target), got.text[:200]))
            elif got.status_code >= 400:
                assert got.headers["content-type"] == "application/problem+json", got.text
    assert wrong == []


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_no_bad_or_revoked_key_gets_in(server, endpoint):
    for key in (None, "not-a-key", "blk_k_0123456789abcdef_" + "A" * 43, "revoked"):
        got = endpoint.call(server, key, endpoint.targets()[0])
        assert got.status_code == 401, (key, got.text)
        assert got.headers["www-authenticate"].startswith("Bearer")
        assert got.json()["status"] == 401


def test_an_instance_outside_the_keys_accounts_is_answered_exactly_as_an_unknown_one(server):
    other = server.get("/v1/instances/kp-1/history", "customer@acme")
    unknown = server.get("/v1/instances/kp-1-nope/history", "customer@acme")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"].replace("kp-1", "X") == unknown.json()["detail"].replace("kp-1-nope", "X")
    assert {k: v for k, v in other.json().items() if k != "detail"} == \
        {k: v for k, v in unknown.json().items() if k != "detail"}


@pytest.mark.parametrize("key", ["auditor@acme", "finance@acme", "admin@acme"])
def test_a_narrowed_key_lists_only_its_accounts(server, key):
    assert {r["account"] for r in server.get("/v1/instances", key).json()["instances"]} == {OWN}
    assert server.get("/v1/accounts", key).json()["accounts"] == [{"account": OWN, "instances": 2}]
    assert server.get(f"/v1/instances?account={OTHER}", key).json()["instances"] == []
    assert server.get(f"/v1/refunds?account={OTHER}", key).json()["refunds"] == []
    everyone = server.get("/v1/accounts", "admin").json()["accounts"]
    assert {a["account"] for a in everyone} >= {OWN, OTHER, "umbrella", "race"}


def test_a_customer_key_lists_exactly_its_accounts_instances(server):
    """Issue 25, item 14: a customer key lists its accounts' instances (403 before), and only theirs."""
    mine = server.get("/v1/instances", "customer@acme")
    assert mine.status_code == 200, mine.text
    assert [r["instance"] for r in mine.json()["instances"]] == \
        [r["instance"] for r in server.get(f"/v1/instances?account={OWN}", "admin").json()["instances"]]
    assert {r["instance"] for r in mine.json()["instances"]} >= {"kec-1", "kec-2"}
    assert server.get(f"/v1/instances?account={OTHER}", "customer@acme").json()["instances"] == []
    assert server.get("/v1/instances?product=KorPro", "customer@acme").json()["instances"] == []
    assert server.get("/v1/accounts", "customer@acme").status_code == 403  # the other reads stay "read"


def test_a_refusal_names_the_role_in_english(server):
    """Issue 25 item 15: ``an auditor key may not record`` (not ``a auditor``); ``a finance key``."""
    got = server.post("/v1/feeds", "auditor", content="\n")
    assert got.status_code == 403 and got.json()["detail"] == "an auditor key may not record", got.text
    assert server.post("/v1/feeds", "finance", content="\n").json()["detail"] == "a finance key may not record"
