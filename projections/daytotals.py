"""The journal's straight-line recognition summed per day and currency over many orders (`DayTotals`), from
each order's segments (`projections.segments.OrderSegments`): a floor piece's days as one queued run
(`projections.columns`), computed in Arrow once enough are queued, instead of one Python integer per order and
day. `tests/unit/test_daytotals.py` holds it equal to the per-day figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from projections.columns import LIMIT, Run, consumption, run_values, steps, summed
from projections.segments import OrderSegments

BATCH = 1 << 18  # queued elements computed at once (2 MB per column)
SMALL = 4096  # fewer queued elements than this are computed in Python: Arrow's set-up would cost more
DAY_BITS = 23  # a day ordinal (below 2**22 up to year 9999) in the low bits of the grouping key


class DayTotals:
    """Cents per (day ordinal, currency), in one list per currency from its first day: what the journal's
    recognition sums over every order of the ledger (adding a day's figure is one list element)."""

    def __init__(self) -> None:
        self.by: dict[str, tuple[int, list[int]]] = {}
        self._runs: list[tuple[str, int, int, int, int, int, int]] = []  # currency, day, n, rA, qB, rB, C
        self._queued = 0  # elements in ``_runs``
        self._bound = 0  # the largest sum any day of ``_runs`` can reach

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

    def queue(self, currency: str, start: int, n: int, run: tuple[int, int, int, int], most: int) -> None:
        """A floor piece's run (`columns.add_steps`), computed with the others once enough are queued."""
        if self._bound + most >= LIMIT or self._queued + n > BATCH:
            self._flush()
        self._runs.append((currency, start, n, *run))
        self._queued += n
        self._bound += most

    def _flush(self) -> None:
        runs, self._runs, self._queued, self._bound = self._runs, [], 0, 0
        if sum(r[2] for r in runs) < SMALL:
            for currency, start, n, ra, qb, rb, c in runs:
                self.add(currency, start, steps(ra, qb * c + rb, c, n))
        elif runs:
            names = sorted({r[0] for r in runs})
            index = {name: i for i, name in enumerate(names)}
            keyed: list[Run] = [((index[r[0]] << DAY_BITS) + r[1], *r[2:]) for r in runs]
            k, v = run_values(keyed)
            total = summed([k], [v])
            mask = (1 << DAY_BITS) - 1
            for key, cents in zip(total["k"].to_pylist(), total["v_sum"].to_pylist(), strict=True):
                self.add(names[key >> DAY_BITS], key & mask, [cents])

    def merge(self, other: DayTotals) -> None:
        """Add every figure of ``other`` (another partition's totals)."""
        other._flush()
        for currency, (base, days) in other.by.items():
            self.add(currency, base, days)

    def items(self) -> Iterator[tuple[tuple[int, str], int]]:
        """((day ordinal, currency), cents) of every day whose figure is not 0, in (day, currency) order."""
        self._flush()
        found = [((base + i, currency), c) for currency, (base, days) in self.by.items() for i, c in enumerate(days)
                 if c]
        return iter(sorted(found))

    def __getstate__(self) -> dict[str, object]:  # sent between Dask processes: the figures, nothing queued
        self._flush()
        return self.__dict__


def recognition(segments: Iterable[OrderSegments], into: DayTotals) -> dict[str, dict[int, int]]:
    """Add the journal's straight-line recognition of ``segments`` per day and currency (consumed minus
    released) ``into`` the totals; returns the releases per refund and day (K-L3)."""
    releases: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for s in segments:
        currency = s.order.currency
        if s.count:
            consumption(s, into, currency)
        for d, (_, once, _, rel) in s.points.items():
            if once - rel:
                into.add(currency, d, [once - rel])
            if rel:
                assert s.released_by is not None, "only a released instance has a release"
                releases[s.released_by][d] += rel
    return releases
