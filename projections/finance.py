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

Days are business days of the reporting calendar (`reporting_zone`): the ledger's ``reporting_tz`` setting when
it has one, else the ``calendar_tz`` of the policy that judges the row (Kingsoft +08:00, KorPro +00:00), so a
purchase at 2027-01-01T00:00+08:00 is booked on 2027-01-01, not on the UTC day before.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from domain.instance import known, live, opening
from domain.lifecycle import refunds as lifecycle
from domain.lifecycle import released_by
from domain.policies import registry
from domain.timeutil import FAR, micros, ratio, tz_of


def cents(x: Fraction | Decimal) -> int:
    """``x`` in whole cents, rounded half-up once (`round_cents` ``half_up``), from its exact integer ratio: a
    `Decimal` of at most two decimals (every stored price and payment) is whole cents without a rounding."""
    n, d = (x.numerator, x.denominator) if type(x) is Fraction else x.as_integer_ratio()
    return _half_up(n * 100, d)


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
    rows, refunds, _ = instance_orders(name, events, known_at)
    return rows, refunds


def instance_orders(name: str, events: Iterable[Any],
                    known_at: datetime = FAR) -> tuple[list[OrderRow], list[RefundRow], list[Any]]:
    """`instance_rows`, and the policy's orders they are made of (`Policy.orders`: their tenders too)."""
    events = list(events)
    facts = live(known(events, known_at))
    head = opening(facts)
    if head is None:
        return [], [], []
    refunds = _refunds(name, head, facts)
    status = "refunded" if released_by(facts) else "active"  # K-L3, this instance's or an application it is in
    orders = list(registry.for_product(head.product).orders(head, facts))
    rows = [OrderRow(name, o.order, head.account, head.product, o.kind, o.placed_at, o.start, o.end, head.currency,
                     cents(o.paid), cents(o.credit), status, cents(o.cash))
            for o in orders]
    return rows, refunds, orders


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


def reporting_zone(product: str, tz: str | None = None) -> timezone:
    """The zone of the reporting calendar whose days an order of ``product`` is booked on: ``tz`` (the ledger's
    ``reporting_tz`` setting, ±HH:MM) when given, else the ``calendar_tz`` of the policy that judges it."""
    return tz_of(tz) if tz else _policy_zone(product)


def refund_zone(policy: str, tz: str | None = None) -> timezone:
    """`reporting_zone` for a refund row: its policy's ``calendar_tz`` unless ``tz`` is given."""
    return tz_of(tz) if tz else _named_zone(policy)


@lru_cache(maxsize=256)
def _policy_zone(product: str) -> timezone:
    return tz_of(getattr(registry.for_product(product).parameters(), "calendar_tz", "+00:00"))


@lru_cache(maxsize=256)
def _named_zone(policy: str) -> timezone:
    try:
        found = registry.named(policy)
    except LookupError:
        return UTC
    return tz_of(getattr(found.parameters(), "calendar_tz", "+00:00"))


def _day_end(d: date, zone: timezone = UTC) -> datetime:
    return datetime.combine(d + timedelta(days=1), time.min, tzinfo=zone)


def business_day(t: datetime, zone: timezone) -> date:
    """The day of the reporting calendar (in ``zone``) that ``t`` falls on."""
    return t.astimezone(zone).date()


def order_schedule(order: OrderRow, refunds: list[tuple[datetime, int, bool]],
                   tz: str | None = None) -> dict[date, tuple[int, int, int]]:
    """Per business day: (paid, consumed, refunded) cents of one order. ``refunds``: (time, cents, releases)."""
    return {d: (paid, consumed, refunded)
            for d, (paid, consumed, refunded, _) in order_flows(order, refunds, tz).items()}


Breakpoints = list[tuple[datetime, Fraction]]  # (time, cumulative consumed cents, exact)
Jumps = list[tuple[datetime, Fraction, Fraction]]  # a release (K-L3): (time, cumulative before, after)


def consumption(order: OrderRow, refunds: list[tuple[datetime, int, bool]]) -> tuple[Breakpoints, Jumps, Fraction]:
    """An order's piecewise-linear cumulative consumption: its breakpoints, the jumps releasing refunds make, and
    the total consumed. Each refund (time, cents, releases) takes its cents off what is still deferred then; a
    releasing one recognises the rest at once."""
    points: Breakpoints = [(order.start, Fraction(0))]
    jumps: Jumps = []
    remaining, a, done = Fraction(order.paid_cents), order.start, Fraction(0)
    for t, r, releases in sorted(refunds):
        t = min(max(t, a), order.end)
        used = remaining * ratio(t - a, order.end - a) if order.end > a else remaining
        done += used
        points.append((t, done))
        remaining -= used + r
        a = t
        if releases:
            jumps.append((t, done, done + remaining))
            done += remaining
            points.append((t, done))
            remaining = Fraction(0)
    done += remaining
    points.append((order.end, done))
    return points, jumps, done


def order_flows(order: OrderRow, refunds: list[tuple[datetime, int, bool]],
                tz: str | None = None) -> dict[date, tuple[int, int, int, int]]:
    """Per business day (`reporting_zone`): (paid, consumed, refunded, released) cents of one order,
    ``released`` being the part of ``consumed`` that a releasing refund (K-L3) recognised at once (what was still
    deferred then); the rest of ``consumed`` is the straight-line consumption. ``refunds``: (time, cents,
    releases)."""
    zone = reporting_zone(order.product, tz)

    def _day(t: datetime) -> date:
        return t.astimezone(zone).date()

    flows: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    flows[_day(order.placed_at)][0] += order.paid_cents
    for t, r, _ in refunds:
        flows[_day(t)][2] += r
    points, jumps, done = consumption(order, refunds)
    if not points or order.end <= order.start:
        flows[_day(order.start)][1] += int(done)
        return {d: (paid, used, back, freed) for d, (paid, used, back, freed) in flows.items()}

    first, last = _day(order.start), _day(max(order.end, points[-1][0]))
    start = first.toordinal()
    for k, now_ in enumerate(_cumulative_cents(points, first, last, zone)):  # every day of the term, zero ones too
        d = date.fromordinal(start + k)
        v = flows.get(d)
        if v is None:
            flows[d] = [0, now_, 0, 0]
        else:
            v[1] += now_
    return _with_jumps(flows, jumps, zone)


DAY_US = 86_400_000_000


def _half_up(n: int, d: int) -> int:
    """``n / d`` (``d`` > 0) rounded to a whole number, ties away from zero (as `round_cents` ``half_up``)."""
    whole, rest = divmod(abs(n), d)
    if 2 * rest >= d:
        whole += 1
    return whole if n >= 0 else -whole


def _cumulative_cents(points: list[tuple[datetime, Fraction]], first: date, last: date,
                      zone: timezone = UTC) -> list[int]:
    """Each day's consumption in whole cents: the piecewise-linear cumulative ``points`` (time, exact cents)
    at each day's end from ``first`` to ``last``, rounded half-up, minus the day before's. Integer arithmetic
    on microseconds: exactly the interpolation ``prev + (next - prev) * ratio(t - t_prev, t_next - t_prev)``.

    Segment by segment: the days whose end lies in ``(t_prev, t_next]`` share one linear numerator over one
    denominator, ``value(t) = (A + B * (t - t_prev)) / C``, rounded for all of them in one comprehension."""
    origin = points[0][0]
    pts = [(micros(t - origin), Fraction(v)) for t, v in points]
    count = (last - first).days + 1
    t = micros(_day_end(first, zone) - origin)  # the first day's end (days of a fixed offset are 24 h)
    ends = range(t, t + count * DAY_US, DAY_US)
    totals = [0] * sum(1 for e in ends if e <= 0)  # days ending before the term: nothing consumed yet
    k = len(totals)
    for (t0, v0), (t1, v1) in zip(pts, pts[1:], strict=False):
        if k == count:
            break
        upto = k
        while upto < count and ends[upto] <= t1:
            upto += 1
        if upto == k:
            continue
        dv, span = v1 - v0, t1 - t0
        c = v0.denominator * dv.denominator * span
        a, b = v0.numerator * dv.denominator * span, dv.numerator * v0.denominator
        if a >= 0 and b >= 0:  # every numerator >= 0: half-up is floor((2n + c) / 2c), as `_half_up` gives
            c2, a2, b2 = 2 * c, 2 * (a - b * t0) + c, 2 * b
            totals += [(a2 + b2 * e) // c2 for e in ends[k:upto]]
        else:
            totals += [_half_up(a + b * (e - t0), c) for e in ends[k:upto]]
        k = upto
    if k < count:  # days after the last point: its value
        v = pts[-1][1]
        totals += [_half_up(v.numerator, v.denominator)] * (count - k)
    return [now - before for now, before in zip(totals, [0, *totals[:-1]], strict=True)]


def _with_jumps(flows: dict[date, list[int]], jumps: list[tuple[datetime, Fraction, Fraction]],
                zone: timezone) -> dict[date, tuple[int, int, int, int]]:
    for t, was, became in jumps:  # the same rounding as the cumulative figures: whole cents before and after
        flows[business_day(t, zone)][3] += cents(became / 100) - cents(was / 100)
    return {d: (paid, used, back, freed) for d, (paid, used, back, freed) in flows.items()}


@dataclass(frozen=True)
class OrderFlows:
    """One order's per-day figures in its account's ledger, and what caused the refunds and releases on it."""

    order: OrderRow
    days: dict[date, tuple[int, int, int, int]]  # (paid, consumed, refunded, released), `order_flows`
    released_by: str | None  # the refund whose application released the order's instance (K-L3)


@dataclass(frozen=True)
class Credit:
    """A downgrade's credit (K-D1), taken off the base order in effect when the downgrade was placed."""

    downgrade: OrderRow
    base: OrderRow


@dataclass(frozen=True)
class AccountFlows:
    """Everything the account ledger of one account is made of: each order's flows, the downgrade credits and
    each payable refund's cents on the account's orders (its frozen lines whose orders are known)."""

    orders: list[OrderFlows]
    credits: list[Credit]
    refunds: list[tuple[RefundRow, int]]


OrderEvents = list[tuple[datetime, int, bool]]  # (time, cents, releases): what comes off an order's deferred cents


@dataclass(frozen=True)
class FlowInputs:
    """What each order of one account is given: its refunds, credits and release (time, cents, releases), and the
    refund whose application released its instance; the downgrade credits; each payable refund's booked cents."""

    orders: list[tuple[OrderRow, OrderEvents, str | None]]
    credits: list[Credit]
    refunds: list[tuple[RefundRow, int]]


def account_flows(orders: list[OrderRow], refunds: list[RefundRow], tz: str | None = None) -> AccountFlows:
    """The per-order flows of one account, from its order and refund rows (`account_days` sums them)."""
    f = flow_inputs(orders, refunds)
    return AccountFlows([OrderFlows(o, order_flows(o, events, tz), by) for o, events, by in f.orders], f.credits,
                        f.refunds)


def flow_inputs(orders: list[OrderRow], refunds: list[RefundRow]) -> FlowInputs:
    """`FlowInputs` of one account, from its order and refund rows."""
    by_order: dict[tuple[str, str], list[tuple[datetime, int, bool]]] = defaultdict(list)
    known = {(o.instance, o.order) for o in orders}
    payable: list[tuple[RefundRow, int]] = []
    for r in refunds:
        if r.state in ("accepted", "approved", "completed"):
            booked = 0
            for instance, order, c in r.lines:
                by_order[(instance, order)].append((r.requested_at, c, r.releases))
                booked += c if (instance, order) in known else 0
            payable.append((r, booked))
    release_at: dict[str, tuple[datetime, str]] = {}
    for r in refunds:  # every instance of a released application stops consuming then (K-L3)
        if r.releases and r.state in ("accepted", "completed"):
            for instance in (r.instance, *(i for i, _, _ in r.lines)):
                release_at[instance] = min((r.requested_at, r.refund), release_at.get(instance, (r.requested_at,
                                                                                               r.refund)))
    credits = []
    for o in orders:  # a downgrade's credit comes off the base order in effect when it was placed
        if o.kind == "downgrade" and o.credit_cents:
            base = next((b for b in orders if b.instance == o.instance and b.kind in ("purchase", "renewal")
                         and b.start <= o.placed_at < b.end), None)
            if base is not None:
                by_order[(base.instance, base.order)].append((o.placed_at, o.credit_cents, False))
                credits.append(Credit(o, base))
    inputs = []
    for o in orders:
        events = list(by_order.get((o.instance, o.order), []))
        released = release_at.get(o.instance)
        if released is not None and not any(rel for _, _, rel in events):
            events.append((released[0], 0, True))
        inputs.append((o, events, released[1] if released else None))
    return FlowInputs(inputs, credits, payable)


def account_days(orders: list[OrderRow], refunds: list[RefundRow], tz: str | None = None) -> list[DayRow]:
    """The per-day account ledger of one account, from its order and refund rows: per account and currency,
    the business days (`reporting_zone`) in order, each with the day's opening balance, its flows and its
    closing balance (days on which nothing moved are left out)."""
    totals: dict[tuple[str, str], dict[date, list[int]]] = {}
    for f in account_flows(orders, refunds, tz).orders:
        o = f.order
        per = totals.setdefault((o.account, o.currency), {})
        for d, (paid, consumed, refunded, _) in f.days.items():
            t = per.get(d)
            if t is None:
                per[d] = [paid, consumed, refunded]
            else:
                t[0] += paid
                t[1] += consumed
                t[2] += refunded
    rows = []
    for account, currency in sorted(totals):
        per, balance = totals[(account, currency)], 0
        for d in sorted(per):
            paid, consumed, refunded = per[d]
            if not (paid or consumed or refunded):
                continue
            closing = balance + paid - consumed - refunded
            rows.append(DayRow(account, currency, d, balance, paid, consumed, refunded, closing))
            balance = closing
    return rows


def lines_json(lines: tuple[tuple[str, str, int], ...]) -> str:
    return json.dumps([{"instance": i, "order": o, "refund_cents": c} for i, o, c in lines])
