"""Finance jobs over the whole ledger: each instance's order and refund rows (streamed), and the exports.

The exports are partitioned jobs (``adapters.store.scan``): the ledger is pinned when the job is planned,
``map`` runs a pure per-partition function (``projections.exports``) on each partition, and the rows are
assembled in partition order, which is the order the instances were opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from adapters.store.ledger import Ledger
from adapters.store.scan import Pinned, pin, stream_instances
from adapters.store.tasks import Mapper, Store, Task
from domain.timeutil import FAR
from projections import exports, partitions
from projections.exports import EXPORTS, from_cents  # noqa: F401 - the application layer's names for them
from projections.finance import OrderRow, RefundRow, instance_rows


def iter_rows(ledger: Ledger, known_at: datetime = FAR) -> Iterator[tuple[list[OrderRow], list[RefundRow]]]:
    """Each instance's order and refund rows, one instance at a time (flat memory)."""
    for name, events in stream_instances(ledger):
        yield instance_rows(name, events, known_at)


def partition_rows(ledger: Ledger, pinned: Pinned, *, store: Store | None = None,
                   map: Mapper = map) -> Iterator[tuple[list[OrderRow], list[RefundRow]]]:
    """Each partition's order and refund rows (`projections.partitions.finance_rows`), in partition order."""
    task = Task(store or Store(None, ledger), partitions.finance_rows, pinned.known_at)
    return iter(map(task, pinned.partitions))


def ledger_rows(ledger: Ledger, known_at: datetime = FAR, *, size: int | None = None,
                map: Mapper = map) -> tuple[list[OrderRow], list[RefundRow]]:
    """Every row of the ledger, in memory (the account ledger needs an account's rows together)."""
    orders, refunds = [], []
    for o, r in partition_rows(ledger, pin(ledger, size, known_at), map=map):
        orders += o
        refunds += r
    return orders, refunds


# ----- exports -----

def export_rows(ledger: Ledger, what: str, start: datetime, end: datetime, known_at: datetime | None = None, *,
                store: Store | None = None, size: int | None = None, map: Mapper = map,
                tz: str | None = None) -> Iterable[dict[str, Any]]:
    """The rows of one export, business time in ``[start, end)``, as the ledger knew it at ``known_at``
    (default: its newest recorded time; pinned now, when the job is planned, as is the set of instances).
    Orders and refunds come partition by partition, in opening order; the account ledger partition by
    partition too, each a partition of whole accounts (`adapters.store.scan.plan_accounts`) computing its
    accounts' days (consecutive ranges of names: the accounts come by name)."""
    store = store or Store(None, ledger)
    if what in ("orders", "refunds"):
        pinned = pin(ledger, size, known_at)
        task = Task(store, exports.export_rows, pinned.known_at, (what, start, end))
        return (row for rows in map(task, pinned.partitions) for row in rows)
    return _AccountLedger(pin(ledger, size, known_at, by_account=True), store, map, (start, end, tz))


class _AccountLedger:
    """The account ledger's rows, computed when first iterated (as a generator would), partition by
    partition: dicts, `tuples` (`projections.segments.DayTuple`), or `csv_parts` (each partition's CSV lines,
    formatted where the partition is computed: `adapters.formats.tables.account_ledger_lines`)."""

    def __init__(self, pinned: Pinned, store: Store, map: Mapper, params: tuple[datetime, datetime, str | None]):
        self._pinned, self._store, self._map, self._params = pinned, store, map, params

    def _each(self, job: Any) -> Iterator[Any]:
        return iter(self._map(Task(self._store, job, self._pinned.known_at, self._params), self._pinned.partitions))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (exports.day_dict(t) for days in self._each(exports.account_ledger_days) for t in days)

    def tuples(self) -> Iterator[Any]:
        return (t for days in self._each(exports.account_ledger_days) for t in days)

    def csv_parts(self) -> Iterator[str]:
        from adapters.formats.tables import account_ledger_lines

        return self._each(account_ledger_lines)
