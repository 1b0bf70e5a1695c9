"""Listings over the whole ledger, as known at ``known_at``: instances, accounts, refunds.

Each reads the ledger one batch of instances at a time and keeps only the (small) rows it returns. An
instance is listed when its opening fact (purchase or subscription) was recorded by ``known_at`` and is
not retracted. An omitted ``known_at`` is the App's clock now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.bootstrap import App
from adapters.services import finance, reads
from adapters.store.scan import stream_instances
from domain.instance import known, live, opening, released_by
from domain.policies import registry

OPEN_REFUND_STATES = ("accepted", "requested", "approved", "escalated")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# ``accounts`` (every listing): only rows of these accounts (an API key's narrowing); None: every account.
# ``after`` (every listing): only rows whose sort key (``sort_key`` of the row class) comes after it, for
# cursor pagination; with ``limit``, a page.


def _within(account: str, accounts: Collection[str] | None) -> bool:
    return accounts is None or account in accounts


def instance_account(app: App, instance: str) -> str | None:
    """The account that ``instance`` was opened for (its first opening fact recorded by now, retracted or not),
    or None when the ledger knows no such instance."""
    head = opening(known(reads.events_of(app.ledger, instance), app.now()))
    return head.account if head is not None else None


def instance_zone(app: App, instance: str) -> str | None:
    """The business time zone (``calendar_tz``, ±HH:MM) of the policy that judges ``instance`` (by its first
    opening fact recorded by now), in which people read its times; None when the ledger knows no such instance
    or its policy has none (its times are then read in UTC)."""
    head = opening(known(reads.events_of(app.ledger, instance), app.now()))
    return registry.calendar_tz(registry.for_product(head.product)) if head is not None else None


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


@dataclass(frozen=True)
class InstanceRow:
    instance: str
    account: str
    product: str
    currency: str
    opened_at: datetime  # business time of the purchase (or subscription)
    recorded_at: datetime  # when the ledger recorded it
    released_by: str | None  # K-L3: the refund whose accepted application released it

    def as_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "account": self.account, "product": self.product,
                "currency": self.currency, "opened_at": self.opened_at.isoformat(),
                "recorded_at": self.recorded_at.isoformat(), "released_by": self.released_by}

    def sort_key(self) -> list[Any]:
        return [self.instance]


def _row(name: str, events: Any, known_at: datetime) -> InstanceRow | None:
    facts = live(known(events, known_at))
    head = opening(facts)
    if head is None:
        return None
    return InstanceRow(name, head.account, head.product, head.currency, head.at, head.timestamp, released_by(facts))


def _instance_rows(app: App, known_at: datetime) -> list[InstanceRow]:
    return [r for name, events in stream_instances(app.ledger) if (r := _row(name, events, known_at)) is not None]


def instance(app: App, name: str, known_at: datetime | None = None, *,
             accounts: Collection[str] | None = None) -> InstanceRow | None:
    """One instance's row as known at ``known_at``, read from its own stream; None when the ledger knows no
    such instance then, or it is not one of ``accounts``' (a key's narrowing)."""
    row = _row(name, reads.events_of(app.ledger, name), known_at or app.now())
    return row if row is not None and _within(row.account, accounts) else None


def instances(app: App, known_at: datetime | None = None, account: str | None = None, product: str | None = None,
              limit: int | None = None, *, accounts: Collection[str] | None = None,
              after: list[Any] | None = None) -> list[InstanceRow]:
    """Every instance known at ``known_at`` (only ``account``'s, only of ``product``), by name; at most
    ``limit``."""
    rows = [r for r in _instance_rows(app, known_at or app.now())
            if (account is None or r.account == account) and (product is None or r.product == product)
            and _within(r.account, accounts) and (after is None or r.sort_key() > after)]
    rows.sort(key=lambda r: r.instance)
    return rows if limit is None else rows[:max(limit, 0)]


@dataclass(frozen=True)
class AccountRow:
    account: str
    instances: int

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account, "instances": self.instances}

    def sort_key(self) -> list[Any]:
        return [self.account]


def accounts(app: App, known_at: datetime | None = None, limit: int | None = None, *,
             accounts: Collection[str] | None = None, after: list[Any] | None = None) -> list[AccountRow]:
    """Every account with an instance known at ``known_at``, with how many, by name; at most ``limit``."""
    counts = Counter(r.account for r in _instance_rows(app, known_at or app.now()) if _within(r.account, accounts))
    rows = [AccountRow(a, n) for a, n in sorted(counts.items())]
    rows = [r for r in rows if after is None or r.sort_key() > after]
    return rows if limit is None else rows[:max(limit, 0)]


@dataclass(frozen=True)
class RefundListing:
    refund: str
    instance: str
    account: str
    policy: str
    mode: str  # the mode it was judged under, or the reason it named
    requested_at: datetime
    recorded_at: datetime
    currency: str
    amount: Decimal  # the frozen quote's amount, or what a staff decision granted
    state: str  # accepted | requested | approved | escalated | rejected | completed | denied
    settled_at: datetime | None

    @property
    def open(self) -> bool:
        return self.state in OPEN_REFUND_STATES

    def as_json(self) -> dict[str, Any]:
        return {"refund": self.refund, "instance": self.instance, "account": self.account, "policy": self.policy,
                "mode": self.mode, "requested_at": self.requested_at.isoformat(),
                "recorded_at": self.recorded_at.isoformat(), "currency": self.currency, "amount": str(self.amount),
                "state": self.state, "settled_at": _iso(self.settled_at)}

    def sort_key(self) -> list[Any]:
        return [(self.requested_at - EPOCH) // timedelta(microseconds=1), self.refund]


def refunds(app: App, known_at: datetime | None = None, open_only: bool = False, account: str | None = None,
            limit: int | None = None, *, accounts: Collection[str] | None = None,
            after: list[Any] | None = None) -> list[RefundListing]:
    """Every refund request known at ``known_at`` (``open_only``: still awaiting a decision or payment),
    by request time then id; at most ``limit``."""
    rows = []
    for _, refund_rows in finance.iter_rows(app.ledger, known_at or app.now()):
        for r in refund_rows:
            row = RefundListing(r.refund, r.instance, r.account, r.policy, r.mode, r.requested_at, r.recorded_at,
                                r.currency, finance.from_cents(r.amount_cents), r.state, r.settled_at)
            if ((not open_only or row.open) and (account is None or row.account == account)
                    and _within(row.account, accounts) and (after is None or row.sort_key() > after)):
                rows.append(row)
    rows.sort(key=RefundListing.sort_key)
    return rows if limit is None else rows[:max(limit, 0)]


@dataclass(frozen=True)
class Found:
    """What `search` found: instances and accounts, each by name."""

    text: str
    known_at: datetime
    instances: list[InstanceRow]
    accounts: list[AccountRow]

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "known_at": self.known_at.isoformat(),
                "instances": [r.as_json() for r in self.instances], "accounts": [r.as_json() for r in self.accounts]}


def search(app: App, text: str, known_at: datetime | None = None, limit: int = 50, *,
           accounts: Collection[str] | None = None) -> Found:
    """Instances whose name, account or product contains ``text`` (case-insensitive; empty: every one), and
    the accounts whose name contains it, as known at ``known_at``; only ``accounts``' (a key's narrowing); at
    most ``limit`` of each, by name."""
    known_at = known_at or app.now()
    needle = text.strip().casefold()
    rows = [r for r in _instance_rows(app, known_at) if _within(r.account, accounts)]
    counts = Counter(r.account for r in rows)
    hits = sorted((r for r in rows if any(needle in v.casefold() for v in (r.instance, r.account, r.product))),
                  key=lambda r: r.instance)
    found = [AccountRow(a, n) for a, n in sorted(counts.items()) if needle in a.casefold()]
    return Found(text, known_at, hits[:max(limit, 0)], found[:max(limit, 0)])
