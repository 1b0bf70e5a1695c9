"""The stores every integration test runs against: SQLite always, PostgreSQL when
``BILLING_LEDGER_TEST_PG`` names a server (``make test`` starts a throwaway one)."""

from __future__ import annotations

import os
import sqlite3
import uuid

import pytest

PG_URL = os.environ.get("BILLING_LEDGER_TEST_PG")
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="no PostgreSQL: run through `make test` (scripts/test-env)"))]


def libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def fresh_pg_database() -> str:
    """A new, empty database on the test server; returns its SQLAlchemy URL."""
    import psycopg

    assert PG_URL
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(libpq(PG_URL), autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


def store_url(kind: str, tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}" if kind == "sqlite" else fresh_pg_database()


def stored_rows(url: str) -> list[tuple]:
    """Every stored event, read straight from the database (to prove what was, or was not, written)."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if not os.path.exists(path):
            return []
        with sqlite3.connect(path) as con:
            return con.execute("SELECT originator_id, originator_version, topic, state FROM stored_events "
                               "ORDER BY rowid").fetchall()
    import psycopg

    with psycopg.connect(libpq(url)) as con:
        exists = con.execute("SELECT to_regclass('billingledger_events')").fetchone()[0]
        if exists is None:
            return []
        return [tuple(str(v) if isinstance(v, uuid.UUID) else bytes(v) if isinstance(v, memoryview) else v
                      for v in row)
                for row in con.execute("SELECT originator_id, originator_version, topic, state "
                                       "FROM billingledger_events ORDER BY notification_id")]
