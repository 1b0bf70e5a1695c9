"""Real races: several processes, each with its own connection, submit refund applications at once
(K-Q1: at most 3 a month per account; K-L3: an instance is refunded once). Every loser gets a recorded
denial or a clear error, and nothing is half-written."""

from __future__ import annotations

import json
import multiprocessing as mp
from datetime import UTC, datetime

import pytest

from adapters.formats.feed import BadInput, parse_feed
from adapters.services import reads
from adapters.services import record as service
from adapters.store.ledger import open_ledger
from domain.instance import account_id
from tests.stores import STORES, store_url

WORKERS = 8


def _submit(url: str, line: str, barrier, results) -> None:
    try:
        ledger = open_ledger(url)
        lines = parse_feed([line])
        barrier.wait(timeout=120)
        result = service.record(ledger, lines, datetime.now(UTC))
        results.put(("denied" if result.denied else "accepted", json.loads(line)["refund"]))
    except BadInput as e:
        results.put(("bad input", str(e)))
    except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(("error", repr(e)))


def race(url: str, lines: list[str]) -> list[tuple[str, str]]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(len(lines)), ctx.Queue()
    procs = [ctx.Process(target=_submit, args=(url, line, barrier, results)) for line in lines]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return outcomes


def seed(url: str, *instances: str) -> None:
    feed = [json.dumps({"type": "purchase", "at": "2026-01-01T00:00:00+08:00", "instance": name, "account": "acme",
                        "product": "MongoDB", "order": f"o-{name}", "months": 12, "monthly_price": "30.00",
                        "payment": {"cash": "360.00"}}) for name in instances]
    service.record(open_ledger(url), parse_feed(feed), datetime.now(UTC))


def request(instance: str, refund: str) -> str:
    return json.dumps({"type": "request_refund", "at": "2026-01-20T10:00:00+08:00", "instance": instance,
                       "refund": refund})


def kinds(events, name: str) -> list[str]:
    return [type(e).__name__ for e in events if type(e).__name__ == name]


@pytest.mark.parametrize("store", STORES)
def test_concurrent_applications_never_exceed_the_monthly_quota_K_Q1(store, tmp_path):
    url = store_url(store, tmp_path)
    names = [f"db-{n}" for n in range(WORKERS)]
    seed(url, *names)
    outcomes = race(url, [request(name, f"r-{name}") for name in names])

    assert [o for o in outcomes if o[0] in ("error", "bad input")] == []
    assert sorted(o[0] for o in outcomes) == ["accepted"] * 3 + ["denied"] * (WORKERS - 3)
    ledger = open_ledger(url)
    account = list(ledger.events.get(account_id("acme")))
    assert len(kinds(account, "ApplicationAccepted")) == 3
    assert len(kinds(account, "ApplicationDenied")) == WORKERS - 3
    for name in names:  # every request left exactly one decision on its instance, and the frozen reasons say why
        events = reads.events_of(ledger, name)
        decisions = [e for e in events if type(e).__name__ in ("RefundApplied", "RefundDenied")]
        assert len(decisions) == 1
        if type(decisions[0]).__name__ == "RefundDenied":
            assert "K-Q1" in [r["rule"] for r in decisions[0].reasons]


@pytest.mark.parametrize("store", STORES)
def test_one_instance_is_never_refunded_twice_K_L3(store, tmp_path):
    url = store_url(store, tmp_path)
    seed(url, "db-1")
    outcomes = race(url, [request("db-1", f"r-{n}") for n in range(6)])

    accepted = [o for o in outcomes if o[0] == "accepted"]
    assert len(accepted) == 1
    assert all(o[0] == "bad input" and "released by refund" in o[1] for o in outcomes if o[0] != "accepted")
    ledger = open_ledger(url)
    events = reads.events_of(ledger, "db-1")
    assert [e.refund for e in events if type(e).__name__ == "RefundApplied"] == [accepted[0][1]]
    assert kinds(events, "RefundDenied") == []
    assert len(kinds(list(ledger.events.get(account_id("acme"))), "ApplicationAccepted")) == 1
