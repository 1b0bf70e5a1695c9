"""The composition root: `Settings` in, a ready `App` out.

What it builds, and when:

- `Settings.resolve` decides the store URL once per process: the explicit ``--db`` value, else
  ``$BILLING_LEDGER_DB``, else the embedded SQLite file ``./billing-ledger.db``. With it go the clock
  (an aware UTC "now" unless a test or a runner gives another), the connection pool size, and the reporting
  calendar (``$BILLING_LEDGER_REPORTING_TZ``, ±HH:MM: the zone whose days the account ledger and the journal
  book; unset, each row is booked on its policy's ``calendar_tz`` days).
- `bootstrap` wires an `App` from the settings. The App opens the event store (the `eventsourcing`
  application, `adapters.store.ledger.Ledger`, on ``POSTGRES_POOL_SIZE`` connections for PostgreSQL) the
  first time a use case reads or writes, and the read-model SQLAlchemy engine (same URL, same pool size)
  the first time a use case needs the read models; each once, then cached for the life of the App.
  Checking the URL and creating tables happen then, so a command that fails on its own arguments touches
  no database.
- `App.mapper` builds where a ledger-wide job's partitions run (``adapters.runner``): this process, a local
  Dask cluster of N processes, or an existing cluster; Dask is imported only for the last two.

Nothing is built at import time: importing this module (or anything under ``adapters/``) opens no
connection and creates no file. Entrypoints build the settings once, call `bootstrap` once per process
and pass the App to the use cases in `adapters.services`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.store.ledger import DEFAULT_URL, Ledger, NoLedger, StoreURLError, open_ledger, readmodel_url

__all__ = ["DEFAULT_URL", "ENV_VAR", "App", "NoLedger", "Settings", "StoreURLError", "bootstrap", "utc_now"]

ENV_VAR = "BILLING_LEDGER_DB"
REPORTING_TZ = "BILLING_LEDGER_REPORTING_TZ"
POOL_SIZE = 5  # the library's and SQLAlchemy's own default


def utc_now() -> datetime:
    """The adapter's clock: an aware UTC now."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Settings:
    url: str = DEFAULT_URL
    clock: Callable[[], datetime] = utc_now
    pool_size: int = POOL_SIZE
    reporting_tz: str | None = None  # the reporting calendar's zone (±HH:MM); None: each policy's calendar_tz

    def __post_init__(self) -> None:
        if not isinstance(self.pool_size, int) or self.pool_size < 1:
            raise ValueError(f"pool_size must be a positive integer, not {self.pool_size!r}")
        if self.reporting_tz is not None:
            from domain.errors import LedgerError
            from domain.timeutil import tz_of

            try:
                tz_of(self.reporting_tz)
            except ValueError as e:
                raise LedgerError(str(e), REPORTING_TZ) from None

    @classmethod
    def resolve(cls, db: str | None = None, *, environ: Mapping[str, str] | None = None,
                clock: Callable[[], datetime] = utc_now, pool_size: int = POOL_SIZE) -> Settings:
        """The store URL, resolved once: ``db`` (``--db``), else ``$BILLING_LEDGER_DB``, else the default; the
        reporting calendar from ``$BILLING_LEDGER_REPORTING_TZ`` (unset or empty: each policy's ``calendar_tz``)."""
        env = os.environ if environ is None else environ
        return cls(url=db or env.get(ENV_VAR) or DEFAULT_URL, clock=clock, pool_size=pool_size,
                   reporting_tz=env.get(REPORTING_TZ) or None)


class App:
    """The ready application: the settings, the clock, the event store and the read-model engine."""

    def __init__(self, settings: Settings, ledger: Ledger | None = None) -> None:
        self.settings = settings
        self.clock = settings.clock
        self._lock = threading.Lock()
        self._ledger = ledger
        self._engine: Any = None

    def now(self) -> datetime:
        return self.clock()

    @property
    def ledger(self) -> Ledger:
        """The event-sourced application, opened on first use. Reading never creates a ledger: a store that
        holds none is `NoLedger` (status 2), and nothing is left behind."""
        return self._open(create=False)

    @property
    def writer(self) -> Ledger:
        """The same application for a use case that records: the store, its schema and tables are created
        when missing."""
        return self._open(create=True)

    def _open(self, create: bool) -> Ledger:
        if self._ledger is None:
            with self._lock:
                if self._ledger is None:
                    self._ledger = open_ledger(self.settings.url, create=create,
                                               POSTGRES_POOL_SIZE=str(self.settings.pool_size))
        return self._ledger

    @property
    def readmodels(self) -> Any:
        """The read models' SQLAlchemy engine (same URL as the store), created on first use."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from adapters.store.readmodels import engine_for

                    url, options = readmodel_url(self.settings.url)
                    self._engine = engine_for(url, pool_size=self.settings.pool_size, **options)
        return self._engine

    @contextmanager
    def mapper(self, workers: int | None = None, scheduler: str | None = None, *,
               progress: Callable[[int, int], None] | None = None,
               notice: Callable[[str], None] | None = None) -> Iterator[Any]:
        """Where a ledger-wide job runs its partitions (``--workers N``, ``--scheduler ADDRESS``; default: this
        process), for the ``with`` block: the `Mapper` to give the job's use case, which must be consumed
        inside the block. Refusals (both options, fewer than 1 worker, a remote cluster on SQLite, a scheduler
        that cannot be reached) are `LedgerError` naming the option."""
        from adapters import runner

        with runner.mapper(self.settings.url, workers, scheduler, progress=progress, notice=notice) as mapped:
            yield mapped

    def close(self) -> None:
        """Release the store's and the engine's connections (a long-running entrypoint's shutdown)."""
        with self._lock:
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def bootstrap(settings: Settings | None = None, *, ledger: Ledger | None = None) -> App:
    """Wire the application from ``settings`` (default: resolved from the environment). Call once per process.

    ``ledger``: a store already open (tests pass the library's in-memory one); otherwise the App opens
    ``settings.url`` on first use."""
    return App(settings if settings is not None else Settings.resolve(), ledger)
