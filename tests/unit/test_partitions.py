"""The pure per-partition functions (`projections.partitions`) on in-memory events, and the store's side of
the seam (`adapters.store.scan`: plan, pin, instances_in, Task) on the library's in-memory store.

Each function takes ``[(name, events), ...]``, the pinned ``known_at``, the job's parameters and (what-if)
a ``load`` for shared streams; it is given plain lists here, never a store."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.services import reads
from adapters.store.scan import NOTHING_RECORDED, Partition, instances_in, pin, plan, stream_instances
from adapters.store.tasks import Store, Task
from domain.instance import instance_id
from projections import exports, partitions
from projections.finance import account_days, instance_rows
from projections.reconcile import Scope, StatementLine, expected_items
from tests.feedkit import FAR, RECORDED, day, memory_ledger, purchase, record
from tests.feedkit import KORPRO_BILLING_ERROR as KP

LATER = RECORDED + timedelta(days=30)


def req(instance: str, refund: str, at: datetime, **extra) -> dict:
    return {"type": "request_refund", "at": at.isoformat(), "instance": instance, "refund": refund, **extra}


@pytest.fixture(scope="module")
def ledger():
    """Two Kingsoft accounts (a KEC refunded with its bound EIP, tickets and cash), a KorPro subscription; a
    second feed, recorded later, asks and completes one more refund and opens one more instance."""
    ledger = memory_ledger()
    record(ledger,
           purchase("kec-1", account="acme", payment={"cash": "100.00", "cloud_ticket": "20.00"}),
           purchase("eip-1", account="acme", product="EIP"),
           {"type": "bind_eip", "at": day(0, hours=1).isoformat(), "instance": "kec-1", "eip": "eip-1"},
           purchase("db-2", account="acme", product="MongoDB", months=1, price="30.00"),
           purchase("kec-3", account="globex", months=3, price="40.00"),
           req("kec-1", "r-1", day(10), **{"with": ["eip-1"]}),
           req("db-2", "r-2", day(3)),
           {"type": "complete_refund", "at": day(4).isoformat(), "refund": "r-2"},
           *KP, now=RECORDED)
    record(ledger, req("kec-3", "r-3", day(20)), {"type": "complete_refund", "at": day(21).isoformat(),
                                                    "refund": "r-3"},
           purchase("kec-4", account="globex"), now=LATER)
    return ledger


def streams(ledger) -> list[tuple[str, list]]:
    return [(name, list(events)) for name, events in stream_instances(ledger)]


def load_of(ledger):
    """Shared streams, read from the in-memory ledger (the function is given a plain callable)."""
    asked = []

    def load(aggregate_id):
        asked.append(aggregate_id)
        return list(ledger.events.get(aggregate_id))

    return load, asked


# ----- the pure functions -----

def test_finance_rows_are_each_instances_rows_in_opening_order_as_known(ledger):
    instances = streams(ledger)
    assert [n for n, _ in instances] == ["kec-1", "eip-1", "db-2", "kec-3", "kp-2", "kec-4"]
    orders, refunds = partitions.finance_rows(instances, FAR)
    each = [instance_rows(n, e) for n, e in instances]
    assert orders == [o for os, _ in each for o in os] and refunds == [r for _, rs in each for r in rs]
    assert [r.refund for r in refunds] == ["r-1", "r-2", "r-3", "r-kp"]
    early_orders, early_refunds = partitions.finance_rows(instances, RECORDED)  # the second feed not yet known
    assert [r.refund for r in early_refunds] == ["r-1", "r-2", "r-kp"]
    assert "kec-4" not in {o.instance for o in early_orders}


def test_export_rows_are_the_orders_or_refunds_placed_in_the_period(ledger):
    instances = streams(ledger)
    orders = exports.export_rows(instances, FAR, "orders", day(0), day(1))
    assert [(o["instance"], o["order"], o["paid"], o["cash"]) for o in orders] == [
        ("kec-1", "kec-1-buy", Decimal("120.00"), Decimal("100.00")), ("eip-1", "eip-1-buy", Decimal("120.00"),
                                                                     Decimal("120.00")),
        ("db-2", "db-2-buy", Decimal("30.00"), Decimal("30.00")), ("kec-3", "kec-3-buy", Decimal("120.00"),
                                                                   Decimal("120.00")),
        ("kec-4", "kec-4-buy", Decimal("120.00"), Decimal("120.00"))]
    assert list(orders[0]) == ["instance", "order", "account", "product", "kind", "placed_at", "valid_from",
                               "valid_until", "currency", "paid", "cash", "credit", "status"]
    refunds = exports.export_rows(instances, FAR, "refunds", day(5), day(30))
    assert [(r["refund"], r["state"]) for r in refunds] == [("r-1", "accepted"), ("r-3", "completed"),
                                                            ("r-kp", "approved")]
    assert [r["refund"] for r in exports.export_rows(instances, RECORDED, "refunds", day(5), day(30))] == [
        "r-1", "r-kp"]
    with pytest.raises(ValueError, match="assembled"):
        exports.export_rows(instances, FAR, "account-ledger", day(0), day(1))


def test_the_account_ledger_groups_every_partitions_rows_by_account(ledger):
    instances = streams(ledger)
    orders, refunds = partitions.finance_rows(instances, FAR)
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    rows = list(exports.account_ledger_rows(orders, refunds, start, end))
    expected = []
    for account in ("acme", "globex", "umbrella"):
        mine = [o for o in orders if o.account == account], [r for r in refunds if r.account == account]
        expected += [exports.day_export(d) for d in account_days(*mine)]
    assert rows == expected
    assert [r["account"] for r in rows] == sorted(r["account"] for r in rows)
    cut = exports.account_ledger_rows(orders, refunds, day(5), day(6))
    assert {r["day"] for r in cut} == {day(5).date()}


def test_reconciliation_items_are_merged_instance_after_instance_within_the_scope(ledger):
    instances = streams(ledger)
    every = partitions.reconcile_items(instances, FAR)
    assert set(every) == {("charge", o) for o in ("kec-1-buy", "eip-1-buy", "db-2-buy", "kec-3-buy", "kec-4-buy",
                                                  "inv-1")} | {("refund", r) for r in ("r-1", "r-2", "r-3", "r-kp")}
    assert every[("charge", "kec-1-buy")].amount_cents == 10000  # the cash tender only
    statement = [StatementLine(2, "refund", "r-2", "acme", 100, "CNY", day(4))]  # its period: day 4 (UTC)
    scoped = partitions.reconcile_items(instances, FAR, Scope.of(statement))
    expected: dict = {}
    for name, events in instances:
        expected.update(expected_items(*instance_rows(name, events), Scope.of(statement)))
    assert scoped == expected and set(scoped) == {("refund", "r-2")}


def test_rejudging_judges_each_request_on_what_preceded_it(ledger):
    instances = streams(ledger)
    load, asked = load_of(ledger)
    rows = partitions.rejudge(instances, load, FAR, {})
    assert [(r.instance, r.refund) for r in rows] == [("kec-1", "r-1"), ("db-2", "r-2"), ("kec-3", "r-3"),
                                                      ("kp-2", "r-kp")]
    frozen = {r.refund: Decimal(r.amount_cents) / 100 for r in partitions.finance_rows(instances, FAR)[1]}
    assert all(r.baseline == r.scenario == frozen[r.refund] for r in rows)  # today's parameters: as recorded
    assert instance_id("eip-1") in asked  # the bundle's other instance is a shared stream
    cash = {r.refund: r for r in partitions.rejudge(instances, load, FAR, {"refundable_tenders": "cash"})}
    assert cash["r-1"].difference < 0 and cash["r-2"].difference == 0  # kec-1 was paid partly in tickets
    assert [r.refund for r in partitions.rejudge(instances, load, FAR, {}, "globex")] == ["r-3"]
    assert [r.refund for r in partitions.rejudge(instances, load, RECORDED, {})] == ["r-1", "r-2", "r-kp"]


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(0, 6), max_size=4))
def test_any_cut_of_the_instances_gives_the_same_rows(ledger, cuts):
    instances = streams(ledger)
    bounds = sorted({0, 6, *cuts})
    parts = [instances[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    load, _ = load_of(ledger)
    for known_at in (RECORDED, FAR):
        assert [r for p in parts for r in partitions.rejudge(p, load, known_at, {"refundable_tenders": "cash"})] == \
            partitions.rejudge(instances, load, known_at, {"refundable_tenders": "cash"})
        pieces = [partitions.finance_rows(p, known_at) for p in parts]
        assert ([o for os, _ in pieces for o in os], [r for _, rs in pieces for r in rs]) == \
            partitions.finance_rows(instances, known_at)
        for what in ("orders", "refunds"):
            assert [r for p in parts for r in exports.export_rows(p, known_at, what, day(0), day(90))] == \
                exports.export_rows(instances, known_at, what, day(0), day(90))
        merged: dict = {}
        for p in parts:
            merged.update(partitions.reconcile_items(p, known_at))
        assert list(merged.items()) == list(partitions.reconcile_items(instances, known_at).items())


# ----- the store's side: plan, pin, read a range, a task -----

def test_plan_cuts_the_opened_instances_into_consecutive_ranges(ledger):
    names = [n for n, _ in streams(ledger)]
    for size in (1, 2, 4, 100):
        parts = plan(ledger, size)
        assert [p.instances for p in parts] == [min(size, len(names) - i) for i in range(0, len(names), size)]
        assert parts[0].first == 1 and all(b.first == a.last + 1 for a, b in zip(parts, parts[1:], strict=False))
        assert [n for p in parts for n, _ in instances_in(ledger, p)] == names
    with pytest.raises(ValueError):
        plan(ledger, 0)


def test_pin_takes_the_newest_recorded_time_and_position(ledger):
    top = ledger.recorder.max_notification_id()
    pinned = pin(ledger, 2)
    assert (pinned.position, pinned.known_at, len(pinned.partitions)) == (top, LATER, 3)
    assert pin(ledger, 2, FAR).known_at == LATER  # nothing is recorded later than the newest recorded time
    assert pin(ledger, 2, RECORDED).known_at == RECORDED
    empty = pin(memory_ledger())
    assert (empty.position, empty.known_at, empty.partitions) == (0, NOTHING_RECORDED, ())


def test_a_task_pickles_without_its_open_store(ledger):
    part = plan(ledger, 2)[1]
    task = Task(Store("sqlite:///somewhere.db", ledger), partitions.finance_rows, FAR)
    assert task(part) == partitions.finance_rows(list(instances_in(ledger, part)), FAR)
    travelled = pickle.loads(pickle.dumps(task))
    assert (travelled.store.url, travelled.store.ledger, travelled.job, travelled.known_at) == (
        "sqlite:///somewhere.db", None, partitions.finance_rows, FAR)
    assert pickle.loads(pickle.dumps(part)) == part == Partition(part.first, part.last, 2)
    with pytest.raises(RuntimeError):
        Store(None).open()


def test_a_task_gives_the_job_shared_streams_as_known_at_the_pinned_time(ledger):
    seen = []

    def job(instances, load, known_at, marker):
        seen.append((marker, [e.timestamp for e in load(instance_id("kec-3"))]))
        return [name for name, _ in instances]

    task = Task(Store(None, ledger), job, RECORDED, ("x",), load=True)
    assert [task(p) for p in plan(ledger, 3)] == [["kec-1", "eip-1", "db-2"], ["kec-3", "kp-2", "kec-4"]]
    assert all(t <= RECORDED for _, stamps in seen for t in stamps) and seen[0][0] == "x"
    assert len(reads.events_of(ledger, "kec-3")) > len(seen[0][1])  # later events were left out
