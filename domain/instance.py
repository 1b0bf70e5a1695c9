"""The `Instance` aggregate: every fact about one purchased resource, in one stream.

Decide, then record: each public command checks the facts against what the ledger
already knows (and raises a `LedgerError` naming the field), then triggers one
event. Event ``apply`` methods only append: the business meaning of the history is
computed by pure folds (`domain.policies.kingsoft.orders`, `projections`), so a replay never depends
on anything but the events. Every event carries the business time ``at`` and the
feed line ``line`` (its idempotency id, if any); the recorded time is the event's
``timestamp``, supplied by the adapter's clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from eventsourcing.domain import Aggregate

from domain.errors import Conflict, Inconsistent, InstanceReleased, UnknownInstance, UnknownReference
from domain.lifecycle import Refund, opened, refunds, released_by, settled
from domain.timeutil import readable

NAMESPACE = uuid.UUID("6f1c7f36-5b43-4e0b-9a8e-2f2d1b0c9a11")


@lru_cache(maxsize=8192)
def instance_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"instance:{name}")


@lru_cache(maxsize=8192)
def key_id(kind: str, value: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{kind}:{value}")


class Instance(Aggregate):
    """One instance of a product (its policy may reconstruct it as a subclass with its own events)."""

    class Opened(Aggregate.Created):
        """Opens the instance's stream (the library makes it an ``Instance.Event`` too); not a fact."""

        name: str
        at: datetime
        line: str | None

        def apply(self, aggregate: Instance) -> None:
            pass

    class Event(Aggregate.Event):
        at: datetime
        line: str | None

        def apply(self, aggregate: Instance) -> None:
            aggregate.facts.append(self)
            aggregate._live = None

    class RefundApplied(Event):
        """K-L1: an accepted application, with its frozen quote; K-L3: releases the instance."""

        refund: str
        mode: str
        with_: list[str]
        amount: Decimal
        currency: str
        counts_quota: bool
        quote: dict[str, Any]
        exception_report: str | None = None  # as requested (K-E1), so a replay judges the same request
        reason: str | None = None

        def advance(self, r: Refund | None) -> Refund:
            """Accepted (K-L1), releasing its instances (K-L3), waiting to be settled (K-L2)."""
            return opened(self, "accepted", "settle", self.amount, mode=self.mode, releases=True,
                          counts_quota=self.counts_quota)

    class RefundIncluded(Event):
        """This instance is refunded (and released) together with ``primary``'s application."""

        refund: str
        primary: str

        def advance(self, r: Refund | None) -> Refund:
            return Refund(refund=self.refund, request=self, policy="", mode="", currency="", amount=Decimal("0"),
                          lines=(), state="accepted", primary=False, releases=True)

    class RefundDenied(Event):
        """A request the policy does not allow: recorded with its reasons; counts against no quota."""

        refund: str
        mode: str
        reasons: list[dict[str, str]]
        quote: dict[str, Any]
        invoice: str | None = None  # the invoice the request concerned, where the policy asks for one
        exception_report: str | None = None  # as requested, so a replay judges the same request
        reason: str | None = None

        def advance(self, r: Refund | None) -> Refund:
            return opened(self, "denied", None, Decimal("0.00"), mode=self.mode)

    class RefundCompleted(Event):
        refund: str

        def advance(self, r: Refund | None) -> Refund:
            return settled(self, r, "completed")

    class RefundRejected(Event):
        """K-Q2: staff rejected the application; the instance is no longer released."""

        refund: str
        reason: str

        def advance(self, r: Refund | None) -> Refund:
            return settled(self, r, "rejected")

    class Retracted(Event):
        """The fact recorded by line ``target`` is void from this event's recorded time on."""

        target: str
        target_version: int
        reason: str

    def __init__(self, name: str, at: datetime, line: str | None) -> None:
        self.name = name
        self.facts: list[Instance.Event] = []
        self._live: list[Instance.Event] | None = None  # cached `live(facts)`, dropped by every new fact

    # ----- what the ledger knows now (all recorded, minus retracted) -----

    @property
    def retracted(self) -> set[str]:
        return {f.target for f in self.facts if isinstance(f, Instance.Retracted)}

    def live_facts(self) -> list[Instance.Event]:
        if self._live is None:
            self._live = live(self.facts)
        return self._live

    @property
    def purchase(self) -> Any:
        """The opening fact: a Kingsoft purchase, or (subclasses) a subscription; None if none is live."""
        return opening(self.live_facts())

    def require_purchase(self, field: str = "instance") -> Any:
        p = self.purchase
        if p is None:
            raise UnknownInstance(f"instance {self.name!r} has no purchase in the ledger", field)
        return p

    # ----- commands -----

    def record(self, event_class: type[Instance.Event], *, timestamp: datetime, **fields: Any) -> None:
        """A fact about an instance that exists and is not released (K-L3); its policy decided it."""
        self.require_purchase()
        self.check_not_released()
        self.trigger_event(event_class, timestamp=timestamp, **fields)

    def retract(self, *, target: str, reason: str, at: datetime, line: str | None, timestamp: datetime) -> None:
        """Void the fact recorded by line ``target``; history keeps both."""
        if target in self.retracted:
            raise Conflict(f"line {target!r} is already retracted", "target")
        fact = next((f for f in self.facts if f.line == target), None)
        if fact is None:
            raise UnknownReference(f"no line {target!r} on instance {self.name!r}", "target")
        if isinstance(fact, Instance.Retracted):
            raise Inconsistent("a retraction cannot be retracted; record the fact again instead", "target")
        if hasattr(fact, "advance"):  # a refund lifecycle event (domain.lifecycle), of any policy
            raise Inconsistent("a refund decision cannot be retracted; reject the application instead (K-Q2)",
                               "target")
        self.trigger_event(Instance.Retracted, timestamp=timestamp, target=target,
                           target_version=fact.originator_version, reason=reason, at=at, line=line)

    # ----- checks -----

    def check_not_released(self, field: str = "instance") -> None:
        """K-L3: a refunded instance takes no further orders or refund requests."""
        released = released_by(self.live_facts())
        if released:
            raise InstanceReleased(f"instance {self.name!r} was released by refund {released!r} (K-L3)", field)

    # ----- refunds -----

    def refund(self, refund: str) -> Refund | None:
        """Where ``refund`` stands on this instance (the lifecycle fold), or None if it never saw it."""
        return refunds(self.facts).get(refund)

    def check_can_request(self, field: str = "instance") -> Any:  # the purchase (a policy's event)
        purchase = self.require_purchase(field)
        self.check_not_released(field)
        return purchase

    def settle_refund(self, event_class: type[Instance.Event], *, refund: str, at: datetime, timestamp: datetime,
                      **fields: Any) -> None:
        """Complete or reject an accepted application (K-L2, K-Q2): once, and not before it was applied."""
        r = self.refund(refund)
        if r is None or r.state != "accepted":
            raise Conflict(f"refund {refund!r} is {r.state if r else None}; only an accepted, open application "
                           "can be settled", "refund")
        if at < r.requested_at:
            raise Inconsistent(f"refund {refund!r} was applied for at {_readable(r.requested_at, r.policy)}", "at")
        self.trigger_event(event_class, timestamp=timestamp, refund=refund, at=at, **fields)


def _readable(t: datetime, policy: str) -> str:
    """``t`` in the business time zone of the policy that judged a refund (`domain.timeutil.readable`)."""
    from domain.policies import registry  # the registry imports this module: asked only when a message needs it

    try:
        zone = registry.calendar_tz(registry.named(policy))
    except LookupError:
        zone = None
    return readable(t, zone, exact=True)


def opening(facts: Any) -> Any:
    """The first live fact that opens an instance (``OPENS``), or None."""
    return next((f for f in facts if getattr(f, "OPENS", False)), None)


def live(facts: list[Instance.Event]) -> list[Instance.Event]:
    """Facts not voided by a retraction among ``facts``, in business-time order (stable on recorded order)."""
    void = {f.target for f in facts if isinstance(f, Instance.Retracted)}
    kept = [f for f in facts if not isinstance(f, Instance.Retracted) and f.line not in void]
    return sorted(kept, key=lambda f: f.at)


def known(events: Iterable[Any], known_at: datetime) -> list[Any]:
    """Facts (retractions included, stream-opening events excluded) recorded by ``known_at``, in recorded order."""
    return [e for e in events if isinstance(e, _FACTS) and not isinstance(e, _OPENINGS) and e.timestamp <= known_at]


def retractions(facts: Sequence[Instance.Event]) -> dict[str, Instance.Retracted]:
    return {f.target: f for f in facts if isinstance(f, Instance.Retracted)}




class Key(Aggregate):
    """A globally unique id (a feed line id, an order id, a refund id) and what owns it.

    One small aggregate per id: creating it twice conflicts in the event store, so
    uniqueness holds even between concurrent writers.
    """

    class Claimed(Aggregate.Created):
        kind: str
        value: str
        owner: str
        digest: str

    class Released(Aggregate.Event):
        def apply(self, key: Key) -> None:
            key.active = False

    class Reclaimed(Aggregate.Event):
        owner: str
        digest: str

        def apply(self, key: Key) -> None:
            key.owner, key.digest, key.active = self.owner, self.digest, True

    def __init__(self, kind: str, value: str, owner: str, digest: str) -> None:
        self.kind, self.value, self.owner, self.digest = kind, value, owner, digest
        self.active = True

    @classmethod
    def claim(cls, kind: str, value: str, owner: str, digest: str, timestamp: datetime) -> Key:
        return cls._create(cls.Claimed, id=key_id(kind, value), kind=kind, value=value, owner=owner,
                           digest=digest, timestamp=timestamp)

    def release(self, timestamp: datetime) -> None:
        self.trigger_event(Key.Released, timestamp=timestamp)

    def reclaim(self, owner: str, digest: str, timestamp: datetime) -> None:
        if self.active:
            raise Conflict(f"{self.kind} id {self.value!r} is already used (by {self.owner!r})", self.kind)
        self.trigger_event(Key.Reclaimed, timestamp=timestamp, owner=owner, digest=digest)


class Account(Aggregate):
    """The consistency boundary for rules that span an account's instances (K-F4, K-F5, K-Q1).

    Every judged refund request appends one event here, in the same transaction as the instances
    it concerns: two concurrent requests of one account conflict on this aggregate's version, and
    the loser is judged again against the winner's outcome.
    """

    class Opened(Aggregate.Created):
        """Opens the account's stream (the library makes it an ``Account.Event`` too); not a fact."""

        name: str
        at: datetime
        line: str | None

        def apply(self, aggregate: Account) -> None:
            pass

    class Event(Aggregate.Event):
        at: datetime
        line: str | None

        def apply(self, aggregate: Account) -> None:
            aggregate.facts.append(self)

    class ApplicationAccepted(Event):
        refund: str
        mode: str
        instances: list[str]
        products: list[str]
        purchased_at: list[datetime]
        counts_quota: bool

    class ApplicationDenied(Event):
        refund: str
        reasons: list[str]

    class ApplicationRejected(Event):
        refund: str
        reason: str

    def __init__(self, name: str) -> None:
        self.name = name
        self.facts: list[Account.Event] = []

    @classmethod
    def open(cls, name: str, timestamp: datetime) -> Account:
        return cls._create(cls.Opened, id=account_id(name), name=name, at=timestamp, line=None, timestamp=timestamp)

    def record(self, event_class: type[Account.Event], *, timestamp: datetime, **fields: Any) -> None:
        self.trigger_event(event_class, timestamp=timestamp, **fields)


_FACTS = (Instance.Event, Account.Event)  # `known`'s class tests, made once (not a union per event)
_OPENINGS = (Instance.Opened, Account.Opened)


@lru_cache(maxsize=8192)
def account_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"account:{name}")
