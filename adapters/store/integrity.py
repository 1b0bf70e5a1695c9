"""Sealing each saved batch into the hash chain, and re-walking the log to verify it (``billing-ledger verify``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.utils import get_topic

from adapters.store.insert import insert_events
from adapters.store.ledger import Ledger
from adapters.store.scan import notifications
from domain.chain import CHAIN_ID, GENESIS, Chain, Finding, compare, fold, row_digest

CHAIN_TOPICS = {get_topic(Chain.Started), get_topic(Chain.Sealed)}


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

    @property
    def ok(self) -> bool:
        return self.finding is None and not self.seal_problems

    def intact(self, anchor: Anchor) -> bool:
        """The rows ``anchor`` covers are the rows found now, in place (the first difference is after them)."""
        return self.finding is None or self.finding.position > anchor.position

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "seals": self.seals, "head": self.head,
                "first_problem": self.finding.as_json() if self.finding else None, "seal_problems": self.seal_problems,
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
            running = fold(running, event.digests)
            out.recorded_at = event.timestamp
            if running in wanted and running not in out.anchors:
                out.anchors[running] = Anchor(running, out.seals, len(expected), note.id, event.timestamp)
    out.rows, out.head, out.position = len(actual), head, len(expected)
    out.finding = compare(actual, expected)
    return out
