"""API keys in SQL, beside the ledger (same database, same schema as the read models).

One table, ``api_keys``, under its own `MetaData`: ``project --rebuild`` drops and recreates the read models,
never the keys. A key's secret is never stored: only its SHA-256 (the secret is 32 random bytes, so a fast
hash is enough; a slow password hash protects low-entropy secrets, which these are not). The secret names
its key (``blk_<id>_<token>``), so authenticating reads one row by primary key and compares the hashes in
constant time (`hmac.compare_digest`). Revocation stamps ``revoked_at``; every request reads the row again,
so it takes effect at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Engine, MetaData, String, Table, Text, insert, inspect, or_, select, update

from adapters.store.schema import add_columns

metadata = MetaData()
TIME = String(40)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(40), primary_key=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("accounts", Text, nullable=False),  # a JSON list of account names; [] = not narrowed
    Column("name", String(200)),
    Column("created_at", TIME, nullable=False), Column("created_by", String(200), nullable=False),
    Column("revoked_at", TIME), Column("revoked_by", String(200)),
    Column("last_used_at", TIME),  # the last authenticated request, to the minute (issue 30, item 9)
    Column("expires_at", TIME),  # no request authenticates from then on; NULL: never expires (item 9)
    Column("previous_sha256", String(64)),  # the secret before the last rotation, which still authenticates...
    Column("previous_until", TIME),  # ...until then (the rotation's overlap window)
    Column("rotated_at", TIME), Column("rotated_by", String(200)),  # the last rotation
)
# added since the table was first made: `_migrate` adds them
ADDED = ("last_used_at", "expires_at", "previous_sha256", "previous_until", "rotated_at", "rotated_by")
_migrated: set[int] = set()


@dataclass(frozen=True)
class StoredKey:
    id: str
    secret_sha256: str
    role: str
    accounts: tuple[str, ...]
    name: str | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    previous_sha256: str | None = None
    previous_until: datetime | None = None
    rotated_at: datetime | None = None
    rotated_by: str | None = None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _key(row: Any) -> StoredKey:
    return StoredKey(row.id, row.secret_sha256, row.role, tuple(json.loads(row.accounts)), row.name,
                     datetime.fromisoformat(row.created_at), row.created_by, _time(row.revoked_at), row.revoked_by,
                     _time(row.last_used_at), _time(row.expires_at), row.previous_sha256, _time(row.previous_until),
                     _time(row.rotated_at), row.rotated_by)


def _exists(engine: Engine) -> bool:
    if not inspect(engine).has_table("api_keys"):
        return False
    _migrate(engine)
    return True


def _migrate(engine: Engine) -> None:
    """Add the columns a table made by an earlier version lacks (once per engine)."""
    if id(engine) in _migrated:
        return
    add_columns(engine, api_keys, ADDED)
    _migrated.add(id(engine))


def touch(engine: Engine, key_id: str, when: datetime) -> None:
    """Stamp the key used at ``when`` (UTC), unless it was within the minute before (one write a minute per
    key, not one per request)."""
    now = when.astimezone(UTC)
    with engine.begin() as conn:
        conn.execute(update(api_keys).where(api_keys.c.id == key_id, or_(
            api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < (now - timedelta(minutes=1)).isoformat()))
            .values(last_used_at=now.isoformat()))


def insert_key(engine: Engine, key: StoredKey) -> None:
    metadata.create_all(engine)
    _migrate(engine)
    with engine.begin() as conn:
        conn.execute(insert(api_keys).values(
            id=key.id, secret_sha256=key.secret_sha256, role=key.role, accounts=json.dumps(list(key.accounts)),
            name=key.name, created_at=key.created_at.isoformat(), created_by=key.created_by,
            expires_at=key.expires_at.isoformat() if key.expires_at else None))


def get_key(engine: Engine, key_id: str) -> StoredKey | None:
    """The key with this id (revoked or not), or None; a ledger that never had a key has no table: None."""
    if id(engine) not in _migrated and not _exists(engine):  # the first read of an engine: migrated
        return None
    try:
        with engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    except Exception:  # noqa: BLE001 - no table yet (no key was ever created): no key
        if _exists(engine):
            raise
        return None
    return _key(row) if row is not None else None


def all_keys(engine: Engine) -> list[StoredKey]:
    if not _exists(engine):
        return []
    with engine.connect() as conn:
        return [_key(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id))]


def revoke(engine: Engine, key_id: str, when: datetime, by: str) -> bool:
    """Stamp the key revoked (once: a revoked key keeps its first revocation). False: no such key."""
    if not _exists(engine):
        return False
    with engine.begin() as conn:
        found = conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.id == key_id)).first()
        if found is None:
            return False
        if found.revoked_at is None:
            conn.execute(update(api_keys).where(api_keys.c.id == key_id)
                         .values(revoked_at=when.isoformat(), revoked_by=by))
        return True


def rotate(engine: Engine, key_id: str, secret_sha256: str, until: datetime, when: datetime, by: str) -> bool:
    """Give an active key the new secret ``secret_sha256``, its current one still authenticating until
    ``until`` (a secret from before an earlier rotation no longer does). False: no such key, or revoked."""
    if not _exists(engine):
        return False
    with engine.begin() as conn:
        done = conn.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                            .values(previous_sha256=api_keys.c.secret_sha256, previous_until=until.isoformat(),
                                    secret_sha256=secret_sha256, rotated_at=when.isoformat(), rotated_by=by))
    return done.rowcount == 1
