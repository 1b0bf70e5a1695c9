"""The benchmark suite (`make bench`): every figure names its workload and its ratio to a reference
measured side by side in the same run.

- ingest: feed lines/s through `record` (validation, aggregates, keys, seals), vs. the library's own batched
  insert of the very same stored events (events/s);
- replay: a quote for every instance at one time (events/s), vs. the raw ceiling: `sqlite3` scan of
  ``stored_events`` + ``json.loads`` of each row;
- quote latency p50/p99 for histories of 10, 100 and 1,000 events;
- what-if over the whole ledger (every recorded request judged twice): requests/s and peak RSS at two sizes
  (each in a fresh process);
- HTTP: a quote and a one-line record through a real server beside the same call in-process, at 1 and 16
  concurrent clients (`bench.http`);
- CLI start-up: a `quote` on a small ledger, a fresh process per call, beside `python -c pass` (`bench.startup`);
- PostgreSQL ingest and replay when ``BILLING_LEDGER_TEST_PG`` names a server, beside SQLite on the same feed.

    python -m bench.run --instances 10000 [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.formats.feed import parse_feed
from adapters.services import reads, whatif
from adapters.services import record as service
from adapters.store.ledger import Ledger, open_ledger
from adapters.store.scan import accounts_of, instance_batches, pages, stream_instances
from bench.generate import generate
from domain.policies.registry import Context
from domain.policies.registry import assess as assess_policy

CHUNK = 2000
QUOTE_AT = datetime(2026, 9, 1, tzinfo=UTC)


def record_feed(ledger: Ledger, lines: list[str]) -> float:
    """Seconds to record ``lines`` in feeds of CHUNK lines."""
    start = time.perf_counter()
    for i in range(0, len(lines), CHUNK):
        service.record(ledger, parse_feed(lines[i:i + CHUNK]), datetime.now(UTC))
    return time.perf_counter() - start


def library_insert(source: Ledger, url: str) -> tuple[int, float]:
    """The same stored events, inserted into a fresh store by the library's recorder, CHUNK rows per call
    (read page by page; only the inserts are timed)."""
    target = open_ledger(url)
    events, seconds = 0, 0.0
    for batch in pages(source.recorder, page=CHUNK):
        start = time.perf_counter()
        target.recorder.insert_events(batch)
        seconds += time.perf_counter() - start
        events += len(batch)
    return events, seconds


def replay_all(ledger: Ledger) -> tuple[int, int, float]:
    """A quote for every instance at QUOTE_AT (auto mode; KorPro: money-back), as known now: instances read
    500 per query, the accounts of each 500 in one more query, any other stream (a policy book) as asked, a few
    recent ones kept; lean quotes (``explain=False``: the amounts, modes and lines of a ledger-wide job, without
    reasons or formulas)."""
    now = datetime.now(UTC)
    events = instances = 0
    start = time.perf_counter()
    others: dict[Any, list[Any]] = {}

    for batch in instance_batches(ledger):
        accounts = accounts_of(ledger, batch)

        def load(aggregate_id: Any) -> list[Any]:
            found = accounts.get(aggregate_id)  # noqa: B023 - this batch's accounts, used within the batch
            if found is not None:
                return found
            if aggregate_id not in others:
                if len(others) > 64:
                    others.clear()
                others[aggregate_id] = list(ledger.events.get(aggregate_id))
            return others[aggregate_id]

        for name, stream in batch:
            events += len(stream)
            instances += 1
            ctx = Context(instances=[(name, stream)], load=load, at=QUOTE_AT, known_at=now, reason="money_back",
                          explain=False)
            try:
                assess_policy(ctx)
            except Exception:  # noqa: BLE001 - an instance with no purchase by then: still read and replayed
                pass
    return instances, events, time.perf_counter() - start


def read_all(ledger: Ledger) -> tuple[int, float]:
    """The replay's reading alone: every instance's events read (500 instances per query) and decoded into
    domain events, no rule run. What is left of the replay's time is the rules."""
    events = 0
    start = time.perf_counter()
    for _, stream in stream_instances(ledger):
        events += len(stream)
    return events, time.perf_counter() - start


def raw_ceiling(path: str) -> tuple[int, float]:
    """sqlite3 full scan of stored_events + json.loads of every row: what the store can physically deliver."""
    con = sqlite3.connect(path)
    start = time.perf_counter()
    n = 0
    for (state,) in con.execute("SELECT state FROM stored_events"):
        json.loads(state)
        n += 1
    return n, time.perf_counter() - start


def history(events: int, orders: bool) -> list[str]:
    """One instance whose history has ``events`` facts: a purchase, then EIP bindings and unbindings, and
    (``orders``) a one-month renewal every other event, so that the quote has a line per order."""
    name = f"h{events}{'o' if orders else 'b'}"
    t = datetime(2026, 1, 1, tzinfo=UTC)
    lines = [{"type": "purchase", "at": t.isoformat(), "instance": name, "account": name,
              "product": "KEC", "order": f"{name}-o0", "months": 1, "monthly_price": "30.00",
              "payment": {"cash": "30.00"}},
             {"type": "purchase", "at": t.isoformat(), "instance": f"{name}-eip", "account": name,
              "product": "EIP", "order": f"{name}-eip-o", "months": 1, "monthly_price": "5.00",
              "payment": {"cash": "5.00"}}]
    bound = False
    for i in range(1, events):
        at = (t + timedelta(hours=i)).isoformat()
        if orders and i % 2 == 0:
            lines.append({"type": "renew", "at": at, "instance": name, "order": f"{name}-o{i}",
                          "months": 1, "monthly_price": "30.00", "payment": {"cash": "30.00"}})
        else:
            lines.append({"type": "unbind_eip" if bound else "bind_eip", "at": at, "instance": name,
                          "eip": f"{name}-eip"})
            bound = not bound
    return [json.dumps(x) for x in lines]


SIZES = (10, 50, 100, 1000)


def quote_latency(orders: bool, sizes: tuple[int, ...] = SIZES) -> dict[int, dict[str, float]]:
    """p50/p99 of a quote (ms) at one instant after the history, as known now, in a process that has quoted
    the instance before (its decoded stream and folded view are kept: `adapters.store.streams`); ``cold``: the
    first quote, which reads and folds the whole stream."""
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"})
    out = {}
    for n in sizes:
        lines = history(n, orders)
        service.record(ledger, parse_feed(lines), datetime.now(UTC))
        name = json.loads(lines[0])["instance"]
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n + 1)
        start = time.perf_counter()
        reads.assess(ledger, name, at, datetime.now(UTC))
        cold = time.perf_counter() - start
        reps = 200 if n <= 100 else 50
        timings = []
        for _ in range(reps):
            start = time.perf_counter()
            reads.assess(ledger, name, at, datetime.now(UTC))
            timings.append(time.perf_counter() - start)
        timings.sort()
        out[n] = {"p50": statistics.median(timings) * 1000, "p99": timings[int(len(timings) * 0.99) - 1] * 1000,
                  "cold": cold * 1000}
    return out


def what_if_child(url: str) -> dict[str, float]:
    """Run in a fresh process: the what-if over the whole ledger, its throughput and peak RSS."""
    ledger = open_ledger(url)
    start = time.perf_counter()
    n = sum(1 for _ in whatif.rejudge_all(ledger, {"refundable_tenders": "cash", "performance_rate": "0.25"}))
    seconds = time.perf_counter() - start
    return {"requests": n, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process image's peak RSS: VmHWM (``ru_maxrss`` would carry the parent's peak over fork+exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def what_if(url: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "bench.run", "--what-if-child", url], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(done.stdout)


def build(instances: int, workdir: str, seed: int = 1) -> tuple[str, int, float, Ledger]:
    path = os.path.join(workdir, f"ledger-{instances}.db")
    ledger = open_ledger(f"sqlite:///{path}")
    lines = [json.dumps(x) for x in generate(instances, seed)]
    seconds = record_feed(ledger, lines)
    return path, len(lines), seconds, ledger


def suite(instances: int, pg_url: str | None, only_scale_out: bool = False,
          scale_out_jobs: tuple[str, ...] = (), scale_out_repeat: int = 1, scale_out: bool = True) -> dict[str, Any]:
    from bench import scaleout

    results: dict[str, Any] = {"instances": instances, "machine": f"{os.cpu_count()} cores, {sys.platform}, "
                                                                  f"Python {sys.version.split()[0]}"}
    with tempfile.TemporaryDirectory() as workdir:
        path, lines, seconds, ledger = build(instances, workdir)
        results["scale_out"] = {}
        if scale_out:
            feed = [json.dumps(x) for x in generate(instances, 1)]
            results["scale_out"] = scaleout.suite(path, feed, pg_url, scale_out_jobs, scale_out_repeat)
        if only_scale_out:
            return results
        events, lib_seconds = library_insert(ledger, f"sqlite:///{os.path.join(workdir, 'copy.db')}")
        results["ingest"] = {"lines": lines, "lines_per_s": lines / seconds,
                             "library_events_per_s": events / lib_seconds, "stored_events": events}
        n, ev, secs = replay_all(ledger)
        rows, raw = raw_ceiling(path)
        read_events, read_secs = read_all(ledger)
        results["replay"] = {"instances": n, "events": ev, "events_per_s": ev / secs, "raw_rows_per_s": rows / raw,
                             "read_decode_events_per_s": read_events / read_secs}
        small_path, *_ = build(max(instances // 10, 50), workdir, seed=2)
        results["what_if"] = {"large": {"instances": instances, **what_if(f"sqlite:///{path}")},
                              "small": {"instances": max(instances // 10, 50),
                                        **what_if(f"sqlite:///{small_path}")}}
        from bench.http import http_vs_inprocess

        results["http"] = http_vs_inprocess(workdir, requests=max(32, min(400, instances // 25)))
        from bench.startup import cli_startup

        results["cli_startup"] = cli_startup(workdir)
    results["quote_ms"] = {str(k): v for k, v in quote_latency(orders=False).items()}
    results["quote_ms_orders"] = {str(k): v for k, v in quote_latency(orders=True).items()}
    if pg_url:
        from tests.stores import fresh_pg_database

        lines = [json.dumps(x) for x in generate(min(instances, 5000), 3)]
        same = {}
        for kind, url in (("sqlite", None), ("postgresql", fresh_pg_database())):
            with tempfile.TemporaryDirectory() as workdir:
                store = open_ledger(url or f"sqlite:///{os.path.join(workdir, 'same.db')}")
                seconds = record_feed(store, lines)
                n, ev, secs = replay_all(store)
                same[kind] = {"lines_per_s": len(lines) / seconds, "replay_events_per_s": ev / secs}
        results["postgresql"] = {"lines": len(lines), **same["postgresql"], "sqlite": same["sqlite"]}
    return results


def table(r: dict[str, Any]) -> str:
    from bench import scaleout

    if "ingest" not in r:
        return render(scaleout.rows(r["scale_out"]))
    i, rp, w, q, qo = r["ingest"], r["replay"], r["what_if"], r["quote_ms"], r["quote_ms_orders"]
    rows = [
        ("ingest (record, feeds of 2,000 lines)", f"{i['lines_per_s']:,.0f} lines/s",
         f"library batched insert {i['library_events_per_s']:,.0f} ev/s",
         f"{i['lines_per_s'] / i['library_events_per_s']:.2f}"),
        (f"replay: quote every instance ({rp['instances']:,})", f"{rp['events_per_s']:,.0f} ev/s",
         f"raw sqlite3+json.loads {rp['raw_rows_per_s']:,.0f} rows/s",
         f"{rp['events_per_s'] / rp['raw_rows_per_s']:.2f}"),
        ("replay, reading and decoding only (no rules)", f"{rp['read_decode_events_per_s']:,.0f} ev/s",
         "raw sqlite3+json.loads", f"{rp['read_decode_events_per_s'] / rp['raw_rows_per_s']:.2f}"),
        *((f"quote, {n} events (bindings)", f"p50 {v['p50']:.2f} ms, p99 {v['p99']:.2f} ms, cold {v['cold']:.1f}",
           "10-event p50", f"{v['p50'] / q['10']['p50']:.2f}") for n, v in q.items()),
        *((f"quote, {n} events (half orders)", f"p50 {v['p50']:.2f} ms, p99 {v['p99']:.2f} ms, cold {v['cold']:.1f}",
           "10-event p50", f"{v['p50'] / qo['10']['p50']:.2f}") for n, v in qo.items()),
        (f"what-if, {w['large']['instances']:,} instances",
         f"{w['large']['requests'] / w['large']['seconds']:,.0f} req/s, peak {w['large']['peak_rss_mb']:.0f} MB",
         f"peak at {w['small']['instances']:,}: {w['small']['peak_rss_mb']:.0f} MB",
         f"{w['large']['peak_rss_mb'] / w['small']['peak_rss_mb']:.2f}"),
    ]
    if "cli_startup" in r:
        from bench.startup import rows as startup_rows

        rows += startup_rows(r["cli_startup"])
    if "http" in r:
        from bench.http import rows as http_rows

        rows += http_rows(r["http"])
    if "postgresql" in r:
        p = r["postgresql"]
        sq = p["sqlite"]
        rows.append((f"PostgreSQL ingest ({p['lines']:,} lines)", f"{p['lines_per_s']:,.0f} lines/s",
                     f"SQLite, same feed: {sq['lines_per_s']:,.0f} lines/s",
                     f"{p['lines_per_s'] / sq['lines_per_s']:.2f}"))
        rows.append(("PostgreSQL replay", f"{p['replay_events_per_s']:,.0f} ev/s",
                     f"SQLite, same ledger: {sq['replay_events_per_s']:,.0f} ev/s",
                     f"{p['replay_events_per_s'] / sq['replay_events_per_s']:.2f}"))
    rows += scaleout.rows(r["scale_out"])
    return render(rows)


def render(rows: list[tuple[str, str, str, str]]) -> str:
    width = [max(len(x[c]) for x in rows) for c in range(4)]
    head = ("workload", "figure", "reference", "ratio")
    width = [max(w_, len(h)) for w_, h in zip(width, head, strict=True)]
    lines = [" | ".join(h.ljust(w_) for h, w_ in zip(head, width, strict=True)), "-+-".join("-" * w_ for w_ in width)]
    lines += [" | ".join(c.ljust(w_) for c, w_ in zip(row, width, strict=True)) for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="billing-ledger benchmarks")
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--only-scale-out", action="store_true",
                        help="only the ledger-wide jobs at --workers 1 and 2 (bench.scaleout)")
    parser.add_argument("--scale-out-jobs", default="",
                        help="comma-separated ledger-wide jobs to run at --workers 1 and 2 (default: every one)")
    parser.add_argument("--scale-out-repeat", type=int, default=1,
                        help="pairs of runs (--workers 1 and 2, alternating order) per job: the median is reported")
    parser.add_argument("--no-scale-out", action="store_true",
                        help="leave out the ledger-wide jobs at --workers 1 and 2 (hours at 1,000,000 instances)")
    parser.add_argument("--what-if-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.what_if_child:
        print(json.dumps(what_if_child(args.what_if_child)))
        return
    only = tuple(j.strip() for j in args.scale_out_jobs.split(",") if j.strip())
    results = suite(args.instances, os.environ.get("BILLING_LEDGER_TEST_PG"), args.only_scale_out, only,
                    args.scale_out_repeat, scale_out=not args.no_scale_out)
    print(f"billing-ledger benchmarks: {args.instances:,} generated instances; {results['machine']}")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
