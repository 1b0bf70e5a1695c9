"""The global log read for the change feed: one page of stored rows after a position, cut where a row might
still be followed by one with a lower position that is not yet visible (docs/http.md, "The change feed").

**Why a position is never skipped.** A notification id is taken from a sequence when a row is inserted, and a
reader sees a transaction's rows when it commits. Two writers could in principle commit out of id order (the
one with the higher ids first): a reader that moved its cursor past the higher ids would then never see the
lower ones. Two things stop that here:

1. Every save appends the next version of the one hash-chain stream (`adapters.store.integrity.save_sealed`)
   in the same transaction. Two saves that read the same chain head both insert that head's next version;
   the unique (stream, version) index makes the second wait for the first and fail when it commits (the
   recording is retried: its ids become a gap, which nothing ever fills). So a save commits only after every
   save that took ids before it: ids become visible in commit order.
2. On PostgreSQL the page is also cut at the first row whose inserting transaction is not older than every
   transaction still in flight (its ``xmin`` against the statement's snapshot's ``xmin``, read in the same
   statement as the rows): such rows are served by a later read, once those transactions have ended. A
   writer that bypasses the chain (an operator's script, a future code path) cannot make the feed skip a row.
   A long transaction that writes anywhere in the database holds the feed back for as long as it runs.

SQLite has one writer at a time (the database's write lock is held from the first insert to the commit), so
its ids are always visible in commit order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification

# The statement's snapshot's xmin (the oldest transaction still in flight), as a 32-bit xid for ``age``:
# ``age(xmin) <= age(horizon)`` says that a row's inserting transaction is not older than that one.
_PG_PAGE = (
    "SELECT notification_id, originator_id, originator_version, topic, state, age(xmin) <= age(h.x) AS unsettled "
    "FROM {table}, (SELECT mod(pg_snapshot_xmin(pg_current_snapshot())::text::bigint, 4294967296)::text::xid AS x) h "
    "WHERE notification_id > %s ORDER BY notification_id LIMIT %s")


def page_after(recorder: Any, after: int, limit: int) -> tuple[list[Notification], bool]:
    """At most ``limit`` rows of the global log after position ``after``, in order, and whether the page was cut
    short because the next row may not be followed yet (PostgreSQL's in-flight transactions, see above)."""
    from eventsourcing.postgres import PostgresApplicationRecorder

    if not isinstance(recorder, PostgresApplicationRecorder):
        return list(recorder.select_notifications(start=after + 1, limit=limit)), False
    from psycopg.sql import SQL, Identifier

    table = SQL("{}.{}").format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(SQL(_PG_PAGE).format(table=table), (after, limit))
        rows: Sequence[Any] = curs.fetchall()
    out: list[Notification] = []
    for row in rows:
        if row["unsettled"]:
            return out, True
        out.append(Notification(id=row["notification_id"], originator_id=row["originator_id"],
                                originator_version=row["originator_version"], topic=row["topic"],
                                state=bytes(row["state"])))
    return out, False


def head(recorder: Any) -> int:
    """The newest position in the log (0 when empty)."""
    return int(recorder.max_notification_id() or 0)
