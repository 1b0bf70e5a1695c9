"""Event store wiring: the `eventsourcing` application on the library's own persistence modules.

The user gives an SQLAlchemy URL (``--db`` / ``BILLING_LEDGER_DB``); we translate it into the
library's settings. Embedded default: the SQLite file ``./billing-ledger.db``
(``eventsourcing.sqlite``). PostgreSQL URLs (``postgresql+psycopg://…``) use ``eventsourcing.postgres``.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoding
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from domain import topics
from domain.money import TENDERS, Payment

DEFAULT_URL = "sqlite:///billing-ledger.db"


class PaymentAsDict(Transcoding):
    type = Payment
    name = "payment"

    def encode(self, obj: Payment) -> dict[str, str]:
        return obj.as_dict()

    def decode(self, data: dict[str, str]) -> Payment:
        return Payment(*(Decimal(data[t]) for t in TENDERS))


class Ledger(Application):
    """The billing ledger's event-sourced application (one per database)."""

    name = "BillingLedger"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        topics.register()  # events written under a former module path still decode
        super().__init__(*args, **kwargs)
        from adapters.store.streams import StreamCache

        self.streams = StreamCache(self)  # decoded streams kept between reads (quotes, diffs, timelines)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(PaymentAsDict())


class StoreURLError(ValueError):
    pass


def settings_from_url(url: str) -> dict[str, str]:
    """Translate an SQLAlchemy URL into `eventsourcing` persistence settings."""
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise StoreURLError(f"--db: {url!r} is not an SQLAlchemy URL ({e})") from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        folder = os.path.dirname(os.path.abspath(u.database)) if u.database and u.database != ":memory:" else ""
        if folder and not os.path.isdir(folder):
            raise StoreURLError(f"--db: cannot open {url!r}: no directory {folder!r}")
        if folder and os.path.isdir(u.database):  # type: ignore[arg-type]
            raise StoreURLError(f"--db: cannot open {url!r}: {u.database!r} is a directory")
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": u.database or ":memory:"}
    if backend == "postgresql":
        settings = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": u.database or "postgres",
            "POSTGRES_HOST": u.host or "127.0.0.1",
            "POSTGRES_PORT": str(u.port or 5432),
            "POSTGRES_USER": u.username or "postgres",
            "POSTGRES_PASSWORD": u.password or "",
            "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        }
        if "schema" in u.query:
            settings["POSTGRES_SCHEMA"] = str(u.query["schema"])
        return settings
    raise StoreURLError(f"--db: unsupported database {backend!r}; use sqlite:///FILE or postgresql+psycopg://…")


def open_ledger(url: str | None = None, **extra: Any) -> Ledger:
    """Open (creating tables if needed) the ledger at ``url``, else ``$BILLING_LEDGER_DB``, else the default.

    On PostgreSQL the tables (and functions) are created only when missing: concurrent ``CREATE``
    statements from several processes fail ("tuple concurrently updated")."""
    url = url or os.environ.get("BILLING_LEDGER_DB") or DEFAULT_URL
    env = settings_from_url(url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres" and _pg_tables_exist(env):
        env["CREATE_TABLE"] = "n"
    env.update(extra)
    return Ledger(env=env)


def _pg_tables_exist(env: dict[str, str]) -> bool:
    import psycopg

    table = f"{Ledger.name.lower()}_events"
    if env.get("POSTGRES_SCHEMA"):
        table = f"{env['POSTGRES_SCHEMA']}.{table}"
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                         user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"], connect_timeout=10) as con:
        return con.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None
