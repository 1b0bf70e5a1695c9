"""Ledger-wide jobs as partitioned jobs, on real stores: every job gives the same rows whatever the partition
size (1, 2, 3 instances, or one partition for the whole ledger), whether its tasks run here or are pickled
and opened by URL (a pool's or a cluster's way); a write made after the job was planned changes no answer;
and a process pool's ``map`` gives what the builtin gives.

The ledgers are small and random: the benchmark's generator (every product, discounts, renewals, upgrades,
downgrades, bound EIPs, KorPro charges and reports, refund requests in every mode) with a random seed and
size, plus refunds of a KEC with its bound EIP, a retracted renewal, a posted KorPro version, and completed
and rejected refunds; recorded in several feeds at increasing recorded times.
"""

from __future__ import annotations

import builtins
import json
import multiprocessing
import pickle
import random
import re
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

from adapters.bootstrap import Settings, bootstrap
from adapters.services import feeds, jobs, listings, whatif
from adapters.store import readmodels
from adapters.store.scan import AccountPartition, Partition, instances_in, pin, stream_instances
from adapters.store.tasks import Store, Task
from bench.generate import generate
from projections import partitions
from tests.feedkit import day, jsonl, purchase
from tests.stores import STORES, store_url

SIZES = (1, 2, 3, 10**6)  # 10**6: one partition for the whole ledger
START, END = datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
SCENARIO = {"refundable_tenders": "cash", "performance_rate": "0.25"}
SPARES = 12  # KECs nobody asked a refund of: the writes made after planning ask for them


def clock(start: datetime = datetime(2026, 11, 1, tzinfo=UTC)):
    """A clock that moves on a second at each reading: every feed is recorded later than the one before."""
    ticks = count()
    return lambda: start + timedelta(seconds=next(ticks))


def app_on(url: str):
    return bootstrap(Settings(url=url, clock=clock()))


def bundles(rnd: random.Random) -> list[dict]:
    lines = []
    for i in range(rnd.randint(1, 3)):
        account = f"bundle-{i % 2}"
        lines += [purchase(f"bk-{i}", account=account, at=day(i)),
                  purchase(f"be-{i}", account=account, product="EIP", at=day(i)),
                  {"type": "bind_eip", "at": day(i, hours=1).isoformat(), "instance": f"bk-{i}", "eip": f"be-{i}"}]
        if rnd.random() < 0.7:
            lines.append({"type": "request_refund", "at": day(i + rnd.randint(1, 40)).isoformat(),
                          "instance": f"bk-{i}", "refund": f"rb-{i}", "with": [f"be-{i}"]})
    lines.append({"type": "renew", "id": "renewal-r", "at": day(2).isoformat(), "instance": "kec-r", "order": "r-r",
                  "months": 1, "monthly_price": "10.00", "payment": {"cash": "10.00"}})
    return [purchase("kec-r", account="bundle-0"), *lines]


def later(rnd: random.Random) -> list[dict]:
    return [{"type": "retract", "id": "retract-r", "at": day(3).isoformat(), "target": "renewal-r",
             "reason": "never provisioned"},
            {"type": "post_policy", "at": "2026-06-01T00:00:00Z", "policy": "korpro", "version": "2026-06",
             "parameters": {"performance_rate": str(rnd.choice(["0.25", "0.30"]))}},
            *(purchase(f"spare-{i}", account=f"spare-{i}", at=day(i)) for i in range(SPARES))]


def random_ledger(url: str, seed: int):
    """A random small ledger (every feed recorded later than the one before), and its random statement."""
    rnd = random.Random(seed)
    generated = [json.loads(re.sub(r'"(kec|ebs|eip|krds|mongodb|kingai|korpro|kd|rf|acct|ER)-', r'"g\1-',
                                   json.dumps(x))) for x in generate(rnd.randint(4, 16), seed)]
    app = app_on(url)
    half = rnd.randint(0, len(generated))
    for feed in (generated[:half], bundles(rnd), generated[half:], later(rnd)):
        if feed:
            feeds.record_feed(app, jsonl(*feed))
    settle = [{"type": rnd.choice(["complete_refund", "complete_refund", "reject_refund"]),
               "at": r.requested_at.isoformat(), "refund": r.refund, "reason": "settled"}
              for r in listings.refunds(app) if r.state in ("accepted", "approved") and rnd.random() < 0.6]
    for line in settle:
        if line["type"] == "complete_refund":
            del line["reason"]
    if settle:
        feeds.record_feed(app, jsonl(*settle))
    return app, statement(app, rnd)


def statement(app, rnd: random.Random) -> str:
    """Most charges (a few misbooked), the completed refunds, and a reference the ledger does not have."""
    rows = ["kind,reference,account,amount,currency,booked_at"]
    for o in jobs.export(app, "orders", START, END):
        if o["cash"] > 0 and rnd.random() < 0.7:
            amount = o["cash"] + (Decimal("1.00") if rnd.random() < 0.1 else 0)
            rows.append(f"charge,{o['order']},{o['account']},{amount},{o['currency']},{o['placed_at'].isoformat()}")
    for r in jobs.export(app, "refunds", START, END):
        if r["state"] == "completed":
            rows.append(f"refund,{r['refund']},{r['account']},{r['amount']},{r['currency']},"
                        f"{(r['settled_at'] or r['requested_at']).isoformat()}")
    rows.append(f"charge,nowhere,x,1.00,CNY,{day(30).isoformat()}")
    return "\n".join(rows) + "\n"


MID = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=2)  # after the first feeds, before the last


def rebuilt(app, size: int, map) -> dict:
    jobs.project(app, rebuild=True, size=size, map=map)
    return readmodels.dump(app.readmodels)


JOBS = {  # every ledger-wide job: (app, statement, partition size, map) -> its answer
    "what-if": lambda app, text, size, map: whatif.ledger_scenario(app, SCENARIO, size=size, map=map).as_json(),
    "what-if account": lambda app, text, size, map: whatif.ledger_scenario(
        app, {}, account="bundle-0", size=size, map=map).as_json(),
    "what-if version": lambda app, text, size, map: whatif.ledger_scenario(
        app, {}, "2026-06", size=size, map=map).as_json(),
    "reconcile": lambda app, text, size, map: jobs.reconcile(app, text, size=size, map=map).findings,
    **{what: (lambda app, text, size, map, what=what: list(jobs.export(app, what, START, END, size=size,
                                                                       map=map)))
       for what in jobs.EXPORTS},
    **{f"{what} known at": (lambda app, text, size, map, what=what: list(jobs.export(
        app, what, START, END, MID, size=size, map=map))) for what in jobs.EXPORTS},
    "project --rebuild": lambda app, text, size, map: rebuilt(app, size, map),
}


def answers(app, text: str, size: int, map=builtins.map) -> dict:
    """Every ledger-wide job's answer, each run with partitions of ``size`` instances through ``map``."""
    return {name: job(app, text, size, map) for name, job in JOBS.items()}


def travelling(fn, partitions):
    """A cluster's way, in this process: each task pickled and unpickled, opening the store by its URL."""
    return builtins.map(pickle.loads(pickle.dumps(fn)), partitions)


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_job_gives_the_same_rows_whatever_the_partitions(store, seed, tmp_path):
    url = store_url(store, tmp_path)
    app, text = random_ledger(url, seed)
    whole = answers(app, text, 10**6)
    assert whole["what-if"]["requests"] and whole["orders"] and whole["project --rebuild"]["rm_orders"]
    for size in SIZES[:-1]:
        assert answers(app, text, size) == whole, size
    assert answers(app, text, 2, travelling) == whole
    # the incremental projection (not partitioned) reaches the same tables
    other = readmodels.engine_for(f"sqlite:///{tmp_path / 'incremental.db'}")
    readmodels.catch_up(app.ledger, other, batch=7)
    assert readmodels.dump(other) == whole["project --rebuild"]


def test_a_write_after_planning_changes_no_answer(tmp_path):
    app, text = random_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", 4)
    spare = count()

    def writing(fn, partitions):
        """Record a feed after the job was planned, before any of its tasks runs: a refund asked and completed
        on an instance the plan holds (its stream and its account's change), and a new instance."""
        i = next(spare)
        feeds.record_feed(app, jsonl(
            {"type": "request_refund", "at": day(10 + i).isoformat(), "instance": f"spare-{i}", "refund": f"rs-{i}"},
            {"type": "complete_refund", "at": day(11 + i).isoformat(), "refund": f"rs-{i}"},
            purchase(f"late-{i}", account=f"spare-{i}", at=day(i))))
        return builtins.map(fn, partitions)

    for name, job in JOBS.items():
        if name == "project --rebuild":
            continue
        before = job(app, text, 2, builtins.map)
        assert job(app, text, 2, writing) == before, name
        if name != "what-if account" and "known at" not in name:  # (the writes are other accounts', and later)
            assert job(app, text, 2, builtins.map) != before, name  # unpinned, the write is seen
    # the rebuild commits the rows of the pinned position, then catches up with the write: exactly once
    assert rebuilt(app, 2, writing) == rebuilt(app, 10**6, builtins.map)
    assert next(spare) == len(JOBS)  # every job wrote


def test_the_rebuild_writes_the_rows_of_the_pinned_position(tmp_path):
    app, _ = random_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", 5)
    jobs.project(app, rebuild=True)
    tables = readmodels.dump(app.readmodels)
    pinned = pin(app.ledger, 3, by_account=True)
    feeds.record_feed(app, jsonl(
        {"type": "request_refund", "at": day(10).isoformat(), "instance": "spare-0", "refund": "rs-0"},
        purchase("late-0", account="spare-0")))
    rows = map(Task(Store(None, app.ledger), partitions.finance_months, pinned.known_at), pinned.partitions)
    assert readmodels.replace_all(app.readmodels, pinned.position, rows) == pinned.position
    assert readmodels.dump(app.readmodels) == tables
    assert readmodels.position(app.readmodels) == pinned.position < app.ledger.recorder.max_notification_id()


def test_a_process_pool_maps_the_same_tasks(tmp_path):
    app, text = random_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", 6)
    here = answers(app, text, 3)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert answers(app, text, 3, pool.map) == here


@pytest.mark.parametrize("store", STORES)
def test_partitions_of_whole_accounts_hold_every_instance_once_and_each_account_in_one(store, tmp_path):
    """`scan.plan_accounts`: the account ledger, the read models' months and the journal need an account's
    instances together, so those jobs' partitions are cut by account: consecutive by name, none sharing an
    account, every instance opened up to the pinned position in exactly one (K-L3 applications that bundle an
    account's instances are computed where all of them are)."""
    app, _ = random_ledger(store_url(store, tmp_path), 4)
    pinned = pin(app.ledger, 2, by_account=True)
    assert len(pinned.partitions) > 2 and all(isinstance(p, AccountPartition) for p in pinned.partitions)
    names, owners = [], {}
    for p in pinned.partitions:
        instances = list(instances_in(app.ledger, p))
        assert len(instances) == p.instances
        orders, refunds = partitions.finance_rows(instances, pinned.known_at)
        for account in {o.account for o in orders} | {r.account for r in refunds}:
            assert p.first <= account <= p.last and owners.setdefault(account, p) == p
        names += [name for name, _ in instances]
    bounds = [(p.first, p.last) for p in pinned.partitions]
    assert all(a[1] < b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    assert sorted(names) == sorted(name for name, _ in stream_instances(app.ledger))
    assert pinned.partitions[-1].position == pinned.position


@pytest.mark.parametrize("store", STORES)
def test_an_instance_bought_again_by_another_account_makes_one_partition_of_the_whole_ledger(store, tmp_path):
    """A purchase retracted, then the instance name bought by another account: its two accounts cannot be cut
    apart, so the plan is the whole log as one partition, and the rebuild still equals the catch-up (K-M1)."""
    app = app_on(store_url(store, tmp_path))
    feeds.record_feed(app, jsonl(purchase("kec-1", account="acme"), purchase("kec-2", account="zeta"),
                                 {**purchase("kec-3", account="beta"), "id": "p-3"}))
    feeds.record_feed(app, jsonl({"type": "retract", "at": day(1).isoformat(), "target": "p-3",
                                  "reason": "wrong account"},
                                    purchase("kec-3", account="omega", order="kec-3-again", at=day(2))))
    pinned = pin(app.ledger, 1, by_account=True)
    assert [type(p) for p in pinned.partitions] == [Partition] and pinned.partitions[0].instances == 3
    jobs.project(app, rebuild=True)
    rebuilt = readmodels.dump(app.readmodels)
    other = readmodels.engine_for(f"sqlite:///{tmp_path / 'incremental.db'}")
    readmodels.catch_up(app.ledger, other)
    assert readmodels.dump(other) == rebuilt
    assert {r[2] for r in rebuilt["rm_orders"]} == {"acme", "zeta", "omega"}
