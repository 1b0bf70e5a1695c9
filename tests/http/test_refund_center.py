"""The refund center's API (issue 28) through a real server on both stores: the Unsubscribe management list
(own instances only, a quote per mode, K-F2's window, K-Q1's quota), applying for a refund (exactly what the
``request_refund`` feed line records, the same 404 for another account's instance as for an unknown one,
K-Q1 under 16 concurrent applications, ``Idempotency-Key``), and a KorPro request through its whole process
(P-R2, P-D1, P-R3) with every deadline checked against ``GET /v1/overdue``."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from tests.http.conftest import at_once

RACE = 16


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _record(server, *lines: dict) -> None:
    got = server.post("/v1/feeds", "recorder", content="\n".join(json.dumps(x) for x in lines) + "\n")
    assert got.status_code == 200 and got.json()["recorded"] == len(lines), got.text


def _buy(instance: str, account: str, at: datetime, product: str = "MongoDB") -> dict:
    return {"type": "purchase", "at": at.isoformat(), "instance": instance, "account": account, "product": product,
            "order": f"o-{instance}", "months": 12, "monthly_price": "30.00", "payment": {"cash": "360.00"}}


def _customer(server, *accounts: str) -> str:
    made = server.post("/v1/keys", "admin", json={"role": "customer", "accounts": list(accounts)})
    assert made.status_code == 201, made.text
    return made.json()["key"]


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_customer_lists_only_its_own_instances_with_a_quote_per_mode_the_window_and_the_quota(server):
    mine, theirs = _name("acct"), _name("acct")
    bought = _now() - timedelta(days=1)
    kec, mongo, other = _name("kec"), _name("mongo"), _name("other")
    _record(server, _buy(kec, mine, bought, "KEC"), _buy(mongo, mine, bought), _buy(other, theirs, bought, "KEC"))
    key = _customer(server, mine)
    got = server.get("/v1/me/instances", key)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["accounts"] == [mine]
    rows = {r["instance"]: r for r in body["instances"]}
    assert set(rows) == {kec, mongo}  # never another account's
    k = rows[kec]
    assert [m["mode"] for m in k["modes"]] == ["five_day", "self_service", "exception"]  # the policy's modes
    five = next(m for m in k["modes"] if m["mode"] == "five_day")
    assert five["eligible"] and five["amount"] == "360.00" and five["rules"] == []  # K-F2: within five days
    assert k["auto"]["judged_as"] == "five_day" and k["eligible"]
    # each figure is what GET quote answers for the same mode and time (its formulas included)
    quote = server.get(f"/v1/instances/{kec}/quote", key,
                       params={"at": body["at"], "known_at": body["known_at"], "mode": "five_day"}).json()
    assert five["quote"] == quote
    exception = next(m for m in k["modes"] if m["mode"] == "exception")
    assert not exception["eligible"] and "K-E1" in exception["rules"]  # no exception report: why not
    five_mongo = next(m for m in rows[mongo]["modes"] if m["mode"] == "five_day")
    assert not five_mongo["eligible"] and five_mongo["rules"] == ["K-F1"]  # a MongoDB is no five-day product
    (window,) = k["windows"]
    assert window["rule"] == "K-F2"
    assert datetime.fromisoformat(window["end"]) - datetime.fromisoformat(window["start"]) == timedelta(days=5)
    assert k["quota"] == {"rule": "K-Q1", "period": k["quota"]["period"], "zone": "+08:00", "limit": 3, "used": 0,
                          "left": 3}
    # a key that is not narrowed to accounts has no instances of its own
    assert server.get("/v1/me/instances", "admin").status_code == 403
    assert server.get("/v1/me/instances", key, params={"at": "yesterday"}).status_code == 422


def test_an_application_records_exactly_what_the_request_refund_feed_line_records(server):
    """The same purchase on two accounts; one refund requested through the API (a staff key giving the
    business time), the other by the feed line: the same facts, the same frozen quote (K-L1), the same state."""
    at = _now() - timedelta(days=2)
    asked = (at + timedelta(days=1)).isoformat()
    api, feed = _name("twin"), _name("twin")
    _record(server, _buy(api, f"a-{api}", at, "KEC"), _buy(feed, f"a-{feed}", at, "KEC"))  # each its account
    made = server.post(f"/v1/instances/{api}/refund-requests", "admin", json={"refund": f"r-{api}", "at": asked})
    assert made.status_code == 201, made.text
    _record(server, {"type": "request_refund", "at": asked, "instance": feed, "refund": f"r-{feed}"})

    def facts(instance: str) -> list[dict]:
        rows = server.get(f"/v1/instances/{instance}/history", "admin").json()["facts"]
        for r in rows:  # recorded one after the other: the frozen quotes were judged as known then
            r["details"].get("quote", {}).pop("known_at", None)
        return json.loads(json.dumps([{k: r[k] for k in ("fact", "at", "details")} for r in rows])
                          .replace(instance, "X"))

    assert facts(api) == facts(feed)
    assert facts(api)[-1]["fact"] == "RefundApplied"
    answer = made.json()
    assert answer["state"] == "accepted" and answer["amount"] == "360.00" and answer["mode"] == "five_day"
    recorded = server.get(f"/v1/instances/{api}/history", "admin").json()["facts"][-1]
    assert answer["quote"] == recorded["details"]["quote"]  # the answer's quote is the one frozen
    assert recorded["actor"] == answer["actor"] and answer["actor"].startswith("key:")
    listed = {r["refund"]: r for r in server.get("/v1/refunds", "admin").json()["refunds"]}
    assert {k: v for k, v in listed[f"r-{api}"].items() if k not in ("refund", "instance", "account",
                                                                      "recorded_at")} == \
        {k: v for k, v in listed[f"r-{feed}"].items() if k not in ("refund", "instance", "account", "recorded_at")}


def test_a_customers_application_is_judged_now_as_quote_judges_it_and_answers_its_deadline(server):
    account, instance = _name("acct"), _name("kec")
    _record(server, _buy(instance, account, _now() - timedelta(days=1), "KEC"))
    key = _customer(server, account)
    # a request the policy denies is recorded as denied, with its rules, and no deadline (K-E1: no report)
    denied = server.post(f"/v1/instances/{instance}/refund-requests", key, json={"mode": "exception"})
    assert denied.status_code == 201 and denied.json()["state"] == "denied", denied.text
    assert "K-E1" in denied.json()["rules"] and denied.json()["deadlines"] == []
    used = server.post(f"/v1/instances/{instance}/refund-requests", key, json={"refund": denied.json()["refund"]})
    assert used.status_code == 409 and used.json()["detail"].startswith("refund: "), used.text  # its id is taken
    made = server.post(f"/v1/instances/{instance}/refund-requests", key, json={})
    assert made.status_code == 201, made.text
    a = made.json()
    assert a["refund"].startswith("rf-") and a["state"] == "accepted" and a["account"] == account
    just_before = (datetime.fromisoformat(a["recorded_at"]) - timedelta(microseconds=1)).isoformat()
    quote = server.get(f"/v1/instances/{instance}/quote", key,
                       params={"at": a["requested_at"], "known_at": just_before}).json()
    assert quote["eligible"] and quote["amount"] == a["amount"] == "360.00"
    assert {**a["quote"], "known_at": None} == {**quote, "known_at": None}  # K-L1: fixed on the day applied
    (deadline,) = a["deadlines"]  # K-L2: completed or rejected within five working days
    assert deadline["rule"] == "K-L2" and deadline["working_days"] == 5
    _assert_due(server, a["refund"], deadline)
    # a customer applies now: it may not give the business time
    late = server.post(f"/v1/instances/{instance}/refund-requests", key, json={"at": a["requested_at"]})
    assert late.status_code == 422 and late.json()["errors"][0].startswith("at: ")
    # K-L3: released by the accepted application, the instance takes no other request (as a feed line)
    again = server.post(f"/v1/instances/{instance}/refund-requests", key, json={})
    assert again.status_code == 422 and "K-L3" in again.json()["detail"], again.text
    # bad input names the field and writes nothing
    before = len(server.get(f"/v1/instances/{instance}/history", "admin").json()["facts"])
    bad = server.post(f"/v1/instances/{instance}/refund-requests", key, json={"mode": "whenever"})
    assert bad.status_code == 422 and bad.json()["errors"][0].startswith("mode: "), bad.text
    assert len(server.get(f"/v1/instances/{instance}/history", "admin").json()["facts"]) == before


def test_another_accounts_instance_and_refund_are_the_same_404_as_unknown_ones_and_nothing_is_written(server):
    mine, theirs = _name("acct"), _name("acct")
    own, other = _name("kec"), _name("kec")
    _record(server, _buy(own, mine, _now() - timedelta(days=1), "KEC"),
            _buy(other, theirs, _now() - timedelta(days=1), "KEC"))
    key = _customer(server, mine)
    foreign = server.post(f"/v1/instances/{other}/refund-requests", key, json={})
    unknown = server.post(f"/v1/instances/{other}-nope/refund-requests", key, json={})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"].replace(other, "X") == unknown.json()["detail"].replace(f"{other}-nope", "X")
    assert [f["fact"] for f in server.get(f"/v1/instances/{other}/history", "admin").json()["facts"]] == \
        ["Purchased"]
    refund = server.post(f"/v1/instances/{other}/refund-requests", "admin", json={}).json()["refund"]
    assert server.post(f"/v1/refunds/{refund}/escalation", key).status_code == 404
    assert server.post(f"/v1/refunds/{refund}-nope/escalation", key).json()["detail"] == \
        server.post(f"/v1/refunds/{refund}/escalation", key).json()["detail"].replace(refund, f"{refund}-nope")


def test_sixteen_concurrent_applications_of_one_account_accept_exactly_three_K_Q1(server):
    account = _name("race")
    names = [f"{account}-{n}" for n in range(RACE)]
    _record(server, *(_buy(n, account, _now() - timedelta(days=10)) for n in names))
    key = _customer(server, account)
    answers = at_once(lambda client, n: client.post(
        f"{server.base}/v1/instances/{names[n]}/refund-requests", json={},
        headers={"Authorization": f"Bearer {key}"}), RACE)
    assert [a.status_code for a in answers] == [201] * RACE, [a.text for a in answers if a.status_code != 201]
    states = sorted(a.json()["state"] for a in answers)
    assert states == ["accepted"] * 3 + ["denied"] * (RACE - 3)
    assert all("K-Q1" in a.json()["rules"] for a in answers if a.json()["state"] == "denied")  # (and why not
    # five-day: K-F1, K-F2)
    listed = server.get("/v1/refunds", "admin", params={"account": account}).json()["refunds"]
    assert sorted(r["state"] for r in listed) == states  # what was answered is what was recorded
    quota = server.get("/v1/me/instances", key).json()["instances"][0]["quota"]
    assert (quota["used"], quota["left"]) == (3, 0)


def test_a_retried_application_with_the_same_idempotency_key_answers_the_first_answer_and_records_once(server):
    account, instance = _name("acct"), _name("kec")
    _record(server, _buy(instance, account, _now() - timedelta(days=1), "KEC"))
    key = _customer(server, account)
    idem = {"Idempotency-Key": f"apply-{uuid.uuid4()}"}
    first = server.post(f"/v1/instances/{instance}/refund-requests", key, json={}, headers=idem)
    again = server.post(f"/v1/instances/{instance}/refund-requests", key, json={}, headers=idem)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = server.post(f"/v1/instances/{instance}/refund-requests", key, json={"mode": "five_day"}, headers=idem)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    listed = server.get("/v1/refunds", "admin", params={"account": account}).json()["refunds"]
    assert [r["refund"] for r in listed] == [first.json()["refund"]]  # one application (its generated id)


def _assert_due(server, refund: str, deadline: dict) -> None:
    """The deadline answered is the one ``overdue`` applies: not overdue at its due time, overdue just after."""
    due = datetime.fromisoformat(deadline["due"])

    def late(at: datetime) -> list[dict]:
        rows = server.get("/v1/overdue", "admin", params={"at": at.isoformat()}).json()["overdue"]
        return [r for r in rows if r["refund"] == refund]

    assert late(due) == []
    (row,) = late(due + timedelta(microseconds=1))
    assert (row["rule"], row["due"]) == (deadline["rule"], deadline["due"])


def test_a_korpro_request_goes_requested_decided_escalated_decided_completed_with_every_deadline(server):
    """P-R1 (the request's fields), P-R2 (a decision within 3 business days), P-D1 (escalated once, decided
    within 5), P-R3 (paid within 10, flagged past it); the customer escalates, support decides."""
    account, sub = _name("acct"), _name("kp")
    start = _now() - timedelta(days=1)
    _record(server, {"type": "subscribe", "at": start.isoformat(), "instance": sub, "account": account,
                     "plan": "fixed", "cpus": 25},
            {"type": "charge", "at": start.isoformat(), "instance": sub, "invoice": f"inv-{sub}", "amount": "600.00",
             "period_start": start.isoformat(), "period_end": (start + timedelta(days=30)).isoformat()})
    key = _customer(server, account)
    listed = server.get("/v1/me/instances", key).json()["instances"]
    assert [r["policy"] for r in listed] == ["korpro"] and listed[0]["quota"] is None
    asked = {"reason": "not_as_described", "email": "it@example.com", "invoice": f"inv-{sub}",
             "explanation": "the dashboard does not show savings"}
    missing = server.post(f"/v1/instances/{sub}/refund-requests", key, json={**asked, "email": None})
    assert missing.status_code == 422 and missing.json()["errors"][0].startswith("email: "), missing.text  # P-R1
    made = server.post(f"/v1/instances/{sub}/refund-requests", key, json=asked)
    assert made.status_code == 201, made.text
    a = made.json()
    refund = a["refund"]
    assert a["state"] == "requested" and a["quote"]["ceiling"] == "600.00"
    (review,) = a["deadlines"]
    assert (review["rule"], review["working_days"]) == ("P-R2", 3)
    _assert_due(server, refund, review)

    assert server.post(f"/v1/refunds/{refund}/decision", key, json={"approve": True}).status_code == 403
    early = server.post(f"/v1/refunds/{refund}/escalation", key)
    assert early.status_code == 409, early.text  # P-D1: only a rejected request
    decided = server.post(f"/v1/refunds/{refund}/decision", "support", json={"approve": False, "reason": "as shown"})
    assert decided.status_code == 200 and decided.json()["state"] == "rejected" and decided.json()["deadlines"] == []
    escalated = server.post(f"/v1/refunds/{refund}/escalation", key)
    assert escalated.status_code == 200 and escalated.json()["state"] == "escalated", escalated.text
    (dispute,) = escalated.json()["deadlines"]
    assert (dispute["rule"], dispute["working_days"]) == ("P-D1", 5)
    _assert_due(server, refund, dispute)
    assert server.post(f"/v1/refunds/{refund}/escalation", key).status_code == 409  # once (P-D1)

    too_much = server.post(f"/v1/refunds/{refund}/escalation-decision", "support",
                           json={"approve": True, "amount": "600.01"})
    assert too_much.status_code == 422 and too_much.json()["errors"][0].startswith("amount: "), too_much.text
    approved = server.post(f"/v1/refunds/{refund}/escalation-decision", "support",
                           json={"approve": True, "amount": "250.00"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text
    assert approved.json()["amount"] == "250.00"
    (payment,) = approved.json()["deadlines"]
    assert (payment["rule"], payment["working_days"], payment["severity"]) == ("P-R3", 10, "flag")
    _assert_due(server, refund, payment)

    done = server.post(f"/v1/refunds/{refund}/completion", "support")
    assert done.status_code == 200 and done.json()["state"] == "completed" and done.json()["deadlines"] == []
    steps = [(f["fact"], f["actor"]) for f in server.get(f"/v1/instances/{sub}/history", "admin").json()["facts"]]
    assert [s for s, _ in steps[2:]] == ["RefundRequested", "RefundDecided", "Escalated", "EscalationDecided",
                                         "RefundCompleted"]
    actors = [a for _, a in steps[2:]]
    assert actors[0] == actors[2] != actors[1] == actors[3] == actors[4]  # the customer's key, support's key


def test_support_rejects_or_completes_a_kingsoft_application_K_L2_K_Q2_and_a_retried_step_records_once(server):
    account = _name("acct")
    first, second = _name("mongo"), _name("mongo")
    bought = _now() - timedelta(days=10)
    _record(server, _buy(first, account, bought), _buy(second, account, bought))
    key = _customer(server, account)
    a = server.post(f"/v1/instances/{first}/refund-requests", key, json={}).json()
    b = server.post(f"/v1/instances/{second}/refund-requests", key, json={}).json()
    assert a["state"] == b["state"] == "accepted"
    assert server.post(f"/v1/refunds/{a['refund']}/rejection", key, json={"reason": "no"}).status_code == 403
    nameless = server.post(f"/v1/refunds/{a['refund']}/rejection", "support", json={})
    assert nameless.status_code == 422 and nameless.json()["errors"][0].startswith("reason"), nameless.text
    idem = {"Idempotency-Key": f"reject-{uuid.uuid4()}"}
    rejected = server.post(f"/v1/refunds/{a['refund']}/rejection", "support", json={"reason": "in use"}, headers=idem)
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected", rejected.text
    assert rejected.json()["deadlines"] == [] and rejected.json()["settled_at"] is not None
    replay = server.post(f"/v1/refunds/{a['refund']}/rejection", "support", json={"reason": "in use"}, headers=idem)
    assert replay.json() == rejected.json() and replay.headers["idempotent-replayed"] == "true"
    twice = server.post(f"/v1/refunds/{a['refund']}/rejection", "support", json={"reason": "in use"})
    assert twice.status_code == 409, twice.text  # settled once; nothing more is written
    assert [f["fact"] for f in server.get(f"/v1/instances/{first}/history", "admin").json()["facts"]].count(
        "RefundRejected") == 1
    # K-Q2: a rejected application keeps its quota slot
    quota = {r["instance"]: r["quota"] for r in server.get("/v1/me/instances", key).json()["instances"]}
    assert quota[first]["used"] == 2 and quota[first]["left"] == 1
    # the decide steps of KorPro are not Kingsoft's: bad input naming what the refund's policy takes
    wrong = server.post(f"/v1/refunds/{b['refund']}/decision", "support", json={"approve": True})
    assert wrong.status_code == 422, wrong.text
    done = server.post(f"/v1/refunds/{b['refund']}/completion", "support")
    assert done.status_code == 200 and done.json()["state"] == "completed" and done.json()["amount"] == b["amount"]
