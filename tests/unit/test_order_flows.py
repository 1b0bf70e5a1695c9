"""`order_flows` (integer arithmetic per day) gives exactly the figures of the straight-forward reference it
replaced (below, verbatim: the cumulative consumption interpolated with Fractions at each day's end), and
its ``released`` part (K-L3) is the jump a releasing refund makes in the rounded cumulative figure. Days are
business days of the reporting calendar (the policy's ``calendar_tz``, or a ``reporting_tz`` setting)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.timeutil import ratio
from projections.finance import OrderRow, _day_end, cents, order_flows, order_schedule, reporting_zone


def reference_schedule(order: OrderRow, refunds: list[tuple[datetime, int, bool]],
                       tz: str | None = None) -> dict[date, tuple[int, int, int]]:
    """Per business day: (paid, consumed, refunded) cents of one order. ``refunds``: (time, cents, releases)."""
    zone = reporting_zone(order.product, tz)

    def _utc_day(t: datetime) -> date:  # the business day (the name kept from when days were UTC days)
        return t.astimezone(zone).date()

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
        return {d: (paid, used, back) for d, (paid, used, back) in flows.items()}

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
        now = cents(cumulative(_day_end(d, zone)) / 100)
        flows[d][1] += now - before
        before, d = now, d + timedelta(days=1)
    return {d: (paid, used, back) for d, (paid, used, back) in flows.items()}


T0 = datetime(2026, 1, 1, tzinfo=UTC)
offsets = st.integers(min_value=0, max_value=400 * 86_400_000_000)  # microseconds


@st.composite
def scenario(draw):
    start = T0 + timedelta(microseconds=draw(offsets))
    length = timedelta(microseconds=draw(st.integers(min_value=1, max_value=800 * 86_400_000_000)))
    paid = draw(st.integers(min_value=0, max_value=10**9))
    placed = start - timedelta(microseconds=draw(st.integers(min_value=0, max_value=86_400_000_000 * 40)))
    product = draw(st.sampled_from(["KEC", "KorPro"]))  # +08:00 and +00:00 business days
    order = OrderRow("i", "o", "a", product, "purchase", placed, start, start + length, "CNY", paid, 0, "active")
    refunds = draw(st.lists(st.tuples(
        st.integers(min_value=-50, max_value=900).map(lambda h: start + timedelta(hours=h * 13, seconds=h)),
        st.integers(min_value=0, max_value=paid), st.booleans()), max_size=3))
    return order, refunds, draw(st.sampled_from([None, "+00:00", "+08:00", "-05:30"]))


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_order_flows_equal_the_reference_interpolation(case):
    order, refunds, tz = case
    assert order_schedule(order, refunds, tz) == reference_schedule(order, refunds, tz)


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_released_is_part_of_the_consumption_and_days_add_up(case):
    order, refunds, tz = case
    flows = order_flows(order, refunds, tz)
    assert sum(v[0] for v in flows.values()) == order.paid_cents
    if not any(rel for _, _, rel in refunds):
        assert all(v[3] == 0 for v in flows.values())
    # every cent paid is consumed or refunded, once
    assert sum(v[1] + v[2] for v in flows.values()) == order.paid_cents


def test_a_release_recognises_what_is_still_deferred_on_the_refund_day():
    """K-L3: 300.00 over 30 days, refunded 100.00 on day 10 with release: 100.00 consumed by then, 100.00
    released at once on that day (UTC days: the ``reporting_tz`` setting +00:00)."""
    order = OrderRow("i", "o", "a", "KEC", "purchase", T0, T0, T0 + timedelta(days=30), "CNY", 30000, 0, "active")
    flows = order_flows(order, [(T0 + timedelta(days=10), 10000, True)], "+00:00")
    day = date(2026, 1, 11)
    assert flows[day][2] == 10000 and flows[day][3] == 10000
    assert sum(v[1] for d, v in flows.items() if d < day) == 10000
    assert flows[day][1] == 10000  # nothing more to consume straight-line: all released
