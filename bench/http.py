"""HTTP beside in-process (`make bench`): a quote and a one-line record through a real server (``billing-ledger
serve`` on SQLite, one worker), each beside the same use case called in this process, at 1 and 16 concurrent
clients (threads; each HTTP client keeps its connection). The ratio is HTTP's rate over the in-process rate."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AT = datetime(2027, 2, 22, 2, tzinfo=UTC)


def _purchase(name: str) -> str:
    return json.dumps({"type": "purchase", "at": "2026-01-01T00:00:00+08:00", "instance": name, "account": "bench",
                       "product": "MongoDB", "order": f"o-{name}", "months": 12, "monthly_price": "30.00",
                       "payment": {"cash": "360.00"}})


def _rate(clients: int, calls: list[Callable[[], Any]]) -> float:
    """Calls per second, ``clients`` at a time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(c) for c in calls]:
            f.result()
    return len(calls) / (time.perf_counter() - start)


def _serve(db: str, workdir: str) -> tuple[subprocess.Popen, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BILLING_LEDGER_HTTP_RATE": "off",
           "BILLING_LEDGER_HTTP_ACCESS_LOG": "false"}
    exe = Path(sys.executable).with_name("billing-ledger")
    proc = subprocess.Popen([str(exe), "--db", db, "serve", "--fd", str(sock.fileno())], pass_fds=[sock.fileno()],
                            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock.close()
    import httpx

    for _ in range(600):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


def http_vs_inprocess(workdir: str, requests: int = 400) -> dict[str, Any]:
    import httpx

    from adapters.bootstrap import Settings, bootstrap
    from adapters.services import feeds, keys, queries

    db = f"sqlite:///{os.path.join(workdir, 'http.db')}"
    app = bootstrap(Settings.resolve(db))
    feeds.record_feed(app, (ROOT / "examples" / "seed-examples.jsonl").read_bytes())
    key = keys.create_key(app, "admin", name="bench").key
    proc, base = _serve(db, workdir)
    results: dict[str, Any] = {"requests": requests}
    try:
        local = __import__("threading").local()

        def client() -> httpx.Client:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
            return local.client

        def http_quote() -> None:
            client().get("/v1/instances/kec-1/quote", params={"at": AT.isoformat()}).raise_for_status()

        def http_record(name: str) -> Callable[[], None]:
            return lambda: client().post("/v1/feeds", content=_purchase(name)).raise_for_status()

        def local_record(name: str) -> Callable[[], None]:
            return lambda: feeds.record_feed(app, _purchase(name))

        for clients in (1, 16):
            quote_http = _rate(clients, [http_quote] * requests)
            quote_local = _rate(clients, [lambda: queries.quote(app, "kec-1", AT)] * requests)
            record_http = _rate(clients, [http_record(f"h{clients}-{n}") for n in range(requests)])
            record_local = _rate(clients, [local_record(f"l{clients}-{n}") for n in range(requests)])
            results[str(clients)] = {"quote_http_per_s": quote_http, "quote_local_per_s": quote_local,
                                     "record_http_per_s": record_http, "record_local_per_s": record_local}
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        app.close()
    return results


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    for clients in ("1", "16"):
        c = r[clients]
        for what in ("quote", "record"):
            h, lo = c[f"{what}_http_per_s"], c[f"{what}_local_per_s"]
            out.append((f"{what} over HTTP, {clients} client(s)", f"{h:,.0f} req/s", f"in-process {lo:,.0f} /s",
                        f"{h / lo:.2f}"))
    return out
