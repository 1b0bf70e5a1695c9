"""KorPro's view (rules-korpro.md): a subscription replayed at business time ``at`` as known at ``known_at``,
with what earlier refunds took of each invoice (P-B1), the facts every judge of `rules` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from domain.instance import known, live
from domain.lifecycle import refunds as lifecycle
from domain.policies.korpro.events import (
    BillingErrorReported,
    Cancelled,
    Charged,
    OutageReported,
    SavingsReported,
    Subscribed,
    TerminatedForViolation,
)
from domain.policies.korpro.subscription import Subscription

DUPLICATE = "duplicate_payment"


@dataclass(frozen=True)
class KorProView:
    name: str
    sub: Subscribed
    charges: dict[str, Charged]
    savings: dict[str, SavingsReported]
    outages: list[OutageReported]
    errors: list[BillingErrorReported]
    ended: Any  # Cancelled | TerminatedForViolation | None
    refunded: dict[str, Fraction]  # invoice -> refunded of its charge by earlier requests not rejected (P-B1:
    # duplicate payments are not part of the charge, so their refunds are not counted here)
    refunded_for: dict[tuple[str, str], Fraction]  # (invoice, reason) -> the same, per reason
    facts: list[Any] = field(default_factory=list)
    reason: str = ""  # the reason being judged (set by `judge`)

    @property
    def start(self) -> datetime:
        return self.sub.at

    @property
    def paid(self) -> Fraction:
        return sum((Fraction(c.amount) for c in self.charges.values()), Fraction(0))


def replay_subscription(name: str, events: Sequence[Any], at: datetime, known_at: datetime) -> KorProView | None:
    facts = [f for f in live(known(events, known_at)) if f.at <= at]
    sub = next((f for f in facts if isinstance(f, Subscribed)), None)
    if sub is None:
        return None
    refunded: dict[str, Fraction] = {}
    refunded_for: dict[tuple[str, str], Fraction] = {}
    for r in lifecycle(facts).values():  # requests not rejected (nor waiting on an escalation), as decided
        if isinstance(r.request, Subscription.RefundRequested) and r.state in ("requested", "approved", "completed"):
            for _, invoice, amount in r.lines:
                if r.mode != DUPLICATE:  # P-B1: a duplicate was paid beyond the charge; it takes none of it
                    refunded[invoice] = refunded.get(invoice, Fraction(0)) + Fraction(amount)
                key = (invoice, r.mode)
                refunded_for[key] = refunded_for.get(key, Fraction(0)) + Fraction(amount)
    return KorProView(
        name=name, sub=sub,
        charges={f.invoice: f for f in facts if isinstance(f, Charged)},
        savings={f.invoice: f for f in facts if isinstance(f, SavingsReported)},
        outages=[f for f in facts if isinstance(f, OutageReported)],
        errors=[f for f in facts if isinstance(f, BillingErrorReported)],
        ended=next((f for f in facts if isinstance(f, Cancelled | TerminatedForViolation)),
                   None),
        refunded=refunded, refunded_for=refunded_for, facts=facts)
