"""Reading many aggregates' stored events in one query (the library reads one aggregate per query).

Recording a feed touches a few aggregates per line (the instance, its account, a key per line, order and
refund id); most of them do not exist yet. Asking for all of them at once, before the feed is applied,
replaces thousands of single-aggregate queries. The SQL follows the library's own tables for
``eventsourcing.sqlite`` and ``eventsourcing.postgres``; for any other recorder `select_many` returns None
and the caller reads aggregates one by one as before.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

CHUNK = 500


def postgres(recorder: Any, name: str, exact: bool = False) -> bool:
    """Whether ``recorder`` is ``eventsourcing.postgres``'s class ``name`` (``exact``: that class, not a subclass),
    without importing that module: a ledger on SQLite never loads it (nor psycopg, half a second of a job's
    start), and a recorder of a module never loaded is none of its classes."""
    module = sys.modules.get("eventsourcing.postgres")
    if module is None:
        return False
    cls = getattr(module, name)
    return type(recorder) is cls if exact else isinstance(recorder, cls)


def select_many(recorder: Any, ids: Iterable[UUID]) -> dict[UUID, list[StoredEvent]] | None:
    """Every stored event of each of ``ids`` (an empty list for an aggregate that does not exist)."""
    from eventsourcing.sqlite import SQLiteAggregateRecorder

    wanted = list(dict.fromkeys(ids))
    found: dict[UUID, list[StoredEvent]] = defaultdict(list)
    if isinstance(recorder, SQLiteAggregateRecorder):
        for i in range(0, len(wanted), CHUNK):
            chunk = wanted[i:i + CHUNK]
            statement = (f"SELECT originator_id, originator_version, topic, state FROM {recorder.events_table_name} "
                         f"WHERE originator_id IN ({','.join('?' * len(chunk))}) "
                         "ORDER BY originator_id, originator_version")
            asked = {u.hex: u for u in chunk}  # the stored text of each id asked for (one UUID each, not per row)
            with recorder.datastore.transaction(commit=False) as c:
                c.execute(statement, list(asked))
                for row in c.fetchall():
                    uid = asked[row["originator_id"]]
                    found[uid].append(StoredEvent(uid, row["originator_version"], row["topic"], row["state"]))
    elif postgres(recorder, "PostgresAggregateRecorder"):
        from psycopg.sql import SQL, Identifier

        query = SQL("SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
                    "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version").format(
            schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            for i in range(0, len(wanted), CHUNK):
                curs.execute(query, [wanted[i:i + CHUNK]])
                for row in curs.fetchall():
                    found[row["originator_id"]].append(StoredEvent(
                        row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])))
    else:
        return None
    return {u: found.get(u, []) for u in wanted}


def notification_ids(recorder: Any, topics: Sequence[str], upto: int, page: int = 100_000) -> Iterator[list[int]]:
    """The ids of the global log's notifications of ``topics`` up to ``upto`` (inclusive), in order, ``page`` at
    a time: ids only (no stored state read into objects), for planning a job's partitions. Any other recorder:
    its notifications, read page by page."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    start = 1
    while start <= upto:
        if isinstance(recorder, SQLiteApplicationRecorder):
            statement = (f"SELECT rowid FROM {recorder.events_table_name} WHERE rowid>=? AND rowid<=? "
                         f"AND topic IN ({','.join('?' * len(topics))}) ORDER BY rowid LIMIT ?")
            with recorder.datastore.transaction(commit=False) as c:
                c.execute(statement, [start, upto, *topics, page])
                ids = [row[0] for row in c.fetchall()]
        elif postgres(recorder, "PostgresApplicationRecorder"):
            from psycopg.sql import SQL, Identifier

            query = SQL("SELECT notification_id FROM {schema}.{table} WHERE notification_id>=%s AND "
                        "notification_id<=%s AND topic = ANY(%s) ORDER BY notification_id LIMIT %s").format(
                schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
            with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(query, [start, upto, list(topics), page])
                ids = [row["notification_id"] for row in curs.fetchall()]
        else:
            ids = [n.id for n in recorder.select_notifications(start=start, limit=page, stop=upto, topics=topics)]
        if ids:
            yield ids
        if len(ids) < page:
            return
        start = ids[-1] + 1


def opening_accounts(recorder: Any, topics: Sequence[str], upto: int,
                     page: int = 50_000) -> Iterator[list[tuple[UUID, str, int]]] | None:
    """Every (instance id, account, how many accounts the instance names) that an opening fact of ``topics``
    (its ``account`` field) recorded up to log position ``upto`` names, each pair once, ordered by account (by
    code point, as Python sorts) and then by the pair's first position: sorted and de-duplicated by the
    database, read ``page`` rows at a time (a server-side cursor on PostgreSQL), for planning partitions by
    account. None for any other recorder."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_accounts(recorder, topics, upto, page)
    if postgres(recorder, "PostgresApplicationRecorder"):
        return _postgres_accounts(recorder, topics, upto, page)
    return None


def _sqlite_accounts(recorder: Any, topics: Sequence[str], upto: int,
                     page: int) -> Iterator[list[tuple[UUID, str, int]]]:
    statement = ("SELECT originator_id, json_extract(CAST(state AS TEXT), '$.account') AS account, MIN(rowid) AS pos, "
                 "COUNT(*) OVER (PARTITION BY originator_id) AS n "
                 f"FROM {recorder.events_table_name} WHERE rowid<=? AND topic IN ({','.join('?' * len(topics))}) "
                 "GROUP BY originator_id, account ORDER BY account, pos")
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(statement, [upto, *topics])
        while rows := c.sqlite_cursor.fetchmany(page):  # the library's wrapper has no fetchmany
            yield [(UUID(row[0]), row[1], row[3]) for row in rows]


def _postgres_accounts(recorder: Any, topics: Sequence[str], upto: int,
                       page: int) -> Iterator[list[tuple[UUID, str, int]]]:
    from psycopg.sql import SQL, Identifier

    statement = SQL("SELECT * FROM (SELECT originator_id, convert_from(state, 'UTF8')::json->>'account' AS account, "
                    "MIN(notification_id) AS pos, COUNT(*) OVER (PARTITION BY originator_id) AS n "
                    "FROM {schema}.{table} WHERE notification_id<=%s AND topic = ANY(%s) "
                    'GROUP BY 1, 2) AS opened ORDER BY account COLLATE "C", pos').format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn, conn.transaction(), \
            conn.cursor(name="opening_accounts") as curs:
        curs.execute(statement, [upto, list(topics)])
        while rows := curs.fetchmany(page):
            yield [(row["originator_id"], row["account"], row["n"]) for row in rows]
