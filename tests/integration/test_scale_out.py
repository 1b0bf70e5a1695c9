"""Scale-out: every ledger-wide job (the ledger-wide what-if, project --rebuild, reconcile, export, journal,
trial-balance) gives byte-for-byte the same output in this process (``--workers 1``, and the default), on a
local Dask cluster (``--workers 2``) and on a real cluster (``dask scheduler`` + 2 ``dask worker`` processes
on 127.0.0.1, started once for the module; PostgreSQL only: remote workers open the ledger by its URL), on both stores.
A worker killed mid-job has its partition run again (same answer), or, with no failure allowed, the job
fails loudly and the rebuild writes nothing. The refusals explain themselves (status 2).

A local cluster costs a few seconds to start (two spawned processes importing Dask and the ledger), so
`--workers 2` runs one command of each job (`LOCAL`) on SQLite and the what-if on PostgreSQL; the real
cluster (started once) runs every variant (`JOBS`) on PostgreSQL.

The ledger is the benchmark's seeded generator (every product, refunds in every mode), a few settled
refunds and a posted KorPro version, cut into partitions of a few instances (``--partition-size``) so every
job has several partitions. The CLI runs in this process (`InProcessCLI`); its local clusters spawn real
worker processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest

from adapters.bootstrap import Settings, bootstrap
from adapters.services import feeds, jobs, listings, whatif
from adapters.store import readmodels
from bench.generate import generate
from bench.scaleout import statement_text
from tests.feedkit import jsonl
from tests.integration.conftest import ROOT, InProcessCLI
from tests.killer import killing
from tests.stores import STORES, store_url

pytest.importorskip("distributed")

START, END = datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
SIZE = "7"  # instances per partition: 60 instances make 9 partitions
DASK = Path(sys.executable).with_name("dask")


def clock(start: datetime = datetime(2026, 11, 1, tzinfo=UTC)):
    ticks = count()
    return lambda: start + timedelta(seconds=next(ticks))


def build(url: str, folder: Path) -> Path:
    """The generated ledger, recorded in two feeds, some refunds settled, a KorPro version posted; returns a
    statement of most of its charges and completed refunds (one misbooked, one unknown)."""
    app = bootstrap(Settings(url=url, clock=clock()))
    feed = list(generate(60, seed=16))
    feeds.record_feed(app, jsonl(*feed[: len(feed) // 2]))
    feeds.record_feed(app, jsonl(*feed[len(feed) // 2:], {
        "type": "post_policy", "at": "2026-06-01T00:00:00Z", "policy": "korpro", "version": "2026-06",
        "parameters": {"performance_rate": "0.25"}}))
    settle = [{"type": "complete_refund", "at": r.requested_at.isoformat(), "refund": r.refund}
              for i, r in enumerate(listings.refunds(app)) if r.state in ("accepted", "approved") and i % 3]
    if settle:
        feeds.record_feed(app, jsonl(*settle))
    text = statement_text(app)
    app.close()
    statement = folder / "statement.csv"
    statement.write_text(text)
    return statement


@pytest.fixture(scope="module", params=STORES)
def ledger(request, tmp_path_factory) -> tuple[InProcessCLI, Path]:
    folder = tmp_path_factory.mktemp(f"scale-out-{request.param}")
    cli = InProcessCLI(store_url(request.param, folder), folder)
    return cli, build(cli.url, folder)


@pytest.fixture(scope="module")
def here(ledger) -> dict:
    """Every job's output in this process, as it was before this change (no option)."""
    return answers(*ledger)


@pytest.fixture(scope="module")
def scheduler():
    """A real Dask cluster on this host: a scheduler on a free port and two single-threaded workers that
    import this tree; stopped (workers first) when the module is done, whatever happened."""
    distributed = pytest.importorskip("distributed")
    folder = Path(tempfile.mkdtemp(prefix="dask-"))
    address_file = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BILLING_LEDGER_DB", None)
    procs = []
    try:
        procs.append(subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                       "--no-dashboard", "--scheduler-file", str(address_file)],
                                      cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        deadline = time.monotonic() + 60
        while not address_file.exists():
            assert procs[0].poll() is None and time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                           "--host", "127.0.0.1", "--no-dashboard"],
                                          cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:  # each in its own session: the worker processes the nannies spawned go with them
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


JOBS = {  # each ledger-wide job's command line; {out} is a file of its own, compared byte for byte
    "what-if": ["what-if", "--set", "refundable_tenders=cash", "--set", "performance_rate=0.25", "--json"],
    "what-if version": ["what-if", "--policy-version", "2026-06", "--csv", "{out}"],
    "what-if exposure": ["what-if", "--at", "2026-09-01T00:00:00Z", "--mode", "savings_shortfall", "--set",
                         "refundable_tenders=cash", "--set", "performance_rate=0.25", "--csv", "{out}", "--json"],
    "reconcile": ["reconcile", "--statement", "{statement}", "--json", "--out", "{out}"],
    "export orders": ["export", "orders", "--from", START.isoformat(), "--to", END.isoformat(), "--out", "{out}"],
    "export refunds": ["export", "refunds", "--from", START.isoformat(), "--to", END.isoformat(), "--format",
                       "parquet", "--out", "{out}"],
    "export account-ledger": ["export", "account-ledger", "--from", START.isoformat(), "--to", END.isoformat(),
                              "--known-at", "2026-11-01T00:00:01Z", "--out", "{out}"],
    "journal": ["journal", "--from", START.isoformat(), "--to", END.isoformat(), "--format", "csv",
                "--closed-through", "2026-06-30", "--out", "{out}"],
    "trial-balance": ["trial-balance", "--at", END.isoformat(), "--json"],
    "project --rebuild": ["project", "--rebuild"],
}


def run(cli: InProcessCLI, statement: Path, job: str, *where: str) -> tuple:
    """The job's exit status, standard output and file (the read models' rows for project --rebuild)."""
    out = cli.cwd / f"out-{job.replace(' ', '-')}"
    args = [a.format(out=out, statement=statement) for a in JOBS[job]]
    done = cli.run(*args, *where, *(["--force"] if "{out}" in JOBS[job] else []))
    assert done.returncode in (0, 1), done.stderr  # reconcile: 1 when something does not reconcile
    assert "error" not in done.stderr, done.stderr
    if job == "project --rebuild":
        app = bootstrap(Settings(url=cli.url))
        try:
            made = repr(readmodels.dump(app.readmodels)).encode()
        finally:
            app.close()
    else:
        made = out.read_bytes() if out.exists() else b""
        out.unlink(missing_ok=True)
    return done.returncode, done.stdout, made


LOCAL = {"sqlite": ("what-if", "reconcile", "export account-ledger", "project --rebuild"),
         "postgresql": ("what-if", "what-if exposure")}


def answers(cli: InProcessCLI, statement: Path, *where: str, jobs=tuple(JOBS)) -> dict:
    return {job: run(cli, statement, job, *where) for job in jobs}


def test_every_job_answers_the_same_in_this_process_and_on_a_local_cluster(ledger, here):
    cli, statement = ledger
    assert json.loads(here["what-if"][1])["requests"] and here["export orders"][2].count(b"\n") > 60
    exposure = json.loads(here["what-if exposure"][1])  # every instance open at T, several partitions
    assert exposure["instances"] and len(exposure["totals"]) > 2 and here["what-if exposure"][2].count(b"\n") > 8
    assert here["reconcile"][0] == 1 and b"amount_mismatch" in here["reconcile"][2]
    assert answers(cli, statement, "--workers", "1", "--partition-size", SIZE) == here
    local = LOCAL["postgresql" if cli.url.startswith("postgresql") else "sqlite"]
    assert answers(cli, statement, "--workers", "2", "--partition-size", SIZE, jobs=local) == {
        job: here[job] for job in local}


def test_every_job_answers_the_same_on_a_real_cluster(ledger, here, scheduler):
    cli, statement = ledger
    if not cli.url.startswith("postgresql"):
        done = cli.run(*JOBS["what-if"], "--scheduler", scheduler)
        assert (done.returncode, done.stdout) == (2, "")
        assert "--scheduler: remote workers need PostgreSQL" in done.stderr
        return
    assert answers(cli, statement, "--scheduler", scheduler, "--partition-size", SIZE) == here


def test_refusals_name_the_option(ledger):
    cli, _ = ledger
    for where, says in [(["--workers", "0"], "--workers: 0 is not a number of worker processes"),
                        (["--workers", "-2"], "--workers: -2 is not a number of worker processes"),
                        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler: give --workers"),
                        (["--partition-size", "0"], "--partition-size")]:
        done = cli.run(*JOBS["what-if"], *where)
        assert (done.returncode, done.stdout) == (2, ""), where
        assert says in done.stderr, (where, done.stderr)
    if cli.url.startswith("postgresql"):  # nothing listens on port 9 of this host: refused at once, named
        started = time.monotonic()
        done = cli.run("export", "orders", "--from", START.isoformat(), "--to", END.isoformat(), "--out", "x.csv",
                       "--scheduler", "tcp://127.0.0.1:9")
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        assert "--scheduler: cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
        assert time.monotonic() - started < 30 and not (cli.cwd / "x.csv").exists()
    done = cli.run("what-if", "kec-1", "--at", "2026-05-01T00:00:00Z", "--workers", "2")
    assert done.returncode == 2 and "the ledger-wide what-if only" in done.stderr
    done = cli.run("project", "--workers", "2")
    assert done.returncode == 2 and "project --rebuild only" in done.stderr


def test_a_worker_killed_mid_job_has_its_partition_run_again(ledger, scheduler, tmp_path):
    import distributed

    cli, _ = ledger
    if not cli.url.startswith("postgresql"):
        pytest.skip("the same on both stores: the real cluster (PostgreSQL) is already running")
    app = bootstrap(Settings(url=cli.url))
    try:
        here = whatif.ledger_scenario(app, {"refundable_tenders": "cash"}, size=7).as_json()
        with app.mapper(scheduler=scheduler) as mapped:
            again = whatif.ledger_scenario(app, {"refundable_tenders": "cash"}, size=7,
                                           map=killing(mapped, str(tmp_path / "killed"))).as_json()
        assert (tmp_path / "killed").exists() and again == here
    finally:
        app.close()
    with distributed.Client(scheduler, timeout=30) as client:  # the nanny restarted the killed worker
        client.wait_for_workers(2, timeout=60)


def test_with_no_failure_allowed_a_killed_worker_fails_the_job_and_the_rebuild_writes_nothing(ledger, tmp_path):
    import dask
    from distributed import KilledWorker

    cli, _ = ledger
    if cli.url.startswith("postgresql"):
        pytest.skip("the same on both stores: one local cluster is enough")  # (its scheduler is in this process)
    app = bootstrap(Settings(url=cli.url))
    try:
        jobs.project(app, rebuild=True, size=7)
        before = readmodels.dump(app.readmodels), readmodels.position(app.readmodels)
        readmodels.replace_all(app.readmodels, 1, [])  # something to keep: a failed rebuild must not touch it
        kept = readmodels.dump(app.readmodels), readmodels.position(app.readmodels)
        assert kept != before
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}), app.mapper(2) as mapped:
            with pytest.raises(KilledWorker):
                jobs.project(app, rebuild=True, size=7, map=killing(mapped, str(tmp_path / "killed")))
        assert (readmodels.dump(app.readmodels), readmodels.position(app.readmodels)) == kept
    finally:
        app.close()
