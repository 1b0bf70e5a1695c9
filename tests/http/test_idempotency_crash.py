"""Issue 30, item 8, on a real server per store: a server killed (``kill -9``) while a request with an
Idempotency-Key is under way, before it recorded anything, leaves the key running; once the server is restarted
the same request with the same key records the feed (before: 409 for five minutes). A request that did record
before the crash still answers its stored answer again, and records nothing more."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.http.conftest import purchase, seed, serving
from tests.stores import STORES, libpq, store_url, stored_rows

LINES = 1500


def running_claims(db: str, key: str) -> list[tuple]:
    """The idempotency rows of ``key`` whose request has not answered (read straight from the database)."""
    query = "SELECT status FROM http_idempotency WHERE key = {} AND status IS NULL"
    if db.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(db.removeprefix("sqlite:///"))) as con:
            try:
                return con.execute(query.format("?"), (key,)).fetchall()
            except sqlite3.OperationalError:  # no table yet
                return []
    import psycopg

    with psycopg.connect(libpq(db)) as con:
        if con.execute("SELECT to_regclass('http_idempotency')").fetchone()[0] is None:
            return []
        return con.execute(query.format("%s"), (key,)).fetchall()


@contextlib.contextmanager
def events_held(db: str) -> Iterator[None]:
    """No event can be written while the block runs: SQLite's write lock (taken once the claim is written),
    PostgreSQL's events table locked against writes (its other tables, and reads, are free)."""
    if db.startswith("sqlite"):
        con = sqlite3.connect(db.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            con.rollback()
            con.close()
        return
    import psycopg

    with psycopg.connect(libpq(db)) as con:
        con.execute("LOCK TABLE billingledger_events IN EXCLUSIVE MODE")
        yield
        con.rollback()


def kill_mid_request(s, feed: str, key: str) -> None:
    """Post ``feed`` with ``key``, and once its key is claimed (and before it can record), kill the server."""
    def post() -> None:
        with contextlib.suppress(httpx.TransportError):
            s.post("/v1/feeds", "recorder", content=feed, headers={"Idempotency-Key": key})

    sender = threading.Thread(target=post)
    sender.start()
    deadline = time.monotonic() + 60
    while not running_claims(s.db, key):
        assert time.monotonic() < deadline, s.stderr()
        time.sleep(0.005)
    with events_held(s.db):
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
    sender.join(timeout=60)


@pytest.mark.parametrize("store", STORES)
def test_a_key_whose_request_died_before_recording_is_released_and_a_recorded_one_replays(store, tmp_path):
    db = store_url(store, tmp_path)
    made = seed(db)
    feed = "\n".join(purchase(f"crash-{n}", "crash") for n in range(LINES)) + "\n"
    small = purchase("crash-done", "crash") + "\n"
    with serving(db, tmp_path) as s:
        s.keys = made
        first = s.post("/v1/feeds", "recorder", content=small, headers={"Idempotency-Key": "done-1"})
        assert first.status_code == 200 and first.json()["recorded"] == 1
        before = len(stored_rows(db))
        kill_mid_request(s, feed, "crash-1")
    assert len(stored_rows(db)) == before  # it died before recording anything
    assert running_claims(db, "crash-1")  # ...leaving its key claimed, its request "running"

    with serving(db, tmp_path) as s:  # restarted
        s.keys = made
        retry = s.post("/v1/feeds", "recorder", content=feed, headers={"Idempotency-Key": "crash-1"})
        assert retry.status_code == 200, retry.text
        assert retry.json()["recorded"] == LINES and "idempotent-replayed" not in retry.headers
        assert len(stored_rows(db)) > before
        again = s.post("/v1/feeds", "recorder", content=small, headers={"Idempotency-Key": "done-1"})
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        replayed = s.post("/v1/feeds", "recorder", content=feed, headers={"Idempotency-Key": "crash-1"})
        assert replayed.headers["idempotent-replayed"] == "true" and replayed.json() == retry.json()
        assert len(s.get("/v1/instances/crash-done/history", "admin").json()["facts"]) == 1


@pytest.mark.parametrize("store", STORES)
def test_an_earlier_versions_running_row_keeps_its_five_minutes_and_the_table_gains_its_owner(store, tmp_path):
    from datetime import timedelta

    from sqlalchemy import Column, Integer, MetaData, String, Table, Text, inspect

    from adapters.bootstrap import Settings, bootstrap
    from adapters.services import idempotency

    app = bootstrap(Settings.resolve(store_url(store, tmp_path)))
    try:
        app.writer  # noqa: B018 - the store
        old = Table("http_idempotency", MetaData(), Column("principal", String(40), primary_key=True),
                    Column("key", String(255), primary_key=True), Column("fingerprint", String(64), nullable=False),
                    Column("started_at", String(40), nullable=False), Column("status", Integer), Column("body", Text))
        old.create(app.readmodels)
        with app.readmodels.begin() as conn:
            for key, started in (("fresh", app.now()), ("stale", app.now() - timedelta(minutes=6))):
                conn.execute(old.insert().values(principal="p", key=key, fingerprint="f",
                                                 started_at=started.isoformat()))
        with pytest.raises(idempotency.StillRunning):  # its process is not known: five minutes, as before
            idempotency.once(app, "p", "fresh", "f", lambda: {"ran": True})
        assert idempotency.once(app, "p", "stale", "f", lambda: {"ran": True}).body == {"ran": True}
        assert "owner" in {c["name"] for c in inspect(app.readmodels).get_columns("http_idempotency")}
    finally:
        app.close()
