"""Webhooks (issue 29) through real processes on both stores: admin-managed subscriptions over HTTP and the
CLI; the real deliverer (``billing-ledger webhooks run``) posting to a receiver on 127.0.0.1 that checks every
signature with the Standard Webhooks library's verifier; a receiver failing for a while (500s, timeouts) then
recovering gets every message exactly once after dedup by id, in log order; ``kill -9`` of the deliverer at
random moments loses nothing; ``refund.overdue`` once per stage; ``serve --webhooks``."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

from tests.http.conftest import EXE, OWN, purchase, seed, serving, stop
from tests.http.receiver import receiving
from tests.stores import store_url

FAST = ("--retry-base", "0.2", "--retry-cap", "0.5", "--timeout", "1", "--poll", "0.05", "--lease", "1")


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}


@contextmanager
def deliverer(db: str, *args: str):
    proc = subprocess.Popen([str(EXE), "--db", db, "webhooks", "run", *FAST, *args], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop(proc, 20)


def subscribe(server, url: str, **body) -> dict:
    got = server.post("/v1/webhooks", "admin", json={"url": url, **body})
    assert got.status_code == 201, got.text
    return got.json()


def record_lines(server, lines: list[str]) -> None:
    got = server.post("/v1/feeds", "recorder", content="\n".join(lines) + "\n",
                      headers={"Content-Type": "application/x-ndjson"})
    assert got.status_code == 200, got.text


def story(account: str, n: int = 3) -> list[str]:
    """Per instance: a purchase, a renewal, and (for the first) a refund request."""
    lines = []
    for i in range(n):
        name = f"{account}-{i}"
        lines.append(purchase(name, account))
        lines.append(json.dumps({"type": "renew", "id": f"renew-{name}", "at": "2026-06-01T00:00:00+08:00",
                                 "instance": name, "order": f"o2-{name}", "months": 1, "monthly_price": "30.00",
                                 "payment": {"cash": "30.00"}}))
    lines.append(json.dumps({"type": "request_refund", "at": "2026-01-03T10:00:00+08:00",
                             "instance": f"{account}-0", "refund": f"rf-{account}"}))
    return lines


def expected(server, account: str, after: str) -> list[dict]:
    """The messages the subscription must get: the account's facts after ``after``, in log order (the feed)."""
    page = server.get("/v1/events", "admin", params={"after": after, "limit": 1000}).json()
    return [f for f in page["events"] if f["account"] == account]


def head(server) -> str:
    after = None
    while True:
        page = server.get("/v1/events", "admin", params={"limit": 1000, **({"after": after} if after else {})})
        after = page.json()["next_cursor"]
        if not page.json()["more"]:
            return after


def check(receiver, facts: list[dict]) -> None:
    """Every request verified; each message once after dedup, in log order; the same bytes on every try."""
    kept = receiver.wait_for(len(facts))
    assert all(r.verified for r in receiver.got), [r.id for r in receiver.got if not r.verified]
    assert [r.id for r in kept] == [f"msg_{f['position']}" for f in facts], [(f["position"], f["fact"]) for f in facts]
    assert [r.payload["data"]["position"] for r in kept] == [f["position"] for f in facts]
    assert [r.payload["data"]["fact"] for r in kept] == [f["fact"] for f in facts]
    bodies: dict[str, bytes] = {}
    for r in receiver.got:
        assert bodies.setdefault(r.id, r.body) == r.body
    types = {r.payload["data"]["fact"]: r.payload["type"] for r in kept}
    assert types["Purchased"] == types["Renewed"] == "order.recorded"
    assert types.get("RefundApplied", types.get("RefundDenied")) == "refund.requested"


def test_a_receiver_failing_for_a_while_gets_every_message_once_after_dedup_in_order(server):
    account = f"hook-{uuid.uuid4().hex[:6]}"
    start = head(server)
    with receiving(plan=[500, 500, 2.0, 503, 500, 2.0, 200, 500]) as receiver:
        made = subscribe(server, receiver.url, accounts=[account], types=["order.recorded", "refund.requested"])
        receiver.secret = made["secret"]
        assert made["secret"].startswith("whsec_")
        assert "secret" not in server.get("/v1/webhooks", "admin").json()["webhooks"][0]
        record_lines(server, story(account))
        facts = expected(server, account, start)
        assert len(facts) == 7
        with deliverer(server.db):
            check(receiver, facts)
        log = server.get(f"/v1/webhooks/{made['id']}/deliveries", "admin", params={"limit": 1000}).json()
        rows = log["deliveries"]
        assert {r["status"] for r in rows if r["outcome"] == "failed"} >= {500, 503, None}
        assert any("timeout" in (r["error"] or "").lower() for r in rows)
        assert all(r["next_try_at"] for r in rows if r["outcome"] == "failed")
        assert sum(r["outcome"] == "delivered" for r in rows) == 7
        assert log["subscription"]["position"] >= facts[-1]["position"] and log["subscription"]["pending"] is None
        assert server.request("DELETE", f"/v1/webhooks/{made['id']}", "admin").status_code == 200


def test_kill_9_of_the_deliverer_at_random_moments_loses_nothing(server):
    account = f"kill-{uuid.uuid4().hex[:6]}"
    start = head(server)
    rng = random.Random(29)
    with receiving(pause=0.05) as receiver:
        made = subscribe(server, receiver.url, accounts=[account], types=["order.recorded", "refund.requested"])
        receiver.secret = made["secret"]
        record_lines(server, story(account, 6))
        facts = expected(server, account, start)
        for _ in range(4):
            proc = subprocess.Popen([str(EXE), "--db", server.db, "webhooks", "run", *FAST], env=env(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 1.2))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        with deliverer(server.db):
            check(receiver, facts)
        server.request("DELETE", f"/v1/webhooks/{made['id']}", "admin")


def test_two_deliverers_at_once_send_each_message_once(server):
    """The lease: while one deliverer holds it the other sends nothing, so no message is sent twice."""
    account = f"two-{uuid.uuid4().hex[:6]}"
    start = head(server)
    with receiving(pause=0.02) as receiver:
        made = subscribe(server, receiver.url, accounts=[account], types=["order.recorded", "refund.requested"])
        receiver.secret = made["secret"]
        record_lines(server, story(account, 5))
        facts = expected(server, account, start)
        with deliverer(server.db), deliverer(server.db):
            check(receiver, facts)
            time.sleep(1)
        assert [r.id for r in receiver.got] == [f"msg_{f['position']}" for f in facts]  # not one copy
        server.request("DELETE", f"/v1/webhooks/{made['id']}", "admin")


def test_a_refund_past_its_deadline_is_one_overdue_message_per_stage(server):
    now = datetime.now(UTC).isoformat()
    late = server.get("/v1/overdue", "admin", params={"at": now}).json()["overdue"]
    assert late  # the KorPro example's payment is late (P-R3)
    with receiving() as receiver:
        made = subscribe(server, receiver.url, types=["refund.overdue"])
        receiver.secret = made["secret"]
        for _ in range(2):  # a second deliverer makes nothing again
            done = subprocess.run([str(EXE), "--db", server.db, "webhooks", "run", "--once"], env=env(),
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        kept = receiver.wait_for(len(late))
        assert len(receiver.got) == len(late) and all(r.verified for r in receiver.got)
        assert sorted((r.payload["data"]["refund"], r.payload["data"]["rule"]) for r in kept) == \
            sorted((o["refund"], o["rule"]) for o in late)
        assert {r.payload["type"] for r in kept} == {"refund.overdue"}
        server.request("DELETE", f"/v1/webhooks/{made['id']}", "admin")


def test_subscriptions_are_for_an_unnarrowed_admin_key_and_bad_input_is_422(server):
    for key in ("auditor", "recorder", f"admin@{OWN}"):
        assert server.get("/v1/webhooks", key).status_code == 403, key
    for body, name in (({"url": "ftp://x"}, "url"), ({"url": "http://127.0.0.1/", "types": ["nope"]}, "types"),
                       ({"url": "http://127.0.0.1/", "after": "zzz"}, "after")):
        got = server.post("/v1/webhooks", "admin", json=body)
        assert got.status_code == 422 and got.json()["errors"][0].startswith(f"{name}:"), got.text
    assert server.request("DELETE", "/v1/webhooks/wh_nothing", "admin").status_code == 404


def test_the_cli_manages_subscriptions_and_serve_webhooks_delivers(tmp_path):
    db = store_url("sqlite", tmp_path)
    made_keys = seed(db)
    cli = [str(EXE), "--db", db, "webhooks"]
    with receiving() as receiver:
        done = subprocess.run([*cli, "add", "--url", receiver.url, "--types", "order.recorded", "--json"],
                              capture_output=True, text=True, env=env(), timeout=60)
        assert done.returncode == 0, done.stderr
        made = json.loads(done.stdout)
        receiver.secret = made["secret"]
        listed = json.loads(subprocess.run([*cli, "list", "--json"], capture_output=True, text=True, env=env(),
                                           timeout=60).stdout)["webhooks"]
        assert [s["id"] for s in listed] == [made["id"]] and "secret" not in listed[0]
        with serving(db, tmp_path, args=("--webhooks",)) as s:
            s.keys = made_keys
            name = f"served-{uuid.uuid4().hex[:6]}"
            record_lines(s, [purchase(name, "served")])
            kept = receiver.wait_for(1, timeout=30)
            assert kept[0].verified and kept[0].payload["data"]["instance"] == name
            assert kept[0].payload["type"] == "order.recorded"
            lag = [line for line in s.get("/metrics", "admin").text.splitlines()
                   if line.startswith("billing_ledger_webhook_lag_positions")]
            assert lag and lag[0].endswith(" 0.0"), lag
        gone = subprocess.run([*cli, "remove", made["id"]], capture_output=True, text=True, env=env(), timeout=60)
        assert gone.returncode == 0, gone.stderr
        again = subprocess.run([*cli, "remove", made["id"]], capture_output=True, text=True, env=env(), timeout=60)
        assert again.returncode == 2 and "no webhook subscription" in again.stderr


def test_a_resend_tries_the_waiting_message_now_or_sends_again_after_a_cursor_under_the_same_ids(server):
    account = f"again-{uuid.uuid4().hex[:6]}"
    start = head(server)
    slow = ("--retry-base", "600", "--retry-cap", "600", "--timeout", "1")
    with receiving(plan=[500]) as receiver:
        made = subscribe(server, receiver.url, accounts=[account], types=["order.recorded"])
        receiver.secret = made["secret"]
        record_lines(server, [purchase(f"{account}-{i}", account) for i in range(2)])
        facts = expected(server, account, start)
        once = [str(EXE), "--db", server.db, "webhooks", "run", "--once", *slow]
        assert subprocess.run(once, env=env(), timeout=120).returncode == 0
        waiting = server.get("/v1/webhooks", "admin").json()["webhooks"]
        mine = next(s for s in waiting if s["id"] == made["id"])
        assert mine["pending"] == f"msg_{facts[0]['position']}" and mine["attempts"] == 1 and mine["next_try_at"]
        assert subprocess.run(once, env=env(), timeout=120).returncode == 0  # not due for ten minutes
        assert len(receiver.got) == 1
        got = server.post(f"/v1/webhooks/{made['id']}/resend", "admin", json={})
        assert got.status_code == 200 and got.json()["pending"] is None, got.text
        assert subprocess.run(once, env=env(), timeout=120).returncode == 0
        assert [r.id for r in receiver.accepted()] == [f"msg_{f['position']}" for f in facts]
        done = subprocess.run([str(EXE), "--db", server.db, "webhooks", "resend", made["id"], "--after", start],
                              capture_output=True, text=True, env=env(), timeout=60)
        assert done.returncode == 0, done.stderr
        assert subprocess.run(once, env=env(), timeout=120).returncode == 0
        ids = [r.id for r in receiver.got if r.status == 200]
        assert ids == [f"msg_{f['position']}" for f in facts] * 2  # the same messages again, same ids
        assert len({r.body for r in receiver.got if r.id == ids[0]}) == 1
        log = server.get(f"/v1/webhooks/{made['id']}/deliveries", "admin").json()["deliveries"]
        assert [r["outcome"] for r in reversed(log)] == ["failed", "resend", "delivered", "delivered", "resend",
                                                          "delivered", "delivered"]
        server.request("DELETE", f"/v1/webhooks/{made['id']}", "admin")
