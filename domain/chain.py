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
    rows: tuple[int, ...] = ()  # the rows involved: for a reordering, every row out of place

    def as_json(self) -> dict[str, Any]:
        return {"position": self.position, "row": self.row, "kind": self.kind, "message": self.message,
                "rows": list(self.rows)}


def _same_rows(found: list[str], sealed: list[str]) -> bool:
    return len(found) == len(sealed) and sorted(found) == sorted(sealed)


def _reordered_until(actual: list[tuple[int, str]], expected: list[str], i: int) -> int | None:
    """Where a reordering that starts at the first difference ``i`` ends (inclusive), or None.

    The differing window runs from ``i`` to where the two sequences agree again up to their ends (their
    common tail). It is a reordering when the rows found there are the sealed digests in another order
    (the same multiset): a deleted digest is never found, an inserted or edited one was never sealed, so
    neither ever balances. When something else changed further on too (the window does not balance), a
    shorter window still counts if it balances and the rows agree again right after it."""
    found = [d for _, d in actual]
    tail = 0
    while (tail < min(len(found), len(expected)) - i
           and found[len(found) - 1 - tail] == expected[len(expected) - 1 - tail]):
        tail += 1
    if _same_rows(found[i:len(found) - tail], expected[i:len(expected) - tail]):
        return len(found) - tail - 1
    n = min(len(found), len(expected))
    balance: dict[str, int] = {}
    for j in range(i, n):
        for digest, step in ((found[j], 1), (expected[j], -1)):
            count = balance.get(digest, 0) + step
            if count:
                balance[digest] = count
            else:
                del balance[digest]
        if not balance and (j + 1 >= n or found[j + 1] == expected[j + 1]):
            return j
    return None


def compare(actual: list[tuple[int, str]], expected: list[str]) -> Finding | None:
    """The first difference between the rows found ``(notification id, digest)`` and the digests sealed.

    Pure. The kinds: ``reordered`` when, from the first difference on, the rows found are the sealed ones in
    another order (two rows swapped, adjacent or not, or a longer window permuted; ``rows`` names every row
    out of place); ``deleted`` when the row found there was sealed later (or sealed rows are missing at the
    end); ``inserted`` when it was never sealed and the sealed row follows it (or it is past the sealed end);
    ``edited`` otherwise."""
    n = min(len(actual), len(expected))
    i = next((k for k in range(n) if actual[k][1] != expected[k]), n)
    if i == n:
        if len(actual) == len(expected):
            return None
        if len(actual) < len(expected):
            return Finding(i + 1, None, "deleted", f"{len(expected) - i} sealed row(s) missing at the end of the log")
        row = actual[i][0]
        return Finding(i + 1, row, "inserted", f"row {row} was never sealed: inserted", (row,))
    row, a, e = actual[i][0], actual[i][1], expected[i]
    j = _reordered_until(actual, expected, i)
    if j is not None:
        moved = tuple(actual[k][0] for k in range(i, j + 1) if actual[k][1] != expected[k])
        if len(moved) == 2:
            message = f"rows {moved[0]} and {moved[1]} are swapped: reordered"
        else:
            message = (f"rows {row} to {actual[j][0]} hold the sealed rows {i + 1} to {j + 1} in another order "
                       f"({len(moved)} out of place): reordered")
        return Finding(i + 1, row, "reordered", message, moved)
    nxt_a = actual[i + 1][1] if i + 1 < len(actual) else None
    nxt_e = expected[i + 1] if i + 1 < len(expected) else None
    if a == nxt_e:
        return Finding(i + 1, row, "deleted", f"the sealed row before row {row} is missing: deleted", (row,))
    if nxt_a == e:
        return Finding(i + 1, row, "inserted", f"row {row} was never sealed: inserted", (row,))
    if a in expected[i + 1:]:
        missing = expected.index(a, i + 1) - i
        return Finding(i + 1, row, "deleted", f"{missing} sealed row(s) before row {row} are missing: deleted", (row,))
    return Finding(i + 1, row, "edited", f"row {row} differs from what was sealed: edited", (row,))
