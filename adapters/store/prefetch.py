"""Reading many aggregates' stored events in one query (the library reads one aggregate per query).

Recording a feed touches a few aggregates per line (the instance, its account, a key per line, order and
refund id); most of them do not exist yet. Asking for all of them at once, before the feed is applied,
replaces thousands of single-aggregate queries. The SQL follows the library's own tables for
``eventsourcing.sqlite`` and ``eventsourcing.postgres``; for any other recorder `select_many` returns None
and the caller reads aggregates one by one as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

CHUNK = 500


def select_many(recorder: Any, ids: Iterable[UUID]) -> dict[UUID, list[StoredEvent]] | None:
    """Every stored event of each of ``ids`` (an empty list for an aggregate that does not exist)."""
    from eventsourcing.postgres import PostgresAggregateRecorder
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
    elif isinstance(recorder, PostgresAggregateRecorder):
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
    from eventsourcing.postgres import PostgresApplicationRecorder
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    start = 1
    while start <= upto:
        if isinstance(recorder, SQLiteApplicationRecorder):
            statement = (f"SELECT rowid FROM {recorder.events_table_name} WHERE rowid>=? AND rowid<=? "
                         f"AND topic IN ({','.join('?' * len(topics))}) ORDER BY rowid LIMIT ?")
            with recorder.datastore.transaction(commit=False) as c:
                c.execute(statement, [start, upto, *topics, page])
                ids = [row[0] for row in c.fetchall()]
        elif isinstance(recorder, PostgresApplicationRecorder):
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
