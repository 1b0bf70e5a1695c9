"""Finance jobs over the whole ledger: each instance's order and refund rows (streamed), and the exports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.store.ledger import Ledger
from adapters.store.scan import stream_instances
from domain.timeutil import FAR
from projections.finance import OrderRow, RefundRow, account_days, instance_rows


def iter_rows(ledger: Ledger, known_at: datetime = FAR) -> Iterator[tuple[list[OrderRow], list[RefundRow]]]:
    """Each instance's order and refund rows, one instance at a time (flat memory)."""
    for name, events in stream_instances(ledger):
        yield instance_rows(name, events, known_at)


def ledger_rows(ledger: Ledger, known_at: datetime = FAR) -> tuple[list[OrderRow], list[RefundRow]]:
    """Every row of the ledger, in memory (the account ledger needs an account's rows together)."""
    orders, refunds = [], []
    for o, r in iter_rows(ledger, known_at):
        orders += o
        refunds += r
    return orders, refunds


# ----- exports -----

EXPORTS = ("refunds", "orders", "account-ledger")


def money(c: int) -> Decimal:
    return (Decimal(c) / 100).quantize(Decimal("0.01"))


def export_rows(ledger: Ledger, what: str, start: datetime, end: datetime,
                known_at: datetime) -> Iterator[dict[str, Any]]:
    """The rows of one export, business time in ``[start, end)``, as the ledger knew it at ``known_at``.
    Orders and refunds are streamed instance by instance; the account ledger reads every row first."""
    if what == "orders":
        for orders, _ in iter_rows(ledger, known_at):
            yield from ({"instance": o.instance, "order": o.order, "account": o.account, "product": o.product,
                         "kind": o.kind, "placed_at": o.placed_at, "valid_from": o.start, "valid_until": o.end,
                         "currency": o.currency, "paid": money(o.paid_cents), "cash": money(o.cash_cents),
                         "credit": money(o.credit_cents), "status": o.status}
                        for o in orders if start <= o.placed_at < end)
        return
    if what == "refunds":
        for _, refunds in iter_rows(ledger, known_at):
            yield from ({"refund": r.refund, "instance": r.instance, "account": r.account, "policy": r.policy,
                         "mode": r.mode, "requested_at": r.requested_at, "recorded_at": r.recorded_at,
                         "currency": r.currency, "amount": money(r.amount_cents), "state": r.state,
                         "settled_at": r.settled_at}
                        for r in refunds if start <= r.requested_at < end)
        return
    orders, refunds = ledger_rows(ledger, known_at)
    by_account: dict[str, tuple[list[OrderRow], list[RefundRow]]] = {}
    for o in orders:
        by_account.setdefault(o.account, ([], []))[0].append(o)
    for r in refunds:
        by_account.setdefault(r.account, ([], []))[1].append(r)
    for account in sorted(by_account):
        for d in account_days(*by_account[account]):
            if start.date() <= d.day < end.date():
                yield {"account": d.account, "currency": d.currency, "day": d.day,
                       "opening": money(d.opening_cents), "paid": money(d.paid_cents),
                       "consumed": money(d.consumed_cents), "refunded": money(d.refunded_cents),
                       "closing": money(d.closing_cents)}
