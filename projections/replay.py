"""Bitemporal replay: an instance as it stood at business time ``at``, as the ledger knew it at ``known_at``.

1. keep the events recorded by ``known_at`` (recorded time = the event's ``timestamp``);
2. drop the facts that a retraction known by then voids (the retraction's recorded time decides);
3. keep the facts that had happened by ``at`` (business time), in business-time order;
4. fold them: orders with K-T3 validity, bindings, billing mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.instance import Instance, live
from domain.orders import Order, build_orders


@dataclass(frozen=True)
class InstanceView:
    name: str
    purchase: Instance.Purchased
    orders: list[Order]
    facts: list[Instance.Event]  # live facts with ``at <= at``, business-time order
    eips: frozenset[str]
    disks: frozenset[str]
    kdrds: frozenset[str]

    @property
    def account(self) -> str:
        return self.purchase.account

    @property
    def product(self) -> str:
        return self.purchase.product

    @property
    def currency(self) -> str:
        return self.purchase.currency


def known(events: Iterable[Any], known_at: datetime) -> list[Instance.Event]:
    """Instance facts (retractions included) recorded by ``known_at``, in recorded order."""
    return [e for e in events
            if isinstance(e, Instance.Event) and not isinstance(e, Instance.Opened) and e.timestamp <= known_at]


def retractions(facts: Sequence[Instance.Event]) -> dict[str, Instance.Retracted]:
    return {f.target: f for f in facts if isinstance(f, Instance.Retracted)}


def replay(events: Iterable[Any], at: datetime, known_at: datetime) -> InstanceView | None:
    """The instance at business time ``at`` as known at ``known_at``; None if no purchase had happened."""
    facts = [f for f in live(known(events, known_at)) if f.at <= at]
    purchase = next((f for f in facts if isinstance(f, Instance.Purchased)), None)
    if purchase is None:
        return None
    return InstanceView(
        name=_name(events),
        purchase=purchase,
        orders=build_orders(facts),
        facts=facts,
        eips=_toggled(facts, Instance.EipBound, Instance.EipUnbound, "eip"),
        disks=_toggled(facts, Instance.DiskMounted, Instance.DiskUnmounted, "disk"),
        kdrds=_toggled(facts, Instance.KdrdsAssociated, Instance.KdrdsDeleted, "kdrds"),
    )


def _name(events: Iterable[Any]) -> str:
    for e in events:
        if isinstance(e, Instance.Opened):
            return e.name
    raise ValueError("event stream has no Opened event")


def _toggled(facts: list[Instance.Event], on: type, off: type, attr: str) -> frozenset[str]:
    out: set[str] = set()
    for f in facts:
        if isinstance(f, on):
            out.add(getattr(f, attr))
        elif isinstance(f, off):
            out.discard(getattr(f, attr))
    return frozenset(out)
