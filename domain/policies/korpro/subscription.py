"""KorPro (policy ``korpro-2025-12-20``): a SaaS subscription with its refund lifecycle events, and its policy
book (rules-korpro.md, P-*); its facts are in `domain.policies.korpro.events`, the pricing formulas in
`domain.policies.korpro.amount`.

A `Subscription` is an `Instance` (same stream, same id space, same retraction and release machinery)
with its own events; the product ``KorPro`` selects this policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate

from domain.errors import Conflict, Inconsistent, LedgerError
from domain.instance import Instance
from domain.lifecycle import Refund, opened
from domain.money import fmt
from domain.policies.korpro import PRODUCT, policy_book_id
from domain.policies.korpro.events import Cancelled, Charged, OutageReported, Subscribed, TerminatedForViolation
from domain.policies.korpro.parameters import KorProParameters
from domain.timeutil import readable
from domain.wording import a as article

BASE_VERSION = "2025-12-20"


def _decided(self: Any, r: Refund | None) -> Refund:
    """P-R2 (and P-D1 for an escalation): approved (to be paid, P-R3) with the decided amount, or rejected."""
    assert r is not None, "only a requested refund is decided"
    if not self.approve:
        return r.moved(self, "rejected", None)
    return (r if self.amount is None else r.granted(self.amount)).moved(self, "approved", "payment")


class Subscription(Instance):
    """One KorPro customer's subscription (P-M1 performance-based, or P-M2 fixed-rate)."""

    class RefundRequested(Instance.Event):
        """An eligible request, with its frozen quote; waits for a staff decision (P-R2) unless P-B1."""

        refund: str
        reason: str
        email: str
        invoice: str
        explanation: str
        amount: Decimal
        ceiling: Decimal | None
        approved: bool  # P-B1: billing errors need no review
        policy_version: str
        quote: dict[str, Any]

        def advance(self, r: Refund | None) -> Refund:
            """Waiting for a staff decision (P-R2), or, for a billing error, already approved and waiting to be
            paid (P-B1, P-R3)."""
            if self.approved:
                return opened(self, "approved", "payment", self.amount, mode=self.reason)
            return opened(self, "requested", "review", self.amount, mode=self.reason)

    class RefundDecided(Instance.Event):
        refund: str
        approve: bool
        amount: Decimal | None
        reason: str | None

        advance = _decided

    class Escalated(Instance.Event):
        refund: str

        def advance(self, r: Refund | None) -> Refund:
            """P-D1: a rejected request escalated, once; waiting for the escalation's decision."""
            assert r is not None, "only a rejected refund is escalated"
            return r.moved(self, "escalated", "escalation", escalated=True)

    class EscalationDecided(Instance.Event):
        refund: str
        approve: bool
        amount: Decimal | None

        advance = _decided

    # ----- commands -----

    def subscribe(self, *, timestamp: datetime, **fields_: Any) -> None:
        if self.purchase is not None:
            raise Conflict(f"subscription {self.name!r} already exists", "instance")
        if fields_["plan"] == "performance" and fields_["estimated_monthly_savings"] is None:
            raise LedgerError("a performance-based subscription needs estimated_monthly_savings (P-M1)",
                              "estimated_monthly_savings")
        if fields_["plan"] == "fixed" and fields_["cpus"] is None:
            raise LedgerError("a fixed-rate subscription needs cpus (P-M2)", "cpus")
        self.trigger_event(Subscribed, timestamp=timestamp, product=PRODUCT, **fields_)

    def record(self, event_class: type[Instance.Event], *, timestamp: datetime, **fields_: Any) -> None:
        """A subscription fact; invoices must be known (and new, for a charge)."""
        sub = self.require_purchase()
        self.check_not_released()
        if fields_["at"] < sub.at:
            raise Inconsistent(f"cannot precede the subscription at "
                               f"{readable(sub.at, KorProParameters.calendar_tz, exact=True)}", "at")
        invoice = fields_.get("invoice")
        charged = {f.invoice for f in self.live_facts() if isinstance(f, Charged)}
        if event_class is Charged:
            if invoice in charged:
                raise Conflict(f"invoice {invoice!r} was already charged", "invoice")
            if not fields_["period_start"] < fields_["period_end"]:
                raise Inconsistent("the billing period must end after it starts", "period_end")
        elif invoice is not None and invoice not in charged:
            raise LedgerError(f"no charge for invoice {invoice!r} on {self.name!r}", "invoice")
        if event_class is OutageReported and not fields_["start"] < fields_["end"]:
            raise Inconsistent("an outage must end after it starts", "end")
        if event_class in (Cancelled, TerminatedForViolation) and any(
                isinstance(f, Cancelled | TerminatedForViolation) for f in self.live_facts()):
            raise Conflict(f"subscription {self.name!r} has already ended", "type")
        self.trigger_event(event_class, timestamp=timestamp, **fields_)

    def refund_state(self, refund: str) -> tuple[str | None, Refund | None]:
        r = self.refund(refund)
        return (r.state if r else None), r

    def decide(self, *, refund: str, approve: bool, amount: Decimal | None, reason: str | None, at: datetime,
               line: str | None, timestamp: datetime, escalation: bool = False) -> None:
        """A staff decision (P-R2) or an escalation's decision (P-D1). A discretionary approval needs an
        amount within the ceiling; others may lower the quoted amount, never raise it."""
        status, r = self.refund_state(refund)
        expected = "escalated" if escalation else "requested"
        if status != expected or r is None:
            raise Conflict(f"refund {refund!r} is {status}; only {article(expected)} refund can be decided here",
                           "refund")
        req = r.request
        if at < req.at:
            raise Inconsistent(f"refund {refund!r} was requested at "
                               f"{readable(req.at, KorProParameters.calendar_tz, exact=True)}", "at")
        limit = req.ceiling if req.ceiling is not None else req.amount
        if approve and req.ceiling is not None and amount is None:
            raise LedgerError(f"a discretionary refund ({req.reason}) needs the decided amount (0 allowed, at most "
                              f"{fmt(limit)})", "amount")
        if amount is not None and amount > limit:
            raise Inconsistent(f"amount {fmt(amount)} exceeds what the policy allows ({fmt(limit)})", "amount")
        if escalation:
            self.trigger_event(Subscription.EscalationDecided, timestamp=timestamp, refund=refund, approve=approve,
                               amount=amount, at=at, line=line)
        else:
            self.trigger_event(Subscription.RefundDecided, timestamp=timestamp, refund=refund, approve=approve,
                               amount=amount, reason=reason, at=at, line=line)

    def escalate(self, *, refund: str, at: datetime, line: str | None, timestamp: datetime) -> None:
        """P-D1: a rejected request may be escalated once."""
        status, r = self.refund_state(refund)
        if status != "rejected":
            raise Conflict(f"refund {refund!r} is {status}; only a rejected one can be escalated", "refund")
        if r is not None and r.escalated:
            raise Conflict(f"refund {refund!r} was already escalated once (P-D1)", "refund")
        self.trigger_event(Subscription.Escalated, timestamp=timestamp, refund=refund, at=at, line=line)

    def complete(self, *, refund: str, at: datetime, line: str | None, timestamp: datetime) -> None:
        status, _ = self.refund_state(refund)
        if status != "approved":
            raise Conflict(f"refund {refund!r} is {status}; only an approved refund can be completed", "refund")
        self.trigger_event(Instance.RefundCompleted, timestamp=timestamp, refund=refund, at=at, line=line)


class PolicyBook(Aggregate):
    """P-V1: every version of the KorPro policy the ledger was given, each in force from its ``at``."""

    class Opened(Aggregate.Created):
        pass

    class VersionPosted(Aggregate.Event):
        version: str
        parameters: dict[str, Any]
        at: datetime
        line: str | None

        def apply(self, book: PolicyBook) -> None:
            book.facts.append(self)

    def __init__(self) -> None:
        self.facts: list[PolicyBook.VersionPosted] = []

    @classmethod
    def open(cls, timestamp: datetime) -> PolicyBook:
        return cls._create(cls.Opened, id=policy_book_id(), timestamp=timestamp)

    def post(self, *, version: str, parameters: dict[str, Any], at: datetime, line: str | None,
             timestamp: datetime) -> None:
        if version in {e.version for e in self.facts} or version == BASE_VERSION:
            raise Conflict(f"policy version {version!r} was already posted", "version")
        KorProParameters().override(parameters)  # bad parameters are bad input now, not at quote time
        self.trigger_event(PolicyBook.VersionPosted, timestamp=timestamp, version=version, parameters=parameters,
                           at=at, line=line)


def in_force(posted: Sequence[Any], at: datetime, known_at: datetime) -> tuple[str, KorProParameters]:
    """P-V1: the version in force at business time ``at``, as known at ``known_at`` (the base version before
    any posting). Each posted version's parameters override the base policy's."""
    version, params = BASE_VERSION, KorProParameters()
    for e in sorted((e for e in posted if isinstance(e, PolicyBook.VersionPosted)
                     and e.timestamp <= known_at and e.at <= at), key=lambda e: e.at):
        version, params = e.version, KorProParameters().override(e.parameters)
    return version, params
