"""Exact duration ratios (hypothesis): K-T1 business time, P-O1 outage proration and the finance
recognition (straight-line over the validity) divide durations as integer microseconds, never as floats."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.policies.korpro.amount import outage_share
from domain.timeutil import micros, ratio
from projections.finance import OrderRow, order_schedule

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
CENTURY = timedelta(days=36525)
spans = st.timedeltas(min_value=-CENTURY, max_value=CENTURY)
lengths = st.timedeltas(min_value=US, max_value=CENTURY)
instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2110, 1, 1), timezones=st.just(UTC))
fees = st.integers(min_value=0, max_value=10**12).map(lambda c: Decimal(c) / 100)  # Decimal cents up to 10^12


def at(t: datetime) -> int:
    """An instant as integer microseconds since the epoch (floor division of timedeltas is integer)."""
    return (t - EPOCH) // US


@settings(max_examples=300, deadline=None)
@given(a=spans, b=spans)
def test_ratio_is_the_exact_quotient_of_integer_microseconds(a, b):
    assert micros(a) == a // US
    if not b:
        with pytest.raises(ZeroDivisionError):
            ratio(a, b)
        return
    r = ratio(a, b)
    assert r == Fraction(micros(a), micros(b))
    assert r * micros(b) == micros(a)


def test_float_ratios_lose_the_odd_microsecond():
    """The old ``Fraction(a / b)`` and ``Fraction(td / timedelta(microseconds=1))`` are floats in disguise."""
    a, b = timedelta(days=36524, microseconds=1), timedelta(days=36525, microseconds=3)
    assert Fraction(a / b) != Fraction(micros(a), micros(b)) == ratio(a, b)
    assert Fraction(timedelta(hours=1) / timedelta(hours=3)) != ratio(timedelta(hours=1), timedelta(hours=3))
    huge = timedelta(days=999_999_999, microseconds=1)  # beyond 2**53 microseconds
    assert Fraction(huge / US) != micros(huge) == 86_399_999_913_600_000_001


def test_a_float_ratio_would_have_moved_a_cent_between_days():
    """Finance recognition: 0.03 over 6 days has consumed exactly 0.005 at the end of day 1, which rounds
    half-up to 0.01; the float 1/6 is just below 1/6, so the old ratio recognised that cent a day late."""
    t = datetime(2026, 1, 1, tzinfo=UTC)
    order = OrderRow("i", "o", "a", "KEC", "purchase", t, t, t + timedelta(days=6), "USD", 3, 0, "active")
    assert 3 * Fraction(timedelta(days=1) / timedelta(days=6)) < Fraction(1, 2)  # the old float: 0 cents
    consumed = [c for _, (_, c, _) in sorted(order_schedule(order, [], "+00:00").items())]  # UTC days
    assert consumed == [1, 0, 1, 0, 1, 0, 0]


@settings(max_examples=300, deadline=None)
@given(fee=fees, start=instants, length=lengths, o_start=instants, o_length=lengths)
def test_outage_share_is_the_integer_proration_P_O1(fee, start, length, o_start, o_length):
    period, outage = (start, start + length), (o_start, o_start + o_length)
    overlap = max(0, min(at(period[1]), at(outage[1])) - max(at(period[0]), at(outage[0])))
    share = outage_share(fee, period, outage)
    assert share == Fraction(int(fee * 100) * overlap, 100 * at(period[1]) - 100 * at(period[0]))
    assert 0 <= share <= fee


@settings(max_examples=60, deadline=None)
@given(start=instants, length=st.timedeltas(min_value=US, max_value=timedelta(days=5 * 365)),
       paid=st.integers(min_value=0, max_value=10**12), data=st.data())
def test_order_schedule_recognises_every_cent_once(start, length, paid, data):
    """Finance recognition: consumed straight-line from the start, a refund comes off what is still deferred
    (a release recognises the rest at once), so the days' consumed add up to paid - refunded, none negative."""
    end = start + length
    order = OrderRow("i", "o", "a", "KEC", "purchase", start, start, end, "USD", paid, 0, "active")
    refunds = []
    if data.draw(st.booleans(), label="refund"):
        t = data.draw(st.datetimes(min_value=(start - length).replace(tzinfo=None),
                                   max_value=min(end + length, datetime(2200, 1, 1, tzinfo=UTC)).replace(tzinfo=None),
                                   timezones=st.just(UTC)), label="at")
        clamped = min(max(t, start), end)
        deferred = paid * (at(end) - at(clamped)) // (at(end) - at(start))  # integers only
        refunds = [(t, data.draw(st.integers(0, deferred), label="cents"), data.draw(st.booleans(), label="rel"))]
    days = order_schedule(order, refunds)
    refunded = sum(r for _, r, _ in refunds)
    assert sum(p for p, _, _ in days.values()) == paid
    assert sum(r for _, _, r in days.values()) == refunded
    assert sum(c for _, c, _ in days.values()) == paid - refunded
    assert all(c >= 0 for _, c, _ in days.values())
