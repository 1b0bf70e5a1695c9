"""The journal's posting functions as accounting stories (`projections.journal`), on in-memory ledgers: every
entry balances, tenders that are never refunded show as such, a refund releases what was deferred, corrections
never rewrite a closed day, partitions do not change the entries, and beancount's printer round-trips."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.formats import journal as formats
from adapters.store.scan import stream_instances
from domain.money import from_cents
from projections import journal as book
from projections import partitions
from projections.finance import account_days
from tests.feedkit import FAR, RECORDED, day, memory_ledger, purchase, record, upgrade
from tests.feedkit import KORPRO_BILLING_ERROR as KP

LATER = RECORDED + timedelta(days=30)


def streams(ledger) -> list[tuple[str, list]]:
    return [(name, list(events)) for name, events in stream_instances(ledger)]


def entries_of(ledger, known_at=FAR) -> list[book.Entry]:
    part = partitions.journal_rows(streams(ledger), known_at)
    return list(book.ledger_entries(book.group([part.now])))


def by_kind(entries, kind) -> list[book.Entry]:
    return [e for e in entries if e.kind == kind]


def leg(e: book.Entry, account: str) -> int:
    return dict(e.legs).get(account, 0)


def test_an_unbalanced_entry_is_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        book.Entry(date(2026, 1, 1), "order_paid", "CNY", ((book.CASH, 100), (book.DEFERRED, -99)), "x", ("K-M1",))


def test_seed_example_refund_releases_what_was_deferred_and_the_difference_is_revenue():
    """K-A1 seed example: 696.00 for 24 months, refunded after 417 days: 196.00 payable (K-L1); what the
    instance still had deferred beyond 196.00 is revenue at once (K-L3); nothing stays deferred; completed,
    the refund is credited to the account balance (K-L2)."""
    ledger = memory_ledger()
    record(ledger, purchase("kec-1", months=24, price="50.00", cash="696.00",
                            discounts={"12": "0.30", "24": "0.42"}),
           {"type": "request_refund", "at": day(417, hours=-2).isoformat(), "instance": "kec-1", "refund": "r-1",
            "mode": "self_service"},
           {"type": "complete_refund", "at": day(419).isoformat(), "refund": "r-1"})
    entries = entries_of(ledger)
    (paid,) = by_kind(entries, "order_paid")
    assert paid.legs == ((book.CASH, 69600), (book.DEFERRED, -69600)) and paid.rules == ("K-M1",)
    (accepted,) = by_kind(entries, "refund_accepted")
    assert leg(accepted, book.PAYABLE) == -19600
    assert "K-L1" in accepted.rules and "K-S4" in accepted.rules and "K-L3" in accepted.rules
    consumed = -sum(leg(e, book.CONSUMED) for e in by_kind(entries, "recognised"))
    assert leg(accepted, book.DEFERRED) == 69600 - consumed  # everything still deferred is released
    assert -leg(accepted, book.RELEASED) == 69600 - consumed - 19600
    (completed,) = by_kind(entries, "refund_completed")
    assert completed.legs == ((book.PAYABLE, 19600), (book.BALANCE, -19600)) and completed.rules == ("K-L2",)
    totals = book.balances(entries)
    assert book.DEFERRED not in {a for a, _ in totals} and (book.PAYABLE, "CNY") not in totals
    assert totals[(book.BALANCE, "CNY")] == -19600


def test_vouchers_and_gift_balance_are_never_deferred_nor_refunded():
    """K-M1: only cash and cloud tickets are actual payment; vouchers and gift balance show on their own."""
    ledger = memory_ledger()
    record(ledger, purchase("kec-1", months=1, price="100.00",
                            payment={"cash": "60.00", "cloud_ticket": "20.00", "voucher": "15.00",
                                     "gift_balance": "5.00"}))
    (paid,) = by_kind(entries_of(ledger), "order_paid")
    assert dict(paid.legs) == {book.CASH: 6000, book.CLOUD_TICKET: 2000, book.DEFERRED: -8000,
                               "Expenses:NonRefundable:Voucher": 1500, "Income:NonRefundable:Voucher": -1500,
                               "Expenses:NonRefundable:GiftBalance": 500, "Income:NonRefundable:GiftBalance": -500}


def test_korpro_billing_error_is_payable_at_once_and_paid_back_to_the_original_payment():
    """P-M2 charges paid in cash; P-B1 approved at once (P-R2), P-R3 paid to the original payment."""
    ledger = memory_ledger()
    record(ledger, *KP)
    refund = next(f["refund"] for f in KP if f["type"] == "request_refund")
    record(ledger, {"type": "complete_refund", "at": "2026-03-01T00:00:00Z", "refund": refund})
    entries = entries_of(ledger)
    assert {e.rules for e in by_kind(entries, "order_paid")} == {("P-M1", "P-M2")}
    (accepted,) = by_kind(entries, "refund_accepted")
    assert "P-B1" in accepted.rules and "K-L3" not in accepted.rules
    (completed,) = by_kind(entries, "refund_completed")
    assert completed.rules == ("P-R3",) and leg(completed, book.PAYOUTS) == leg(accepted, book.PAYABLE)


def test_the_journal_sums_to_the_account_ledgers_figures():
    """paid, consumed, refunded and deferred per day agree with `account_days` (the days `rm_account_months` sums)."""
    ledger = memory_ledger()
    record(ledger, purchase("kec-1", months=12, price="30.00"),
           upgrade("kec-1", order="up-1", price="60.00", cash="100.00", at=day(40)),
           {"type": "request_refund", "at": day(50).isoformat(), "instance": "kec-1", "refund": "r-1"}, *KP)
    part = partitions.journal_rows(streams(ledger), FAR)
    orders, refunds, _ = part.now
    days = [d for account in {o.account for o in orders} for d in
            account_days([o for o in orders if o.account == account], [r for r in refunds if r.account == account])]
    entries = entries_of(ledger)
    for cut in (date(2026, 1, 20), date(2026, 2, 20), date(2026, 3, 1), date(2027, 6, 1)):
        totals = book.balances(entries, cut)
        for currency in {d.currency for d in days}:
            mine = [d for d in days if d.currency == currency and d.day < cut]
            got = defaultdict(int)
            for (account, c), v in totals.items():
                if c == currency:
                    got[account.rsplit(":", 1)[0] if account.startswith(("Assets:Receipts", "Income:Revenue"))
                        else account] += v
            assert got["Assets:Receipts"] == sum(d.paid_cents for d in mine)
            assert -got["Income:Revenue"] == sum(d.consumed_cents for d in mine)
            assert -(got[book.PAYABLE] + got[book.BALANCE] + got["Assets:Payouts:OriginalPayment"]) == \
                sum(d.refunded_cents for d in mine)


def test_partitions_do_not_change_the_entries():
    ledger = memory_ledger()
    record(ledger, purchase("kec-1"), purchase("kec-2", account="globex"), purchase("kec-3"), *KP,
           {"type": "request_refund", "at": day(5).isoformat(), "instance": "kec-3", "refund": "r-3"})
    s = streams(ledger)
    whole = list(book.ledger_entries(book.group([partitions.journal_rows(s, FAR).now])))
    parts = list(book.ledger_entries(book.group([partitions.journal_rows([x], FAR).now for x in s])))
    assert sorted(whole, key=lambda e: e.key) == sorted(parts, key=lambda e: e.key)


def test_a_retraction_after_the_close_is_a_correction_on_the_first_open_day():
    """A closed day is never rewritten: the upgrade retracted after the close stays in January as posted, and
    the first open day books the difference, linked to the retraction's line id; from then on every balance
    is the one known now."""
    ledger = memory_ledger()
    record(ledger, purchase("kec-1", months=12, price="30.00"),
           {**upgrade("kec-1", order="up-1", price="60.00", cash="100.00", at=day(10)), "id": "line-up"})
    record(ledger, {"type": "retract", "at": day(40).isoformat(), "target": "line-up", "reason": "never provisioned",
                    "id": "line-retract"}, now=LATER)
    close, closed_through = RECORDED + timedelta(days=1), date(2026, 1, 31)
    part = partitions.journal_rows(streams(ledger), FAR, close)
    now, then = book.group([part.now]), book.group([part.at_close])
    entries = list(book.closed_journal(now, then, closed_through, partitions.causes([part])))
    as_closed = list(book.ledger_entries(then))
    as_now = list(book.ledger_entries(now))
    assert [e for e in entries if e.day <= closed_through] == [e for e in as_closed if e.day <= closed_through]
    assert any(e.ref == "up-1" for e in entries if e.kind == "order_paid")  # posted, kept
    (fix,) = by_kind(entries, "correction")
    assert fix.day == date(2026, 2, 1) and fix.customer == "acme" and "line-retract" in fix.caused_by
    assert leg(fix, book.CASH) == -10000  # the upgrade's payment, taken back
    for cut in (date(2026, 2, 2), date(2026, 6, 1), date(2028, 1, 1)):
        assert book.balances(entries, cut) == book.balances(as_now, cut)
    assert book.balances(entries, date(2026, 2, 1)) == book.balances(as_closed, date(2026, 2, 1))


def test_what_caused_a_correction_does_not_depend_on_the_partitions():
    """An account's correction names the late facts that concern its closed days on any partition; only when
    none does are all its late facts named (the same answer for one partition or one per instance)."""
    ledger = memory_ledger()
    record(ledger, purchase("kec-1", months=12, price="30.00"),
           {**upgrade("kec-1", order="up-1", price="60.00", cash="100.00", at=day(10)), "id": "line-up"})
    record(ledger, {"type": "retract", "at": day(40).isoformat(), "target": "line-up", "reason": "never provisioned",
                    "id": "line-retract"}, {**purchase("kec-2", at=day(45)), "id": "line-open"}, now=LATER)
    close, s = RECORDED + timedelta(days=1), streams(ledger)
    whole = partitions.causes([partitions.journal_rows(s, FAR, close, datetime(2026, 2, 1, tzinfo=UTC))])
    split = partitions.causes([partitions.journal_rows([x], FAR, close, datetime(2026, 2, 1, tzinfo=UTC))
                               for x in s])
    assert whole == split == {"acme": ("line-retract",)}


def test_the_journal_of_a_period_brings_the_balances_forward():
    ledger = memory_ledger()
    record(ledger, purchase("kec-1", months=12, price="30.00"))
    entries = entries_of(ledger)
    q2 = book.window(entries, date(2026, 4, 1), date(2026, 7, 1))
    assert q2[0].kind == "opening" and q2[0].day == date(2026, 4, 1)
    assert all(date(2026, 4, 1) <= e.day < date(2026, 7, 1) for e in q2)
    assert book.balances(q2) == book.balances(entries, date(2026, 7, 1))


def test_beancounts_printer_round_trips_the_journal():
    """Printed by beancount's printer, loaded without errors, printed again: the same text (no hand formatting)."""
    import io

    from beancount import loader
    from beancount.parser import printer

    ledger = memory_ledger()
    record(ledger, purchase("kec-1", months=1, price="30.00", payment={"cash": "25.00", "voucher": "5.00"}),
           {"type": "request_refund", "at": day(3).isoformat(), "instance": "kec-1", "refund": 'r "odd" id'}, *KP)
    entries = book.window(entries_of(ledger), date(2025, 12, 1), date(2026, 12, 1))
    text = io.StringIO()
    printer.print_entries(list(formats.directives(entries, date(2025, 12, 1))), file=text)
    loaded, errors, _ = loader.load_string(text.getvalue())
    assert errors == []
    again = io.StringIO()
    printer.print_entries(loaded, file=again)
    assert again.getvalue() == text.getvalue()
    assert 'ref: "r \\"odd\\" id"' in text.getvalue()  # an id beancount cannot link stays in the metadata
    for e in loaded:
        if hasattr(e, "postings"):
            assert all(p.units.number == p.units.number.quantize(Decimal("0.01")) for p in e.postings)


def test_a_release_of_an_order_not_yet_started_is_booked_when_it_starts():
    """K-L3 with a renewal not yet in effect whose line refunds nothing (a promotion, K-P1): the read models
    recognise its payment when its validity starts, and so does the journal (a `released` entry that day,
    linked to the refund)."""
    from datetime import UTC, datetime

    from projections.finance import OrderRow, RefundRow

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    base = OrderRow("i", "o-1", "acme", "KEC", "purchase", t0, t0, t0 + timedelta(days=30), "CNY", 3000, 0,
                    "refunded", 3000)
    renewal = OrderRow("i", "o-2", "acme", "KEC", "renewal", t0 + timedelta(days=5), t0 + timedelta(days=30),
                       t0 + timedelta(days=60), "CNY", 3000, 0, "refunded", 3000)
    refund = RefundRow("r-1", "i", "acme", "kingsoft-2021-05-27", "self_service", t0 + timedelta(days=10),
                       t0 + timedelta(days=10), "CNY", 1500, "accepted", None, (("i", "o-1", 1500), ("i", "o-2", 0)),
                       True)
    j = book.account_journal([base, renewal], [refund], {})
    (accepted,) = by_kind(j.entries, "refund_accepted")
    (later,) = by_kind(j.entries, "released")
    assert accepted.day == date(2026, 1, 11) and later.day == date(2026, 1, 31)
    assert later.legs == ((book.DEFERRED, 3000), (book.RELEASED, -3000)) and later.ref == "r-1"
    recognition = [book.recognised(d, c, v) for (d, c), v in j.recognition.items()]
    assert book.balances([*j.entries, *recognition]) == {
        (book.CASH, "CNY"): 6000, (book.PAYABLE, "CNY"): -1500,
        (book.CONSUMED, "CNY"): sum(leg(e, book.CONSUMED) for e in recognition),
        (book.RELEASED, "CNY"): -6000 + 1500 - sum(leg(e, book.CONSUMED) for e in recognition)}


@given(c=st.integers(-(10**26), 10**26))
def test_the_csvs_amount_is_the_decimal_amount_written_from_the_cents(c):
    assert formats.cents_text(c) == str(from_cents(c))


def test_the_csv_is_what_the_csv_module_writes_for_each_postings_cells_neutralised(tmp_path):
    """Every posting a row, every text cell through `csv_cell` (a formula-like customer gets its apostrophe,
    a comma or quote is quoted): the file `csv.DictWriter` writes for the same rows."""
    import csv

    from adapters.formats import output

    ledger = memory_ledger()
    record(ledger, purchase("=SUM(A1)", account='acme, "ltd"', months=12, price="100.00"))
    entries = entries_of(ledger)
    formats.write_csv(entries, str(tmp_path / "fast.csv"))
    with open(tmp_path / "reference.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=formats.CSV_COLUMNS)
        writer.writeheader()
        for n, e in enumerate(entries, start=1):
            for account, c in e.legs:
                row = {"entry": n, "date": e.day.isoformat(), "kind": e.kind, "currency": e.currency,
                       "account": account, "amount": str(from_cents(c)), "customer": e.customer or "",
                       "instance": e.instance or "", "ref": e.ref or "", "rules": ", ".join(e.rules),
                       "narration": e.narration, "caused_by": ", ".join(e.caused_by)}
                writer.writerow({k: output.csv_cell(str(v)) for k, v in row.items()})
    text = (tmp_path / "fast.csv").read_text()
    assert text == (tmp_path / "reference.csv").read_text()
    assert "'=SUM(A1)" in text and '"acme, ""ltd"""' in text
