"""Issue 30, item 7, on a real server per store: a connection that says nothing, trickles half a head or stops
half-way through a body is closed after its documented deadline (a half-sent body is answered 408 first), an
idle keep-alive connection too; and requests refused for their key, and console sign-in attempts, are limited
per client address (429 with Retry-After) while another address, and a valid key, are not held back. Before:
uvicorn kept every such connection open for ever, and an address could be refused without end."""

from __future__ import annotations

import contextlib
import re
import socket
import sqlite3
import time

import httpx
import pytest

from tests.http.conftest import seed, serving
from tests.stores import STORES, libpq, store_url

TIGHT = {"BILLING_LEDGER_HTTP_HEADER_TIMEOUT": "1", "BILLING_LEDGER_HTTP_BODY_TIMEOUT": "2",
         "BILLING_LEDGER_HTTP_KEEP_ALIVE": "1"}
FEED = b'{"type": "purchase", "id": "buy-slow", "at": "2026-01-01T00:00:00+08:00", "instance": "slow-1"}'


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=15)
    return sock


def until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took (the socket's own
    timeout fails the test when the server never closes it)."""
    started, got = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except ConnectionResetError:
        pass
    return got, time.monotonic() - started


@pytest.mark.parametrize("store", STORES)
def test_silent_half_sent_and_idle_connections_are_closed_after_their_deadline(store, tmp_path):
    db = store_url(store, tmp_path)
    made = seed(db)
    with serving(db, tmp_path, env=TIGHT) as s:
        silent = connect(s.base)  # connects, sends nothing
        trickle = connect(s.base)  # half a head, a byte at a time: the head's deadline is from the start
        trickle.sendall(b"GET /v1/verify HTTP/1.1\r\nHost: x\r\n")
        for _ in range(4):
            time.sleep(0.3)
            trickle.sendall(b"X")
        got, waited = until_closed(silent)
        assert got == b"" and waited < 5
        got, waited = until_closed(trickle)
        assert got == b"" and waited < 4

        half = connect(s.base)  # the head and a part of its body, then nothing
        half.sendall(b"POST /v1/feeds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + made["recorder"].encode()
                     + b"\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n" % (len(FEED) + 1)
                     + FEED)
        got, waited = until_closed(half)
        head, _, body = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ") and b"connection: close" in head.lower(), got
        assert b"application/problem+json" in head and b'"status": 408' in body
        assert 1.5 < waited < 8
        unread = connect(s.base)  # a body the server never reads (no key: 401 at once), left half-sent
        unread.sendall(b"POST /v1/feeds HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + FEED)
        got, waited = until_closed(unread)
        assert got.startswith(b"HTTP/1.1 401 ") and waited < 8

        idle = connect(s.base)  # one whole request, then idle past the keep-alive timeout
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        got, waited = until_closed(idle)
        assert got.startswith(b"HTTP/1.1 200 ") and waited < 5

        huge = connect(s.base)  # a head over 64 KiB, whole in one write (h11's own limit misses it)
        huge.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 65 * 1024 + b"\r\n\r\n")
        got, _ = until_closed(huge)
        assert got.startswith(b"HTTP/1.1 431 ") and b'"status": 431' in got, got[:300]
        long = connect(s.base)  # 30 KiB in three reads: within the limit (uvicorn's 16 KiB default refused it)
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: " + b"a" * 30 * 1024 + b"\r\n\r\n"
        for part in (head[:10_000], head[10_000:20_000], head[20_000:]):
            long.sendall(part)
            time.sleep(0.05)
        got, _ = until_closed(long)
        assert got.startswith(b"HTTP/1.1 200 "), got[:100]

        s.keys = made
        assert s.get("/v1/instances/slow-1/history", "admin").status_code == 404  # nothing of it was recorded
        assert s.get("/healthz").status_code == 200  # and the server answers as before


ANON = {"BILLING_LEDGER_HTTP_ANON_RATE": "5/minute"}


def from_address(s, address: str) -> httpx.Client:
    return httpx.Client(base_url=s.base, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def locked_hits(db: str, bucket: str) -> int:
    """How many hits of ``bucket`` took its row lock (http_rate_keys.hits), read straight from the database."""
    query = "SELECT hits FROM http_rate_keys WHERE key_id = {}"
    if db.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(db.removeprefix("sqlite:///"))) as con:
            return con.execute(query.format("?"), (bucket,)).fetchone()[0]
    import psycopg

    with psycopg.connect(libpq(db)) as con:
        return con.execute(query.format("%s"), (bucket,)).fetchone()[0]


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("store", STORES)
def test_refused_keys_and_sign_in_attempts_are_limited_per_client_address(store, tmp_path):
    db = store_url(store, tmp_path)
    made = seed(db)
    with serving(db, tmp_path, env=ANON) as s:
        s.keys = made
        with from_address(s, "127.0.0.1") as one:
            refused = [one.get("/v1/verify", headers=({"Authorization": "Bearer blk_nope_nope"} if n % 2 else {}))
                       for n in range(7)]
            assert [r.status_code for r in refused] == [401] * 5 + [429] * 2
            assert 1 <= int(refused[5].headers["retry-after"]) <= 60
            assert refused[5].headers["content-type"] == "application/problem+json"
            assert "address" in refused[5].json()["detail"]
            assert one.get("/v1/verify", headers={"Authorization": f"Bearer {made['auditor']}"}).status_code == 200
            assert one.get("/console").status_code == 429  # a console page without a session counts too
            assert locked_hits(db, "@127.0.0.1") == 5  # the refused ones were refused by a read: no lock, no write
        with from_address(s, "127.0.0.2") as two:  # another address: its own window
            assert two.get("/v1/verify").status_code == 401
            token = csrf(two.get("/console/sign-in").text)
            attempts = [two.post("/console/sign-in", data={"csrf": token, "key": "blk_wrong_wrong"})
                        for _ in range(4)]
            assert [a.status_code for a in attempts] == [401] * 4  # 1 + 4 of 5
            over = two.post("/console/sign-in", data={"csrf": token, "key": made["admin"]})
            assert over.status_code == 429 and "set-cookie" not in over.headers  # the key is not even looked at
            assert "text/html" in over.headers["content-type"] and int(over.headers["retry-after"]) >= 1
        with from_address(s, "127.0.0.3") as three:
            token = csrf(three.get("/console/sign-in").text)
            done = three.post("/console/sign-in", data={"csrf": token, "key": made["admin"]})
            assert done.status_code == 303 and done.headers["location"] == "/console"
