"""Webhook subscriptions, their delivery state and log, in SQL beside the ledger (same database as the keys;
own `MetaData`: ``project --rebuild`` never drops them). docs/webhooks.md.

- ``webhook_subscriptions``: the URL, the event types and accounts, the signing secret (kept, since every
  message is signed with it: whoever reads this table can sign; the API shows it once), the log position
  delivered through, and the message at the head of the line: its id, attempts so far and when it is tried
  next. Removing a subscription stamps ``removed_at`` (its log stays readable).
- ``webhook_deliveries``: one row per attempt (message id, position, type, when, status or error, the next
  try); a row per manual re-send too.
- ``webhook_lease``: which deliverer may send, until when (`claim`): a second one waits.
- ``webhook_overdue``: each ``refund.overdue`` message made for a subscription (its stage: refund, rule and
  since), so that one is made once, and whether it was delivered.

Every change of a subscription's position is one transaction with the log row that says why, so a deliverer
killed at any moment leaves a position that was delivered through (and at most the one message in flight is
sent again: at least once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from adapters.store.schema import Ensured

metadata = MetaData()
TIME = String(40)

subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", String(40), primary_key=True), Column("url", Text, nullable=False),
    Column("types", Text, nullable=False), Column("accounts", Text, nullable=False),  # JSON lists; [] = all
    Column("secret", String(200), nullable=False),
    Column("position", Integer, nullable=False),  # the log delivered through (or passed over)
    Column("pending", String(200)), Column("attempts", Integer, nullable=False),  # the head message's tries
    Column("next_try_at", TIME),
    Column("created_at", TIME, nullable=False), Column("created_by", String(200), nullable=False),
    Column("removed_at", TIME),
)
deliveries = Table(
    "webhook_deliveries", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("subscription", String(40), nullable=False, index=True), Column("message", String(200), nullable=False),
    Column("position", Integer), Column("type", String(100), nullable=False), Column("attempt", Integer),
    Column("at", TIME, nullable=False), Column("status", Integer), Column("error", Text),
    Column("outcome", String(20), nullable=False),  # delivered | failed | resend
    Column("next_try_at", TIME),
)
overdue_sent = Table(
    "webhook_overdue", metadata,
    Column("subscription", String(40), primary_key=True), Column("message", String(200), primary_key=True),
    Column("payload", Text, nullable=False), Column("made_at", TIME, nullable=False), Column("delivered_at", TIME),
)
lease = Table(  # one deliverer at a time: the holder and until when (renewed before every message)
    "webhook_lease", metadata,
    Column("name", String(40), primary_key=True), Column("owner", String(200), nullable=False),
    Column("until", TIME, nullable=False),
)
ensure = Ensured(metadata)
LEASE = "deliverer"


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    types: tuple[str, ...]
    accounts: tuple[str, ...]
    secret: str
    position: int
    pending: str | None
    attempts: int
    next_try_at: datetime | None
    created_at: datetime
    created_by: str
    removed_at: datetime | None


def _t(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _sub(r: Any) -> Subscription:
    return Subscription(r.id, r.url, tuple(json.loads(r.types)), tuple(json.loads(r.accounts)), r.secret,
                        r.position, r.pending, r.attempts, _t(r.next_try_at), datetime.fromisoformat(r.created_at),
                        r.created_by, _t(r.removed_at))


def add(engine: Engine, s: Subscription) -> None:
    ensure(engine)
    with engine.begin() as conn:
        conn.execute(insert(subscriptions).values(
            id=s.id, url=s.url, types=json.dumps(list(s.types)), accounts=json.dumps(list(s.accounts)),
            secret=s.secret, position=s.position, pending=None, attempts=0, next_try_at=None,
            created_at=s.created_at.isoformat(), created_by=s.created_by))


def all_subscriptions(engine: Engine, removed: bool = False) -> list[Subscription]:
    ensure(engine)
    query = select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id)
    if not removed:
        query = query.where(subscriptions.c.removed_at.is_(None))
    with engine.connect() as conn:
        return [_sub(r) for r in conn.execute(query)]


def get(engine: Engine, subscription: str) -> Subscription | None:
    ensure(engine)
    with engine.connect() as conn:
        row = conn.execute(select(subscriptions).where(subscriptions.c.id == subscription)).first()
    return _sub(row) if row is not None else None


def remove(engine: Engine, subscription: str, when: datetime) -> bool:
    ensure(engine)
    with engine.begin() as conn:
        return bool(conn.execute(update(subscriptions).where(subscriptions.c.id == subscription,
                                                             subscriptions.c.removed_at.is_(None))
                                 .values(removed_at=when.isoformat())).rowcount)


def _log(conn: Any, subscription: str, message: str, position: int | None, kind: str, attempt: int | None,
         when: datetime, status: int | None, error: str | None, outcome: str, next_try: datetime | None) -> None:
    conn.execute(insert(deliveries).values(
        subscription=subscription, message=message, position=position, type=kind, attempt=attempt,
        at=when.isoformat(), status=status, error=error, outcome=outcome,
        next_try_at=next_try.isoformat() if next_try else None))


def passed(engine: Engine, subscription: str, position: int) -> None:
    """Move past rows that hold no message for the subscription (nothing pending: no attempt was made)."""
    with engine.begin() as conn:
        conn.execute(update(subscriptions).where(subscriptions.c.id == subscription,
                                                 subscriptions.c.position < position)
                     .values(position=position, pending=None, attempts=0, next_try_at=None))


def delivered(engine: Engine, subscription: str, message: str, position: int | None, kind: str, attempt: int,
              when: datetime, status: int) -> None:
    """A 2xx: the log row and the new position (a fact's; an overdue message's: marked delivered), together."""
    with engine.begin() as conn:
        _log(conn, subscription, message, position, kind, attempt, when, status, None, "delivered", None)
        values: dict[str, Any] = {"pending": None, "attempts": 0, "next_try_at": None}
        if position is not None:
            values["position"] = position
        else:
            conn.execute(update(overdue_sent).where(overdue_sent.c.subscription == subscription,
                                                    overdue_sent.c.message == message)
                         .values(delivered_at=when.isoformat()))
        conn.execute(update(subscriptions).where(subscriptions.c.id == subscription).values(**values))


def failed(engine: Engine, subscription: str, message: str, position: int | None, kind: str, attempt: int,
           when: datetime, status: int | None, error: str | None, next_try: datetime) -> None:
    """Not a 2xx (or no answer): the log row, and the head message's next try; the position stays."""
    with engine.begin() as conn:
        _log(conn, subscription, message, position, kind, attempt, when, status, error, "failed", next_try)
        conn.execute(update(subscriptions).where(subscriptions.c.id == subscription).values(
            pending=message, attempts=attempt, next_try_at=next_try.isoformat()))


def resend(engine: Engine, subscription: str, position: int | None, when: datetime) -> bool:
    """Try the head message now; with ``position``, deliver again every message after it (their ids unchanged,
    so a receiver that keeps them drops the copies)."""
    with engine.begin() as conn:
        values: dict[str, Any] = {"pending": None, "attempts": 0, "next_try_at": None}
        if position is not None:
            values["position"] = position
        done = conn.execute(update(subscriptions).where(subscriptions.c.id == subscription,
                                                        subscriptions.c.removed_at.is_(None)).values(**values))
        if done.rowcount:
            _log(conn, subscription, "", position, "", None, when, None, None, "resend", None)
        return bool(done.rowcount)


def log(engine: Engine, subscription: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` rows of the subscription's delivery log, newest first."""
    ensure(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries).where(deliveries.c.subscription == subscription)
                            .order_by(deliveries.c.seq.desc()).limit(limit))
        return [{k: v for k, v in r._mapping.items() if k != "subscription"} for r in rows]


def overdue_made(engine: Engine, subscription: str) -> set[str]:
    with engine.connect() as conn:
        return {r.message for r in conn.execute(select(overdue_sent.c.message)
                                                .where(overdue_sent.c.subscription == subscription))}


def make_overdue(engine: Engine, subscription: str, message: str, payload: str, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(overdue_sent).values(subscription=subscription, message=message, payload=payload,
                                                 made_at=when.isoformat()))


def next_overdue(engine: Engine, subscription: str) -> tuple[str, str] | None:
    """The oldest ``refund.overdue`` message not delivered yet: (message id, payload)."""
    with engine.connect() as conn:
        row = conn.execute(select(overdue_sent.c.message, overdue_sent.c.payload).where(
            overdue_sent.c.subscription == subscription, overdue_sent.c.delivered_at.is_(None))
            .order_by(overdue_sent.c.made_at, overdue_sent.c.message)).first()
    return (row.message, row.payload) if row is not None else None


def claim(engine: Engine, owner: str, now: datetime, until: datetime) -> bool:
    """Hold the deliverer's lease until ``until`` (UTC): renewed when ``owner`` holds it, taken when it is free
    or has expired; False when another deliverer holds it. One conditional statement: two claimants never both
    win (the row's lock on PostgreSQL, the write lock on SQLite)."""
    ensure(engine)
    free = or_(lease.c.owner == owner, lease.c.until < now.isoformat())
    with engine.begin() as conn:
        if conn.execute(update(lease).where(lease.c.name == LEASE, free)
                        .values(owner=owner, until=until.isoformat())).rowcount:
            return True
        if conn.execute(select(lease.c.owner).where(lease.c.name == LEASE)).first() is not None:
            return False
    try:
        with engine.begin() as conn:
            conn.execute(insert(lease).values(name=LEASE, owner=owner, until=until.isoformat()))
        return True
    except IntegrityError:  # another deliverer made the row meanwhile: it holds the lease
        return False


def release(engine: Engine, owner: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(lease).where(lease.c.name == LEASE, lease.c.owner == owner)
                     .values(until=now.isoformat()))
