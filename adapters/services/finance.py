"""Finance jobs over the whole ledger: each instance's order and refund rows (streamed), and the exports.

The exports are partitioned jobs (``adapters.store.scan``): the ledger is pinned when the job is planned,
``map`` runs a pure per-partition function (``projections.partitions``) on each partition, and the rows are
assembled in partition order, which is the order the instances were opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from adapters.store.ledger import Ledger
from adapters.store.scan import Mapper, Pinned, Store, Task, pin, stream_instances
from domain.timeutil import FAR
from projections import partitions
from projections.finance import OrderRow, RefundRow, instance_rows
from projections.partitions import EXPORTS, money  # noqa: F401 - the application layer's names for them


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
    Orders and refunds come partition by partition; the account ledger gets every partition's rows first and
    groups them by account."""
    pinned = pin(ledger, size, known_at)
    store = store or Store(None, ledger)
    if what in ("orders", "refunds"):
        task = Task(store, partitions.export_rows, pinned.known_at, (what, start, end))
        return (row for rows in map(task, pinned.partitions) for row in rows)
    return _AccountLedger(ledger, pinned, start, end, store, map, tz)


class _AccountLedger:
    """The account ledger's rows, computed when first iterated (as a generator would): dicts, or
    `partitions.AccountLedger.tuples` for a writer that formats them itself."""

    def __init__(self, ledger: Ledger, pinned: Pinned, start: datetime, end: datetime, store: Store, map: Mapper,
                 tz: str | None) -> None:
        self._args = (ledger, pinned, start, end, store, map, tz)

    def _rows(self) -> partitions.AccountLedger:
        ledger, pinned, start, end, store, map_, tz = self._args
        orders: list[OrderRow] = []
        refunds: list[RefundRow] = []
        for o, r in partition_rows(ledger, pinned, store=store, map=map_):
            orders += o
            refunds += r
        return partitions.AccountLedger(orders, refunds, start, end, tz)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows())

    def tuples(self) -> Iterator[Any]:
        return self._rows().tuples()
