"""KorPro's feed commands (interface.md, "KorPro subscriptions") and its refund lifecycle (P-R1, P-R2, P-R3,
P-D1, P-B1, P-V1): decide, then record, on the subscription's stream (or the policy book's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.errors import Conflict, Inconsistent, LedgerError
from domain.instance import Instance
from domain.policies.korpro import REASONS, policy_book_id
from domain.policies.korpro.events import (
    BillingErrorReported,
    Cancelled,
    Charged,
    OutageReported,
    SavingsReported,
    TerminatedForViolation,
)
from domain.policies.korpro.subscription import PolicyBook, Subscription
from domain.policy import Context, Policy, Session

FACTS: dict[str, type[Instance.Event]] = {
    "charge": Charged, "report_savings": SavingsReported,
    "report_outage": OutageReported, "report_billing_error": BillingErrorReported,
    "cancel": Cancelled, "terminate_for_violation": TerminatedForViolation,
}
AT_ONCE = ("billing_error", "duplicate_payment")  # P-B1: approved without review


def subscription(session: Session, name: str, field_name: str = "instance") -> Subscription:
    inst = session.require(name, field_name)
    if not isinstance(inst, Subscription):
        raise Inconsistent(f"{name!r} is not a KorPro subscription", field_name)
    return inst


def subscribe(session: Session, c: Any, ts: datetime) -> str:
    sub = session.open(c.instance, c.at, ts, Subscription)
    sub.subscribe(timestamp=ts, at=c.at, line=c.id, account=c.account, plan=c.plan, currency=c.currency,
                  commitment_months=c.commitment_months, estimated_monthly_savings=c.estimated_monthly_savings,
                  cpus=c.cpus)
    return c.instance


def fact(session: Session, c: Any, ts: datetime) -> str:
    """A charge, a savings or outage report, a billing error, a cancellation or a termination."""
    fields_ = c.model_dump(exclude={"type", "id", "recorded_at", "instance"})
    subscription(session, c.instance).record(FACTS[c.type], timestamp=ts, line=c.id, **fields_)
    return c.instance


def post_policy(session: Session, c: Any, ts: datetime) -> str:
    """P-V1: a new version, in force from its ``at``."""
    book = session.get(policy_book_id(), lambda: PolicyBook.open(ts))
    book.post(version=c.version, parameters=c.parameters, at=c.at, line=c.id, timestamp=ts)
    return f"policy:{c.policy}"


def request_refund(policy: Policy) -> Any:
    def handle(session: Session, sub: Subscription, c: Any, ts: datetime) -> None:
        """P-R1: email, invoice and explanation are required; judged by the version in force at the request's
        time (P-V1); an eligible request waits for a staff decision (P-R2), a billing error does not (P-B1)."""
        for name in ("email", "invoice", "explanation"):
            if not getattr(c, name):
                raise LedgerError(f"a KorPro refund request needs the account {name} (P-R1)", name)
        if c.reason not in REASONS:
            raise LedgerError(f"{c.reason!r} is not a KorPro refund reason ({', '.join(REASONS)})", "reason")
        if c.with_ or c.exception_report or c.mode != "auto":
            raise Inconsistent("mode, with and exception_report are not fields of a KorPro refund request", "mode")
        if session.key("refund", c.refund) is not None:
            raise Conflict(f"refund id {c.refund!r} is already used", "refund")
        if c.invoice not in {f.invoice for f in sub.live_facts() if isinstance(f, Charged)}:
            raise LedgerError(f"no charge for invoice {c.invoice!r} on {sub.name!r}", "invoice")
        ctx = Context(instances=[(sub.name, sub.facts)], load=session.facts, at=c.at, known_at=ts, mode="auto",
                      reason=c.reason, invoice=c.invoice)
        q = policy.assess(ctx)
        frozen = q.as_json()
        if q.eligible:
            sub.trigger_event(Subscription.RefundRequested, timestamp=ts, at=c.at, line=c.id, refund=c.refund,
                              reason=c.reason, email=c.email, invoice=c.invoice, explanation=c.explanation,
                              amount=q.amount, ceiling=q.ceiling, policy_version=q.policy, quote=frozen,
                              approved=c.reason in AT_ONCE)
        else:
            sub.trigger_event(Instance.RefundDenied, timestamp=ts, at=c.at, line=c.id, refund=c.refund,
                              mode=c.reason, reasons=[r.as_json() for r in q.reasons], quote=frozen,
                              invoice=c.invoice, reason=c.reason)
            session.denied += 1
        session.claim("refund", c.refund, sub.name, "", ts)

    return handle


def decide(session: Session, sub: Subscription, c: Any, ts: datetime) -> None:
    """decide_refund (P-R2) / decide_escalation (P-D1)."""
    sub.decide(refund=c.refund, approve=c.approve, amount=c.amount, reason=getattr(c, "reason", None), at=c.at,
               line=c.id, timestamp=ts, escalation=c.type == "decide_escalation")


def escalate(session: Session, sub: Subscription, c: Any, ts: datetime) -> None:
    """P-D1: a rejected request, once."""
    sub.escalate(refund=c.refund, at=c.at, line=c.id, timestamp=ts)


def complete(session: Session, sub: Subscription, c: Any, ts: datetime) -> None:
    """P-R3: an approved refund is paid."""
    sub.complete(refund=c.refund, at=c.at, line=c.id, timestamp=ts)


COMMANDS = {"subscribe": subscribe, **dict.fromkeys(FACTS, fact), "post_policy": post_policy}
