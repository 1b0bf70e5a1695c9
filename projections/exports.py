"""The exports as pure per-partition functions (``projections.partitions``' shape: one partition's instances,
the pinned ``known_at``, the job's plain parameters; plain rows back): the ``orders`` and ``refunds`` exports'
rows of a partition, and the account ledger, assembled from every partition's finance rows (or computed on a
partition of whole accounts)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain.money import from_cents
from domain.timeutil import tz_of
from projections import columns, segments
from projections.finance import DayRow, OrderRow, RefundRow, account_days, instance_rows
from projections.partitions import Instances, finance_rows

EXPORTS = ("refunds", "orders", "account-ledger")


def order_export(o: OrderRow) -> dict[str, Any]:
    return {"instance": o.instance, "order": o.order, "account": o.account, "product": o.product, "kind": o.kind,
            "placed_at": o.placed_at, "valid_from": o.start, "valid_until": o.end, "currency": o.currency,
            "paid": from_cents(o.paid_cents), "cash": from_cents(o.cash_cents), "credit": from_cents(o.credit_cents),
            "status": o.status}


def refund_export(r: RefundRow) -> dict[str, Any]:
    return {"refund": r.refund, "instance": r.instance, "account": r.account, "policy": r.policy, "mode": r.mode,
            "requested_at": r.requested_at, "recorded_at": r.recorded_at, "currency": r.currency,
            "amount": from_cents(r.amount_cents), "state": r.state, "settled_at": r.settled_at}


def day_export(d: DayRow) -> dict[str, Any]:
    return {"account": d.account, "currency": d.currency, "day": d.day, "opening": from_cents(d.opening_cents),
            "paid": from_cents(d.paid_cents), "consumed": from_cents(d.consumed_cents),
            "refunded": from_cents(d.refunded_cents), "closing": from_cents(d.closing_cents)}


def export_rows(instances: Instances, known_at: datetime, what: str, start: datetime,
                end: datetime) -> list[dict[str, Any]]:
    """The partition's rows of the ``orders`` or ``refunds`` export: placed (requested) in ``[start, end)``,
    as known at ``known_at``. The account ledger needs every partition: `account_ledger_rows`."""
    rows: list[dict[str, Any]] = []
    for name, events in instances:
        orders, refunds = instance_rows(name, events, known_at)
        if what == "orders":
            rows += (order_export(o) for o in orders if start <= o.placed_at < end)
        elif what == "refunds":
            rows += (refund_export(r) for r in refunds if start <= r.requested_at < end)
        else:
            raise ValueError(f"{what!r}: a partition exports orders or refunds; the account ledger is assembled")
    return rows


def account_ledger_days(instances: Instances, known_at: datetime, start: datetime, end: datetime,
                        tz: str | None = None) -> list[segments.DayTuple]:
    """The account-ledger export's days of a partition of whole accounts (`AccountLedger.tuples` of its rows)."""
    return list(AccountLedger(*finance_rows(instances, known_at), start, end, tz).tuples())


def account_ledger_dense(instances: Instances, known_at: datetime, start: datetime, end: datetime,
                         tz: str | None = None) -> columns.DenseColumns:
    """`account_ledger_days` before each account's last step (`columns.dense_columns`): for a columnar writer."""
    orders, refunds = finance_rows(instances, known_at)
    first, last = period_days(start, end, tz)
    out = columns.DenseColumns()
    for rows in segments.by_account(orders, refunds):
        columns.dense_columns(*rows, tz, first, last, out)
    return out


def account_ledger_rows(orders: Iterable[OrderRow], refunds: Iterable[RefundRow], start: datetime,
                        end: datetime, tz: str | None = None, *, bulk: bool = True) -> Iterator[dict[str, Any]]:
    """The account-ledger export from every partition's rows (in partition order): each account's rows
    together, accounts by name, business days (of the reporting calendar ``tz``, `finance.reporting_zone`)
    from ``start``'s date to ``end``'s (each in ``tz`` when given, else in its own offset); one account's days
    at a time (an account's days are made when its turn comes, so memory holds the order and refund rows, not
    every day of every account). ``bulk`` (the default): the days of the period only, from each order's segments
    (`projections.segments.day_tuples`, `AccountLedger`); False: the reference path (`finance.account_days`);
    the same rows."""
    if bulk:
        yield from AccountLedger(list(orders), list(refunds), start, end, tz)
        return
    first, last = period_days(start, end, tz)
    for rows in segments.by_account(orders, refunds):  # the reference: every day of the account, then the period's
        yield from (day_export(d) for d in account_days(*rows, tz) if first <= d.day < last)


def day_dict(t: segments.DayTuple) -> dict[str, Any]:
    """`day_export` of a day tuple."""
    a, currency, d, *figures = t
    opening, paid, consumed, refunded, closing = (Decimal(c).scaleb(-2) for c in figures)
    return {"account": a, "currency": currency, "day": date.fromordinal(d), "opening": opening, "paid": paid,
            "consumed": consumed, "refunded": refunded, "closing": closing}


@dataclass(frozen=True)
class AccountLedger:
    """The account-ledger export's rows, made when iterated (`account_ledger_rows`'s dicts); ``tuples()`` gives
    the same rows as `segments.DayTuple` for a writer that formats them itself (`adapters.formats.tables`)."""

    orders: list[OrderRow]
    refunds: list[RefundRow]
    start: datetime
    end: datetime
    tz: str | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(day_dict, self.tuples())

    def tuples(self) -> Iterator[segments.DayTuple]:
        first, last = period_days(self.start, self.end, self.tz)
        for rows in segments.by_account(self.orders, self.refunds):
            yield from segments.day_tuples(*rows, self.tz, first, last)


def period_days(start: datetime, end: datetime, tz: str | None = None) -> tuple[date, date]:
    """The dates of a period's bounds in the reporting calendar ``tz``, or as written (their own offset)."""
    if tz:
        zone = tz_of(tz)
        return start.astimezone(zone).date(), end.astimezone(zone).date()
    return start.date(), end.date()
