"""A real server per store: ``billing-ledger serve`` (uvicorn) on a socket bound to 127.0.0.1 port 0, over a
ledger seeded with the examples and holding one key per role (and per role, one narrowed to ``acme``)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from adapters.bootstrap import Settings, bootstrap
from adapters.services import keys
from adapters.services.feeds import record_feed
from tests.stores import STORES, store_url

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("billing-ledger")
ROLES = ("admin", "recorder", "finance", "auditor", "support", "customer")
OWN, OTHER = "acme", "initech"  # kec-1 is acme's (seed examples), kp-1 initech's (KorPro examples)
RACE = 16  # instances of the account "race", for the concurrent refund requests


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/http/" in str(item.fspath):
            item.add_marker(pytest.mark.store)


def purchase(name: str, account: str) -> str:
    return json.dumps({"type": "purchase", "id": f"buy-{name}", "at": "2026-01-01T00:00:00+08:00", "instance": name,
                       "account": account, "product": "MongoDB", "order": f"o-{name}", "months": 12,
                       "monthly_price": "30.00", "payment": {"cash": "360.00"}})


def refund_request(name: str, refund: str) -> str:
    return json.dumps({"type": "request_refund", "at": "2026-01-20T10:00:00+08:00", "instance": name,
                       "refund": refund})


@dataclass
class Server:
    base: str
    db: str
    log: Path
    keys: dict[str, str] = field(default_factory=dict)  # "admin", "admin@acme", ... -> secret
    client: httpx.Client | None = None
    proc: subprocess.Popen | None = None  # the server's process (a test may kill it)

    def request(self, method: str, path: str, key: str | None = None, **kw) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        assert self.client is not None
        return self.client.request(method, self.base + path, headers=headers, **kw)

    def get(self, path: str, key: str | None = None, **kw) -> httpx.Response:
        return self.request("GET", path, key, **kw)

    def post(self, path: str, key: str | None = None, **kw) -> httpx.Response:
        return self.request("POST", path, key, **kw)

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@contextlib.contextmanager
def serving(db: str, workdir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Iterator[Server]:
    """``billing-ledger serve --fd N`` on a socket bound here to 127.0.0.1:0; answers /healthz, or the test
    fails with the server's output; terminated afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    log = workdir / f"server-{port}.log"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "BILLING_LEDGER_HTTP_RATE": "1000000/minute",
                "BILLING_LEDGER_HTTP_ANON_RATE": "1000000/minute",
                "BILLING_LEDGER_HTTP_ACCESS_LOG": "false", **(env or {})}
    full_env.pop("BILLING_LEDGER_DB", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(EXE), "--db", db, "serve", "--fd", str(sock.fileno()), *args],
                                pass_fds=[sock.fileno()], stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                                env=full_env)
    sock.close()
    server = Server(f"http://127.0.0.1:{port}", db, log, proc=proc)
    try:
        with httpx.Client(timeout=60) as client:
            server.client = client
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited with {proc.returncode}:\n{server.stderr()}")
                try:
                    if client.get(server.base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer /healthz in 60 s:\n{server.stderr()}")
                time.sleep(0.05)
            yield server
    finally:
        stop(proc, 15)


def stop(proc: subprocess.Popen, timeout: float) -> None:
    """Terminate a process the test started (if still running), killed when it outlasts ``timeout`` seconds."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def seed(db: str) -> dict[str, str]:
    """The examples of both policies, the race account's instances, and the keys: every role unnarrowed
    (``admin``...) and narrowed to acme (``admin@acme``...); a customer key is always narrowed."""
    app = bootstrap(Settings.resolve(db))
    try:
        for example in ("seed-examples.jsonl", "korpro-examples.jsonl"):
            record_feed(app, (ROOT / "examples" / example).read_bytes())
        record_feed(app, "\n".join(purchase(f"race-{n}", "race") for n in range(RACE)))
        made = {}
        for role in ROLES:
            if role != "customer":
                made[role] = keys.create_key(app, role, name=role).key
            made[f"{role}@{OWN}"] = keys.create_key(app, role, [OWN], name=f"{role}@{OWN}").key
        revoked = keys.create_key(app, "admin", name="revoked")
        keys.revoke_key(app, revoked.id)
        made["revoked"] = revoked.key
        return made
    finally:
        app.close()


@pytest.fixture(scope="session", params=STORES)
def server(request, tmp_path_factory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(f"http-{request.param}")
    db = store_url(request.param, workdir)
    made = seed(db)
    with serving(db, workdir) as s:
        s.keys = made
        yield s
        if request.session.testsfailed:
            print(f"--- server output ({request.param}) ---\n{s.stderr()}")


def at_once(send: Callable[[httpx.Client, int], httpx.Response], n: int) -> list[httpx.Response]:
    """``send(client, i)`` for i in 0..n-1, each on its own client and thread, all released together by a
    barrier (a race, as concurrent clients make one); the answers in the order of i."""
    barrier, answers = threading.Barrier(n), [None] * n

    def ask(i: int) -> None:
        with httpx.Client(timeout=120) as client:
            barrier.wait(timeout=60)
            answers[i] = send(client, i)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    return [a for a in answers if a is not None]
