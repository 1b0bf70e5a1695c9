"""Each day's straight-line consumption of many orders, summed in columns (issue 27).

A floor piece of an order's consumption (`segments.Piece`: ``cum(k) = (A + B k) // C`` on ``[k0, k1)``) gives
its days after the first the values ``(A' + B (j + 1)) // C - (A' + B j) // C`` (``A' = A + B k0``,
``j = 0 .. n - 1``). With ``A' = qA C + rA`` and ``B = qB C + rB`` that is ``qB + (x + rB) // C - x // C`` for
``x = rA + rB j``: integers below ``C (n + 1)``. `consumption` hands such a run to a sink (`add_steps`), and
the first day of each piece, the half-up pieces and the tail as plain values (``add``: a few per order). Two
sinks: `daytotals.DayTotals` (the journal's recognition per day and currency) and `Scatter` (the account
ledger's days per account and currency, `DenseColumns`); each computes its queued runs with `run_values`, in
Arrow's 64-bit kernels, every one checked for overflow; a run whose bounds do not fit 62 bits is computed in
Python. `tests/unit/test_daytotals.py` holds both equal to `OrderSegments.consumed`, day by day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from projections.finance import OrderRow, RefundRow
from projections.segments import Dense, OrderSegments, account_segments, frame

if TYPE_CHECKING:
    import pyarrow as pa

LIMIT = 1 << 62  # every intermediate of a queued run, and every sum, stays below this (int64: 2**63 - 1)
Run = tuple[int, int, int, int, int, int]  # the key of its first element, n, rA, qB, rB, C


class Sink(Protocol):
    """Where `consumption` adds an order's days: plain values from a day ordinal, and queued runs of a floor
    piece (`add_steps`: those whose bounds fit 62 bits)."""

    def add(self, key: Any, start: int, values: list[int]) -> None: ...
    def queue(self, key: Any, start: int, n: int, run: tuple[int, int, int, int], most: int) -> None:
        """Queue the run of ``n`` values from day ordinal ``start``: ``run`` = (rA, qB, rB, C); ``most``, the
        largest magnitude a sum of its values can reach."""


def steps(a: int, b: int, c: int, n: int) -> list[int]:
    """The run's values in Python: ``(a + b (j + 1)) // c - (a + b j) // c`` for ``j`` in ``[0, n)``."""
    return [(a + b * (j + 1)) // c - (a + b * j) // c for j in range(n)]


def add_steps(into: Sink, key: Any, start: int, n: int, a: int, b: int, c: int) -> None:
    """Add ``(a + b (j + 1)) // c - (a + b j) // c`` at day ordinal ``start + j`` for ``j`` in ``[0, n)`` (``c``
    > 0) ``into`` the sink: queued as (rA, qB, rB, C) when every intermediate of the run fits 62 bits, else
    computed here in Python."""
    if n <= 0:
        return
    qb, rb = divmod(b, c)
    most = (abs(qb) + 1) * n  # each value is qB or qB + 1
    if c * (n + 1) >= LIMIT or most >= LIMIT:
        into.add(key, start, steps(a, b, c, n))
    else:
        into.queue(key, start, n, (a % c, qb, rb, c), most)


def run_values(runs: Sequence[Run]) -> tuple[pa.Array, pa.Array]:
    """Every element of ``runs``: (its key: the run's first key + j, its value), as two int64 arrays."""
    import pyarrow as pa  # here, not at import: the CLI starts without Arrow (tests/unit/test_startup.py)
    import pyarrow.compute as pc

    first, n, ra, qb, rb, c = zip(*runs, strict=True)
    ends = pc.cumulative_sum_checked(pa.array(n, pa.int64()))
    total = ends[-1].as_py()

    def each(values: Sequence[int]) -> pa.Array:  # one value per run -> one per element
        return pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(ends, pa.array(values, pa.int64())))

    offsets = [e - k for e, k in zip(ends.to_pylist(), n, strict=True)]  # each run's first element
    at = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), total)), 1)  # 0 .. total - 1
    j = pc.subtract_checked(at, each(offsets))
    big_c, step = each(c), each(rb)
    x = pc.add_checked(each(ra), pc.multiply_checked(step, j))
    v = pc.add_checked(each(qb), pc.subtract_checked(pc.divide_checked(pc.add_checked(x, step), big_c),
                                                     pc.divide_checked(x, big_c)))
    return pc.add_checked(each(first), j), v


def summed(keys: list[pa.Array], values: list[pa.Array]) -> pa.Table:
    """``k``, ``v_sum``: the values summed per key (one thread: the same order every run)."""
    import pyarrow as pa

    table = pa.table({"k": pa.concat_arrays(keys), "v": pa.concat_arrays(values)})
    return table.group_by("k", use_threads=False).aggregate([("v", "sum")])


def consumption(s: OrderSegments, into: Sink, key: Any, lo: int | None = None, hi: int | None = None) -> None:
    """Add each day's straight-line consumption of ``s`` on the day ordinals ``[lo, hi)`` (default: all its
    days; `OrderSegments.consumed`'s values) ``into`` the sink under ``key``."""
    k0 = 0 if lo is None else max(lo - s.first, 0)
    k1 = s.count if hi is None else min(hi - s.first, s.count)
    if k0 >= k1:
        return
    before, end = s.cum(k0 - 1), 0
    for p0, p1, a, b, c, floor in s.pieces:
        end, f0, f1 = p1, max(p0, k0), min(p1, k1)
        if f0 >= f1:
            continue
        if floor:
            into.add(key, s.first + f0, [(a + b * f0) // c - before])
            add_steps(into, key, s.first + f0 + 1, f1 - f0 - 1, a + b * f0, b, c)
        else:
            into.add(key, *s.consumed(s.first + f0, s.first + f1))
        before = s.cum(f1 - 1)
    if k0 <= end < k1:  # past the last piece: its value, on the first such day (the days after it: 0)
        into.add(key, s.first + end, [s.tail - s.cum(end - 1)])


class Scatter:
    """Sums of values at the positions ``[0, size)``: the days of many groups (each its first day ordinal and
    its number of days, `group`), side by side; what `consumption` adds for a group lands at its day's position.
    `column` gives every position's sum as an int64 array (`OverflowError` past 62 bits), `python_values` the
    same in Python (the path taken past 62 bits). Its runs are computed at once: a partition's days."""

    def __init__(self) -> None:
        self.lo: list[int] = []
        self.offset: list[int] = []
        self.size = 0
        self.at: list[int] = []  # the plain values' positions...
        self.values_at: list[int] = []  # ... and values
        self.runs: list[Run] = []  # each run's first position, n, rA, qB, rB, C
        self.bound = 0  # the largest magnitude any position's sum can reach

    def group(self, lo: int, n: int) -> int:
        self.lo.append(lo)
        self.offset.append(self.size)
        self.size += n
        return len(self.lo) - 1

    def add(self, key: int, start: int, values: list[int]) -> None:
        at = self.offset[key] + start - self.lo[key]
        self.at += range(at, at + len(values))
        self.values_at += values
        self.bound += sum(map(abs, values))

    def queue(self, key: int, start: int, n: int, run: tuple[int, int, int, int], most: int) -> None:
        self.runs.append((self.offset[key] + start - self.lo[key], n, *run))
        self.bound += most

    def column(self) -> pa.Array:
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.bound >= LIMIT:
            raise OverflowError("a day's sum may pass 62 bits")
        every = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), self.size)), 1)
        keys = [every, pa.array(self.at, pa.int64())]  # every position once (its sum 0 when nothing lands there)
        values = [pa.repeat(pa.scalar(0, pa.int64()), self.size), pa.array(self.values_at, pa.int64())]
        if self.runs:
            k, v = run_values(self.runs)
            keys.append(k)
            values.append(v)
        return summed(keys, values).sort_by("k")["v_sum"].combine_chunks()

    def python_values(self) -> list[int]:
        out = [0] * self.size
        for at, v in zip(self.at, self.values_at, strict=True):
            out[at] += v
        for at, n, ra, qb, rb, c in self.runs:
            for j, v in enumerate(steps(ra, qb * c + rb, c, n)):
                out[at + j] += v
        return out


class DenseColumns:
    """The account ledger's days of many (account, currency) groups side by side: per group its first day and
    the balance before it, per day (days without a movement included) the paid and refunded cents in Python
    lists and the consumed cents in a `Scatter`; what `adapters.formats.tables.dense_lines` writes."""

    def __init__(self) -> None:
        self.names: list[tuple[str, str]] = []
        self.openings: list[int] = []
        self.paid: list[int] = []
        self.refunded: list[int] = []
        self.consumed = Scatter()

    def group(self, account: str, currency: str, lo: int, n: int, opening: int = 0) -> int:
        self.names.append((account, currency))
        self.openings.append(opening)
        self.paid += [0] * n
        self.refunded += [0] * n
        return self.consumed.group(lo, n)

    @classmethod
    def of(cls, groups: Iterable[Dense]) -> DenseColumns:
        """The columns of `segments.dense_days`' groups."""
        out = cls()
        for account, currency, lo, opening, paid, consumed, refunded in groups:
            g = out.group(account, currency, lo, len(paid), opening)
            at = out.consumed.offset[g]
            out.paid[at:at + len(paid)] = paid
            out.refunded[at:at + len(paid)] = refunded
            out.consumed.add(g, lo, consumed)
        return out

    def groups(self) -> list[Dense]:
        """Back to `segments.Dense` groups, every day computed in Python (the path past 62 bits)."""
        consumed, s = self.consumed.python_values(), self.consumed
        ends = [*s.offset[1:], s.size][:len(s.offset)]
        return [(a, c, s.lo[g], self.openings[g], self.paid[at:end], consumed[at:end], self.refunded[at:end])
                for g, ((a, c), at, end) in enumerate(zip(self.names, s.offset, ends, strict=True))]


def dense_columns(orders: list[OrderRow], refunds: list[RefundRow], tz: str | None, first: date | None,
                  last: date | None, into: DenseColumns) -> None:
    """`segments.dense_days` of one account's rows added ``into`` the columns: the same groups, the same days,
    each order's consumption as runs (`consumption` clipped to the group's days)."""
    by_currency: dict[tuple[str, str], list[OrderSegments]] = defaultdict(list)
    for s in account_segments(orders, refunds, tz):
        by_currency[(s.order.account, s.order.currency)].append(s)
    for (account, currency), segs in sorted(by_currency.items()):
        found = frame(segs, first, last)
        if found is None:
            continue
        lo, hi = found
        g = into.group(account, currency, lo, hi - lo)
        at, balance = into.consumed.offset[g] - lo, 0
        for s in segs:
            consumption(s, into.consumed, g, lo, hi)
            balance -= s.cum(lo - s.first - 1)
            for d, (p, once, r, _) in s.points.items():
                if d < lo:
                    balance += p - once - r
                elif d < hi:
                    into.paid[at + d] += p
                    into.refunded[at + d] += r
                    if once:
                        into.consumed.add(g, d, [once])
        into.openings[g] = balance
