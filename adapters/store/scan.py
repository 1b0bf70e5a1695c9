"""Ledger-wide reads: every instance's name and events, page by page, so memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adapters.store.ledger import Ledger
from adapters.store.prefetch import select_many
from domain.instance import Instance
from domain.policies.korpro.subscription import Subscription
from domain.topics import aliases


def instance_names(ledger: Ledger, page: int = 1000) -> Iterator[tuple[Any, str]]:
    """Every instance (id, name), in the order they were opened, read page by page (flat memory)."""
    topics = [*aliases(Instance.Opened), *aliases(Subscription.Opened)]
    start = 1
    while True:
        batch = ledger.recorder.select_notifications(start=start, limit=page, topics=topics)
        for note in batch:
            yield note.originator_id, ledger.mapper.to_domain_event(note).name
        if len(batch) < page:
            return
        start = batch[-1].id + 1


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
