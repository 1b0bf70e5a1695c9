"""The account ledger in bulk: each order as a few closed-form segments, days made only for the period asked.

`projections.finance.order_flows` (the reference, kept for tests and explanations) makes one dictionary entry
per day of an order's validity. Here an order is an `OrderSegments`: its point flows (paid, refunded, released,
by day), and its cumulative consumption as a handful of linear pieces, each a closed integer formula of the
day's index ``k`` counted from the order's first business day:

    cum(k) = (A + B * k) // C                   (every numerator >= 0: half-up as a floor), or
    cum(k) = half_up(A + B * k, C)              (otherwise),

the whole cents consumed by the end of day ``k`` (the exact interpolation rounded half-up, as
`finance._cumulative_cents` computes it), so day ``k``'s consumption is ``cum(k) - cum(k - 1)`` and the
consumption before any day is one evaluation: no running loop, no per-day object. The account ledger of a
period (`account_days`), its opening balance included, and the journal's recognition per day and currency
(`recognition`) are computed from the segments for the days asked only.

`tests/unit/test_segments.py` holds this path equal to the reference on random generated ledgers (both
policies, retractions, refunds, releases, downgrade credits, several currencies and reporting zones).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from fractions import Fraction
from functools import cache

from domain.timeutil import micros
from projections.finance import (
    DAY_US,
    DayRow,
    Jumps,
    OrderRow,
    RefundRow,
    _day_end,
    _half_up,
    cents,
    consumption,
    flow_inputs,
    reporting_zone,
)

Piece = tuple[int, int, int, int, int, bool]  # [k0, k1), A, B, C, whether floor((A + B k) / C) is the half-up


@dataclass(frozen=True)
class OrderSegments:
    """One order's figures in its account's ledger, without a row per day."""

    order: OrderRow
    first: int  # the ordinal of its first business day of consumption
    count: int  # days of consumption (0: consumed at once, in ``points``)
    pieces: tuple[Piece, ...]
    tail: int  # cum(k) for k past the last piece
    points: dict[int, list[int]]  # day ordinal -> [paid, consumed at once, refunded, released]
    released_by: str | None = None

    def cum(self, k: int) -> int:
        """The whole cents consumed straight-line by the end of day ``k`` (0 before the first day): one
        evaluation of the piece that holds ``k`` (the pieces tile ``[0, end)``; past them, the tail)."""
        if k < 0 or not self.count:
            return 0
        k = min(k, self.count - 1)
        if not self.pieces or k >= self.pieces[-1][1]:
            return self.tail
        _, _, a, b, c, floor = self.pieces[bisect_right(self.pieces, (k, 1 << 62)) - 1]
        return (a + b * k) // c if floor else _half_up(a + b * k, c)

    def consumed(self, lo: int, hi: int) -> tuple[int, list[int]]:
        """Each day's straight-line consumption for day ordinals ``[lo, hi)`` clipped to the order's days: (the
        first such ordinal, the values); the values of a piece made in one comprehension."""
        k0, k1 = max(lo - self.first, 0), min(hi - self.first, self.count)
        if k0 >= k1:
            return lo, []
        totals: list[int] = []
        for p0, p1, a, b, c, floor in self.pieces:
            s, e = max(p0, k0), min(p1, k1)
            if s >= e:
                continue
            if floor:
                totals += [(a + b * k) // c for k in range(s, e)]
            else:
                totals += [_half_up(a + b * k, c) for k in range(s, e)]
        if len(totals) < k1 - k0:  # past the last piece: its value
            totals += [self.tail] * (k1 - k0 - len(totals))
        before = self.cum(k0 - 1)
        return self.first + k0, [now - prev for now, prev in zip(totals, [before, *totals[:-1]], strict=True)]

    def consumed_before(self, day: int) -> int:
        """Everything consumed on the days before ordinal ``day`` (straight-line and at once)."""
        at_once = sum(v[1] for d, v in self.points.items() if d < day)
        return self.cum(day - self.first - 1) + at_once


def _pieces(points: list[tuple[datetime, Fraction | int]], first: date, count: int,
            zone: timezone) -> tuple[tuple[Piece, ...], int]:
    """`finance._cumulative_cents`'s interpolation as closed pieces of the day index (same arithmetic; a
    value is a `Fraction` or an `int`, read through ``numerator`` and ``denominator`` alike)."""
    origin = points[0][0]
    pts = [(micros(t - origin), v) for t, v in points]
    t = micros(_day_end(first, zone) - origin)  # day k ends at t + k * DAY_US
    k = min(count, max(0, -t // DAY_US + 1)) if t <= 0 else 0  # days ending before the term: 0
    pieces: list[Piece] = [(0, k, 0, 0, 1, True)] if k else []
    for (t0, v0), (t1, v1) in zip(pts, pts[1:], strict=False):
        if k == count:
            break
        upto = min(count, max(k, (t1 - t) // DAY_US + 1)) if t1 >= t else k
        if upto == k:
            continue
        dv, span = v1 - v0, t1 - t0
        c = v0.denominator * dv.denominator * span
        a, b = v0.numerator * dv.denominator * span, dv.numerator * v0.denominator
        if a >= 0 and b >= 0:
            pieces.append((k, upto, 2 * (a - b * t0) + c + 2 * b * t, 2 * b * DAY_US, 2 * c, True))
        else:
            pieces.append((k, upto, a + b * (t - t0), b * DAY_US, c, False))
        k = upto
    v = pts[-1][1]
    return tuple(pieces), _half_up(v.numerator, v.denominator)


def order_segments(order: OrderRow, refunds: list[tuple[datetime, int, bool]], tz: str | None = None,
                   released_by: str | None = None) -> OrderSegments:
    """`finance.order_flows` as segments: the same figures, per day on demand."""
    zone = reporting_zone(order.product, tz)

    def day(t: datetime) -> int:
        return t.astimezone(zone).date().toordinal()

    flows: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    flows[day(order.placed_at)][0] += order.paid_cents
    for t, r, _ in refunds:
        flows[day(t)][2] += r
    # `consumption` without a refund, in integers: nothing before the start, everything by the end
    points: list[tuple[datetime, Fraction | int]] = [(order.start, 0), (order.end, order.paid_cents)]
    jumps: Jumps = []
    done: Fraction | int = order.paid_cents
    if refunds:
        exact, jumps, done = consumption(order, refunds)
        points = list(exact)
    if order.end <= order.start:
        flows[day(order.start)][1] += int(done)
        return OrderSegments(order, day(order.start), 0, (), 0, dict(flows), released_by)
    first = order.start.astimezone(zone).date()
    count = day(max(order.end, points[-1][0])) - first.toordinal() + 1
    pieces, tail = _pieces(points, first, count, zone)
    for t, was, became in jumps:
        flows[day(t)][3] += cents(became / 100) - cents(was / 100)
    return OrderSegments(order, first.toordinal(), count, pieces, tail, dict(flows), released_by)


def account_segments(orders: list[OrderRow], refunds: list[RefundRow], tz: str | None = None) -> list[OrderSegments]:
    """Every order of one account as segments, with the refunds, releases and credits `account_flows` gives it."""
    return [order_segments(o, events, tz, released) for o, events, released in flow_inputs(orders, refunds).orders]


def account_days(orders: list[OrderRow], refunds: list[RefundRow], tz: str | None = None,
                 first: date | None = None, last: date | None = None) -> list[DayRow]:
    """`finance.account_days` of the days in ``[first, last)`` (default: all), each with the day's opening
    balance as of every earlier day: the same rows, made for the period only."""
    return [DayRow(a, c, date.fromordinal(d), *v) for a, c, d, *v in day_tuples(orders, refunds, tz, first, last)]


DayTuple = tuple[str, str, int, int, int, int, int, int]  # account, currency, day ordinal, opening, paid, ...


def day_tuples(orders: list[OrderRow], refunds: list[RefundRow], tz: str | None = None,
               first: date | None = None, last: date | None = None) -> list[DayTuple]:
    """`account_days` as plain tuples (the day as its ordinal): what a bulk writer takes."""
    by_currency: dict[tuple[str, str], list[OrderSegments]] = defaultdict(list)
    for s in account_segments(orders, refunds, tz):
        by_currency[(s.order.account, s.order.currency)].append(s)
    rows: list[DayTuple] = []
    for (account, currency), segs in sorted(by_currency.items()):
        rows += _days(account, currency, segs, first, last)
    return rows


Dense = tuple[str, str, int, int, list[int], list[int], list[int]]  # account, currency, lo, opening, per day...


def dense_days(orders: list[OrderRow], refunds: list[RefundRow], tz: str | None = None,
               first: date | None = None, last: date | None = None) -> list[Dense]:
    """`day_tuples` before its last step: per (account, currency), the first day ordinal ``lo``, the balance
    before it, and the paid, consumed and refunded cents of every day from ``lo`` (days without a movement
    included): what a columnar writer takes (`adapters.formats.tables.dense_lines`)."""
    by_currency: dict[tuple[str, str], list[OrderSegments]] = defaultdict(list)
    for s in account_segments(orders, refunds, tz):
        by_currency[(s.order.account, s.order.currency)].append(s)
    out = []
    for (account, currency), segs in sorted(by_currency.items()):
        dense = _dense(segs, first, last)
        if dense is not None:
            out.append((account, currency, *dense))
    return out


def _days(account: str, currency: str, segs: list[OrderSegments], first: date | None,
          last: date | None) -> list[DayTuple]:
    dense = _dense(segs, first, last)
    return [] if dense is None else closed_days(account, currency, *dense)


def closed_days(account: str, currency: str, lo: int, balance: int, paid: list[int], consumed: list[int],
                refunded: list[int]) -> list[DayTuple]:
    """The day tuples of one `Dense` group: the days with a movement, each with its opening and closing."""
    out = []
    for i, (p, c, r) in enumerate(zip(paid, consumed, refunded, strict=True)):
        if p or c or r:
            closing = balance + p - c - r
            out.append((account, currency, lo + i, balance, p, c, r, closing))
            balance = closing
    return out


def frame(segs: list[OrderSegments], first: date | None, last: date | None) -> tuple[int, int] | None:
    """The day ordinals ``[lo, hi)`` of a group's orders with a movement or a day of consumption, within
    ``[first, last)`` when given; None when empty."""
    starts = [s.first for s in segs if s.count] + [d for s in segs for d in s.points]
    ends = [s.first + s.count for s in segs if s.count] + [d + 1 for s in segs for d in s.points]
    lo = max(min(starts), first.toordinal() if first else min(starts))
    hi = min(max(ends), last.toordinal() if last else max(ends))
    return None if lo >= hi else (lo, hi)


def _dense(segs: list[OrderSegments], first: date | None,
           last: date | None) -> tuple[int, int, list[int], list[int], list[int]] | None:
    found = frame(segs, first, last)
    if found is None:
        return None
    lo, hi = found
    n = hi - lo
    paid, refunded = [0] * n, [0] * n
    consumed: list[int] | None = None
    balance = 0
    for s in segs:
        start, values = s.consumed(lo, hi)
        if consumed is None and start == lo and len(values) == n:
            consumed = values  # the account's only (or first) order spans the period: its figures as they are
        else:
            if consumed is None:
                consumed = [0] * n
            i = start - lo
            for v in values:
                consumed[i] += v
                i += 1
        balance -= s.cum(lo - s.first - 1)
        for d, (p, once, r, _) in s.points.items():
            if d < lo:
                balance += p - once - r
            elif d < hi:
                paid[d - lo] += p
                consumed[d - lo] += once
                refunded[d - lo] += r
    if consumed is None:
        consumed = [0] * n
    return lo, balance, paid, consumed, refunded


def by_account(orders: Iterable[OrderRow],
               refunds: Iterable[RefundRow]) -> Iterator[tuple[list[OrderRow], list[RefundRow]]]:
    """Each account's order and refund rows (in the order given), accounts by name."""
    found: dict[str, tuple[list[OrderRow], list[RefundRow]]] = {}
    for o in orders:
        found.setdefault(o.account, ([], []))[0].append(o)
    for r in refunds:
        found.setdefault(r.account, ([], []))[1].append(r)
    for account in sorted(found):
        yield found.pop(account)


MonthTuple = tuple[str, str, int, int, int, int, int, int]  # account, currency, the month's first day, opening, ...


def month_tuples(orders: list[OrderRow], refunds: list[RefundRow], tz: str | None = None) -> list[MonthTuple]:
    """One account's ledger summed per month of the reporting calendar (the read model `rm_account_months`):
    per (account, currency) and month with a movement, the opening balance, paid, consumed, refunded and the
    closing balance, each the sum of `account_days`' rows of that month (a month whose movements sum to 0 has
    no row). The month's consumption is two evaluations of each order's closed formula (its cumulative cents
    at the month's end minus at the previous month's end): no day is made."""
    by_currency: dict[tuple[str, str], list[OrderSegments]] = defaultdict(list)
    for s in account_segments(orders, refunds, tz):
        by_currency[(s.order.account, s.order.currency)].append(s)
    rows: list[MonthTuple] = []
    for (account, currency), segs in sorted(by_currency.items()):
        rows += _months(account, currency, segs)
    return rows


def _month_of(day: int) -> int:
    """The month that holds the day ordinal ``day``, as its index ``year * 12 + month - 1``."""
    d = date.fromordinal(day)
    return d.year * 12 + d.month - 1


@cache  # bounded: at most 12 entries per year
def _month_start(index: int) -> int:
    """The ordinal of the first day of month ``index`` (`_month_of`); the day after `date.max` past it."""
    if index // 12 > date.max.year:
        return date.max.toordinal() + 1
    return date(index // 12, index % 12 + 1, 1).toordinal()


def _months(account: str, currency: str, segs: list[OrderSegments]) -> list[MonthTuple]:
    flows: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # month -> paid, consumed, refunded
    for s in segs:
        for d, (p, once, r, _) in s.points.items():
            f = flows[_month_of(d)]
            f[0] += p
            f[1] += once
            f[2] += r
        if not s.count:
            continue
        end, first, before = s.first + s.count, s.first, 0
        i = _month_of(first)
        while _month_start(i) < end:
            upto = s.cum(min(_month_start(i + 1), end) - first - 1)
            flows[i][1] += upto - before
            i, before = i + 1, upto
    out: list[MonthTuple] = []
    balance = 0
    for i in sorted(flows):
        p, c, r = flows[i]
        if p or c or r:
            closing = balance + p - c - r
            out.append((account, currency, _month_start(i), balance, p, c, r, closing))
            balance = closing
    return out
