"""Read models with exactly-once catch-up: a real `kill -9` of `billing-ledger project` several times,
then a restart, leaves the tables identical to a clean rebuild; and the account ledger balances."""

import random
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from adapters.formats.feed import parse_feed
from adapters.services import record as service
from adapters.store import readmodels
from adapters.store.ledger import open_ledger
from tests.feedkit import jsonl
from tests.integration.conftest import EXE

CST = timezone(timedelta(hours=8))


def busy_feed(instances: int, seed: int = 7) -> list[dict]:
    """Purchases, renewals, upgrades and refund requests over many accounts (deterministic)."""
    rnd = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=CST)
    lines = []
    for i in range(instances):
        name, months, price = f"kec-{i}", rnd.choice([1, 3, 12]), rnd.choice(["10.00", "30.00", "45.00"])
        start = t0 + timedelta(days=rnd.randrange(0, 200), hours=rnd.randrange(24))
        lines.append({"type": "purchase", "at": start.isoformat(), "instance": name, "account": f"acct-{i % 40}",
                      "product": rnd.choice(["KEC", "EBS", "MongoDB"]), "order": f"o-{i}", "months": months,
                      "monthly_price": price, "payment": {"cash": str(Decimal(price) * months)}})
        if rnd.random() < 0.3:
            lines.append({"type": "renew", "at": (start + timedelta(days=3)).isoformat(), "instance": name,
                          "order": f"r-{i}", "months": 1, "monthly_price": price, "payment": {"cash": price}})
        if rnd.random() < 0.3:
            lines.append({"type": "request_refund", "at": (start + timedelta(days=rnd.randrange(1, 40))).isoformat(),
                          "instance": name, "refund": f"rf-{i}"})
    return lines


def tracked(engine) -> int:
    """The read models' tracked position, read without creating anything (0 before the first commit)."""
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT position FROM rm_tracking")).scalar() or 0)
    except OperationalError:  # no table yet
        return 0


def test_kill_9_at_any_moment_then_restart_equals_a_clean_rebuild(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    service.record(ledger, parse_feed(jsonl(*busy_feed(1500)).splitlines()), datetime.now(UTC))
    engine = readmodels.engine_for(url)

    rnd, kills = random.Random(11), 0
    for _ in range(4):
        before = tracked(engine)
        proc = subprocess.Popen([str(EXE), "--db", url, "project", "--batch", "10"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # kill once it has committed a batch (however long the interpreter takes to start on a busy machine),
        # at a random moment after that
        deadline = time.monotonic() + 120
        while proc.poll() is None and tracked(engine) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.0, 0.4))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 2, "the projection finished before it could be killed: make the ledger bigger"
    interrupted_at = readmodels.position(engine)
    assert 0 < interrupted_at < ledger.recorder.max_notification_id()
    done = subprocess.run([str(EXE), "--db", url, "project"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after_crashes = readmodels.dump(engine)

    rebuilt = subprocess.run([str(EXE), "--db", url, "project", "--rebuild"], capture_output=True, text=True,
                             timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert readmodels.dump(engine) == after_crashes
    assert len(after_crashes["rm_orders"]) > 400 and after_crashes["rm_refund_applications"]


def test_the_account_ledger_balances_to_the_cent(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    feed = busy_feed(60, seed=3)
    service.record(ledger, parse_feed(jsonl(*feed).splitlines()), datetime.now(UTC))
    engine = readmodels.engine_for(url)
    readmodels.catch_up(ledger, engine)
    tables = readmodels.dump(engine)
    paid = sum(int(Decimal(x["payment"]["cash"]) * 100) for x in feed if "payment" in x)
    ledger_rows = tables["rm_account_months"]
    assert sum(r[4] for r in ledger_rows) == paid  # every payment shows up once
    granted = sum(r[8] for r in tables["rm_refund_applications"] if r[9] == "accepted")  # amount_cents, state
    assert sum(r[6] for r in ledger_rows) == granted  # refunds recognised = accepted applications' frozen amounts
    by_account: dict = {}
    for account, currency, _month, opening, p, consumed, r, closing in ledger_rows:
        assert closing == opening + p - consumed - r
        by_account[(account, currency)] = closing
    # at the end of all validity, nothing is deferred any more: paid = consumed + refunded, account by account
    assert set(by_account.values()) == {0}


def test_catching_up_in_small_batches_equals_one_big_batch(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    feed = busy_feed(40, seed=5)
    half = len(feed) // 2
    service.record(ledger, parse_feed(jsonl(*feed[:half]).splitlines()), datetime.now(UTC))
    small, big = (readmodels.engine_for(f"sqlite:///{tmp_path / name}") for name in ("small.db", "big.db"))
    readmodels.catch_up(ledger, small, batch=1)  # part of the log, one notification per transaction...
    service.record(ledger, parse_feed(jsonl(*feed[half:]).splitlines()), datetime.now(UTC))
    readmodels.catch_up(ledger, small, batch=3)  # ...then the rest, three at a time
    readmodels.catch_up(ledger, big, batch=100000)
    assert readmodels.dump(small) == readmodels.dump(big)
    assert readmodels.position(small) == readmodels.position(big) == ledger.recorder.max_notification_id()


def test_a_read_model_written_with_the_retired_day_table_is_replayed_from_the_start(tmp_path):
    """Before rm_account_months the account ledger was stored per day in rm_account_ledger. A read model of that
    shape (its tracking at the end of the log, no months) is dropped and replayed from event zero by the next
    `project`: every account gets its months, and the stale day rows do not linger for a query to find."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    service.record(ledger, parse_feed(jsonl(*busy_feed(12, seed=2)).splitlines()), datetime.now(UTC))
    engine = readmodels.engine_for(url)
    top = readmodels.catch_up(ledger, engine)
    expected = readmodels.dump(engine)
    assert expected["rm_account_months"]
    with engine.begin() as conn:  # what an older version left behind
        conn.execute(text("CREATE TABLE rm_account_ledger (account VARCHAR(200), day DATE, paid_cents BIGINT)"))
        conn.execute(text("INSERT INTO rm_account_ledger VALUES ('acme', '2026-01-01', 100)"))
        conn.execute(readmodels.account_months.delete())
    assert readmodels.position(engine) == 0
    assert readmodels.catch_up(ledger, engine) == top
    assert readmodels.dump(engine) == expected
    assert "rm_account_ledger" not in inspect(engine).get_table_names()
