"""The API answers what the CLI answers, over a real server: the same JSON, the same bad-input items; and
what only the API has: pages, the HTML timeline, streamed exports, the actor of a posted feed."""

from __future__ import annotations

import io
import json
import re
import subprocess

import pyarrow.parquet as pq

from tests.http.conftest import EXE, purchase
from tests.integration.conftest import InProcessCLI

AT, KNOWN = "2027-02-22T10:00:00+08:00", "2030-01-01T00:00:00+00:00"


def cli_json(server, *args: str) -> dict:
    """The CLI's ``--json`` for the same ledger: its entry point (`adapters.cli.main`) run in this process."""
    return InProcessCLI(server.db, server.log.parent).json(*args)


def test_a_quote_over_http_is_the_clis_json_for_the_same_quote(server):
    got = server.get("/v1/instances/kec-1/quote", "customer@acme", params={"at": AT, "known_at": KNOWN})
    assert got.status_code == 200, got.text
    done = subprocess.run([str(EXE), "--db", server.db, "quote", "kec-1", "--at", AT, "--known-at", KNOWN, "--json"],
                          capture_output=True, text=True, timeout=60)  # the console script itself
    assert done.returncode == 0, done.stderr
    assert got.json() == json.loads(done.stdout)
    assert got.json()["amount"] == "196.00"


def test_history_diff_and_overdue_are_the_clis_json(server):
    assert server.get("/v1/instances/kec-2/history", "auditor", params={"known_at": KNOWN}).json() == \
        cli_json(server, "history", "kec-2", "--known-at", KNOWN)
    args = {"at": "2027-04-06T00:00:00+08:00", "known_at": "2026-01-01T00:00:00Z", "vs": KNOWN}
    assert server.get("/v1/instances/kec-2/diff", "finance", params=args).json() == \
        cli_json(server, "diff", "kec-2", "--at", args["at"], "--known-at", args["known_at"], "--vs", KNOWN)
    at = "2026-03-10T00:00:00+00:00"
    assert server.get("/v1/overdue", "auditor", params={"at": at}).json() == cli_json(server, "overdue", "--at", at)


def test_a_problems_detail_shows_its_times_in_the_policys_zone_to_the_second(server):
    """The detail is text people read (issue 25, item 7): the request time and the default knowledge time
    (now) in kec-2's business time zone (+08:00), without the clock's microseconds (it was UTC with them); the
    same words as the CLI's message."""
    got = server.get("/v1/instances/kec-2/quote", "auditor", params={"at": "2020-01-01T00:00:00Z"})
    assert got.status_code == 404, got.text
    assert re.fullmatch(r"instance: 'kec-2' had no purchase at 2020-01-01T08:00:00\+08:00 as known at "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", got.json()["detail"]), got.json()


def test_bad_input_is_422_problem_details_with_the_clis_line_items_and_nothing_is_written(server, tmp_path):
    feed = purchase("bad-1", "acme") + "\n" + json.dumps({"type": "renew", "at": "2026-02-01T00:00:00+08:00",
                                                          "instance": "bad-1", "order": "o-bad", "months": 1,
                                                          "monthly_price": 30, "payment": {"cash": "30.00"}})
    (tmp_path / "bad.jsonl").write_text(feed + "\n")
    done = InProcessCLI(server.db, tmp_path).run("record", str(tmp_path / "bad.jsonl"))
    assert done.returncode == 2
    got = server.post("/v1/feeds", "recorder", content=feed, headers={"Content-Type": "application/x-ndjson"})
    assert got.status_code == 422
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["errors"] == [done.stderr.strip()]
    assert got.json()["errors"][0].startswith("line 2: monthly_price:")
    assert server.get("/v1/instances/bad-1/history", "admin").status_code == 404


def test_a_feed_as_a_json_array_is_recorded_with_the_key_as_its_actor(server):
    lines = [json.loads(purchase(f"arr-{n}", "arrays")) for n in range(2)]
    got = server.post("/v1/feeds", "recorder", json=lines)
    assert got.json() == {"lines": 2, "recorded": 2, "duplicates": 0, "denied": 0}, got.text
    assert server.post("/v1/feeds", "recorder", json=lines).json()["duplicates"] == 2
    recorder_id = next(k["id"] for k in server.get("/v1/keys", "admin").json()["keys"] if k["name"] == "recorder")
    facts = server.get("/v1/instances/arr-0/history", "admin").json()["facts"]
    assert {f.get("actor") for f in facts} == {f"key:{recorder_id}"}


def test_listings_come_in_pages_of_one_walk(server):
    seen, cursor = [], None
    while True:
        page = server.get("/v1/instances", "auditor", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += [r["instance"] for r in page.json()["instances"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    everything = server.get("/v1/instances", "auditor", params={"limit": 1000}).json()["instances"]
    assert seen == [r["instance"] for r in everything] == sorted(seen)
    assert server.get("/v1/instances", "auditor", params={"cursor": "nonsense"}).status_code == 422


def test_the_timeline_is_json_or_the_html_picture(server):
    assert server.get("/v1/instances/kec-2/timeline", "customer@acme").json()["orders"][0]["order"] == "o-2"
    page = server.get("/v1/instances/kec-2/timeline", "customer@acme", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "<svg" in page.text


def test_exports_stream_csv_and_parquet(server):
    args = {"from": "2026-01-01T00:00:00Z", "to": "2028-01-01T00:00:00Z"}
    csv = server.get("/v1/exports/orders", "finance", params=args)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("instance,order,account")
    parquet = server.get("/v1/exports/orders", "finance", params={**args, "format": "parquet"})
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == len(csv.text.splitlines()) - 1 > 0


def test_reconcile_and_what_if_answer_the_clis_json(server, tmp_path):
    from tests.http.conftest import ROOT

    statement = (ROOT / "examples" / "statement.csv").read_text()
    got = server.post("/v1/reconcile", "finance", content=statement, headers={"Content-Type": "text/csv"})
    assert got.status_code == 200
    done = InProcessCLI(server.db, server.log.parent).run("reconcile", "--statement",
                                                          str(ROOT / "examples" / "statement.csv"), "--json")
    assert done.returncode == 1  # inv-202 does not reconcile
    assert got.json() == json.loads(done.stdout)
    scenario = server.post("/v1/what-if", "finance", json={"set": {"refundable_tenders": "cash"}})
    assert scenario.json() == cli_json(server, "what-if", "--set", "refundable_tenders=cash")


def test_verify_and_readiness(server):
    v = server.get("/v1/verify", "auditor").json()
    assert v["ok"] is True and v["head"]
    assert server.get("/readyz").json() == {"ok": True, "detail": "ledger reachable"}


def test_a_revoked_key_is_refused_at_once(server):
    made = server.post("/v1/keys", "admin", json={"role": "auditor", "name": "short-lived"})
    assert made.status_code == 201
    secret, key_id = made.json()["key"], made.json()["id"]
    assert server.get("/v1/verify", secret).status_code == 200
    assert server.request("DELETE", f"/v1/keys/{key_id}", "admin").status_code == 200
    assert server.get("/v1/verify", secret).status_code == 401


def test_a_mode_the_instances_policy_does_not_know_is_422_naming_mode_and_listing_its_modes(server):
    """Issue 25 item 1, every mode x both policies: a quote's, a diff's and a what-if's ``mode`` is one of the
    instance's policy's (interface.md: Kingsoft's modes, KorPro's reasons); any other is 422 listing them (a
    Kingsoft instance asked for ``trial`` was a 500)."""
    from tests.integration.test_modes import CASES

    for instance, policy, own, foreign in CASES:
        for mode in foreign:
            asked = {"at": AT, "mode": mode}
            for got in (server.get(f"/v1/instances/{instance}/quote", "finance", params=asked),
                        server.get(f"/v1/instances/{instance}/diff", "finance",
                                   params={**asked, "known_at": KNOWN, "vs": KNOWN}),
                        server.post("/v1/what-if", "finance", json={"instance": instance, **asked})):
                assert got.status_code == 422, (instance, mode, got.request.url, got.text)
                message = got.json()["errors"][0]
                assert message.startswith(f"mode: {mode!r} is not a mode of {policy}"), message  # the API's name
                assert message.split("its modes: ")[1].split(", ") == ["auto", *own]


def test_a_refused_what_if_scenario_names_the_field_and_the_users_value(server):
    """Issue 25 item 4: dropping a line that is not about the instance (or does not exist) names ``drop`` and
    the id, as the CLI names --drop; a bad added fact names ``add`` and its place in the list (line N)."""
    at = "2027-04-06T00:00:00+08:00"
    for body, message in [
        ({"drop": ["seed-1"]}, "drop: seed-1: the line is a fact about kec-1, not about kec-2"),
        ({"drop": ["nope"]}, "drop: nope: no line with this id was recorded"),
        ({"add": [{"type": "renew", "at": at, "instance": "kec-2", "order": "o-x", "months": 1,
                   "monthly_price": "20.00", "payment": {"cash": "-1.00"}}]},
         "add: line 1: payment.cash: a negative amount (-1.00) makes no sense here"),
    ]:
        got = server.post("/v1/what-if", "finance", json={"instance": "kec-2", "at": at, **body})
        assert (got.status_code, got.json()["errors"]) == (422, [message]), got.text


def test_every_instances_exposure_over_http_is_the_clis_json(server):
    """Issue 25 item 3: ``at`` without ``instance`` is every instance's refund exposure at ``at``."""
    at = "2026-03-10T00:00:00Z"
    got = server.post("/v1/what-if", "finance", json={"at": at, "mode": ["savings_shortfall"],
                                                      "set": {"performance_rate": "0.3"}})
    assert got.status_code == 200, got.text
    assert got.json() == cli_json(server, "what-if", "--at", at, "--mode", "savings_shortfall", "--set",
                                  "performance_rate=0.3")
    assert [(r["instance"], r["baseline"], r["scenario"]) for r in got.json()["instances"]] == [
        ("kp-1", "1200.00", "800.00")]  # P-G2 at 0.2 and 0.3
    every = server.post("/v1/what-if", "finance", json={"at": at, "all": True, "account": "acme"})
    assert every.json() == cli_json(server, "what-if", "--at", at, "--all", "--account", "acme")
    assert {r["account"] for r in every.json()["instances"]} == {"acme"}
    assert server.post("/v1/what-if", "finance", json={"at": at, "drop": ["seed-1"]}).status_code == 422
