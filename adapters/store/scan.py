"""Ledger-wide reads: every instance's name and events, page by page, so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from adapters.store.ledger import Ledger
from adapters.store.prefetch import select_many
from domain.policies import registry
from domain.topics import aliases


def pages(recorder: Any, topics: Sequence[str] = (), page: int = 1000, start: int = 1) -> Iterator[list[Any]]:
    """The global log from notification ``start`` on (only ``topics``, if given), ``page`` rows at a time."""
    while True:
        batch = recorder.select_notifications(start=start, limit=page, topics=topics)
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


def instance_names(ledger: Ledger, page: int = 1000) -> Iterator[tuple[Any, str]]:
    """Every instance (id, name), in the order they were opened, read page by page (flat memory)."""
    for note in notifications(ledger.recorder, opened_topics(), page):
        yield note.originator_id, ledger.mapper.to_domain_event(note).name


def stream_instances(ledger: Ledger, batch: int = 500) -> Iterator[tuple[str, list[Any]]]:
    """Every instance with its events, reading ``batch`` instances per query (memory stays flat)."""
    pending: list[tuple[Any, str]] = []

    def flush() -> Iterator[tuple[str, list[Any]]]:
        stored = select_many(ledger.recorder, [i for i, _ in pending])
        for aggregate_id, name in pending:
            rows = stored[aggregate_id] if stored is not None else ledger.recorder.select_events(aggregate_id)
            yield name, [ledger.mapper.to_domain_event(s) for s in rows]
        pending.clear()

    for pair in instance_names(ledger):
        pending.append(pair)
        if len(pending) >= batch:
            yield from flush()
    yield from flush()
