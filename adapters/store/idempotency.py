"""Idempotency records of the HTTP API's writes, in SQL beside the ledger (same database as the read models).

One table, ``http_idempotency``, under its own `MetaData` (``project --rebuild`` drops the read models, never
these), unique on (principal, key): the first request to insert a row owns the key; any other sees the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from adapters.store.schema import Ensured

metadata = MetaData()

records = Table(
    "http_idempotency", metadata,
    Column("principal", String(40), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of what the request asked for
    Column("started_at", String(40), nullable=False),  # when the request owning the key started
    Column("status", Integer),  # the answer's HTTP status: NULL while the first request runs
    Column("body", Text),  # the answer's JSON
    Column("owner", String(64)),  # the process running the first request (`adapters.store.liveness`); NULL: an
)                                 # earlier version's row
ensure = Ensured(metadata, {records: ("owner",)})


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    started_at: datetime
    status: int | None
    body: str | None
    owner: str | None  # None: a row of an earlier version (its process is not known)


def claim(engine: Engine, principal: str, key: str, fingerprint: str, now: datetime,
          owner: str | None = None) -> Stored | None:
    """Insert the key's row as ``owner``'s (the caller now owns it: None), or return the row already there."""
    ensure(engine)
    try:
        with engine.begin() as conn:
            conn.execute(insert(records).values(principal=principal, key=key, fingerprint=fingerprint,
                                                started_at=now.isoformat(), owner=owner))
        return None
    except IntegrityError:
        pass
    with engine.connect() as conn:
        row = conn.execute(select(records).where(and_(records.c.principal == principal,
                                                      records.c.key == key))).first()
    if row is None:  # released meanwhile: try once more
        return claim(engine, principal, key, fingerprint, now, owner)
    return Stored(row.fingerprint, datetime.fromisoformat(row.started_at), row.status, row.body, row.owner)


def take_over(engine: Engine, principal: str, key: str, seen: datetime, now: datetime,
              owner: str | None = None) -> bool:
    """Own (as ``owner``) a row whose request was abandoned (still running since ``seen``); False if someone
    else did."""
    with engine.begin() as conn:
        done = conn.execute(update(records).where(and_(
            records.c.principal == principal, records.c.key == key, records.c.status.is_(None),
            records.c.started_at == seen.isoformat())).values(started_at=now.isoformat(), owner=owner))
    return done.rowcount == 1


def finish(engine: Engine, principal: str, key: str, status: int, body: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(records).where(and_(records.c.principal == principal, records.c.key == key))
                     .values(status=status, body=body))


def release(engine: Engine, principal: str, key: str) -> None:
    """Forget a key whose request failed (nothing was written), so that it may be used again."""
    with engine.begin() as conn:
        conn.execute(delete(records).where(and_(records.c.principal == principal, records.c.key == key,
                                                records.c.status.is_(None))))
