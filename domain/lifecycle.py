"""The refund lifecycle: one fold, for every policy.

Every event that moves a refund (requested, accepted, denied, decided, escalated, completed, rejected, and
the inclusion of an instance in another's application) has a method ``advance(refund) -> Refund`` that
says how it moves that refund's state. `refunds` folds a stream's facts with those methods; everything
that asks "where is this refund?" reads its answer: the aggregates' checks (K-L3 releases, settling a
refund once, P-D1 escalating once), the deadlines (K-L2, P-R2, P-R3, P-D1), the finance rows, a policy's
caps per invoice and the what-if replays. A policy with its own lifecycle events adds them by giving
them an ``advance`` method: the fold does not change.

States: ``accepted`` (an application, K-L1; also an instance included in another's), ``denied``,
``requested`` (waiting for a staff decision, P-R2), ``approved``, ``rejected``, ``escalated`` (P-D1),
``completed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

OPEN = ("accepted", "requested", "approved", "escalated")  # waiting for someone
PAYABLE = ("accepted", "approved", "completed")  # money the ledger owes or has paid


@dataclass(frozen=True)
class Refund:
    """One refund as its lifecycle events on one instance's stream left it."""

    refund: str
    request: Any  # the event that opened it (its frozen quote, its times)
    policy: str  # the policy (and version) that judged it, from the frozen quote
    mode: str  # the mode it was judged under, or the reason it named (a policy's ``modes``)
    currency: str
    amount: Decimal  # the frozen quote's amount, or the amount a staff decision granted
    lines: tuple[tuple[str, str, Decimal], ...]  # (instance, order or invoice, refund) as frozen, or as decided
    state: str
    primary: bool = True  # False: this instance is refunded with another's application (K-F6, K-F7)
    releases: bool = False  # K-L3: an accepted application releases its instances
    counts_quota: bool = False  # K-Q1
    stage: str | None = None  # the open stage: what it waits for, e.g. "settle" (`projections.deadlines.WAITING`)
    since: datetime | None = None  # when the open stage started (business time)
    settled_at: datetime | None = None  # completed or rejected (business time)
    escalated: bool = False  # P-D1: once

    @property
    def requested_at(self) -> datetime:
        return self.request.at

    @property
    def recorded_at(self) -> datetime:
        return self.request.timestamp

    @property
    def releasing(self) -> bool:
        """K-L3: this refund keeps the instance released."""
        return self.releases and self.state in ("accepted", "completed")

    def moved(self, event: Any, state: str, stage: str | None, **changes: Any) -> Refund:
        """The refund after ``event``: a new state and open stage (None once nobody is waiting)."""
        return replace(self, state=state, stage=stage, since=event.at if stage else None, **changes)

    def granted(self, amount: Decimal) -> Refund:
        """A staff decision's amount replaces the quoted total; the quoted lines are filled in order."""
        lines, left = [], amount
        for instance, order, value in self.lines:
            take = min(left, value)
            lines.append((instance, order, take))
            left -= take
        return replace(self, amount=amount, lines=tuple(lines))


def opened(event: Any, state: str, stage: str | None, amount: Decimal, **more: Any) -> Refund:
    """A refund opened by ``event`` with its frozen quote. K-M4: a total of 0.00 refunds nothing on any line."""
    quote = event.quote
    lines = tuple((ln["instance"], ln["order"], Decimal(ln["refund"]) if amount else Decimal("0.00"))
                  for ln in quote.get("lines", []))
    return Refund(refund=event.refund, request=event, policy=quote.get("policy", ""), mode=more.pop("mode"),
                  currency=quote.get("currency", ""), amount=amount, lines=lines, state=state, stage=stage,
                  since=event.at if stage else None, **more)


def settled(event: Any, r: Refund | None, state: str) -> Refund:
    """Completed (paid) or rejected: nobody waits any more; settled at the event's business time."""
    assert r is not None, f"only a known refund is {state}"
    return r.moved(event, state, None, settled_at=event.at)


def refunds(facts: Iterable[Any]) -> dict[str, Refund]:
    """Every refund the facts move, in the order they were first seen, each folded to its latest state."""
    out: dict[str, Refund] = {}
    for f in facts:
        advance = getattr(f, "advance", None)
        if advance is not None:
            out[f.refund] = advance(out.get(f.refund))
    return out


def released_by(facts: Iterable[Any]) -> str | None:
    """K-L3: the first refund whose accepted application still releases the instance, if any."""
    return next((r.refund for r in refunds(facts).values() if r.releasing), None)
