"""What a worker runs on one partition of a ledger-wide job (``adapters.store.scan``'s partitions).

A `Task` is what a worker runs on one partition: it opens the store once per process (a `Store`
pickles as its URL), reads its range with `instances_in`, gives shared streams (an account, the policy
book) through `shared`, and calls the job's pure function with the pinned ``known_at`` and the job's plain
parameters; it returns that function's rows, never events or aggregates. Everything in a `Task` pickles, so
a process pool or a cluster can ``map`` it over the partitions; in one process the builtin ``map`` runs it on
the store already open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.store.ledger import Ledger, open_ledger
from adapters.store.scan import AnyPartition, instances_in, shared

Mapper = Callable[[Callable[[AnyPartition], Any], Iterable[AnyPartition]], Iterable[Any]]  # the builtin map's shape:
# results in the order of the partitions (a pool's or a cluster's ordered map fits)

_OPENED: dict[str, Ledger] = {}  # a worker process opens each store once


WORKER_POOL = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "0"}  # one connection per worker process


@dataclass(eq=False)
class Store:
    """The event store a task reads: the one already open in this process, or (once pickled and sent to a
    worker) its URL, opened once per process on one connection (`WORKER_POOL`); it is never created there."""

    url: str | None
    ledger: Ledger | None = field(default=None, repr=False)

    def open(self) -> Ledger:
        if self.ledger is None:
            if self.url is None:
                raise RuntimeError("a store with neither an open ledger nor a URL")
            if self.url not in _OPENED:
                _OPENED[self.url] = open_ledger(self.url, create=False, **WORKER_POOL)
            self.ledger = _OPENED[self.url]
        return self.ledger

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "ledger": None}  # an open store does not travel; its URL does

    def __dask_tokenize__(self) -> Any:
        return ("Store", self.url)  # a cluster names a task by what travels


@dataclass(frozen=True)
class Task:
    """One job on one partition: ``job(instances, [load,] known_at, *params)`` -> rows.

    ``job`` is a module-level pure function (``projections.partitions``), ``params`` plain values, ``known_at``
    the pinned knowledge time; ``load`` is given (`shared`, as known at ``known_at``) when the job reads shared
    streams."""

    store: Store
    job: Callable[..., Any]
    known_at: datetime
    params: tuple[Any, ...] = ()
    load: bool = False

    def __call__(self, partition: AnyPartition) -> Any:
        ledger = self.store.open()
        instances = instances_in(ledger, partition)
        if self.load:
            return self.job(instances, shared(ledger, self.known_at), self.known_at, *self.params)
        return self.job(instances, self.known_at, *self.params)
