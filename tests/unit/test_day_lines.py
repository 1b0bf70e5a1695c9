"""The account ledger's CSV lines in bulk (`tables.day_lines`, Arrow's kernels) are the bytes of the line-by-line
formatter (`tables._day_lines`, which the export's reference path and `csv.writer` agree with): any accounts
(commas, quotes, formula-like text, line breaks, non-ASCII), currencies, days and cents, to the character."""

from __future__ import annotations

import io
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.formats.tables import _day_lines, day_lines

names = st.text(min_size=0, max_size=12) | st.sampled_from(["acct-1", "=SUM(A1)", 'a,"b"', "x\ny", "+1", "é"])
cents = st.integers(min_value=-(10**20), max_value=10**20) | st.integers(min_value=-300, max_value=300)
day = st.tuples(names, st.sampled_from(["CNY", "USD", "EUR", "-1"]),
                st.integers(min_value=date(1, 1, 1).toordinal(), max_value=date(9999, 12, 31).toordinal()),
                cents, cents, cents, cents, cents)


def reference(days: list[tuple]) -> str:
    buffer = io.StringIO(newline="")
    assert _day_lines(days, buffer) == len(days)
    return buffer.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.lists(day, max_size=40))
def test_bulk_day_lines_are_the_reference_lines(days: list[tuple]) -> None:
    assert day_lines(days) == reference(days)


def test_a_known_line() -> None:
    line = ("a,b", "CNY", date(2026, 3, 1).toordinal(), -5, 0, 12345, 100, -12250)
    assert day_lines([line]) == '"a,b",CNY,2026-03-01,-0.05,0.00,123.45,1.00,-122.50\r\n'


def test_dense_groups_past_64_bit_cents_and_days_without_movement_give_the_reference_lines() -> None:
    from adapters.formats import tables
    from projections.columns import DenseColumns

    def dense_lines(groups):
        return tables.dense_lines(DenseColumns.of(groups))
    from projections.segments import closed_days

    groups = [("a", "CNY", 738000, 10**19, [1, 0, 2], [0, 0, 1], [0, 0, 0]),
              ("b", "USD", 738001, -7, [0, 0], [0, 0], [0, 0])]
    days = [t for g in groups for t in closed_days(*g)]
    assert len(days) == 2 and dense_lines(groups) == (reference(days), 2)
    small = [("a", "CNY", 738000, 5, [1, 0, 2], [0, 0, 1], [0, 3, 0])]
    assert dense_lines(small) == (reference(closed_days(*small[0])), 3)
    assert dense_lines([groups[1]]) == ("", 0)
