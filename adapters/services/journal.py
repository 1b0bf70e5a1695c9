"""The double-entry journal over the whole ledger (docs/journal.md): a partitioned job like the exports.

Plan (pin the ledger, cut into partitions of whole accounts: an account's rows are needed together, as for
the account ledger), ``map`` `projections.booking.book_partition` over the partitions (each books its accounts
with `projections.journal`), and assemble (`projections.booking.assemble`: the entries concatenated, the
recognition summed). With ``closed_through`` the rows are also read as known at the close and the closed days
keep what was known then (as `projections.journal.closed_journal`).

Days are business days of the reporting calendar (`projections.finance.reporting_zone`: the ledger's
``reporting_tz`` setting, else each row's policy's ``calendar_tz``). A period ``[T1, T2)`` holds the days
from the first date starting at or after ``T1`` to the first starting at or after ``T2``, dates read in the
reporting zone when it is set, else in the offset each bound is written with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from adapters.bootstrap import App
from adapters.formats import journal as formats
from adapters.formats.errors import BadInput
from adapters.services.jobs import store
from adapters.store.scan import pin
from adapters.store.tasks import Mapper, Task
from domain.money import from_cents
from domain.timeutil import tz_of
from projections import booking
from projections import journal as book


def first_day(t: datetime, tz: str | None = None) -> date:
    """The first day that starts at or after ``t``: in the reporting zone ``tz``, else in ``t``'s own offset."""
    u = t.astimezone(tz_of(tz)) if tz else t
    return u.date() if u.time() == time.min else u.date() + timedelta(days=1)


def day_start(d: date, tz: str | None = None) -> datetime:
    """When day ``d`` starts: in the reporting zone ``tz``, else in UTC."""
    return datetime.combine(d, time.min, tzinfo=tz_of(tz) if tz else UTC)


JOURNAL_FORMATS = formats.FORMATS


@dataclass(frozen=True)
class Journal:
    entries: list[book.Entry]  # in date order, after the balances brought forward
    first: date  # the window's first day
    known_at: datetime  # pinned
    closed_at: datetime | None  # the knowledge time of the closed days, if any


def entries(app: App, known_at: datetime | None = None, closed_through: date | None = None,
            closed_at: datetime | None = None, *, size: int | None = None,
            map: Mapper = map) -> tuple[Iterable[book.Entry], datetime, datetime | None]:
    """Every entry of the ledger as known at ``known_at`` (pinned; default: now); with ``closed_through``, the
    days through it as known at ``closed_at`` (default: the end of that day, UTC), corrections on the next."""
    tz = app.settings.reporting_tz
    pinned = pin(app.ledger, size, known_at, by_account=True)
    close = None
    if closed_through is not None:
        close = min(closed_at or day_start(closed_through + timedelta(days=1), tz), pinned.known_at)
    open_from = day_start(closed_through + timedelta(days=1), tz) if closed_through is not None else None
    task = Task(store(app), booking.book_partition, pinned.known_at, (close, open_from, closed_through, tz))
    return booking.assemble(map(task, pinned.partitions), closed_through), pinned.known_at, close


def journal(app: App, start: datetime, end: datetime, known_at: datetime | None = None,
            closed_through: date | None = None, closed_at: datetime | None = None, *, size: int | None = None,
            map: Mapper = map) -> Journal:
    """The journal of the days starting in ``[start, end)``, after the balances brought forward from before
    them (its closing balances are the ledger's own at ``end``)."""
    if start >= end:
        raise BadInput(None, f"{start.isoformat()} is not before the end of the period, {end.isoformat()}",
                       param="from")
    found, k, close = entries(app, known_at, closed_through, closed_at, size=size, map=map)
    first = first_day(start, app.settings.reporting_tz)
    return Journal(book.window(found, first, first_day(end, app.settings.reporting_tz)), first, k, close)


@dataclass(frozen=True)
class TrialBalance:
    at: datetime
    known_at: datetime
    rows: list[dict[str, str]]  # account, currency, debit, credit (the balance on its side)
    totals: dict[str, dict[str, str]]  # currency -> debit, credit

    @property
    def balanced(self) -> bool:
        return all(t["debit"] == t["credit"] for t in self.totals.values())

    def as_json(self) -> dict:
        return {"at": self.at.isoformat(), "known_at": self.known_at.isoformat(), "accounts": self.rows,
                "totals": self.totals, "balanced": self.balanced}


def trial_balance(app: App, at: datetime, known_at: datetime | None = None, *, size: int | None = None,
                  map: Mapper = map) -> TrialBalance:
    """Every account's balance per currency over the days starting before ``at``: a debit balance in the
    debit column, a credit balance in the credit column; per currency the columns' totals are equal."""
    found, k, _ = entries(app, known_at, size=size, map=map)
    rows: list[dict[str, str]] = []
    totals: dict[str, list[int]] = {}  # per currency: debit and credit cents
    for (account, currency), c in book.balances(found, first_day(at, app.settings.reporting_tz)).items():
        rows.append({"account": account, "currency": currency, "debit": str(from_cents(max(c, 0))),
                     "credit": str(from_cents(max(-c, 0)))})
        t = totals.setdefault(currency, [0, 0])
        t[0 if c > 0 else 1] += abs(c)
    return TrialBalance(at, k, rows, {cur: {"debit": str(from_cents(d)), "credit": str(from_cents(c))}
                                      for cur, (d, c) in sorted(totals.items())})


def write_journal(j: Journal, path: str, fmt: str) -> int:
    """Write the journal as ``beancount`` or ``csv``; returns how many entries."""
    if fmt == "beancount":
        return formats.write_beancount(j.entries, path, j.first)
    if fmt == "csv":
        return formats.write_csv(j.entries, path)
    raise BadInput(None, f"{fmt!r} is not {' or '.join(JOURNAL_FORMATS)}", param="format")
