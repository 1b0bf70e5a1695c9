"""The HTTP API's rate-limit counters, in SQL beside the ledger (same database as the keys), so that every
worker process of a server, and every server on the ledger, counts the same requests (issue 30, defect 3).

Two tables under their own `MetaData` (``project --rebuild`` never drops them): ``http_rate_keys`` holds one
row per key, locked for the length of a hit so that the hits of one key are counted one at a time (a row lock
on PostgreSQL, the write lock on SQLite); ``http_rate_hits`` holds the times of the key's requests in the
moving window (older ones are deleted by the next hit). A key (or client address) already at its rate is
refused by a read alone, so a flood of refused requests takes no lock and writes nothing.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Engine, Index, MetaData, String, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from adapters.store.schema import Ensured

metadata = MetaData()

keys = Table(
    "http_rate_keys", metadata,
    Column("key_id", String(40), primary_key=True),
    Column("hits", BigInteger, nullable=False),  # every hit counted so far (the update that locks the row)
)
hits = Table(
    "http_rate_hits", metadata,
    Column("key_id", String(40), nullable=False),
    Column("at_us", BigInteger, nullable=False),  # microseconds since the epoch
    Index("http_rate_hits_key_at", "key_id", "at_us"),
)

ensure = Ensured(metadata)


def hit(engine: Engine, key_id: str, amount: int, period_us: int, now_us: int) -> int | None:
    """Count a request of ``key_id`` at ``now_us`` if fewer than ``amount`` were counted in the ``period_us``
    before it: None; else nothing is counted and the answer is how long until the oldest one leaves the window
    (microseconds)."""
    ensure(engine)
    window = select(func.count(), func.min(hits.c.at_us)).where(hits.c.key_id == key_id,
                                                                 hits.c.at_us > now_us - period_us)
    with engine.connect() as conn:  # over the rate already: refused by a read, no write (a flood costs no lock)
        counted, oldest = conn.execute(window).one()
    if counted >= amount:
        return max(1, oldest + period_us - now_us)
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    with engine.begin() as conn:
        conn.execute(dialect.insert(keys).values(key_id=key_id, hits=0).on_conflict_do_nothing())
        conn.execute(update(keys).where(keys.c.key_id == key_id).values(hits=keys.c.hits + 1))  # the lock
        conn.execute(delete(hits).where(hits.c.key_id == key_id, hits.c.at_us <= now_us - period_us))
        counted, oldest = conn.execute(window).one()
        if counted >= amount:
            return max(1, oldest + period_us - now_us)
        conn.execute(insert(hits).values(key_id=key_id, at_us=now_us))
        return None
