"""The bulk path of the account ledger and the journal (`projections.segments`: per-order closed-form segments,
days made for the period asked) equals the per-order, per-day reference path (`projections.finance.account_days`,
`journal.ledger_entries(bulk=False)`) to the byte, on random generated ledgers (issue 27): both policies
(K-T3 validity, P-M2 billing periods), refunds accepted, completed, rejected (K-L1, K-L2, K-Q2; P-R2, P-R3),
releases (K-L3), downgrade credits (K-D1), retractions, three currencies, every reporting zone, random periods and
knowledge times."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.formats import journal as journal_formats
from adapters.formats import tables
from adapters.store.scan import stream_instances
from bench.generate import generate
from projections import columns as bulk_columns
from projections import exports, finance, partitions, segments
from projections import journal as book
from tests.feedkit import FAR, memory_ledger, record
from tests.integration.test_journal import follow_up

ROOT = Path(__file__).resolve().parents[2]
ZONES = [None, "+00:00", "+08:00", "-05:30"]


def generated(instances: int, seed: int):
    """A generated ledger (a third of its purchases in EUR), KorPro's examples, then refunds completed,
    rejected or decided and some purchases retracted (`follow_up`)."""
    feed = list(generate(instances, seed))
    for n, f in enumerate(feed):
        if f["type"] == "purchase" and n % 3 == 0 and f.get("product") == "KEC":
            f["currency"] = "EUR"
    ledger = memory_ledger()
    record(ledger, *feed)
    record(ledger, *(json.loads(line) for line in (ROOT / "examples" / "korpro-examples.jsonl").read_text().splitlines()
                     if line.strip()))
    _, refunds = partitions.finance_rows(stream_instances(ledger), FAR)
    later = follow_up(feed, [{"refund": r.refund, "state": r.state, "requested_at": r.requested_at.isoformat()}
                             for r in refunds])
    if later:
        record(ledger, *later, now=datetime(2031, 1, 1, tzinfo=UTC))
    return ledger


LEDGERS: dict[tuple[int, int], object] = {}


def ledger_of(instances: int, seed: int):
    if (instances, seed) not in LEDGERS:
        LEDGERS.clear()
        LEDGERS[(instances, seed)] = generated(instances, seed)
    return LEDGERS[(instances, seed)]


cases = st.fixed_dictionaries({
    "instances": st.integers(12, 40), "seed": st.integers(0, 3),
    "tz": st.sampled_from(ZONES),
    "known_at": st.sampled_from([FAR, datetime(2030, 6, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)]),
    "start": st.integers(0, 1500), "length": st.integers(1, 900),
})


def by_account(orders, refunds) -> dict[str, tuple[list, list]]:
    out: dict[str, tuple[list, list]] = {}
    for o in orders:
        out.setdefault(o.account, ([], []))[0].append(o)
    for r in refunds:
        out.setdefault(r.account, ([], []))[1].append(r)
    return out


def months_of(days: list[finance.DayRow]) -> list[tuple]:
    """The reference's day rows summed per account, currency and calendar month (a month whose movements sum
    to 0 dropped): opening of its first day, the sums, closing of its last."""
    found: dict[tuple, list[int]] = {}
    for d in days:
        key = (d.account, d.currency, d.day.replace(day=1).toordinal())
        if key not in found:
            found[key] = [d.opening_cents, 0, 0, 0, 0]
        m = found[key]
        m[1] += d.paid_cents
        m[2] += d.consumed_cents
        m[3] += d.refunded_cents
        m[4] = d.closing_cents
    return [(*key, *m) for key, m in sorted(found.items()) if any(m[1:4])]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases)
def test_the_bulk_account_ledger_and_journal_equal_the_reference_K_T3_K_L3_K_D1(case, tmp_path_factory):
    ledger = ledger_of(case["instances"], case["seed"])
    tz, known_at = case["tz"], case["known_at"]
    first = date(2025, 6, 1) + timedelta(days=case["start"])
    last = first + timedelta(days=case["length"])
    orders, refunds = partitions.finance_rows(stream_instances(ledger), known_at)

    # the read models' months (rm_account_months) and the account ledger of a period, account by account
    for rows in by_account(orders, refunds).values():
        reference = finance.account_days(*rows, tz)
        assert segments.month_tuples(*rows, tz) == months_of(reference)
        assert segments.account_days(*rows, tz) == reference
        assert segments.account_days(*rows, tz, first, last) == [d for d in reference if first <= d.day < last]

    # the account-ledger export, CSV and Parquet, byte for byte
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last, datetime.min.time(), tzinfo=UTC)
    out = tmp_path_factory.mktemp("bulk")
    columns = tables.COLUMNS["account-ledger"]
    for bulk in (True, False):
        rows = list(exports.account_ledger_rows(orders, refunds, start, end, tz, bulk=bulk))
        tables.write_csv(rows, str(out / f"{bulk}.csv"), columns)
        tables.write_parquet(rows, str(out / f"{bulk}.parquet"), columns)
    tables.write_csv(exports.AccountLedger(orders, refunds, start, end, tz), str(out / "tuples.csv"), columns)
    assert (out / "True.csv").read_bytes() == (out / "False.csv").read_bytes() == (out / "tuples.csv").read_bytes()
    assert (out / "True.parquet").read_bytes() == (out / "False.parquet").read_bytes()
    # the columnar lines (`tables.dense_lines`, the export's worker path) are the reference file's lines
    period = exports.period_days(start, end, tz)
    dense = bulk_columns.DenseColumns()
    for r in segments.by_account(orders, refunds):
        bulk_columns.dense_columns(*r, tz, *period, dense)
    reference_groups = [g for r in segments.by_account(orders, refunds) for g in segments.dense_days(*r, tz, *period)]
    assert dense.groups() == reference_groups
    text, n = tables.dense_lines(dense)
    assert (out / "False.csv").read_bytes().split(b"\r\n", 1)[1] == text.encode() and n == len(rows)

    # the journal: the same entries, the same CSV and beancount
    part = partitions.journal_rows(stream_instances(ledger), known_at)
    accounts = book.group([part.now])
    fast = list(book.ledger_entries(accounts, tz))
    slow = list(book.ledger_entries(accounts, tz, bulk=False))
    assert fast == slow
    window = [book.window(e, first, last) for e in (fast, slow)]
    for name, entries in zip(("fast", "slow"), window, strict=True):
        journal_formats.write_csv(entries, str(out / f"{name}.journal.csv"))
        journal_formats.write_beancount(entries, str(out / f"{name}.beancount"), first)
    assert (out / "fast.journal.csv").read_bytes() == (out / "slow.journal.csv").read_bytes()
    assert (out / "fast.beancount").read_bytes() == (out / "slow.beancount").read_bytes()


def test_the_account_ledgers_csv_lines_quote_and_neutralise_names_as_the_csv_module_does(tmp_path):
    """An account named like a formula, with a comma and a quote: the lines written from the day tuples are the
    bytes `csv` writes for the dict rows (`output.csv_cell`'s apostrophe, then quoting)."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    orders = [finance.OrderRow("i", "o", name, "KEC", "purchase", t0, t0, t0 + timedelta(days=40), currency, 12345,
                               0, "active", 12345) for name, currency in (('=1+2,"x"', "CNY"), ("plain", "EUR"))]
    start, end = t0 - timedelta(days=3), t0 + timedelta(days=60)
    columns = tables.COLUMNS["account-ledger"]
    tables.write_csv(list(exports.account_ledger_rows(orders, [], start, end, bulk=False)),
                     str(tmp_path / "dicts.csv"), columns)
    tables.write_csv(exports.AccountLedger(orders, [], start, end), str(tmp_path / "tuples.csv"), columns)
    text = (tmp_path / "tuples.csv").read_bytes()
    assert text == (tmp_path / "dicts.csv").read_bytes()
    assert b"\"'=1+2,\"\"x\"\"\",CNY,2026-01-01,0.00,123.45," in text
