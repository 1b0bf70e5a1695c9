"""The journal's straight-line recognition summed per day and currency over many orders (`DayTotals`), from
each order's segments (`projections.segments.OrderSegments`).

A floor piece of an order's consumption (`segments.Piece`: ``cum(k) = (A + B k) // C`` on ``[k0, k1)``) gives
its days after the first the values ``(A' + B (j + 1)) // C - (A' + B j) // C`` (``A' = A + B k0``,
``j = 0 .. n - 1``). With ``A' = qA C + rA`` and ``B = qB C + rB`` that is ``qB + (x + rB) // C - x // C`` for
``x = rA + rB j``: integers below ``C (n + 1)``. `DayTotals.add_steps` queues such a run and, once enough are
queued, computes every element and sums them per day and currency in Arrow (64-bit integer kernels, each
checked for overflow; a run whose bounds do not fit 62 bits is computed in Python) instead of one Python
integer per order and day. The first day of each piece, the non-floor pieces and the tail stay in Python (a
few per order). `tests/unit/test_daytotals.py` holds the columnar path equal to the per-day reference on
random pieces, huge ones included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from projections.segments import OrderSegments

LIMIT = 1 << 62  # every intermediate of a queued run stays below this (int64 holds 2**63 - 1)
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

    def add_steps(self, currency: str, start: int, n: int, a: int, b: int, c: int) -> None:
        """Add ``(a + b (j + 1)) // c - (a + b j) // c`` at day ordinal ``start + j`` for ``j`` in ``[0, n)``
        (``b >= 0``, ``c > 0``): the days of a floor piece after its first."""
        if n <= 0:
            return
        qb, rb = divmod(b, c)
        most = (qb + 1) * n  # each element is qB or qB + 1
        if c * (n + 1) >= LIMIT or most >= LIMIT:
            self.add(currency, start, [(a + b * (j + 1)) // c - (a + b * j) // c for j in range(n)])
            return
        if self._bound + most >= LIMIT or self._queued + n > BATCH:
            self._flush()
        self._runs.append((currency, start, n, a % c, qb, rb, c))
        self._queued += n
        self._bound += most

    def _flush(self) -> None:
        runs, self._runs, self._queued, self._bound = self._runs, [], 0, 0
        if sum(r[2] for r in runs) < SMALL:
            for currency, start, n, ra, qb, rb, c in runs:
                self.add(currency, start, [qb + (ra + rb * j + rb) // c - (ra + rb * j) // c for j in range(n)])
        elif runs:
            self._columns(runs)

    def _columns(self, runs: list[tuple[str, int, int, int, int, int, int]]) -> None:
        names = sorted({r[0] for r in runs})
        index = {name: i for i, name in enumerate(names)}
        currency, start, n, ra, qb, rb, c = zip(*runs, strict=True)
        ends = pc.cumulative_sum_checked(pa.array(n, pa.int64()))
        total = ends[-1].as_py()

        def each(values: Iterable[int]) -> pa.Array:  # one value per run -> one per element
            return pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(ends, pa.array(values, pa.int64())))

        offsets = [e - k for e, k in zip(ends.to_pylist(), n, strict=True)]  # each run's first element
        at = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), total)), 1)  # 0 .. total - 1
        j = pc.subtract_checked(at, each(offsets))
        key = pc.add_checked(each((index[k] << DAY_BITS) + d for k, d in zip(currency, start, strict=True)), j)
        big_c, step = each(c), each(rb)
        x = pc.add_checked(each(ra), pc.multiply_checked(step, j))
        v = pc.add_checked(each(qb), pc.subtract_checked(pc.divide_checked(pc.add_checked(x, step), big_c),
                                                         pc.divide_checked(x, big_c)))
        summed = pa.table({"k": key, "v": v}).group_by("k", use_threads=False).aggregate([("v", "sum")])
        mask = (1 << DAY_BITS) - 1
        for k, cents in zip(summed["k"].to_pylist(), summed["v_sum"].to_pylist(), strict=True):
            self.add(names[k >> DAY_BITS], k & mask, [cents])

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


def consumption(s: OrderSegments, into: DayTotals) -> None:
    """Add each day's straight-line consumption of ``s`` (`OrderSegments.consumed` over all its days) ``into``
    the totals: a floor piece's days after its first as one queued run."""
    currency, before, end = s.order.currency, 0, 0
    for p0, p1, a, b, c, floor in s.pieces:
        if not floor:
            into.add(currency, *s.consumed(s.first + p0, s.first + p1))
        else:
            into.add(currency, s.first + p0, [(a + b * p0) // c - before])
            into.add_steps(currency, s.first + p0 + 1, p1 - p0 - 1, a + b * p0, b, c)
        before, end = s.cum(p1 - 1), p1
    if end < s.count:  # past the last piece: its value, on the first such day
        into.add(currency, s.first + end, [s.tail - before])


def recognition(segments: Iterable[OrderSegments], into: DayTotals) -> dict[str, dict[int, int]]:
    """Add the journal's straight-line recognition of ``segments`` per day and currency (consumed minus
    released) ``into`` the totals; returns the releases per refund and day (K-L3)."""
    releases: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for s in segments:
        currency = s.order.currency
        if s.count:
            consumption(s, into)
        for d, (_, once, _, rel) in s.points.items():
            if once - rel:
                into.add(currency, d, [once - rel])
            if rel:
                assert s.released_by is not None, "only a released instance has a release"
                releases[s.released_by][d] += rel
    return releases
