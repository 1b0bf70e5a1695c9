"""Reads on a bare `Ledger`: an instance's events, a quote's judgement (`assess`), the refund lifecycle events,
overdue refunds and how a quote changed between two moments. Nothing here writes. The use cases in
`adapters.services.queries` take the App and call these; tests and the benchmark call them on a ledger directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from adapters.store.ledger import Ledger
from domain.errors import UnknownInstance
from domain.instance import Instance, account_id, instance_id, opening
from domain.lifecycle import Refund
from domain.policies import registry
from domain.policy import Context, Deadline
from domain.quote import Quote
from domain.topics import aliases
from projections import deadlines
from projections.diff import diff as projections_diff


def events_of(ledger: Ledger, name: str) -> Sequence[Any]:
    return ledger.streams.get(instance_id(name))


def iter_events(ledger: Ledger, names: list[str]) -> Iterator[tuple[str, Sequence[Any]]]:
    """The events of each instance named (the first one's, then those refunded ``with`` it)."""
    for i, name in enumerate(names):
        events = events_of(ledger, name)
        if not events:
            raise UnknownInstance(f"unknown instance {name!r}", "with" if i else "instance")
        yield name, events


def assess(ledger: Ledger, name: str, at: datetime, known_at: datetime, mode: str = "auto",
           with_: list[str] | None = None, overrides: dict[str, Any] | None = None,
           exception_report: str | None = None, reason: str | None = None, invoice: str | None = None) -> Quote:
    """The quote's judgement on a bare ledger: what a refund of ``name`` (and ``with_``) requested at ``at``
    would pay, judged on what the ledger knew at ``known_at`` by the policy the instance's product selects.
    Writes nothing. The quote use case, for every entrypoint, is `adapters.services.queries.quote` (the App,
    ``known_at`` defaulting to now, the mode checked), which calls this; so do ``diff``, the what-if replays,
    the tests and the benchmark, which hold a ledger, not an App."""
    instances = list(iter_events(ledger, [name, *(with_ or [])]))
    ctx = Context(instances=instances, load=ledger.streams.get, at=at,
                  known_at=known_at, mode=mode, exception_report=exception_report, reason=reason, invoice=invoice,
                  overrides=overrides or {})
    return registry.assess(ctx)


def refund_events(ledger: Ledger, known_at: datetime, page: int = 1000) -> list[tuple[str, Any]]:
    """Every refund lifecycle event in the ledger (`domain.lifecycle`: an event with ``advance``), with its
    instance, as known at ``known_at`` (read from the notification log, filtered by topic)."""
    from adapters.store.scan import notifications, opened_topics  # a log scan: not on a quote's path

    classes = [c for a in registry.aggregates() for c in (getattr(a, n) for n in dir(a))
               if isinstance(c, type) and hasattr(c, "advance")]
    topics = sorted({*opened_topics(), *(t for c in classes for t in aliases(c))})
    names: dict[Any, str] = {}
    pairs = []
    for note in notifications(ledger.recorder, topics, page):
        event = ledger.mapper.to_domain_event(note)
        if isinstance(event, Instance.Opened):
            names[event.originator_id] = event.name
        elif event.timestamp <= known_at:
            pairs.append((names[event.originator_id], event))
    return pairs


def overdue(ledger: Ledger, at: datetime, known_at: datetime, overrides: dict[str, Any] | None = None,
            holidays: Sequence[date] = ()) -> list[deadlines.Overdue]:
    """Refunds past a deadline at business time ``at``, as known at ``known_at``, each on its policy's
    calendar (K-L2; P-R2, P-R3, P-D1 of the version of P-V1), with ``overrides`` (``--set``) and extra
    ``holidays``. Writes nothing."""
    overrides = overrides or {}
    registry.check(overrides)

    def deadline_of(r: Refund) -> Deadline:
        policy = registry.named(r.policy)
        return policy.deadline(r, lambda i: list(ledger.streams.get(i)), known_at, registry.own(overrides, policy))

    return deadlines.overdue(refund_events(ledger, known_at), at, deadline_of, holidays)


def diff(ledger: Ledger, name: str, at: datetime, k1: datetime, k2: datetime, mode: str = "auto",
         with_: list[str] | None = None) -> dict[str, Any]:
    """The quote for ``at`` as known at ``k1`` vs ``k2``, and the recorded events that changed it."""
    def known_quote(k: datetime) -> Quote | None:
        try:
            return assess(ledger, name, at, k, mode, with_)
        except UnknownInstance:
            return None

    streams = list(iter_events(ledger, [name, *(with_ or [])]))
    purchase = opening(streams[0][1])
    if purchase is not None:
        streams.append((f"account {purchase.account}", ledger.streams.get(account_id(purchase.account))))
    pairs = [(stream, e) for stream, events in streams for e in events]
    return projections_diff(known_quote(k1), known_quote(k2), pairs, k1, k2)
