"""Ledger-wide reads: every instance's name and events, page by page, so memory stays flat; and the store's
side of a partitioned job (`Partition`, `plan`, `pin`, `instances_in`, `shared`).

**Partitions.** A ledger-wide job (what-if, exports, reconciliation, the read models' rebuild) runs one pure
function per partition (``projections.partitions``) and assembles the rows. A partition is a range of
instances named by positions in the global log: the instances whose stream-opening notification (the
``Opened`` event of an instance aggregate of any registered policy, former topics included) has an id in
``[first, last]``. An instance has exactly one opening notification and keeps it for ever (a retracted
purchase frees the *name*, not the stream), so the ranges of one plan never share an instance, and an
instance opened after planning lies past the plan's last position and is in none of them. `plan` cuts the
instances opened up to a pinned position into consecutive ranges of ``size`` instances (the last one
shorter): they tile ``[1, last opening]`` in log order, so reading the partitions one after the other reads
the instances in the order they were opened, exactly as `stream_instances` does.

**Pinning.** A task judges what the ledger knew at one pinned ``known_at`` (and reads only the instances its
range names): the driver pins it once, when it plans, so every task sees the same ledger whatever is recorded
while the job runs. Without a ``known_at`` from the user it is the newest recorded time in the store
(`newest`), not the clock's "now": recorded time never goes backwards along the log, so that is the recorded
time of the newest notification. (A feed stamped exactly that time after planning, which only a clock behind
the store's or a preserved ``recorded_at`` can do, is by the ledger's own definition known at it.)

What a worker runs on one partition (`Task`, `Store`) is in ``adapters.store.tasks``.
"""

from __future__ import annotations

import sys
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEvent

from adapters.store.ledger import Ledger
from adapters.store.prefetch import notification_ids, opening_accounts, select_many
from domain.instance import Instance, account_id, opening
from domain.policies import registry
from domain.topics import aliases

PARTITION_SIZE = 1000  # instances per partition, unless a job says otherwise: at least this many, balanced


def pages(recorder: Any, topics: Sequence[str] = (), page: int = 1000, start: int = 1,
          stop: int | None = None) -> Iterator[list[Any]]:
    """The global log from notification ``start`` on, up to ``stop`` (inclusive) if given (only ``topics``, if
    given), ``page`` rows at a time."""
    while stop is None or start <= stop:
        batch = recorder.select_notifications(start=start, limit=page, stop=stop, topics=topics)
        if batch:
            yield batch
        if len(batch) < page:
            return
        start = batch[-1].id + 1


def notifications(recorder: Any, topics: Sequence[str] = (), page: int = 1000) -> Iterator[Any]:
    """Every stored row of the global log in order (only ``topics``, if given), read page by page."""
    for batch in pages(recorder, topics, page):
        yield from batch


def opened_topics() -> list[str]:
    """The topics of every policy's stream-opening event, former topics included."""
    return [t for a in registry.aggregates() for t in aliases(a.Opened)]


def instance_names(ledger: Ledger, page: int = 1000, first: int = 1,
                   last: int | None = None) -> Iterator[tuple[Any, str]]:
    """Every instance (id, name) opened at a log position in ``[first, last]`` (default: all), in the order
    they were opened, read page by page (flat memory)."""
    for batch in pages(ledger.recorder, opened_topics(), page, first, last):
        for note in batch:
            yield note.originator_id, ledger.mapper.to_domain_event(note).name


def _batches(ledger: Ledger, names: Iterable[tuple[Any, str | None]],
             batch: int) -> Iterator[list[tuple[str, list[Any]]]]:
    """The named instances with their events, ``batch`` instances at a time, each batch read in one query (a
    name not given: the one its stream was opened with)."""
    pending: list[tuple[Any, str | None]] = []

    def flush() -> list[tuple[str, list[Any]]]:
        stored = select_many(ledger.recorder, [i for i, _ in pending])
        out = []
        for aggregate_id, name in pending:
            rows = stored[aggregate_id] if stored is not None else ledger.recorder.select_events(aggregate_id)
            events = [ledger.mapper.to_domain_event(s) for s in rows]
            out.append((events[0].name if name is None else name, events))
        pending.clear()
        return out

    for pair in names:
        pending.append(pair)
        if len(pending) >= batch:
            yield flush()
    if pending:
        yield flush()


def _streams(ledger: Ledger, names: Iterable[tuple[Any, str | None]], batch: int) -> Iterator[tuple[str, list[Any]]]:
    """Each named instance with its events, reading ``batch`` instances per query (memory stays flat)."""
    for streams in _batches(ledger, names, batch):
        yield from streams


def stream_instances(ledger: Ledger, batch: int = 500) -> Iterator[tuple[str, list[Any]]]:
    """Every instance with its events, reading ``batch`` instances per query (memory stays flat)."""
    return _streams(ledger, instance_names(ledger), batch)


def instance_batches(ledger: Ledger, batch: int = 500) -> Iterator[list[tuple[str, list[Any]]]]:
    """`stream_instances`, a batch (one query) at a time: for a job that reads what the batch shares with it."""
    return _batches(ledger, instance_names(ledger), batch)


def accounts_of(ledger: Ledger, streams: Sequence[tuple[str, Sequence[Any]]]) -> dict[Any, list[Any]]:
    """The streams of the accounts that a batch's instances were opened under (by their opening fact's
    ``account``: what a Kingsoft quote reads besides the instance), read in one query; an account with no
    stored event is an empty stream (it was asked for: nothing to ask again); none on a store without a
    many-aggregate query (`adapters.store.prefetch.select_many`)."""
    ids = []
    for _, events in streams:
        account = getattr(opening(events), "account", None)
        if account is not None:
            ids.append(account_id(account))
    stored = select_many(ledger.recorder, ids)
    if stored is None:
        return {}
    return {i: [ledger.mapper.to_domain_event(s) for s in rows] for i, rows in stored.items()}


# ----- partitions -----

@dataclass(frozen=True)
class Partition:
    """The instances whose stream-opening notification id lies in ``[first, last]`` (``instances`` of them
    when planned). Three integers: cheap to pickle and to send to a worker."""

    first: int
    last: int
    instances: int


@dataclass(frozen=True)
class AccountPartition:
    """Whole accounts: every instance an opening fact of one of the accounts ``[first, last]`` (by name) names,
    as their stream ids packed 16 bytes each (``ids``, ordered by account, then by opening). Cut by
    `plan_accounts`, so that a job whose figures need an account's instances together (the account ledger,
    the read models' months, the journal) does all of its work on the partition: no account is in two."""

    first: str
    last: str
    instances: int
    ids: bytes = field(repr=False)
    position: int = 0  # the share of the pinned log position the partitions up to this one stand for

    def streams(self) -> Iterator[tuple[Any, None]]:
        """The partition's instances (stream id, name unknown until its events are read)."""
        ids = self.ids
        return ((UUID(bytes=ids[i:i + 16]), None) for i in range(0, len(ids), 16))


AnyPartition = Partition | AccountPartition  # a range of the log, or whole accounts


def opening_fact_topics() -> list[str]:
    """The topics of every policy's opening facts (``OPENS``: the fact that names the instance's account),
    former topics included: every event class below the registered aggregates' events that says it opens."""
    registry.aggregates()  # every policy imported, so that its event classes exist

    def below(cls: type) -> Iterator[type]:
        sub: type
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    def current(cls: type) -> bool:  # the class its module holds now (not one of a module imported again)
        found: Any = sys.modules.get(cls.__module__)
        for part in cls.__qualname__.split("."):
            found = getattr(found, part, None)
        return found is cls

    return sorted({t for c in below(Instance.Event) if getattr(c, "OPENS", False) and current(c) for t in aliases(c)})


def plan_accounts(ledger: Ledger, position: int,
                  size: int | None = PARTITION_SIZE) -> tuple[AnyPartition, ...]:
    """The instances opened up to ``position`` cut into `AccountPartition` s of whole accounts, consecutive by
    account name, each closed at the first account boundary at or past ``size`` instances (``None``:
    `PARTITION_SIZE`, a last one shorter than half of it joined to the one before); the accounts' names and
    instance ids sorted by the database (`prefetch.opening_accounts`).

    One exact fallback: when an instance names more than one account (a purchase retracted and the name bought
    again by another account), the accounts it links are not separable this way, and the plan is the whole
    log as one range `Partition` (every job's figures from one task, as `plan` with one partition gives). So is
    any store without that query."""
    found = opening_accounts(ledger.recorder, opening_fact_topics(), position)
    if found is None:
        return _whole(ledger, position)
    least = PARTITION_SIZE if size is None else size
    if least < 1:
        raise ValueError(f"a partition holds at least one instance, not {least!r}")
    parts: list[AccountPartition] = []
    ids: list[bytes] = []
    first = previous = ""
    for batch in found:
        for instance, account, accounts in batch:
            if accounts > 1:
                return _whole(ledger, position)
            if account != previous and len(ids) >= least:
                parts.append(AccountPartition(first, previous, len(ids), b"".join(ids)))
                ids = []
            if not ids:
                first = account
            ids.append(instance.bytes)
            previous = account
    if ids and parts and size is None and len(ids) < least // 2:  # a short tail joins the partition before
        last = parts.pop()
        parts.append(AccountPartition(last.first, previous, last.instances + len(ids), last.ids + b"".join(ids)))
    elif ids:
        parts.append(AccountPartition(first, previous, len(ids), b"".join(ids)))
    count = sum(p.instances for p in parts)
    done = 0
    for i, p in enumerate(parts):  # the log position each stands for, in progress reports
        done += p.instances
        parts[i] = replace(p, position=position * done // count)
    return tuple(parts)


def _whole(ledger: Ledger, position: int) -> tuple[Partition, ...]:
    ids = opening_ids(ledger, position)
    return (Partition(1, ids[-1], len(ids)),) if ids else ()


def newest(ledger: Ledger) -> tuple[int, datetime | None]:
    """The log's newest position and its recorded time (the newest in the store); ``(0, None)`` when empty."""
    top = ledger.recorder.max_notification_id() or 0
    if not top:
        return 0, None
    (note,) = ledger.recorder.select_notifications(start=top, limit=1)
    return top, ledger.mapper.to_domain_event(note).timestamp


def opening_ids(ledger: Ledger, upto: int | None = None) -> array[int]:
    """The log positions of the instances' opening notifications up to ``upto`` (default: the whole log), in
    order: ids only, read in large pages (`prefetch.notification_ids`), 8 bytes an instance."""
    top = (ledger.recorder.max_notification_id() or 0) if upto is None else upto
    ids = array("q")
    for batch in notification_ids(ledger.recorder, opened_topics(), top):
        ids.extend(batch)
    return ids


def opened(ledger: Ledger, upto: int | None = None) -> int:
    """How many instances were opened at a log position up to ``upto`` (default: the whole log)."""
    return len(opening_ids(ledger, upto))


def balanced(count: int, least: int = PARTITION_SIZE) -> int:
    """The partition size that cuts ``count`` instances into as many nearly equal ranges as hold at least
    ``least`` instances each (the last may be a few shorter); one range when there are fewer."""
    parts = max(1, count // least)
    return max(1, -(-count // parts))


def cut(ids: Sequence[int], size: int) -> list[Partition]:
    """The opening positions ``ids`` (in log order) cut into consecutive ranges of ``size`` instances (the last
    one may be shorter) that tile the log from 1 to the last opening: the first starts at 1, each next one
    right after the previous one's last instance."""
    if size < 1:
        raise ValueError(f"a partition holds at least one instance, not {size!r}")
    parts: list[Partition] = []
    first = 1
    for i in range(0, len(ids), size):
        last = ids[min(i + size, len(ids)) - 1]
        parts.append(Partition(first, last, min(size, len(ids) - i)))
        first = last + 1
    return parts


def plan(ledger: Ledger, size: int = PARTITION_SIZE, upto: int | None = None) -> list[Partition]:
    """The instances opened at a log position up to ``upto`` (default: the whole log), `cut` in log order into
    consecutive ranges of ``size`` instances."""
    if size < 1:
        raise ValueError(f"a partition holds at least one instance, not {size!r}")
    return cut(opening_ids(ledger, upto), size)


NOTHING_RECORDED = datetime.min.replace(tzinfo=UTC)  # the pinned time of an empty store: before anything


@dataclass(frozen=True)
class Pinned:
    """One job's view of the ledger, fixed when it is planned: the partitions of the instances opened up to
    ``position`` (the newest notification then), judged as known at ``known_at``."""

    position: int
    known_at: datetime
    partitions: tuple[AnyPartition, ...]


def pin(ledger: Ledger, size: int | None = PARTITION_SIZE, known_at: datetime | None = None, *,
        by_account: bool = False) -> Pinned:
    """Pin the ledger for one job: its newest position, ``known_at`` (default: the newest recorded time; a
    later one is that time too: the store knows nothing later yet), and the partitions up to that position:
    ranges of ``size`` instances, or (``size=None``) `balanced` ranges of at least `PARTITION_SIZE` (the
    instances are counted first); ``by_account``: `plan_accounts`' partitions of whole accounts."""
    position, recorded = newest(ledger)
    if recorded is None:
        pinned = known_at or NOTHING_RECORDED
    else:
        pinned = recorded if known_at is None else min(known_at, recorded)
    if not position:
        return Pinned(position, pinned, ())
    if by_account:
        return Pinned(position, pinned, plan_accounts(ledger, position, size))
    ids = opening_ids(ledger, position)  # one pass over the openings, ids only
    return Pinned(position, pinned, tuple(cut(ids, balanced(len(ids)) if size is None else size)))


def instances_in(ledger: Ledger, partition: AnyPartition, batch: int = 500) -> Iterator[tuple[str, list[Any]]]:
    """The partition's instances with all their stored events, in the order they were opened, ``batch``
    instances per query (memory stays flat). Events recorded after the job's pinned ``known_at`` are the
    per-partition function's to leave out. (An `AccountPartition`: its instances, in its order.)"""
    if isinstance(partition, AccountPartition):
        return _streams(ledger, partition.streams(), batch)
    return _streams(ledger, instance_names(ledger, first=partition.first, last=partition.last), batch)


def shared(ledger: Ledger, known_at: datetime, keep: int = 64) -> Callable[[Any], list[Any]]:
    """``load(aggregate_id)``: another stream (an account, a policy book, an instance refunded with another's
    application) as recorded by ``known_at``; the ``keep`` most recently read are kept (memory stays flat)."""
    recent: OrderedDict[Any, list[Any]] = OrderedDict()

    def load(aggregate_id: Any) -> list[Any]:
        if aggregate_id in recent:
            recent.move_to_end(aggregate_id)
        else:
            stored = cast("Iterator[DomainEvent]", ledger.events.get(aggregate_id))  # the ledger's: all timestamped
            recent[aggregate_id] = [e for e in stored if e.timestamp <= known_at]
            if len(recent) > keep:
                recent.popitem(last=False)
        return recent[aggregate_id]

    return load
