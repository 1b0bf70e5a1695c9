"""A bounded soak of the HTTP service (issue 30, item 11): ``python -m bench.soak --db postgresql+psycopg://...``.

``billing-ledger serve --workers 2`` on the ledger, seeded with one account per client (its customer key, its
instances bought yesterday); then ``--clients`` asyncio clients for ``--seconds``, each a loop over a mix of
quotes (40 %), listings (20 %), one-line feeds with an ``Idempotency-Key`` (25 %) and refund requests with one
(15 %), every write retried with its key after a transport error or a 5xx until it is answered. Half-way, one
worker is killed (``kill -9``). Then, in this process, on the ledger itself:

- no 5xx and no transport error except around the kill (requests in flight then: started before it and ended
  by ``GRACE`` seconds after it, the killed worker's; a client cannot tell which worker served it);
- every acknowledged write present exactly once (each feed's instance has one fact; each answered refund id is
  listed once), and no account over K-Q1's three applications a month;
- ``verify`` passes.

It prints p50 and p99 latency per route (and ``--json FILE``); exit 1 when a check fails. On a shared machine
the latencies are the machine's, not the service's best.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GRACE = 3.0  # seconds after the kill within which a failed request counts as one of the killed worker's
MIX = (("quote", 40), ("instances", 20), ("feeds", 25), ("refund-requests", 15))
INSTANCES = 6  # per client's account


@dataclass
class Run:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    failures: list[tuple[str, float, float, str]] = field(default_factory=list)  # route, start, end, what
    fed: list[str] = field(default_factory=list)  # instances of acknowledged feeds
    refunds: list[tuple[str, str]] = field(default_factory=list)  # (account, refund id) acknowledged
    killed_at: float | None = None


def seed(db: str, clients: int) -> dict[str, Any]:
    from adapters.bootstrap import Settings, bootstrap
    from adapters.services import feeds, keys

    app = bootstrap(Settings.resolve(db))
    try:
        bought = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        lines = [json.dumps({"type": "purchase", "id": f"buy-soak-{c}-{n}", "at": bought,
                             "instance": f"soak-{c}-{n}", "account": f"soak-{c}", "product": "KEC",
                             "order": f"o-soak-{c}-{n}", "months": 12, "monthly_price": "30.00",
                             "payment": {"cash": "360.00"}}) for c in range(clients) for n in range(INSTANCES)]
        feeds.record_feed(app, "\n".join(lines))
        return {"recorder": keys.create_key(app, "recorder", name="soak").key,
                "customers": [keys.create_key(app, "customer", [f"soak-{c}"], name=f"soak-{c}").key
                              for c in range(clients)]}
    finally:
        app.close()


def serve(db: str, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BILLING_LEDGER_HTTP_RATE": "off",
           "BILLING_LEDGER_HTTP_ANON_RATE": "off", "BILLING_LEDGER_HTTP_ACCESS_LOG": "false"}
    exe = Path(sys.executable).with_name("billing-ledger")
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(exe), "--db", db, "serve", "--workers", str(workers), "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(1200):
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-3000:]}")
        try:
            ready = httpx.get(base + "/readyz", timeout=1).status_code == 200
            if ready and (workers == 1 or len(workers_of(proc.pid)) >= workers):
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


def workers_of(pid: int) -> list[int]:
    """The worker processes of uvicorn's supervisor ``pid`` (its children started by multiprocessing)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


async def client(n: int, base: str, made: dict[str, Any], deadline: float, run: Run) -> None:
    import httpx

    customer = {"Authorization": f"Bearer {made['customers'][n]}"}
    recorder = {"Authorization": f"Bearer {made['recorder']}"}
    rng, count = random.Random(n), 0
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while time.monotonic() < deadline:
            route = rng.choices([r for r, _ in MIX], [w for _, w in MIX])[0]
            instance = f"soak-{n}-{rng.randrange(INSTANCES)}"
            count += 1
            if route == "quote":
                await call(http, run, route, "GET", f"/v1/instances/{instance}/quote", headers=customer,
                           params={"at": datetime.now(UTC).isoformat()})
            elif route == "instances":
                await call(http, run, route, "GET", f"/v1/instances?account=soak-{n}", headers=customer)
            elif route == "feeds":
                name = f"soak-fed-{n}-{count}"
                line = json.dumps({"type": "purchase", "id": f"buy-{name}", "at": "2026-01-01T00:00:00+08:00",
                                   "instance": name, "account": "soak-fed", "product": "MongoDB",
                                   "order": f"o-{name}", "months": 12, "monthly_price": "30.00",
                                   "payment": {"cash": "360.00"}})
                got = await write(http, run, route, "/v1/feeds", {**recorder, "Idempotency-Key": name},
                                  content=line + "\n")
                if got is not None and got.status_code == 200:
                    run.fed.append(name)
            else:
                got = await write(http, run, route, f"/v1/instances/{instance}/refund-requests",
                                  {**customer, "Idempotency-Key": f"rf-{n}-{count}"}, json={})
                if got is not None and got.status_code == 201:
                    run.refunds.append((f"soak-{n}", got.json()["refund"]))


async def call(http: Any, run: Run, route: str, method: str, path: str, **kw: Any) -> Any:
    import httpx

    start = time.monotonic()
    try:
        got = await http.request(method, path, **kw)
    except httpx.TransportError as e:
        run.failures.append((route, start, time.monotonic(), type(e).__name__))
        return None
    end = time.monotonic()
    run.latency[route].append(end - start)
    run.statuses[(route, got.status_code)] += 1
    if got.status_code >= 500:
        run.failures.append((route, start, end, str(got.status_code)))
    return got


async def write(http: Any, run: Run, route: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    """A write, retried with its Idempotency-Key until answered (a 409: its first attempt still running)."""
    for _ in range(50):
        got = await call(http, run, route, "POST", path, headers=headers, **kw)
        if got is not None and got.status_code < 500 and got.status_code != 409:
            return got
        await asyncio.sleep(0.2)
    return None


async def drive(base: str, made: dict[str, Any], clients: int, seconds: float, proc: subprocess.Popen,
                run: Run) -> None:
    deadline = time.monotonic() + seconds

    async def kill_half_way() -> None:
        await asyncio.sleep(seconds / 2)
        victim = workers_of(proc.pid)[0]
        run.killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)

    await asyncio.gather(kill_half_way(), *(client(n, base, made, deadline, run) for n in range(clients)))


def check(db: str, run: Run) -> dict[str, Any]:
    from adapters.bootstrap import Settings, bootstrap
    from adapters.services import listings, queries

    k = run.killed_at or 0.0
    outside = [f for f in run.failures if not (f[1] <= k + GRACE and f[2] >= k - 0.5)]
    app = bootstrap(Settings.resolve(db))
    try:
        twice_or_missing = [name for name in run.fed if len(queries.history(app, name).as_json()["facts"]) != 1]
        listed = Counter(r.refund for r in listings.refunds(app))
        lost_refunds = [r for _, r in run.refunds if listed[r] != 1]
        per_month: Counter = Counter()
        for r in listings.refunds(app):
            if r.account.startswith("soak-") and r.state != "denied":
                per_month[(r.account, r.requested_at.astimezone(UTC).strftime("%Y-%m"))] += 1
        over_quota = {f"{a} {m}": n for (a, m), n in per_month.items() if n > 3}
        verified = queries.verify(app).ok
    finally:
        app.close()
    return {"failures_outside_the_kill": [list(f[:1]) + [f[3]] for f in outside],
            "failures_at_the_kill": len(run.failures) - len(outside), "feeds_not_exactly_once": twice_or_missing,
            "refunds_not_exactly_once": lost_refunds, "over_quota": over_quota, "verify": verified,
            "acknowledged": {"feeds": len(run.fed), "refunds": len(run.refunds)}}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--db", required=True, help="an empty PostgreSQL database (postgresql+psycopg://...)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="the figures and the checks, as JSON")
    parser.add_argument("--log", default="soak-server.log", help="the server's output")
    args = parser.parse_args(argv)
    made = seed(args.db, args.clients)
    proc, base = serve(args.db, args.workers, Path(args.log))
    run = Run()
    try:
        asyncio.run(drive(base, made, args.clients, args.seconds, proc, run))
        # the killed one replaced by uvicorn's supervisor: on a busy host its replacement may take a while to
        # start (its health check allows 30 s), so it is waited for, within a minute
        replaced_by = time.monotonic() + 60
        while len(workers_of(proc.pid)) < args.workers and time.monotonic() < replaced_by:
            time.sleep(0.5)
        serving = len(workers_of(proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    checks = check(args.db, run)
    checks["workers_at_the_end"] = serving
    routes = {r: {"requests": len(v), "p50_ms": round(percentile(v, 50) * 1000, 1),
                  "p99_ms": round(percentile(v, 99) * 1000, 1)} for r, v in sorted(run.latency.items())}
    statuses = {f"{r} {s}": n for (r, s), n in sorted(run.statuses.items())}
    ok = (not checks["failures_outside_the_kill"] and not checks["feeds_not_exactly_once"]
          and not checks["refunds_not_exactly_once"] and not checks["over_quota"] and checks["verify"]
          and run.killed_at is not None)
    figures = {"clients": args.clients, "seconds": args.seconds, "workers": args.workers, "ok": ok,
               "routes": routes, "statuses": statuses, "checks": checks}
    print(f"soak: {args.clients} clients, {args.seconds:g} s, --workers {args.workers}, one worker killed half-way")
    for r, f in routes.items():
        print(f"  {r:<16} {f['requests']:>6} requests  p50 {f['p50_ms']:>7.1f} ms  p99 {f['p99_ms']:>7.1f} ms")
    print(f"  checks: {'ok' if ok else 'FAILED'}: {json.dumps(checks)[:2000]}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
