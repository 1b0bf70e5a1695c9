"""KorPro's refund policy as a `domain.policy.Policy` (the package's ``POLICY`` loads it on first use)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from domain.errors import LedgerError, UnknownInstance
from domain.lifecycle import Refund
from domain.policies.korpro import ABOUT, NAME, commands, policy_book_id, rules
from domain.policies.korpro.events import Charged
from domain.policies.korpro.parameters import KorProParameters
from domain.policies.korpro.subscription import PolicyBook, Subscription, in_force
from domain.policies.korpro.view import replay_subscription
from domain.policy import Context, Deadline, Load, Paid, Policy, PolicyBase, Postings
from domain.quote import Quote
from domain.timeutil import readable

STAGES = {"review": ("P-R2", "review_days"), "payment": ("P-R3", "processing_days"),
          "escalation": ("P-D1", "escalation_days")}


class KorPro(PolicyBase):
    aggregate = Subscription
    parameters = KorProParameters
    commands = commands.COMMANDS
    # P-R2: approved, it is payable (P-B1 at once); P-R3: paid back to the original payment
    postings = Postings(accepted="P-R2", completed="P-R3", settles_to="payout", paid=("P-M1", "P-M2"),
                        modes={"money_back": "P-G1", "savings_shortfall": "P-G2", "early_termination": "P-G3",
                               "trial": "P-F1", "billing_error": "P-B1", "duplicate_payment": "P-B1",
                               "outage": "P-O1", "not_as_described": "P-X1", "technical_incompatibility": "P-X2"})

    def __init__(self) -> None:
        super().__init__(ABOUT)
        self.refund_commands = {"request_refund": commands.request_refund(self), "decide_refund": commands.decide,
                                "escalate": commands.escalate, "decide_escalation": commands.decide,
                                "complete_refund": commands.complete}

    def assess(self, ctx: Context) -> Quote:
        """The version in force at the request's time (P-V1), with the overrides on top, judges the reason."""
        (name, events), *bundle = ctx.instances
        if bundle:
            raise LedgerError("a KorPro refund concerns one subscription; `with` is not allowed", "with")
        view = replay_subscription(name, events, ctx.at, ctx.known_at)
        version, params = in_force(ctx.load(policy_book_id()), ctx.at, ctx.known_at)
        if ctx.overrides:
            params = params.override(ctx.overrides)
        if view is None:
            zone = params.calendar_tz
            raise UnknownInstance(f"{name!r} had no subscription at {readable(ctx.at, zone, exact=True)} as known "
                                  f"at {readable(ctx.known_at, zone)}", "instance")
        reason = ctx.reason if ctx.mode == "auto" else ctx.mode
        return rules.judge(view, rules.KorProRequest(ctx.at, reason or "", ctx.invoice), params, version,
                           ctx.known_at)

    def deadline(self, refund: Refund, load: Load, known_at: datetime, overrides: dict[str, Any]) -> Deadline:
        """P-R2 review, P-R3 payment (past it: flagged, not failed), P-D1 escalation, in business days of the
        version in force at the request's business time as known at ``known_at`` (P-V1), overrides on top."""
        version, p = in_force(load(policy_book_id()), refund.requested_at, known_at)
        if overrides:
            p = p.override(overrides)
        rule, days = STAGES[refund.stage or ""]
        return Deadline(rule, getattr(p, days), p.calendar_tz, p.holidays, f"{NAME}-{version}",
                        "flag" if rule == "P-R3" else "overdue")

    def posted_version(self, load: Load, version: str) -> dict[str, Any] | None:
        """The parameters of a posted version (P-V1), or None."""
        return next((dict(e.parameters) for e in load(policy_book_id())
                     if isinstance(e, PolicyBook.VersionPosted) and e.version == version), None)

    def orders(self, head: Any, facts: Iterable[Any]) -> list[Paid]:
        """Each charge over its billing period (the amount charged is what was paid, and moved as cash)."""
        return [Paid(f.invoice, "charge", f.at, f.period_start, f.period_end, f.amount, f.amount)
                for f in facts if isinstance(f, Charged)]


POLICY: Policy = KorPro()
