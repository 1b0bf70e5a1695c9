"""Tamper evidence: every recorded event is chained to its predecessor in the global log.

Each event row's digest is ``sha256`` over its stored bytes (aggregate id, version, topic, state). A
feed's rows are sealed, in the same transaction, by one ``Chain.Sealed`` event that lists their digests and
carries the running hash ``head = H(...H(H(prev, d1), d2)..., dn)``. Re-walking the log therefore proves
that no row was edited, deleted, inserted or reordered; `compare` says which row was first.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.instance import NAMESPACE

GENESIS = "0" * 64
CHAIN_ID = uuid.uuid5(NAMESPACE, "chain:global-log")


def row_digest(originator_id: Any, version: int, topic: str, state: bytes | str) -> str:
    """``state`` may come back as text from a row that was edited by hand: it still gets a digest."""
    h = hashlib.sha256()
    for part in (str(originator_id).encode(), str(version).encode(), topic.encode()):
        h.update(part + b"\x00")
    h.update(state.encode() if isinstance(state, str) else bytes(state))
    return h.hexdigest()


def link(prev: str, digest: str) -> str:
    return hashlib.sha256(f"{prev}:{digest}".encode()).hexdigest()


def fold(prev: str, digests: list[str]) -> str:
    for d in digests:
        prev = link(prev, d)
    return prev


class Chain(Aggregate):
    """The global log's running hash. Each ``Sealed`` event is a complete snapshot of it (``head``)."""

    class Started(Aggregate.Created):
        pass

    class Sealed(Aggregate.Event):
        prev: str
        head: str
        digests: list[str]

        def apply(self, chain: Chain) -> None:
            chain.head = self.head

    def __init__(self) -> None:
        self.head = GENESIS

    @classmethod
    def start(cls, timestamp: datetime) -> Chain:
        return cls._create(cls.Started, id=CHAIN_ID, timestamp=timestamp)

    @classmethod
    def resume(cls, last: Any) -> Chain:
        """The chain after its last event, without replaying the rest (each event carries the state)."""
        chain = cls.__new__(cls)
        chain.__base_init__(originator_id=last.originator_id, originator_version=last.originator_version,
                            timestamp=last.timestamp)
        chain.head = getattr(last, "head", GENESIS)
        return chain

    def seal(self, digests: list[str], timestamp: datetime) -> None:
        self.trigger_event(Chain.Sealed, timestamp=timestamp, prev=self.head, head=fold(self.head, digests),
                           digests=digests)


@dataclass(frozen=True)
class Finding:
    position: int  # 1-based position among the chained (non-seal) rows
    row: int | None  # the notification id of the row found there, if any
    kind: str  # edited | deleted | inserted | reordered | seal
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"position": self.position, "row": self.row, "kind": self.kind, "message": self.message}


def compare(actual: list[tuple[int, str]], expected: list[str]) -> Finding | None:
    """The first difference between the rows found ``(notification id, digest)`` and the digests sealed."""
    for i in range(max(len(actual), len(expected))):
        a = actual[i][1] if i < len(actual) else None
        e = expected[i] if i < len(expected) else None
        if a == e:
            continue
        row = actual[i][0] if i < len(actual) else None
        nxt_a = actual[i + 1][1] if i + 1 < len(actual) else None
        nxt_e = expected[i + 1] if i + 1 < len(expected) else None
        if a is None:
            return Finding(i + 1, None, "deleted", f"{len(expected) - i} sealed row(s) missing at the end of the log")
        if e is None:
            return Finding(i + 1, row, "inserted", f"row {row} was never sealed: inserted")
        if a == nxt_e and nxt_a == e:
            return Finding(i + 1, row, "reordered", f"rows {row} and {actual[i + 1][0]} are swapped")
        if a == nxt_e or (a in expected[i + 1:]):
            return Finding(i + 1, row, "deleted", f"the sealed row before row {row} is missing: deleted")
        if nxt_a == e:
            return Finding(i + 1, row, "inserted", f"row {row} was never sealed: inserted")
        return Finding(i + 1, row, "edited", f"row {row} differs from what was sealed: edited")
    return None
