"""The change feed: every recorded fact in log order, after an opaque cursor (``GET /v1/events``,
``billing-ledger events``; docs/http.md, "The change feed").

A fact is an instance's fact (what ``history`` lists: a purchase, a charge, a refund request, a decision, a
retraction...), shown in `adapters.services.queries.fact_row`'s shape (``history --json``'s) with its position
in the global log, its cursor, its instance and the instance's account. What else the log holds (a stream's
opening event, the account streams that serialise refund rules, name claims, the hash chain's seals, the
policy book) is not a fact and is passed over, the cursor moving past it all the same.

The cursor is the position of the last row read, never of the last fact shown: a page filtered to a key's
accounts or to some types moves on over what it does not show, and a reader never reads a row twice. Which
rows may be read at all (a page cut before a row that might still be preceded by an uncommitted one) is the
store's: `adapters.store.changes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from adapters.bootstrap import App
from adapters.formats.errors import BadInput
from adapters.formats.pages import cursor_position, position_cursor
from adapters.services.queries import fact_row
from adapters.store import changes as store
from domain.instance import Instance, opening
from domain.policies import registry

MAX_LIMIT = 1000  # facts per page
SCAN = 5000  # stored rows read per call at most (a narrowed key's page may hold few facts, or none)
_OWNERS: dict[UUID, tuple[str, str]] = {}  # an instance's stream -> (name, account): fixed once recorded
_KEEP = 65536


@dataclass(frozen=True)
class ChangePage:
    events: list[dict[str, Any]]
    next_cursor: str  # after the last row read: give it back as ``after``
    more: bool  # rows lie after ``next_cursor`` now (read again at once); False: at the end (or held back)
    position: int  # the position ``next_cursor`` names

    def as_json(self) -> dict[str, Any]:
        return {"events": self.events, "next_cursor": self.next_cursor, "more": self.more}


def fact_types() -> frozenset[str]:
    """Every type of fact a registered policy records (the feed's ``types``)."""
    found: set[str] = set()
    todo: list[type] = [Instance.Event]
    for aggregate in registry.aggregates():  # each policy's events are loaded with its aggregate
        todo.extend(v for v in vars(aggregate).values() if isinstance(v, type) and issubclass(v, Instance.Event))
    while todo:
        cls = todo.pop()
        if not issubclass(cls, Aggregate.Created) and cls.__name__ != "Event":  # a policy's base is no fact
            found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return frozenset(found)


def check_types(types: Iterable[str]) -> frozenset[str]:
    """``types`` (fact names, e.g. ``RefundApplied``), each one a registered policy records; else bad input."""
    wanted = frozenset(t for t in types if t)
    known = fact_types()
    unknown = sorted(wanted - known)
    if unknown:
        raise BadInput(None, f"{unknown[0]!r} is not a type of fact; one of {', '.join(sorted(known))}",
                       param="types")
    return wanted


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput(None, f"{limit} is not between 1 and {MAX_LIMIT}", param="limit")
    return limit


def _owner(ledger: Any, oid: UUID) -> tuple[str, str] | None:
    """The instance's name and the account its first opening fact names (retracted or not, as
    `adapters.services.listings.instance_account`); None before it has one."""
    found = _OWNERS.get(oid)
    if found is not None:
        return found
    events = [ledger.mapper.to_domain_event(s) for s in ledger.recorder.select_events(oid, limit=8)]
    head = opening(events)
    if head is None:
        events = list(ledger.streams.get(oid))
        head = opening(events)
    if head is None or not events or not isinstance(events[0], Instance.Opened):
        return None
    if len(_OWNERS) >= _KEEP:
        _OWNERS.clear()
    found = _OWNERS[oid] = (events[0].name, head.account)
    return found


def _shown(ledger: Any, note: Any, types: frozenset[str],
           accounts: Sequence[str] | None) -> dict[str, Any] | None:
    event = ledger.mapper.to_domain_event(note)
    if not isinstance(event, Instance.Event) or isinstance(event, Instance.Opened):
        return None
    if types and type(event).__name__ not in types:
        return None
    owner = _owner(ledger, note.originator_id)
    if accounts is not None and (owner is None or owner[1] not in accounts):
        return None
    return {"position": note.id, "cursor": position_cursor(note.id), "instance": owner[0] if owner else None,
            "account": owner[1] if owner else None, **fact_row(event)}


def changes(app: App, after: str | None = None, limit: int = 100, types: Iterable[str] = (),
            accounts: Sequence[str] | None = None) -> ChangePage:
    """The facts recorded after cursor ``after`` (none: from the start), at most ``limit``, only ``types`` if
    given, only ``accounts``' instances if given (a narrowed key's); reads at most `SCAN` stored rows."""
    position = cursor_position(after)
    check_limit(limit)
    wanted = check_types(types)
    ledger = app.ledger
    shown: list[dict[str, Any]] = []
    scanned, more = 0, True
    while len(shown) < limit and scanned < SCAN:
        notes, held = store.page_after(ledger.recorder, position, min(SCAN - scanned, max(limit, 200)))
        for note in notes:
            fact = _shown(ledger, note, wanted, accounts)
            position = note.id
            scanned += 1
            if fact is not None:
                shown.append(fact)
                if len(shown) >= limit:
                    break
        if held or not notes:
            more = False
            break
    else:
        more = True
    if more and len(shown) >= limit:
        more = position < store.head(ledger.recorder)
    return ChangePage(shown, position_cursor(position), more, position)
