"""The journal's recognition summed in columns (`projections.daytotals`: a floor piece's days as one queued
run computed in Arrow) equals each order's days added one by one (`OrderSegments.consumed`, the path
`test_segments` holds equal to `finance.order_flows`), to the cent, per day and currency (issue 27): random
pieces tiling an order's days, floor and half-up pieces, a tail past the last piece, orders with no piece,
numerators and divisors far past 64 bits (those runs are computed in Python), several currencies, runs split
across batches, totals merged and sent between processes."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import daytotals
from projections.columns import Scatter, add_steps, consumption
from projections.daytotals import DayTotals
from projections.segments import OrderSegments
from tests.unit.test_segments import ledger_of

HUGE = 1 << 80


@st.composite
def orders(draw):
    count = draw(st.integers(1, 400))
    cuts = sorted(set(draw(st.lists(st.integers(1, count), max_size=5))))
    if draw(st.booleans()) and cuts:  # the pieces stop before the last day: the tail holds
        cuts = cuts[:-1] or cuts
    pieces, k0 = [], 0
    for k1 in cuts:
        c = draw(st.one_of(st.integers(1, 10**6), st.integers(1, HUGE)))
        b = draw(st.one_of(st.integers(0, 10**7), st.integers(0, HUGE)))
        a = draw(st.integers(-(10**6), HUGE))
        pieces.append((k0, k1, a, b, c, draw(st.booleans())))
        k0 = k1
    order = SimpleNamespace(currency=draw(st.sampled_from(["CNY", "EUR", "USD"])))
    return OrderSegments(order, draw(st.integers(738000, 740000)), count, tuple(pieces),  # type: ignore[arg-type]
                         draw(st.integers(0, 10**9)), {})


def reference(segs: list[OrderSegments]) -> list:
    totals = DayTotals()
    for s in segs:
        totals.add(s.order.currency, *s.consumed(s.first, s.first + s.count))
    return list(totals.items())


@pytest.mark.parametrize("small, batch", [(0, 1 << 20), (0, 64), (daytotals.SMALL, daytotals.BATCH)])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segs=st.lists(orders(), min_size=1, max_size=12))
def test_the_columnar_recognition_equals_each_days_figure_added_one_by_one(segs, small, batch, monkeypatch):
    monkeypatch.setattr(daytotals, "SMALL", small)
    monkeypatch.setattr(daytotals, "BATCH", batch)
    expected = reference(segs)
    half = len(segs) // 2
    one, two = DayTotals(), DayTotals()
    for s in segs[:half]:
        consumption(s, one, s.order.currency)
    for s in segs[half:]:
        consumption(s, two, s.order.currency)
    two = pickle.loads(pickle.dumps(two))  # a partition's totals as a Dask worker sends them
    one.merge(two)
    assert list(one.items()) == expected


def test_a_run_is_computed_in_columns_when_its_bounds_fit_and_in_python_when_not(monkeypatch):
    """The two paths are both taken: a day-rate piece is queued, a piece with a 2**80 divisor is not."""
    monkeypatch.setattr(daytotals, "SMALL", 0)
    seen = []
    real = daytotals.run_values
    monkeypatch.setattr(daytotals, "run_values", lambda runs: seen.append(len(runs)) or real(runs))
    t = DayTotals()
    add_steps(t, "EUR", 739000, 30, 7, 3_000, 86_400)
    add_steps(t, "EUR", 739000, 30, 7, 3_000, HUGE)
    assert t._queued == 30 and t.by["EUR"][1] == [0] * 30  # the huge run was added at once, all zeros
    assert list(t.items()) == [((739000 + j, "EUR"), (7 + 3_000 * (j + 1)) // 86_400 - (7 + 3_000 * j) // 86_400)
                               for j in range(30) if (7 + 3_000 * (j + 1)) // 86_400 - (7 + 3_000 * j) // 86_400]
    assert seen == [1]


@settings(max_examples=60, deadline=None)
@given(segs=st.lists(orders(), min_size=1, max_size=12), frames=st.lists(st.tuples(st.integers(-50, 450),
       st.integers(1, 500)), min_size=1, max_size=3))
def test_the_scattered_days_of_groups_equal_each_orders_days_in_the_period(segs, frames):
    """`Scatter` (the account ledger's days in columns): several groups, each a period of days; every order's
    `consumed` days of its group's period land at their positions, in Arrow and in Python alike."""
    scatter, expected = Scatter(), []
    for g, (shift, n) in enumerate(frames):
        lo = segs[0].first + shift
        key = scatter.group(lo, n)
        days = [0] * n
        for s in segs[g::len(frames)]:
            start, values = s.consumed(lo, lo + n)
            for i, v in enumerate(values):
                days[start - lo + i] += v
            consumption(s, scatter, key, lo, lo + n)
        expected += days
    assert scatter.python_values() == expected
    if scatter.bound < daytotals.LIMIT:
        assert scatter.column().to_pylist() == expected
    else:
        with pytest.raises(OverflowError):
            scatter.column()


@pytest.mark.parametrize("seed", [0, 1])
def test_the_ledgers_recognition_in_columns_equals_the_per_order_days_K_L3(seed, monkeypatch):
    """On a generated ledger (both policies, refunds, releases, three currencies), every order's segments."""
    from adapters.store.scan import stream_instances
    from projections import journal as book
    from projections import partitions
    from projections.segments import account_segments
    from tests.feedkit import FAR

    part = partitions.journal_rows(stream_instances(ledger_of(30, seed)), FAR)
    segs = [s for a in book.group([part.now]).values() for s in account_segments(a.orders, a.refunds)]
    assert sum(len(s.pieces) for s in segs) > 30
    monkeypatch.setattr(daytotals, "SMALL", 0)
    totals = DayTotals()
    for s in segs:
        if s.count:
            consumption(s, totals, s.order.currency)
    assert list(totals.items()) == reference([s for s in segs if s.count])
