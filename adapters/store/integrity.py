"""Sealing each saved batch into the hash chain, and re-walking the log to verify it (``billing-ledger verify``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.utils import get_topic

from adapters.store.insert import insert_events
from adapters.store.ledger import Ledger
from adapters.store.prefetch import postgres
from adapters.store.scan import notifications
from domain.chain import CHAIN_ID, GENESIS, Chain, Finding, compare, fold, row_digest

CHAIN_TOPICS = {get_topic(Chain.Started), get_topic(Chain.Sealed)}
SEALED_TOPIC = get_topic(Chain.Sealed)


def save_sealed(ledger: Ledger, aggregates: list[Any], timestamp: datetime, actor: str | None = None) -> None:
    """Store the aggregates' pending events and, after them in the same transaction, the seal over their
    rows. Each event is encoded once: the bytes that are hashed are the bytes that are stored. A stale
    aggregate (or chain) version raises the library's IntegrityError and nothing is written.

    ``actor`` (who recorded the feed) is written into every event's and the seal's stored state by the
    mapper (`adapters.store.ledger.FormerTopics.to_stored_event`), as the recorded time is: it is part of the
    stored (and hashed) state, read back by `domain.stream.actor_of`."""
    events = [e for a in aggregates for e in a.collect_events()]
    stored = [ledger.mapper.to_stored_event(e, actor) for e in events]
    digests = [row_digest(s.originator_id, s.originator_version, s.topic, s.state) for s in stored]
    last = next(iter(ledger.events.get(CHAIN_ID, desc=True, limit=1)), None)
    chain = Chain.resume(last) if last is not None else Chain.start(timestamp)
    chain.seal(digests, timestamp)
    stored += [ledger.mapper.to_stored_event(e, actor) for e in chain.collect_events()]
    insert_events(ledger.recorder, stored)


@dataclass(frozen=True)
class Anchor:
    """Where a head was found: after the ``seal``-th seal (stored as row ``row``), covering the first
    ``position`` chained rows, sealed at ``recorded_at``."""

    head: str
    seal: int  # 0: GENESIS, the head of the empty chain, which every chain extends
    position: int
    row: int | None
    recorded_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"head": self.head, "seal": self.seal, "position": self.position, "row": self.row,
                "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None}


@dataclass
class Verification:
    rows: int = 0
    seals: int = 0
    head: str = GENESIS
    finding: Finding | None = None
    seal_problems: list[str] = field(default_factory=list)
    position: int = 0  # how many chained rows the sealed digests (and so ``head``) cover
    recorded_at: datetime | None = None  # the newest seal's recorded time (the last feed's)
    anchors: dict[str, Anchor] = field(default_factory=dict)  # the heads asked for that were found
    subject: dict[str, Any] | None = None  # what the first broken row is (`describe_row`), when it is in the log
    sealed_by: dict[str, Any] | None = None  # the seal that sealed the digest expected at the first problem

    @property
    def last_seal(self) -> dict[str, Any] | None:
        return ({"seals": self.seals, "position": self.position, "head": self.head,
                 "recorded_at": self.recorded_at.isoformat()} if self.recorded_at else None)

    @property
    def ok(self) -> bool:
        return self.finding is None and not self.seal_problems

    def intact(self, anchor: Anchor) -> bool:
        """The rows ``anchor`` covers are the rows found now, in place (the first difference is after them)."""
        return self.finding is None or self.finding.position > anchor.position

    def as_json(self) -> dict[str, Any]:
        first = None
        if self.finding:
            first = {**self.finding.as_json(), "subject": self.subject, "sealed_by": self.sealed_by}
        return {"ok": self.ok, "rows": self.rows, "seals": self.seals, "head": self.head,
                "first_problem": first, "seal_problems": self.seal_problems,
                "position": self.position, "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None}


def verify(ledger: Ledger, heads: Iterable[str] = ()) -> Verification:
    """Re-walk the whole log: every row's digest against the sealed sequence, every seal against its
    predecessor's head.

    ``heads``: anchors published earlier. Each is looked for among the running hashes of the sealed digests
    (recomputed from GENESIS, whatever the seals claim), one per seal; those found are in ``anchors``. A head
    is a hash over every digest before it, so finding it, with the rows it covers intact
    (`Verification.intact`), proves that prefix of the log is the one it was then, in the same order."""
    wanted = set(heads)
    out = Verification()
    if GENESIS in wanted:
        out.anchors[GENESIS] = Anchor(GENESIS, 0, 0, None, None)
    actual: list[tuple[int, str]] = []
    expected: list[str] = []
    seal_ends: list[tuple[int, int, datetime]] = []  # per seal: (position after it, its row, its recorded time)
    head = running = GENESIS
    for note in notifications(ledger.recorder):
        if note.topic not in CHAIN_TOPICS or note.originator_id != CHAIN_ID:
            actual.append((note.id, row_digest(note.originator_id, note.originator_version, note.topic, note.state)))
            continue
        try:
            event = ledger.mapper.to_domain_event(note)
        except Exception as e:  # noqa: BLE001 - a seal that no longer decodes was edited
            out.seal_problems.append(f"seal row {note.id} does not decode ({type(e).__name__}): edited")
            continue
        if isinstance(event, Chain.Sealed):
            out.seals += 1
            if event.prev != head or event.head != fold(event.prev, event.digests):
                out.seal_problems.append(f"seal row {note.id} does not follow its predecessor: edited, or a seal "
                                         "before it was deleted")
            head = event.head
            expected.extend(event.digests)
            seal_ends.append((len(expected), note.id, event.timestamp))
            running = fold(running, event.digests)
            out.recorded_at = event.timestamp
            if running in wanted and running not in out.anchors:
                out.anchors[running] = Anchor(running, out.seals, len(expected), note.id, event.timestamp)
    out.rows, out.head, out.position = len(actual), head, len(expected)
    out.finding = compare(actual, expected)
    if out.finding is not None:
        f = out.finding
        if f.row is not None:
            out.subject = describe_row(ledger, f.row)
        seal = next(((row, at) for end, row, at in seal_ends if end >= f.position), None)
        if seal is not None:
            out.sealed_by = {"row": seal[0], "recorded_at": seal[1].isoformat()}
    return out


# ----- what a row is -----

def _raw(state: bytes | str) -> dict[str, Any] | None:
    """A stored state as the JSON object it was written as; None when it no longer is one (edited)."""
    try:
        value = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _time(value: Any) -> str | None:
    """A time as stored (``{"_type_": "datetime_iso", "_data_": ISO}``): its ISO text, as recorded."""
    if isinstance(value, dict) and isinstance(value.get("_data_"), str):
        return value["_data_"]
    return value if isinstance(value, str) else None


def describe_row(ledger: Ledger, row: int) -> dict[str, Any] | None:
    """What the stored row ``row`` (a notification id) is, read from its raw state so that an edited row is
    still named: its stream (``instance``, ``account``, ``key``, ``chain``, or ``stream`` and its id when its
    name is lost), the fact's type, its line id, its business time ``at`` and its recorded time. Fields an edit
    made unreadable are None (``decodes`` false). None when no row has that id."""
    (note,) = ledger.recorder.select_notifications(start=row, limit=1, stop=row) or (None,)
    if note is None:
        return None
    state = _raw(note.state)
    fact = note.topic.rsplit(":", 1)[-1]
    out: dict[str, Any] = {"row": row, "stream": "stream", "name": str(note.originator_id),
                           "fact": fact.rsplit(".", 1)[-1],
                           "line": None, "at": None, "recorded_at": None, "decodes": state is not None}
    if state is not None:
        out.update(line=state.get("line") if isinstance(state.get("line"), str) else None,
                   at=_time(state.get("at")), recorded_at=_time(state.get("timestamp")))
    if note.originator_id == CHAIN_ID:
        out.update(stream="chain", name="the global log")
        return out
    topic, opening = (note.topic, state) if note.originator_version == 1 else _opening(ledger, note.originator_id)
    if opening is None:
        return out
    if fact.startswith("Key."):
        out.update(stream="key", name=f"{opening.get('kind')} id {opening.get('value')} of {opening.get('owner')}")
    elif isinstance(opening.get("name"), str):
        out.update(stream="account" if "Account." in topic else "instance", name=opening["name"])
    return out


def _opening(ledger: Ledger, originator_id: Any) -> tuple[str, dict[str, Any] | None]:
    """The topic and raw state of a stream's first row (its name is there)."""
    first = next(iter(ledger.recorder.select_events(originator_id, lte=1, limit=1)), None)
    return (first.topic, _raw(first.state)) if first is not None else ("", None)



# ----- one stream's rows against their seals (history) -----

def _stream_rows(recorder: Any, originator_id: Any) -> list[tuple[int, int, str, bytes]] | None:
    """Every stored row of one stream as ``(notification id, version, topic, state)``, by version; None on a
    store this module has no SQL for."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = (f"SELECT rowid, originator_version, topic, state FROM {recorder.events_table_name} "
                     "WHERE originator_id = ? ORDER BY originator_version")
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(statement, [originator_id.hex])
            return [(r[0], r[1], r[2], bytes(r[3])) for r in c.fetchall()]
    if postgres(recorder, "PostgresApplicationRecorder"):
        from psycopg.sql import SQL, Identifier

        query = SQL("SELECT notification_id, originator_version, topic, state FROM {schema}.{table} "
                    "WHERE originator_id = %s ORDER BY originator_version").format(
            schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, [originator_id])
            return [(r["notification_id"], r["originator_version"], r["topic"], bytes(r["state"]))
                    for r in curs.fetchall()]
    return None


def unverified_from(ledger: Ledger, originator_id: Any) -> int | None:
    """The first version of the stream ``originator_id`` that its seals do not vouch for (it and every later
    version are unverified), None when all are; 0 when the store cannot be checked this way.

    Bounded by the stream, not the log: each row's digest must be among the digests of the seal that follows
    it (the seal written with it, in the same transaction), that seal must hold together (its head is the fold
    of its predecessor's head over its digests), and the versions must run 1, 2, 3… with none missing. It finds
    an edited, deleted or inserted row of this stream, and one moved into another feed; a row of another
    stream, or a seal's link to its predecessor, is `verify`'s to check (it re-walks the whole log)."""
    rows = _stream_rows(ledger.recorder, originator_id)
    if rows is None:
        return 0
    seal_id, digests = 0, frozenset[str]()
    previous = 0
    for expected, (nid, version, topic, state) in enumerate(rows, start=1):
        if version != expected:
            return expected
        if not previous < nid < seal_id:  # the seal found for the previous row is not this row's
            seal_id, digests = _seal_after(ledger, nid)
        previous = nid
        if row_digest(originator_id, version, topic, state) not in digests:
            return version
    return None


def _seal_after(ledger: Ledger, nid: int) -> tuple[int, frozenset[str]]:
    """The first seal after row ``nid`` and the digests it vouches for (none if it does not hold together or
    decode; ``(0, ∅)`` when no seal follows)."""
    (note,) = ledger.recorder.select_notifications(start=nid + 1, limit=1, topics=[SEALED_TOPIC]) or (None,)
    if note is None:
        return 0, frozenset()
    try:
        seal = ledger.mapper.to_domain_event(note)
    except Exception:  # noqa: BLE001 - a seal that no longer decodes was edited
        return note.id, frozenset()
    if not isinstance(seal, Chain.Sealed) or seal.head != fold(seal.prev, seal.digests):
        return note.id, frozenset()
    return note.id, frozenset(seal.digests)
