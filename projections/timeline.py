"""An instance's timeline: everything an auditor needs to read its history on one time axis, for any policy.

A pure fold of the instance's events as known at ``known_at`` (every business time):

- each order (or invoice) of its policy (`domain.policy.Policy.orders`) with its validity period (K-T3), its
  amount (the actual payment, K-M1; a KorPro charge) and currency, whether it had taken effect at ``at``
  (K-T4), every order its period overlaps (a fact, ``overlaps``) and the overlaps a rule forbids
  (``rule_overlaps``: K-S3 only, never an upgrade or downgrade covering its base order);
- the retracted facts, each with the retraction that voided it (its line id, recorded time and reason) and,
  for an order, the validity it would have had;
- every refund request the instance saw (the lifecycle fold, `domain.lifecycle`) with its frozen quote's
  amount, its current amount, state and denial rules;
- the release (K-L3: from the business time of the accepted application that releases it; a later K-Q2
  rejection un-releases it), each order's ``released_at`` when the release cuts its period short;
- the policy's windows (K-F2's five days) and the overlaps it forbids, from the policy's optional ``marks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.instance import Instance, known, live, opening, retractions
from domain.lifecycle import Refund, refunds
from domain.money import exact, fmt, round_cents
from domain.policies import registry
from domain.policy import Paid, RuleOverlap, Window

UTC_OFFSET = "+00:00"


def money_text(value: Any) -> str:
    """An amount as the interface writes money (two decimals); the amounts here are whole cents already."""
    return fmt(round_cents(exact(value), "half_up"))


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


@dataclass(frozen=True)
class Bar:
    """One order (or invoice) of the instance on the axis."""

    order: str
    kind: str
    placed_at: datetime
    start: datetime  # K-T3, inclusive
    end: datetime  # K-T3, exclusive
    amount: Decimal  # the actual payment (K-M1), or the charge
    credit: Decimal  # returned at once (a K-D1 downgrade's credit)
    overlaps: tuple[str, ...]  # every other order whose period overlaps this one (a fact, not a finding)
    rule_overlaps: tuple[tuple[str, str], ...]  # (rule, other order): overlaps a rule forbids (K-S3)
    released_at: datetime | None  # K-L3: the release, when it falls before ``end``

    def taken_effect(self, at: datetime) -> bool:
        """K-T4: its validity had started by ``at``."""
        return self.start <= at

    def in_effect(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @property
    def used_until(self) -> datetime:
        """Where its bar stops: its end, or the release (K-L3) if that came first (never before its start)."""
        return self.end if self.released_at is None else max(self.start, min(self.end, self.released_at))


@dataclass(frozen=True)
class RetractedFact:
    fact: str
    id: str | None  # its line id
    at: datetime
    recorded_at: datetime
    by: str | None  # the retraction's line id
    by_version: int
    by_recorded_at: datetime
    reason: str
    order: str | None = None  # the order (or invoice) it recorded, if it was one
    kind: str | None = None  # that order's kind (purchase, renewal, upgrade, downgrade, charge)
    start: datetime | None = None  # the validity it would have had (K-T3), if it was an order
    end: datetime | None = None


@dataclass(frozen=True)
class RefundMark:
    refund: str
    state: str  # accepted | denied | requested | approved | rejected | escalated | completed
    mode: str
    policy: str
    requested_at: datetime
    recorded_at: datetime
    quoted: Decimal  # the frozen quote's amount (K-L1): what was decided on what was known then
    amount: Decimal  # what it refunds now (a staff decision may have lowered it; a denial: 0.00)
    settled_at: datetime | None
    primary: bool  # False: the instance is refunded with another instance's application
    with_: str | None  # for an instance included in another's application: that instance
    releases: bool  # K-L3
    rules: tuple[str, ...]  # a denial's rules


@dataclass(frozen=True)
class Release:
    refund: str
    at: datetime  # business time of the accepted application (K-L3 Decision)
    recorded_at: datetime
    rule: str | None


@dataclass(frozen=True)
class InstanceTimeline:
    instance: str
    at: datetime
    known_at: datetime
    policy: str | None
    currency: str | None
    calendar_tz: str | None  # the policy's business time zone (±HH:MM): month ticks and the times people read;
    # None: none applies (no policy yet, or one without a calendar_tz): UTC, said so (JSON: "+00:00", as before)
    orders: list[Bar]
    retracted: list[RetractedFact]
    refunds: list[RefundMark]
    release: Release | None
    windows: tuple[Window, ...]
    rule_overlaps: tuple[RuleOverlap, ...]
    overlap_rules: tuple[str, ...]  # the rules whose overlaps the policy flags (K-S3)

    def as_json(self) -> dict[str, Any]:
        """The legacy fields (``instance``, ``at``, ``known_at``, ``orders`` with ``order`` ... ``overlaps``)
        as they were, and everything else added after them."""
        at = self.at
        return {
            "instance": self.instance, "at": at.isoformat(), "known_at": self.known_at.isoformat(),
            "orders": [{"order": o.order, "kind": o.kind, "placed_at": o.placed_at.isoformat(),
                        "start": o.start.isoformat(), "end": o.end.isoformat(), "taken_effect": o.taken_effect(at),
                        "in_effect": o.in_effect(at), "overlaps": list(o.overlaps),
                        "amount": money_text(o.amount), "credit": money_text(o.credit), "currency": self.currency,
                        "rule_overlaps": [{"rule": r, "order": p} for r, p in o.rule_overlaps],
                        "released_at": _iso(o.released_at)} for o in self.orders],
            "policy": self.policy, "currency": self.currency, "calendar_tz": self.calendar_tz or UTC_OFFSET,
            "retracted": [{"fact": r.fact, "id": r.id, "order": r.order, "kind": r.kind, "at": r.at.isoformat(),
                           "recorded_at": r.recorded_at.isoformat(), "start": _iso(r.start), "end": _iso(r.end),
                           "retracted": {"by": r.by, "version": r.by_version,
                                         "recorded_at": r.by_recorded_at.isoformat(), "reason": r.reason}}
                          for r in self.retracted],
            "refunds": [{"refund": r.refund, "state": r.state, "mode": r.mode, "policy": r.policy,
                         "requested_at": r.requested_at.isoformat(), "recorded_at": r.recorded_at.isoformat(),
                         "quoted": money_text(r.quoted), "amount": money_text(r.amount), "currency": self.currency,
                         "settled_at": _iso(r.settled_at), "primary": r.primary, "with": r.with_,
                         "releases": r.releases, "rules": list(r.rules)} for r in self.refunds],
            "release": None if self.release is None else {
                "refund": self.release.refund, "at": self.release.at.isoformat(),
                "recorded_at": self.release.recorded_at.isoformat(), "rule": self.release.rule},
            "windows": [{"rule": w.rule, "label": w.label, "start": w.start.isoformat(), "end": w.end.isoformat()}
                        for w in self.windows],
            "rule_overlaps": [{"rule": v.rule, "orders": list(v.orders), "start": v.start.isoformat(),
                               "end": v.end.isoformat(), "message": v.message} for v in self.rule_overlaps],
        }


def _refund_mark(r: Refund) -> RefundMark:
    request = r.request
    quote = getattr(request, "quote", None) or {}
    rules = tuple(x.get("rule", "") for x in getattr(request, "reasons", None) or [] if isinstance(x, dict))
    return RefundMark(refund=r.refund, state=r.state, mode=r.mode, policy=r.policy, requested_at=r.requested_at,
                      recorded_at=r.recorded_at, quoted=Decimal(quote.get("amount", "0.00")), amount=r.amount,
                      settled_at=r.settled_at, primary=r.primary, with_=getattr(request, "primary", None),
                      releases=r.releases, rules=rules)


def _would_have_been(policy: Any, head: Any, alive: list[Any], fact: Any) -> Paid | None:
    """The order a retracted fact recorded, as the policy would fold it back in (None if it was no order)."""
    before = {p.order for p in policy.orders(head, alive)}
    added = [p for p in policy.orders(head or fact, sorted([*alive, fact], key=lambda f: f.at))
             if p.order not in before]
    return added[0] if len(added) == 1 else None


def timeline(name: str, events: list[Any], at: datetime, known_at: datetime) -> InstanceTimeline:
    """The instance's timeline at business time ``at`` (K-T4 marks), as known at ``known_at``."""
    facts = known(events, known_at)
    alive = live(facts)
    void = retractions(facts)
    head = opening(alive)
    anyhead = head or opening([f for f in facts if not isinstance(f, Instance.Retracted)])
    policy = registry.for_product(anyhead.product) if anyhead is not None else None
    retracted = []
    for f in facts:
        r = void.get(f.line) if f.line and not isinstance(f, Instance.Retracted) else None
        if r is None:
            continue
        paid = _would_have_been(policy, head, alive, f) if policy is not None else None
        retracted.append(RetractedFact(type(f).__name__, f.line, f.at, f.timestamp, r.line, r.originator_version,
                                       r.timestamp, r.reason, *((paid.order, paid.kind, paid.start, paid.end)
                                                                if paid else (None, None, None, None))))
    tz = registry.calendar_tz(policy) if policy is not None else None
    if head is None or policy is None:
        return InstanceTimeline(name, at, known_at, policy.name if policy else None, None, tz, [], retracted, [],
                                None, (), (), ())
    marks = registry.marks(policy, head, alive)
    marks_refunds = [_refund_mark(r) for r in refunds(alive).values()]
    releasing = next((r for r in refunds(alive).values() if r.releasing), None)
    release = None if releasing is None else Release(releasing.refund, releasing.requested_at,
                                                     releasing.recorded_at, marks.release_rule)
    orders = policy.orders(head, alive)
    flagged: dict[str, list[tuple[str, str]]] = {}
    for v in marks.overlaps:
        a, b = v.orders
        flagged.setdefault(a, []).append((v.rule, b))
        flagged.setdefault(b, []).append((v.rule, a))
    bars = [Bar(o.order, o.kind, o.placed_at, o.start, o.end, Decimal(money_text(o.paid)),
                Decimal(money_text(o.credit)),
                tuple(p.order for p in orders if p is not o and p.start < o.end and o.start < p.end),
                tuple(flagged.get(o.order, ())),
                release.at if release is not None and release.at < o.end else None) for o in orders]
    return InstanceTimeline(name, at, known_at, policy.name, head.currency, tz, bars, retracted, marks_refunds,
                            release, marks.windows, marks.overlaps, marks.overlap_rules)
