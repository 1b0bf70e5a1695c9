"""The journal's straight-line recognition summed per day and currency over many orders (`DayTotals`), from
each order's segments (`projections.segments.OrderSegments`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from projections.segments import OrderSegments


class DayTotals:
    """Cents per (day ordinal, currency), in one list per currency from its first day: what the journal's
    recognition sums over every order of the ledger (adding a day's figure is one list element)."""

    def __init__(self) -> None:
        self.by: dict[str, tuple[int, list[int]]] = {}

    def add(self, currency: str, start: int, values: list[int]) -> None:
        if not values:
            return
        base, days = self.by.get(currency, (start, []))
        if start < base:
            days[:0] = [0] * (base - start)
            base = start
        if start + len(values) > base + len(days):
            days += [0] * (start + len(values) - base - len(days))
        self.by[currency] = (base, days)
        i = start - base
        for v in values:
            days[i] += v
            i += 1

    def merge(self, other: DayTotals) -> None:
        """Add every figure of ``other`` (another partition's totals)."""
        for currency, (base, days) in other.by.items():
            self.add(currency, base, days)

    def items(self) -> Iterator[tuple[tuple[int, str], int]]:
        """((day ordinal, currency), cents) of every day whose figure is not 0, in (day, currency) order."""
        found = [((base + i, currency), c) for currency, (base, days) in self.by.items() for i, c in enumerate(days)
                 if c]
        return iter(sorted(found))


def recognition(segments: Iterable[OrderSegments], into: DayTotals) -> dict[str, dict[int, int]]:
    """Add the journal's straight-line recognition of ``segments`` per day and currency (consumed minus
    released) ``into`` the totals; returns the releases per refund and day (K-L3)."""
    releases: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for s in segments:
        currency = s.order.currency
        into.add(currency, *s.consumed(s.first, s.first + s.count))
        for d, (_, once, _, rel) in s.points.items():
            if once - rel:
                into.add(currency, d, [once - rel])
            if rel:
                assert s.released_by is not None, "only a released instance has a release"
                releases[s.released_by][d] += rel
    return releases
