"""The journal booked where its partition is computed: each partition of whole accounts
(`adapters.store.scan.plan_accounts`) books its accounts' entries and sums their straight-line recognition per
day and currency; the driver concatenates the entries in partition order (accounts come by name, as
`journal.ledger_entries` gives them) and adds the recognition up. The same entries, in the same order, as
`journal.ledger_entries` and `journal.closed_journal` on every partition's rows together
(`tests/unit/test_booking.py`), with only entries and day totals travelling back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from projections import journal
from projections.daytotals import DayTotals
from projections.journal import Entry, bulk_account_journal, corrections, recognised
from projections.partitions import Instances, causes, journal_rows


@dataclass(frozen=True)
class Booked:
    """One partition's journal. Without a close: ``entries`` (its accounts', by account name) and
    ``recognition``. With a close (``closed_through``): ``closed`` (its accounts' entries as known at the close,
    dated through it), ``entries`` (as known now, dated after it), ``corrections`` of the closed days, and the
    recognition as known now and as known at the close."""

    entries: list[Entry]
    recognition: DayTotals
    closed: list[Entry]
    recognition_at_close: DayTotals | None
    corrections: list[Entry]


def _book(accounts: dict[str, journal.AccountRows], tz: str | None) -> tuple[list[Entry], DayTotals]:
    total = DayTotals()
    entries = [e for name in sorted(accounts) for e in
               bulk_account_journal(accounts[name].orders, accounts[name].refunds, accounts[name].unrefunded, tz,
                                    total)]
    return entries, total


def book_partition(instances: Instances, known_at: datetime, close_at: datetime | None = None,
                   open_from: datetime | None = None, closed_through: date | None = None,
                   tz: str | None = None) -> Booked:
    """A partition's journal as known at ``known_at``; with ``closed_through`` (``close_at`` its knowledge time,
    ``open_from`` when the first open day starts), the closed days as known at the close (`journal_rows`)."""
    part = journal_rows(instances, known_at, close_at, open_from)
    now = journal.group([part.now])
    entries, total = _book(now, tz)
    if closed_through is None or part.at_close is None:
        return Booked(entries, total, [], None, [])
    at_close = journal.group([part.at_close])
    closed, total_at_close = _book(at_close, tz)
    return Booked([e for e in entries if e.day > closed_through], total, [e for e in closed if e.day <= closed_through],
                  total_at_close, list(corrections(now, at_close, closed_through, causes([part]), tz)))


def assemble(parts: Iterable[Booked], closed_through: date | None = None) -> Iterator[Entry]:
    """Every partition's entries (in partition order), then the recognition summed over all of them: the
    entries of `journal.ledger_entries`, or with ``closed_through`` of `journal.closed_journal`."""
    booked = list(parts)
    now = DayTotals()
    for p in booked:
        now.merge(p.recognition)
    if closed_through is None:
        for p in booked:
            yield from p.entries
        yield from _recognised(now)
        return
    at_close = DayTotals()
    for p in booked:
        if p.recognition_at_close is not None:
            at_close.merge(p.recognition_at_close)
    for p in booked:
        yield from p.closed
    yield from (e for e in _recognised(at_close) if e.day <= closed_through)
    for p in booked:
        yield from p.entries
    yield from (e for e in _recognised(now) if e.day > closed_through)
    for p in booked:
        yield from p.corrections


def _recognised(total: DayTotals) -> Iterator[Entry]:
    for (d, currency), c in total.items():
        yield recognised(date.fromordinal(d), currency, c)
