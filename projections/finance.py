"""Finance rows, as pure functions of an instance's events: its orders, its refund applications, and the
per-day account ledger (paid, consumed, refunded, and the deferred balance = paid - consumed - refunded).

Recognition (Decision; the spec is silent): each order's actual payment (its policy's `orders`: K-M1 for an
order, the amount for an invoiced charge) is consumed straight-line over its validity (a charge: its billing
period), from its start. A refund is attributed to the orders its frozen quote lines name. A refund that
releases its instance (K-L3) recognises what is still deferred on its orders as consumed on that day, so the
instance's deferred balance becomes exactly 0. A refund that does not release (a charge's refund) and a
downgrade credit are partial: the rest of the order's deferred amount is spread over the rest of its
validity. Cents are exact: cumulative amounts are rounded
half-up at each day's end and the day's figure is the difference, so days always add up to the order.
Days are UTC dates.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from domain.instance import known, live, opening
from domain.lifecycle import refunds as lifecycle
from domain.lifecycle import released_by
from domain.money import round_cents
from domain.policies import registry
from domain.timeutil import FAR, ratio


def cents(x: Fraction | Decimal) -> int:
    return int(round_cents(Fraction(x), "half_up") * 100)


@dataclass(frozen=True)
class OrderRow:
    instance: str
    order: str
    account: str
    product: str
    kind: str  # purchase | renewal | upgrade | downgrade | charge
    placed_at: datetime
    start: datetime
    end: datetime
    currency: str
    paid_cents: int  # actual payment (K-M1); a charge's amount
    credit_cents: int  # a downgrade's credit
    status: str  # active | refunded
    cash_cents: int = 0  # what a payment provider moved (the cash tender; a charge's amount)


@dataclass(frozen=True)
class RefundRow:
    refund: str
    instance: str
    account: str
    policy: str
    mode: str
    requested_at: datetime
    recorded_at: datetime
    currency: str
    amount_cents: int  # the frozen quote's amount, or the amount a staff decision granted
    state: str  # accepted | requested | approved | rejected | escalated | completed | denied
    settled_at: datetime | None
    lines: tuple[tuple[str, str, int], ...]  # (instance, order, refund cents) as frozen
    releases: bool  # Kingsoft applications release their instances (K-L3)


def instance_rows(name: str, events: Iterable[Any], known_at: datetime = FAR) -> tuple[list[OrderRow],
                                                                                      list[RefundRow]]:
    """The orders and refund applications of one instance, as known at ``known_at``."""
    events = list(events)
    facts = live(known(events, known_at))
    head = opening(facts)
    if head is None:
        return [], []
    refunds = _refunds(name, head, facts)
    status = "refunded" if released_by(facts) else "active"  # K-L3, this instance's or an application it is in
    rows = [OrderRow(name, o.order, head.account, head.product, o.kind, o.placed_at, o.start, o.end, head.currency,
                     cents(o.paid), cents(o.credit), status, cents(o.cash))
            for o in registry.for_product(head.product).orders(head, facts)]
    return rows, refunds


def _refunds(name: str, head: Any, facts: list[Any]) -> list[RefundRow]:
    """The instance's own refund applications (not those it is only included in), from the lifecycle fold."""
    return [RefundRow(refund=r.refund, instance=name, account=head.account, policy=r.policy, mode=r.mode,
                      requested_at=r.requested_at, recorded_at=r.recorded_at, currency=head.currency,
                      amount_cents=cents(r.amount), state=r.state, settled_at=r.settled_at,
                      lines=tuple((i, o, cents(v)) for i, o, v in r.lines), releases=r.releases)
            for r in lifecycle(facts).values() if r.primary]


# ----- the account ledger -----

@dataclass(frozen=True)
class DayRow:
    account: str
    currency: str
    day: date
    opening_cents: int
    paid_cents: int
    consumed_cents: int
    refunded_cents: int
    closing_cents: int  # the deferred balance at the end of the day


def _day_end(d: date) -> datetime:
    return datetime.combine(d + timedelta(days=1), time.min, tzinfo=UTC)


def _utc_day(t: datetime) -> date:
    return t.astimezone(UTC).date()


def order_schedule(order: OrderRow, refunds: list[tuple[datetime, int, bool]]) -> dict[date, tuple[int, int, int]]:
    """Per UTC day: (paid, consumed, refunded) cents of one order. ``refunds``: (time, cents, releases)."""
    flows: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    flows[_utc_day(order.placed_at)][0] += order.paid_cents
    # piecewise-linear cumulative consumption: breakpoints (time, cumulative consumed, exact)
    points: list[tuple[datetime, Fraction]] = [(order.start, Fraction(0))]
    remaining, a, done = Fraction(order.paid_cents), order.start, Fraction(0)
    for t, r, releases in sorted(refunds):
        flows[_utc_day(t)][2] += r
        t = min(max(t, a), order.end)
        used = remaining * ratio(t - a, order.end - a) if order.end > a else remaining
        done += used
        points.append((t, done))
        remaining -= used + r
        a = t
        if releases:
            done += remaining
            points.append((t, done))
            remaining = Fraction(0)
    done += remaining
    points.append((order.end, done))
    if not points or order.end <= order.start:
        flows[_utc_day(order.start)][1] += int(done)
        return {d: tuple(v) for d, v in flows.items()}  # type: ignore[misc]

    def cumulative(t: datetime) -> Fraction:
        prev_t, prev_v = points[0]
        if t <= prev_t:
            return Fraction(0)
        for pt, pv in points[1:]:
            if t <= pt:
                if pt == prev_t:
                    return pv
                return prev_v + (pv - prev_v) * ratio(t - prev_t, pt - prev_t)
            prev_t, prev_v = pt, pv
        return points[-1][1]

    first, last = _utc_day(order.start), _utc_day(max(order.end, points[-1][0]))
    before, d = 0, first
    while d <= last:
        now = cents(cumulative(_day_end(d)) / 100)
        flows[d][1] += now - before
        before, d = now, d + timedelta(days=1)
    return {d: tuple(v) for d, v in flows.items()}  # type: ignore[misc]


def account_days(orders: list[OrderRow], refunds: list[RefundRow]) -> list[DayRow]:
    """The per-day account ledger of one account, from its order and refund rows."""
    by_order: dict[tuple[str, str], list[tuple[datetime, int, bool]]] = defaultdict(list)
    for r in refunds:
        if r.state in ("accepted", "approved", "completed"):
            for instance, order, c in r.lines:
                by_order[(instance, order)].append((r.requested_at, c, r.releases))
    released = {(r.instance, r.requested_at) for r in refunds if r.releases and r.state in ("accepted", "completed")}
    release_at: dict[str, datetime] = {}
    for instance, at in released:
        release_at[instance] = min(at, release_at.get(instance, at))
    for r in refunds:  # every instance of a released application stops consuming then (K-L3)
        if r.releases and r.state in ("accepted", "completed"):
            for instance, _, _ in r.lines:
                release_at[instance] = min(r.requested_at, release_at.get(instance, r.requested_at))
    for o in orders:  # a downgrade's credit comes off the base order in effect when it was placed
        if o.kind == "downgrade" and o.credit_cents:
            base = next((b for b in orders if b.instance == o.instance and b.kind in ("purchase", "renewal")
                         and b.start <= o.placed_at < b.end), None)
            if base is not None:
                by_order[(base.instance, base.order)].append((o.placed_at, o.credit_cents, False))
    totals: dict[tuple[str, str, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in orders:
        events = list(by_order.get((o.instance, o.order), []))
        if o.instance in release_at and not any(rel for _, _, rel in events):
            events.append((release_at[o.instance], 0, True))
        for d, (paid, consumed, refunded) in order_schedule(o, events).items():
            t = totals[(o.account, o.currency, d)]
            t[0], t[1], t[2] = t[0] + paid, t[1] + consumed, t[2] + refunded
    rows, balance = [], defaultdict(int)
    for (account, currency, d), (paid, consumed, refunded) in sorted(totals.items()):
        if not (paid or consumed or refunded):
            continue
        opening_ = balance[(account, currency)]
        closing = opening_ + paid - consumed - refunded
        balance[(account, currency)] = closing
        rows.append(DayRow(account, currency, d, opening_, paid, consumed, refunded, closing))
    return rows


def lines_json(lines: tuple[tuple[str, str, int], ...]) -> str:
    return json.dumps([{"instance": i, "order": o, "refund_cents": c} for i, o, c in lines])
