"""Scale-out figures for `make bench`: each ledger-wide job at ``--workers 1`` and ``--workers 2`` in the same
run, on the same ledger, on SQLite and (when ``BILLING_LEDGER_TEST_PG`` names a server) PostgreSQL.

Each job runs as its own process, ``python -c 'from adapters.cli import main; main()' --db URL <job> ...`` (the
installed ``billing-ledger`` entrypoint, importing this tree), and is measured from outside:

- **wall**: seconds from start to exit, the local cluster's start-up and shut-down included;
- **CPU**: user + system seconds of the whole process tree (``RUSAGE_CHILDREN`` before and after: the driver
  and, once reaped, the Dask scheduler thread's process, nannies and worker processes);
- **peak RSS of the tree**: the largest sum of ``VmRSS`` over the job's process and all its descendants,
  sampled from ``/proc`` every 20 ms (a peak shorter than that can be missed). ``max child RSS`` is
  ``ru_maxrss`` of ``RUSAGE_CHILDREN``: the largest *single* process of the tree (not a sum).

Speed-up = wall at ``--workers 1`` / wall at ``--workers 2``, measured in pairs (``--scale-out-repeat``: the
median pair, and the range).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START, END = datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
WORKERS = (1, 2)
CLI = "from adapters.cli import main; main()"


def jobs(statement: str, out: str) -> dict[str, list[str]]:
    """Each ledger-wide job's command line (``{out}`` a file of its own)."""
    period = ["--from", START.isoformat(), "--to", END.isoformat()]
    return {
        "what-if": ["what-if", "--set", "refundable_tenders=cash", "--json"],
        "project --rebuild": ["project", "--rebuild"],
        "export account-ledger": ["export", "account-ledger", *period, "--out", out, "--force"],
        "reconcile": ["reconcile", "--statement", statement, "--json"],
        "journal": ["journal", *period, "--format", "csv", "--out", out, "--force"],
    }


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(url: str, args: list[str]) -> dict[str, Any]:
    """Run one job as a process tree; wall, CPU of the tree, sampled peak RSS of the tree."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("BILLING_LEDGER_DB", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CLI, "--db", url, *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(rss_kb(p) for p in descendants(proc.pid)))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # reconcile exits 1 when something does not reconcile (the statement's misfit)
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {err[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_tree_rss_mb": peak / 1024,
            "max_child_rss_mb": after.ru_maxrss / 1024, "status": proc.returncode}


def statement_text(app: Any) -> str:
    """A payment statement of most of the ledger's cash charges (one in 17 misbooked by 1.00) and its completed
    refunds, and one unknown charge, so that reconcile has matches and findings (also the scale-out tests')."""
    from adapters.services.jobs import export

    rows = ["kind,reference,account,amount,currency,booked_at"]
    for i, o in enumerate(export(app, "orders", START, END)):
        if o["cash"] > 0 and i % 4:
            amount = o["cash"] + (1 if i % 17 == 1 else 0)
            rows.append(f"charge,{o['order']},{o['account']},{amount},{o['currency']},{o['placed_at'].isoformat()}")
    for r in export(app, "refunds", START, END):
        if r["state"] == "completed":
            rows.append(f"refund,{r['refund']},{r['account']},{r['amount']},{r['currency']},"
                        f"{(r['settled_at'] or r['requested_at']).isoformat()}")
    rows.append("charge,nowhere,x,1.00,CNY,2026-02-01T00:00:00Z")
    return "\n".join(rows) + "\n"


def statement(url: str, path: str) -> str:
    """`statement_text` of the ledger at ``url``, written to ``path``."""
    from adapters.bootstrap import Settings, bootstrap

    app = bootstrap(Settings(url=url))
    text = statement_text(app)
    app.close()
    Path(path).write_text(text)
    return path


def run_jobs(url: str, workdir: str, only: tuple[str, ...] = (), repeat: int = 1) -> dict[str, Any]:
    """Every job (or those named in ``only``) at --workers 1 and --workers 2 on the same ledger, ``repeat``
    pairs in alternating order (1 then 2, 2 then 1, ...): on a machine whose speed drifts (a shared host), each
    pair is measured close together. Each worker count's figures are its median run (by wall time); the
    speed-up is the median of the pairs' speed-ups, its range the smallest and the largest pair's."""
    st = statement(url, os.path.join(workdir, "statement.csv"))
    out: dict[str, Any] = {}
    for name, args in jobs(st, os.path.join(workdir, "job.out")).items():
        if only and name not in only:
            continue
        pairs = []
        for i in range(repeat):
            order = WORKERS if i % 2 == 0 else WORKERS[::-1]
            pair = {str(w): measure(url, [*args, "--workers", str(w)]) for w in order}
            pairs.append(pair)
            print(f"scale-out: {name} on {url.split(':')[0]}: " + "; ".join(
                  f"--workers {w}: {m['wall_s']:.1f} s wall, {m['cpu_s']:.1f} s CPU, {m['peak_tree_rss_mb']:.0f} MB"
                  for w, m in pair.items()) + f" (load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
        runs = {str(w): median_run([p[str(w)] for p in pairs]) for w in WORKERS}
        ups = sorted(p["1"]["wall_s"] / p["2"]["wall_s"] for p in pairs)
        out[name] = {**runs, "speedup": statistics.median(ups), "speedups": ups, "pairs": len(pairs),
                     "cpu_ratio": runs["2"]["cpu_s"] / runs["1"]["cpu_s"]}
    return out


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time (the lower middle one of an even number)."""
    return sorted(runs, key=lambda m: m["wall_s"])[(len(runs) - 1) // 2]


def cluster_start() -> dict[str, float]:
    """What a local cluster of 2 costs by itself: the CLI's smallest ledger-wide job on an empty ledger at
    --workers 1 and 2 (the difference is the cluster's start-up and shut-down)."""
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{os.path.join(d, 'empty.db')}"
        from adapters.store.ledger import open_ledger

        open_ledger(url)
        one = measure(url, ["what-if", "--set", "refundable_tenders=cash", "--json", "--workers", "1"])
        two = measure(url, ["what-if", "--set", "refundable_tenders=cash", "--json", "--workers", "2"])
    return {"wall_s": two["wall_s"] - one["wall_s"], "cpu_s": two["cpu_s"] - one["cpu_s"]}


def suite(sqlite_path: str, lines: list[str], pg_url: str | None, only: tuple[str, ...] = (),
          repeat: int = 1) -> dict[str, Any]:
    """The jobs (every one, or those named in ``only``) on the SQLite ledger already built (``sqlite_path``),
    and on PostgreSQL with the same feed, ``repeat`` pairs each (`run_jobs`)."""
    load = os.getloadavg()
    results: dict[str, Any] = {"load_before": list(load), "cluster_start": cluster_start()}
    with tempfile.TemporaryDirectory() as workdir:
        results["sqlite"] = run_jobs(f"sqlite:///{sqlite_path}", workdir, only, repeat)
    if pg_url:
        from adapters.store.ledger import open_ledger
        from bench.run import record_feed
        from tests.stores import fresh_pg_database

        url = fresh_pg_database()
        store = open_ledger(url)
        record_feed(store, lines)
        with tempfile.TemporaryDirectory() as workdir:
            results["postgresql"] = run_jobs(url, workdir, only, repeat)
    results["load_after"] = list(os.getloadavg())
    return results


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Table rows: a job at --workers 2 beside the same job at --workers 1."""
    out = []
    for store in ("sqlite", "postgresql"):
        for job, m in r.get(store, {}).items():
            one, two = m["1"], m["2"]
            out.append((f"{job} ({store}), --workers 2",
                        f"{two['wall_s']:.1f} s, CPU {two['cpu_s']:.1f} s, tree peak {two['peak_tree_rss_mb']:.0f} MB",
                        f"--workers 1: {one['wall_s']:.1f} s, CPU {one['cpu_s']:.1f} s, "
                        f"peak {one['peak_tree_rss_mb']:.0f} MB",
                        f"speed-up {m['speedup']:.2f}" + (
                            f" ({m['speedups'][0]:.2f}–{m['speedups'][-1]:.2f}, {m['pairs']} pairs)"
                            if m.get("pairs", 1) > 1 else "")))
    if not r:  # left out (--no-scale-out)
        return out
    c = r["cluster_start"]
    out.append(("local cluster of 2, start + stop (empty ledger)", f"{c['wall_s']:.1f} s, CPU {c['cpu_s']:.1f} s",
                f"load average {r['load_before'][0]:.2f} before, {r['load_after'][0]:.2f} after", ""))
    return out
