"""The change feed (issue 29) over a real server on both stores: every fact once, in log order, in
``history --json``'s shape; a narrowed key sees its accounts' facts only; the cursor survives concurrent
recording and restarts; PostgreSQL's in-flight transactions hold the feed back instead of letting it skip a row
(docs/http.md, "The change feed"); the real CLI prints the same facts."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid

import httpx
import pytest

from tests.http.conftest import EXE, OWN, purchase
from tests.stores import libpq

FAR = "2100-01-01T00:00:00+00:00"
SHOWN = ("position", "cursor", "instance", "account")  # what the feed adds to a history row


def walk(server, key: str = "admin", limit: int = 1000, after: str | None = None, **params) -> tuple[list, str]:
    """Every fact the key may see after ``after``, page by page; and the cursor after the last row read."""
    facts = []
    while True:
        got = server.get("/v1/events", key, params={"limit": limit, **({"after": after} if after else {}), **params})
        assert got.status_code == 200, got.text
        page = got.json()
        facts += page["events"]
        after = page["next_cursor"]
        if not page["more"]:
            return facts, after


def record(server, *lines: str, key: str = "recorder") -> None:
    got = server.post("/v1/feeds", key, content="\n".join(lines) + "\n",
                      headers={"Content-Type": "application/x-ndjson"})
    assert got.status_code == 200, got.text


def test_the_feed_holds_every_fact_of_every_instance_once_in_log_order_as_history_shows_it(server):
    facts, _ = walk(server)
    positions = [f["position"] for f in facts]
    assert positions == sorted(set(positions))  # log order, none twice
    by_instance: dict[str, list[dict]] = {}
    for f in facts:
        by_instance.setdefault(f["instance"], []).append(f)
    for name in ("kec-1", "kec-2", "kp-1", "kp-2"):
        history = server.get(f"/v1/instances/{name}/history", "admin", params={"known_at": FAR}).json()["facts"]
        shown = [{k: v for k, v in f.items() if k not in SHOWN} for f in by_instance[name]]
        assert shown == [{k: v for k, v in h.items() if k not in ("retracted", "verified")} for h in history]
        assert {f["account"] for f in by_instance[name]} == {history[0]["details"]["account"]}


def test_pages_of_any_size_walk_the_same_facts(server):
    whole, end = walk(server)
    assert walk(server, limit=7) == (whole, end)
    middle = whole[len(whole) // 2]
    assert walk(server, after=middle["cursor"])[0] == whole[whole.index(middle) + 1:]


def test_a_narrowed_key_sees_only_its_accounts_facts_and_types_filter(server):
    everything, _ = walk(server)
    for key in (f"customer@{OWN}", f"admin@{OWN}"):
        mine, _ = walk(server, key, limit=3)
        assert mine == [f for f in everything if f["account"] == OWN] and mine
    some, _ = walk(server, types="RefundRequested,Charged", limit=2)
    assert some == [f for f in everything if f["fact"] in ("RefundRequested", "Charged")]
    assert {f["fact"] for f in some} == {"RefundRequested", "Charged"}
    assert walk(server, types=["RefundRequested", "Charged"])[0] == some


def test_bad_parameters_are_422_naming_them(server):
    for params, name in (({"after": "not-a-cursor"}, "after"), ({"types": "Bogus"}, "types"),
                         ({"limit": 1001}, "limit"), ({"limit": 0}, "limit"), ({"wait": 31}, "wait")):
        got = server.get("/v1/events", "admin", params=params)
        assert got.status_code == 422, (params, got.text)
        assert got.json()["errors"][0].startswith(f"{name}:"), got.json()


def test_a_long_poll_answers_as_soon_as_a_fact_is_recorded(server):
    _, end = walk(server)
    started = time.monotonic()
    quiet = server.get("/v1/events", "admin", params={"after": end, "wait": 1})
    assert quiet.json()["events"] == [] and 0.9 <= time.monotonic() - started < 5
    got: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: got.append(httpx.get(
        server.base + "/v1/events", params={"after": end, "wait": 20}, timeout=60,
        headers={"Authorization": f"Bearer {server.keys['admin']}"})))
    started = time.monotonic()
    waiting.start()
    time.sleep(0.5)
    record(server, purchase(f"poll-{uuid.uuid4().hex[:8]}", "feed"))
    waiting.join(30)
    assert time.monotonic() - started < 10
    assert [f["fact"] for f in got[0].json()["events"]] == ["Purchased"]


def test_a_reader_paging_while_several_writers_record_misses_nothing_and_repeats_nothing(server):
    _, start = walk(server)
    names = [f"conc-{uuid.uuid4().hex[:6]}-{n}" for n in range(24)]
    done = threading.Event()

    def writer(part: list[str]) -> None:
        with httpx.Client(timeout=60) as client:
            for name in part:
                got = client.post(server.base + "/v1/feeds", content=purchase(name, "feed") + "\n",
                                  headers={"Authorization": f"Bearer {server.keys['recorder']}",
                                           "Content-Type": "application/x-ndjson"})
                assert got.status_code == 200, got.text

    writers = [threading.Thread(target=writer, args=(names[i::3],)) for i in range(3)]
    for w in writers:
        w.start()
    seen, after = [], start
    threading.Thread(target=lambda: ([w.join() for w in writers], done.set())).start()
    while not done.is_set() or after != walk(server, after=after)[1]:
        page = server.get("/v1/events", "admin", params={"after": after, "limit": 2}).json()
        seen += page["events"]
        after = page["next_cursor"]
    assert seen == walk(server, after=start)[0]
    assert sorted(f["instance"] for f in seen if f["instance"] in names) == sorted(names)


@pytest.fixture
def pg(server):
    if not server.db.startswith("postgresql"):
        pytest.skip("in-flight transactions interleave only on PostgreSQL (SQLite has one writer at a time)")
    import psycopg

    with psycopg.connect(libpq(server.db)) as con:
        yield con


def test_a_row_of_a_transaction_still_in_flight_holds_the_feed_back_until_it_ends(server, pg):
    """A writer that bypasses the hash chain takes a position and stays in flight; a feed recorded meanwhile
    commits after it with higher positions. The feed serves nothing from the in-flight row's position on until
    that transaction ends; then it serves the recorded feed, and nothing is skipped."""
    _, start = walk(server)
    held = pg.execute("INSERT INTO billingledger_events (originator_id, originator_version, topic, state) "
                      "SELECT %s, 1, topic, state FROM billingledger_events WHERE originator_version = 1 "
                      "ORDER BY notification_id LIMIT 1 RETURNING notification_id", (uuid.uuid4(),)).fetchone()[0]
    name = f"held-{uuid.uuid4().hex[:8]}"
    record(server, purchase(name, "feed"))
    facts, after = walk(server, after=start)
    assert all(f["position"] < held for f in facts) and name not in {f["instance"] for f in facts}
    assert server.get("/v1/events", "admin", params={"after": after}).json()["more"] is False
    pg.commit()
    facts, _ = walk(server, after=after)
    assert [f["instance"] for f in facts] == [name] and facts[0]["position"] > held


def cli(server, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
    return subprocess.run([str(EXE), "--db", server.db, "events", *args], capture_output=True, text=True,
                          timeout=120, env=env, **kw)


def test_the_cli_prints_the_feeds_facts_and_resumes_from_the_cursor_it_gives(server):
    whole, _ = walk(server)
    done = cli(server)
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert printed == whole
    first = cli(server, "--limit", "5")
    cursor = first.stderr.strip().removeprefix("next cursor: ")
    rest = cli(server, "--after", cursor)
    assert [json.loads(x) for x in first.stdout.splitlines() + rest.stdout.splitlines()] == whole
    bad = cli(server, "--after", "nonsense")
    assert bad.returncode == 2 and bad.stderr.startswith("--after:"), bad.stderr


def test_the_cli_follows_new_facts(server):
    _, end = walk(server)
    env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
    proc = subprocess.Popen([str(EXE), "--db", server.db, "events", "--after", end, "--follow", "--poll", "0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        name = f"follow-{uuid.uuid4().hex[:8]}"
        record(server, purchase(name, "feed"))
        line = proc.stdout.readline()
        assert json.loads(line)["instance"] == name
    finally:
        proc.kill()
        proc.wait()
