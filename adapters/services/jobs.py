"""Finance use cases over the whole ledger: project the SQL read models, reconcile a payment statement,
export rows. Each takes the App and plain values and returns plain data; none prints.

The ledger-wide ones are drivers of partitioned jobs (``adapters.store.scan``, ``projections.partitions``):
plan (pin the newest log position and recorded time, cut the instances opened up to it into partitions of
``size`` instances; by default balanced ranges of at least ``scan.PARTITION_SIZE``), ``map`` the job's pure
per-partition function over the partitions, assemble. ``map`` is the builtin by default (one partition after
the other, in this process, on the store already open); a process pool's or a cluster's ordered map may be
given instead (``App.mapper``: a local Dask cluster or an existing one): its tasks pickle, opening the store
by its URL once per worker. Answers do not depend on ``size``: partitions are assembled in log order.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.bootstrap import App
from adapters.formats.errors import BadInput
from adapters.formats.statement import read_statement
from adapters.services import finance
from adapters.store import readmodels
from adapters.store.scan import AccountPartition, pin
from adapters.store.tasks import Mapper, Store, Task
from projections import partitions
from projections.partitions import reconcile_items
from projections.reconcile import Scope
from projections.reconcile import reconcile as compare

EXPORTS = finance.EXPORTS


@dataclass(frozen=True)
class Projected:
    start: int  # the tracked position before
    reached: int  # the position after

    @property
    def advanced(self) -> bool:
        return self.reached > self.start


def store(app: App) -> Store:
    """The App's event store for a job's tasks: the open one here, its URL on a worker."""
    return Store(app.settings.url, app.ledger)


def project(app: App, *, rebuild: bool = False, batch: int = 200,
            progress: Callable[[int, int], None] | None = None, size: int | None = None,
            map: Mapper = map) -> Projected:
    """Catch the read models up with the event log, ``batch`` notifications per transaction; ``progress(position,
    top)`` after each committed batch.

    ``rebuild``: drop the read models and compute every instance's rows again, as of the log position pinned
    when planned: ``map`` `projections.partitions.finance_months` over partitions of whole accounts
    (`adapters.store.scan.plan_accounts`: each partition computes its accounts' months too), then drop and
    create the tables, write every row and that position in one transaction (exactly once: a partition that
    fails leaves the read models as they were; ``progress`` after each partition is computed); then catch up
    with whatever was recorded meanwhile."""
    ledger = app.ledger
    engine = app.readmodels
    if rebuild:
        pinned = pin(ledger, size, by_account=True)
        task = Task(store(app), partitions.finance_months, pinned.known_at, (app.settings.reporting_tz,))
        computed = map(task, pinned.partitions)

        def parts() -> Iterator[tuple[list, list, list]]:
            for partition, rows in zip(pinned.partitions, computed, strict=True):
                yield rows
                if progress:
                    progress(partition.position if isinstance(partition, AccountPartition) else partition.last,
                             pinned.position)

        readmodels.replace_all(engine, pinned.position, parts(), recreate=True)
        start = 0
    else:
        start = readmodels.position(engine)
    return Projected(start, readmodels.catch_up(ledger, engine, batch=batch, progress=progress,
                                                        tz=app.settings.reporting_tz))


@dataclass(frozen=True)
class Reconciliation:
    findings: list[dict[str, Any]]  # one row per finding (`projections.reconcile.Finding.as_json`)
    counts: dict[str, int]  # findings per status, in order of first appearance

    @property
    def ok(self) -> bool:
        return all(f["status"] == "matched" for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "findings": self.findings}


def reconcile(app: App, statement: str | Iterable[str], *, size: int | None = None,
              map: Mapper = map) -> Reconciliation:
    """Compare the ledger with a payment statement (CSV text, or its lines). A malformed row raises
    `BadInput` naming its row and column before the ledger is read; the ledger, pinned then, is read one
    partition at a time (`projections.partitions.reconcile_items` with the statement's `Scope`), keeping only
    what the statement can be compared with; the partitions' items are merged in partition order."""
    lines = read_statement(io.StringIO(statement, newline="") if isinstance(statement, str) else statement)
    scope = Scope.of(lines)
    pinned = pin(app.ledger, size)
    expected = {}
    for items in map(Task(store(app), reconcile_items, pinned.known_at, (scope,)), pinned.partitions):
        expected.update(items)
    findings = [f.as_json() for f in compare(lines, expected)]
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["status"]] = counts.get(f["status"], 0) + 1
    return Reconciliation(findings, counts)


def export(app: App, what: str, start: datetime, end: datetime, known_at: datetime | None = None, *,
           size: int | None = None, map: Mapper = map) -> Iterable[dict[str, Any]]:
    """The rows of one export (``refunds``, ``orders`` or ``account-ledger``), business time in
    ``[start, end)``, as known at ``known_at`` (default: the newest recorded time when the job is planned,
    which is now); streamed partition by partition (the account ledger gets every partition's rows first)."""
    if what not in EXPORTS:
        raise BadInput(None, f"WHAT: {what!r} is not one of {', '.join(EXPORTS)}")
    return finance.export_rows(app.ledger, what, start, end, known_at, store=store(app), size=size, map=map,
                               tz=app.settings.reporting_tz)
