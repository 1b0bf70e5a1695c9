"""Application services: load aggregates, call the domain, save in one transaction, translate errors.

``record`` applies a whole feed in memory and stores the new events of every touched aggregate, with
the hash chain's seal over them, in one insert (one transaction, optimistic concurrency on every
aggregate): a feed is recorded all or nothing. The clock is the caller's (``now``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import IntegrityError, OperationalError

from adapters.formats import envelope
from adapters.formats.errors import PROBLEMS_MAX, BadFeed, BadInput
from adapters.store.ledger import Ledger
from adapters.store.prefetch import select_many
from domain.errors import Conflict, Inconsistent, LedgerError, UnknownInstance, UnknownReference
from domain.instance import Account, Instance, Key, account_id, instance_id, key_id
from domain.policies import registry
from domain.timeutil import readable

if TYPE_CHECKING:  # the feed's pydantic models load only where a feed is parsed
    from adapters.formats import feed


@dataclass
class RecordResult:
    recorded: int = 0
    duplicates: int = 0
    denied: int = 0
    lines: int | None = None  # the feed's (non-blank) lines; 0: an empty feed, nothing was opened or written

    def as_json(self) -> dict[str, int]:
        return {"lines": self.lines or 0, "recorded": self.recorded, "duplicates": self.duplicates,
                "denied": self.denied}


def fold(aggregate: Any, events: Any) -> Any:
    """Reconstruct an aggregate by mutating it with each event (skips the library's per-event runtime
    Protocol check, which dominated reconstruction)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


@dataclass
class UnitOfWork:
    """Aggregates loaded or created while applying one feed, by id; saved together. A policy sees it as a
    `domain.policy.Session`."""

    ledger: Ledger
    loaded: dict[UUID, Any] = field(default_factory=dict)  # None: read, and not in the store
    denied: int = 0
    latest: datetime | None = None  # the newest recorded time among the loaded aggregates
    stamp: datetime | None = None  # the last recorded time given to this feed's events
    prefetched: dict[Any, list[Any]] = field(default_factory=dict)  # stored events read ahead, by aggregate id
    before: dict[UUID, tuple[Any, int]] = field(default_factory=dict)  # this line's aggregates as it found them

    def begin(self) -> None:
        """A line starts: remember each aggregate it reaches as it was (`undo`)."""
        self.before = {}

    def undo(self) -> None:
        """Take back what the current line did (it was refused), so that the next lines are judged without it:
        each aggregate it created is dropped, each one it changed is rebuilt from the store and the feed's
        earlier events. Only on a refused line (a feed that will not be written): it re-reads the store."""
        for aggregate_id, (found, pending) in self.before.items():
            now = self.loaded.get(aggregate_id)
            if found is None:
                self.loaded[aggregate_id] = None
            elif now is not found or len(now.pending_events) != pending:
                kept = list(found.pending_events[:pending])
                try:
                    stored = self.ledger.repository.get(aggregate_id, projector_func=fold)
                except AggregateNotFoundError:
                    stored = None
                rebuilt = fold(stored, kept)
                if rebuilt is not None:
                    rebuilt._pending_events = kept  # noqa: SLF001 - the library's pending list, to be saved
                self.loaded[aggregate_id] = rebuilt
        self.before = {}

    def prefetch(self, lines: list[feed.FeedLine]) -> None:
        """Read every aggregate the feed names, in a few queries (see `adapters.store.prefetch`)."""
        ids = [i for p in registry.POLICIES for i in p.prefetch]
        for line in lines:
            c = vars(line.command)  # the model's fields (pydantic's getattr is slow for absent ones)
            ids += [instance_id(c[a]) for a in ("instance", "eip", "disk") if c.get(a)]
            ids += [instance_id(w) for w in c.get("with_", ())]
            ids += [key_id("line", v) for v in (c["id"], c.get("target")) if v]
            ids += [key_id(kind, c[kind]) for kind in ("order", "refund") if c.get(kind)]
            if c.get("account"):
                ids.append(account_id(c["account"]))
        self.prefetched = select_many(self.ledger.recorder, ids) or {}

    def get(self, aggregate_id: UUID, create: Callable[[], Any] | None = None) -> Any:
        """The aggregate (read once per feed), or ``create()``'s new one when the store has none."""
        if aggregate_id not in self.loaded:
            self.loaded[aggregate_id] = self._read(aggregate_id)
        if aggregate_id not in self.before:
            found = self.loaded[aggregate_id]
            self.before[aggregate_id] = (found, len(found.pending_events) if found is not None else 0)
        if self.loaded[aggregate_id] is None and create is not None:
            self.loaded[aggregate_id] = create()
        return self.loaded[aggregate_id]

    def facts(self, aggregate_id: UUID) -> list[Any]:
        """An aggregate's facts as they stand in this feed (its pending ones included)."""
        aggregate = self.get(aggregate_id)
        return aggregate.facts if aggregate is not None else []

    def instance(self, name: str) -> Instance | None:
        return self.get(instance_id(name))

    def require(self, name: str, field_name: str = "instance") -> Instance:
        inst = self.instance(name)
        if inst is None:
            raise UnknownInstance(f"unknown instance {name!r}", field_name)
        inst.require_purchase(field_name)
        return inst

    def open(self, name: str, at: datetime, timestamp: datetime, kind: type[Instance] = Instance) -> Any:
        def create() -> Instance:
            return kind._create(kind.Opened, id=instance_id(name), name=name, at=at, line=None, timestamp=timestamp)

        inst = self.get(instance_id(name), create)
        if type(inst) is not kind:
            raise Conflict(f"{name!r} is already a {type(inst).__name__}, not a {kind.__name__}", "instance")
        return inst

    def account(self, name: str, timestamp: datetime) -> Account:
        return self.get(account_id(name), lambda: Account.open(name, timestamp))

    def key(self, kind: str, value: str) -> Key | None:
        return self.get(key_id(kind, value))

    def claim(self, kind: str, value: str, owner: str, digest: str, timestamp: datetime) -> None:
        key = self.key(kind, value)
        if key is None:
            self.loaded[key_id(kind, value)] = Key.claim(kind, value, owner, digest, timestamp)
        else:
            key.reclaim(owner, digest, timestamp)

    def _read(self, aggregate_id: Any) -> Any:
        if aggregate_id in self.prefetched:
            stored = self.prefetched.pop(aggregate_id)
            if not stored:
                return None
            aggregate = fold(None, map(self.ledger.mapper.to_domain_event, stored))
        else:
            try:
                aggregate = self.ledger.repository.get(aggregate_id, projector_func=fold)
            except AggregateNotFoundError:
                return None
        if self.latest is None or aggregate.modified_on > self.latest:
            self.latest = aggregate.modified_on
        return aggregate

    def dirty(self) -> list[Any]:
        return [a for a in self.loaded.values() if a is not None and a.pending_events]


def last_recorded_at(ledger: Ledger) -> datetime | None:
    """The recorded time of the newest event in the store."""
    top = ledger.recorder.max_notification_id()
    if not top:
        return None
    note = ledger.recorder.select_notifications(start=top, limit=1)[0]
    event = cast(DomainEvent, next(iter(ledger.events.get(note.originator_id, gt=note.originator_version - 1,
                                                           lte=note.originator_version))))
    return event.timestamp


class ConcurrentWriters(RuntimeError):
    """Other writers kept changing the same aggregates; nothing of this feed was written."""


class _StaleClock(Exception):
    """The feed's recorded time precedes a fact it was judged on (another writer's clock ran ahead)."""

    def __init__(self, latest: datetime) -> None:
        self.latest = latest


Clock = Callable[[], datetime]


def record(ledger: Ledger, lines: list[feed.FeedLine], now: datetime | Clock, *, preserve_recorded_at: bool = False,
           attempts: int = 30, actor: str | None = None, at_recorded: bool = False) -> RecordResult:
    """Apply a validated feed atomically.

    ``at_recorded``: each line's business time (``at``) is replaced by the time it is recorded, on every attempt:
    a request made now (the refund center's, `adapters.services.refund_steps`). A concurrent writer that saved
    first thus always lies before it in business time too, so a rule that counts what came before (K-Q1, K-F4,
    K-F5) sees it.

    Every decision is judged on what the ledger knows at the feed's recorded time, and that time is
    never earlier than any fact the decision rests on. When a concurrent writer saved one of the same
    aggregates first (optimistic concurrency: the save fails whole), the clock is read again and the
    feed is judged again against the new state.
    """
    from adapters.store.integrity import save_sealed  # the hash chain: only where events are written

    clock: Clock = now if callable(now) else (lambda: now)
    floor: datetime | None = None
    for attempt in range(attempts):
        uow = UnitOfWork(ledger)
        uow.prefetch(lines)
        try:
            result = apply_feed(uow, ledger, lines, clock(), preserve_recorded_at, floor, at_recorded)
        except _StaleClock as stale:
            floor = stale.latest
            continue
        dirty = uow.dirty()
        if not dirty:
            return result  # nothing new (e.g. only duplicates): nothing to write, not even a seal
        try:
            save_sealed(ledger, dirty, uow.stamp or clock(), actor)
            return result
        except (IntegrityError, OperationalError):
            time.sleep(random.uniform(0.005, 0.05) * min(attempt + 1, 5))
    raise ConcurrentWriters(f"gave up after {attempts} attempts: other writers kept changing the same instances "
                            "or account; nothing was written, record the feed again")


def dry_run(ledger: Ledger, lines: list[feed.FeedLine], now: Clock, *, at_recorded: bool = False) -> UnitOfWork:
    """Apply a validated feed exactly as `record` would, on what the store holds now, and write nothing: the
    unit of work, every event the feed would record pending in it (a preview: the refund center's confirmation
    step, `adapters.services.refund_steps.preview_application`). Raises `BadFeed` as `record` does."""
    floor: datetime | None = None
    while True:
        uow = UnitOfWork(ledger)
        uow.prefetch(lines)
        try:
            apply_feed(uow, ledger, lines, now(), False, floor, at_recorded)
            return uow
        except _StaleClock as stale:  # the clock behind a fact it rests on: judged again after it, as `record`
            floor = stale.latest


def apply_feed(uow: UnitOfWork, ledger: Ledger, lines: list[feed.FeedLine], now: datetime, preserve: bool,
               floor: datetime | None = None, at_recorded: bool = False) -> RecordResult:
    """Apply every line in order; a line refused is undone (`UnitOfWork.begin`, `undo`) and the next ones are
    judged without it. Raises `BadFeed` listing every refused line (the first ``PROBLEMS_MAX``)."""
    result = RecordResult()
    problems: list[BadInput] = []
    last = last_recorded_at(ledger)
    floor = max(t for t in (last, floor) if t is not None) if (last or floor) else None
    stamp = max(now, floor) if floor else now  # recorded time never goes backwards
    for line in lines:
        if len(problems) == PROBLEMS_MAX:
            raise BadFeed(problems, truncated=True)
        uow.begin()
        try:
            c = line.command
            if at_recorded:
                c = c.model_copy(update={"at": stamp})
            if c.recorded_at is not None and not preserve:
                raise BadInput(line.number, "recorded_at: only allowed with record --preserve-recorded-at")
            if preserve:
                stamp = _preserved(line, now, floor)
            if c.id is not None:
                key = uow.key("line", c.id)
                if key is not None and key.active:
                    if key.digest == line.digest:
                        result.duplicates += 1
                        floor = stamp if preserve else floor
                        continue
                    raise BadInput(line.number, f"id: {c.id!r} was already recorded with other content")
            try:
                owner = dispatch(uow, c, stamp)
                if getattr(c, "months", None) is not None:
                    _check_validity(uow, owner, line.number)
                if c.id is not None:
                    uow.claim("line", c.id, owner, line.digest, stamp)
            except LedgerError as e:
                raise BadInput(line.number, str(e)) from None
            if uow.latest is not None and uow.latest > stamp:
                if preserve:
                    raise BadInput(line.number, f"recorded_at: {readable(stamp, exact=True)} is before "
                                                f"{readable(uow.latest, exact=True)}, when a fact it concerns was "
                                                "recorded")
                raise _StaleClock(uow.latest)
        except BadInput as e:
            uow.undo()
            problems.append(e)
            continue
        floor = stamp if preserve else floor
        uow.stamp = stamp
        result.recorded += 1
    if problems:
        raise BadFeed(problems)
    result.denied = uow.denied
    return result


def _check_validity(uow: UnitOfWork, name: str, number: int) -> None:
    """The envelope: a term (and renewals placed in advance, which stack) may not make an instance valid beyond
    ``envelope.VALIDITY_MAX``, so every date derived from its orders stays representable."""
    inst = uow.instance(name)
    if inst is None or inst.purchase is None:
        return
    head = inst.purchase
    ends = [p.end for p in registry.for_product(head.product).orders(head, inst.live_facts())]
    if ends and max(ends) > envelope.VALIDITY_MAX:
        zone = registry.calendar_tz(registry.for_product(head.product))
        raise BadInput(number, f"months: the instance would be valid until {readable(max(ends), zone)}, beyond the "
                               f"envelope's last day of validity ({envelope.VALIDITY_MAX.date()})")


def _preserved(line: feed.FeedLine, now: datetime, floor: datetime | None) -> datetime:
    ts = line.command.recorded_at
    if ts is None:
        raise BadInput(line.number, "recorded_at: missing required field (record --preserve-recorded-at)")
    if ts > now:
        raise BadInput(line.number, f"recorded_at: {readable(ts, exact=True)} lies in the future")
    if floor is not None and ts < floor:
        raise BadInput(line.number, f"recorded_at: {readable(ts, exact=True)} is before {readable(floor, exact=True)}, "
                                    "the ledger's (or the previous line's) recorded time")
    return ts


# ----- one command: the policy that owns it, or the policy of the instance or refund it concerns -----

def dispatch(uow: UnitOfWork, c: Any, ts: datetime) -> str:
    """Record one command; returns the instance (stream) the line is recorded on."""
    handler = registry.command(c.type)
    if handler is not None:
        return handler(uow, c, ts)
    if c.type == "retract":
        return retract(uow, c, ts)
    if c.type == "request_refund":
        inst = uow.require(c.instance)
    else:  # a step of a refund's lifecycle, on the stream that owns the refund
        key = uow.key("refund", c.refund)
        if key is None:
            raise UnknownReference(f"no refund {c.refund!r} was requested", "refund")
        owner = uow.instance(key.owner)
        assert owner is not None, "a refund key always names an existing instance"
        inst = owner
    policy = registry.for_product(inst.require_purchase().product)
    step = policy.refund_commands.get(c.type)
    if step is None:
        raise Inconsistent(f"refund {c.refund!r} is judged by {policy.name}, whose refunds take "
                           f"{', '.join(k for k in policy.refund_commands if k != 'request_refund')}; "
                           f"not {c.type}", "type")
    step(uow, inst, c, ts)
    return inst.name


def retract(uow: UnitOfWork, c: Any, ts: datetime) -> str:
    """Void the fact recorded by line ``target`` (history keeps both); a retracted order frees its order id."""
    key = uow.key("line", c.target)
    if key is None:
        raise UnknownReference(f"no line with id {c.target!r} was recorded", "target")
    inst = uow.instance(key.owner)
    if inst is None:
        raise Inconsistent(f"line {c.target!r} is not a fact about an instance ({key.owner}): it cannot be "
                           "retracted", "target")
    target = next(f for f in inst.facts if f.line == c.target)
    inst.retract(target=c.target, reason=c.reason, at=c.at, line=c.id, timestamp=ts)
    order = getattr(target, "order", None)
    if order is not None:
        order_key = uow.key("order", order)
        if order_key is not None and order_key.active:
            order_key.release(ts)
    return key.owner
