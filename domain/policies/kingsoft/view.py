"""Bitemporal replay: an instance (or an account) as it stood at business time ``at``, as the ledger
knew it at ``known_at``.

1. keep the events recorded by ``known_at`` (recorded time = the event's ``timestamp``);
2. drop the facts that a retraction known by then voids (the retraction's recorded time decides);
3. keep the facts that had happened by ``at`` (business time), in business-time order;
4. fold them: orders with K-T3 validity, bindings, releases (K-L3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

from domain.instance import Account, Instance, known, live, opening, released_by
from domain.policies.kingsoft.events import BOUND, BillingModeChanged, Downgraded, Renewed, Upgraded
from domain.policies.kingsoft.orders import Order, build_orders
from domain.stream import Stream

CHANGES = (Renewed, Upgraded, Downgraded, BillingModeChanged)


@dataclass(frozen=True)
class InstanceView:
    name: str
    purchase: Any  # the opening fact (Purchased)
    orders: list[Order]
    facts: list[Instance.Event]  # live facts with ``at <= at``, business-time order
    eips: frozenset[str]
    disks: frozenset[str]
    kdrds: frozenset[str]
    released_by: str | None

    @cached_property
    def changes(self) -> list[Instance.Event]:
        """The facts after which it is no longer a new purchase (K-F3): renewals, upgrades, downgrades and
        billing-mode changes."""
        return [f for f in self.facts if isinstance(f, CHANGES)]

    @property
    def account(self) -> str:
        return self.purchase.account

    @property
    def product(self) -> str:
        return self.purchase.product

    @property
    def currency(self) -> str:
        return self.purchase.currency


def replay(name: str, events: Iterable[Any], at: datetime, known_at: datetime) -> InstanceView | None:
    """The instance at business time ``at`` as known at ``known_at``; None if no purchase had happened."""
    if isinstance(events, Stream) and events.covers(at, known_at):
        key = ("view", name)
        if key not in events.memo:
            events.memo[key] = _replay(name, events, at, known_at)
        return events.memo[key]
    return _replay(name, events, at, known_at)


def _replay(name: str, events: Iterable[Any], at: datetime, known_at: datetime) -> InstanceView | None:
    facts = [f for f in live(known(events, known_at)) if f.at <= at]
    purchase = opening(facts)
    if purchase is None:
        return None
    return InstanceView(
        name=name,
        purchase=purchase,
        orders=build_orders(facts),
        facts=facts,
        eips=bound(facts, "eip"),
        disks=bound(facts, "disk"),
        kdrds=bound(facts, "kdrds"),
        released_by=released_by(facts),
    )


class PriorApplication(NamedTuple):
    """An accepted refund application of the account (K-F4, K-F5, K-Q1 count these), as recorded on the account
    (``event``: its refund, business time, mode, products, quota), and whether staff rejected it since (K-Q2)."""

    event: Account.ApplicationAccepted
    rejected: bool

    def __getattr__(self, name: str) -> Any:  # refund, at, mode, products, counts_quota: the event's
        return getattr(self.event, name)


def applications(events: Iterable[Any], at: datetime, known_at: datetime) -> list[PriorApplication]:
    """The account's accepted applications up to business time ``at``, as known at ``known_at``."""
    facts = sorted((f for f in known(events, known_at) if f.at <= at), key=lambda f: f.at)
    rejected = {f.refund for f in facts if isinstance(f, Account.ApplicationRejected)}
    return [PriorApplication(f, f.refund in rejected)
            for f in facts if isinstance(f, Account.ApplicationAccepted)]


def bound(facts: Iterable[Any], attr: str) -> frozenset[str]:
    """What is bound to the instance after ``facts`` (its EIPs, disks or KDRDS: ``attr``), in order (K-F6..K-F8)."""
    on, off = BOUND[attr]
    out: set[str] = set()
    for f in facts:
        if isinstance(f, on):
            out.add(getattr(f, attr))
        elif isinstance(f, off):
            out.discard(getattr(f, attr))
    return frozenset(out)
