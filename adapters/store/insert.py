"""Writing a feed's stored events in one statement, the rows the library's recorder would write.

The library's SQLite application recorder inserts row by row (to return each row's notification id, which
recording does not use); its PostgreSQL recorder passes the rows to its insert function as an array of a
composite type, which psycopg dumps as text, escaping every state byte by regular expression (a fifth of a
feed's client CPU on PostgreSQL). Here: SQLite, one ``executemany`` of the recorder's own statement in one
transaction; PostgreSQL with the library's database functions, the same function called with the array
dumped in binary. Same rows, in the same order, under the same constraints (a stale aggregate version is the
library's ``IntegrityError`` and nothing is written); any other recorder: its own ``insert_events``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from adapters.store.prefetch import postgres


def insert_events(recorder: Any, stored: Sequence[StoredEvent]) -> None:
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    if type(recorder) is SQLiteApplicationRecorder:
        params = [(s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
                   s.originator_version, s.topic, s.state) for s in stored]
        with recorder.datastore.transaction(commit=True) as c:
            c.executemany(recorder.insert_events_statement, params)
    elif postgres(recorder, "PostgresApplicationRecorder", exact=True) and recorder.datastore.enable_db_functions:
        _insert_pg(recorder, stored)
    else:
        recorder.insert_events(stored)


def _insert_pg(recorder: Any, stored: Sequence[StoredEvent]) -> None:
    from eventsourcing.persistence import InterfaceError, OperationalError
    from eventsourcing.utils import retry
    from psycopg.sql import SQL, Identifier

    statement = SQL("SELECT * FROM {schema}.{function}((%b))").format(  # %b: the parameter dumped in binary
        schema=Identifier(recorder.datastore.schema), function=Identifier(recorder.pg_function_name_insert_events))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's insert_events
    def insert() -> None:
        rows = [recorder.construct_pg_stored_event(s.originator_id, s.originator_version, s.topic, s.state)
                for s in stored]
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (rows,), prepare=True)
            curs.fetchall()

    insert()
