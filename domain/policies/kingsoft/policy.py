"""Kingsoft Cloud's refund policy as a `domain.policy.Policy` (the package's ``POLICY`` loads it on first use).

Kingsoft is the registry's fallback: it judges every product no other policy claims (its rules treat an
unknown product as "in no self-service list").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from domain import applications
from domain.instance import Instance, account_id, opening
from domain.lifecycle import Refund
from domain.policies.kingsoft import ABOUT, NAME, commands, eligibility
from domain.policies.kingsoft.amount import KingsoftParameters
from domain.policies.kingsoft.orders import build_orders
from domain.policy import (
    Context,
    Deadline,
    Load,
    Marks,
    Paid,
    Policy,
    PolicyBase,
    Postings,
    QuotaPeriod,
    RuleOverlap,
    Window,
)
from domain.quote import Quote

DEFAULTS = KingsoftParameters()  # frozen: one value for every quote without overrides
SETTLE_DAYS = 5  # K-L2: "within 1-5 working days"; the spec makes only `holidays` a Parameter


class Kingsoft(PolicyBase):
    aggregate = Instance
    parameters = KingsoftParameters
    commands = commands.COMMANDS
    # K-L1: the frozen quote is payable; K-L2: completed, it is credited to the account balance; K-L3: released
    postings = Postings(accepted="K-L1", completed="K-L2", settles_to="balance", released="K-L3", paid=("K-M1",),
                        modes={"five_day": "K-F9", "self_service": "K-S4", "exception": "K-E1"})

    def __init__(self) -> None:
        super().__init__(ABOUT)
        self.refund_commands = {"request_refund": commands.request_refund(self),
                                "complete_refund": applications.complete, "reject_refund": applications.reject}

    def assess(self, ctx: Context) -> Quote:
        params = KingsoftParameters().override(ctx.overrides) if ctx.overrides else DEFAULTS
        request = eligibility.Request(at=ctx.at, mode=ctx.mode, exception_report=ctx.exception_report,
                                      reason=ctx.reason)
        account = ctx.load(account_id(opening(ctx.instances[0][1]).account))
        return eligibility.assess(ctx.instances, account, request, ctx.known_at, params, ctx.explain)

    def deadline(self, refund: Refund, load: Load, known_at: datetime, overrides: dict[str, Any]) -> Deadline:
        """K-L2: an application is completed or rejected within 5 working days (``calendar_tz``, ``holidays``)."""
        p = KingsoftParameters().override(overrides)
        return Deadline("K-L2", SETTLE_DAYS, p.calendar_tz, p.holidays, NAME)

    def orders(self, head: Any, facts: Iterable[Any]) -> list[Paid]:
        """Each order's actual payment (K-M1) over its validity (K-T3), and the tenders never refunded (K-M1:
        vouchers, gift balance)."""
        return [Paid(o.order, o.kind, o.at, o.start, o.end, o.payment.actual(), o.payment.cash, o.credit,
                     tuple((t, getattr(o.payment, t)) for t in UNREFUNDED if getattr(o.payment, t)))
                for o in build_orders(facts)]

    def quota_period(self, at: datetime) -> QuotaPeriod:
        """K-Q1: at most 3 applications per account in a calendar month of the policy's time zone."""
        zone = DEFAULTS.calendar_tz
        return QuotaPeriod("K-Q1", eligibility.quota_month(at, zone), zone, eligibility.QUOTA)

    def marks(self, head: Any, facts: Iterable[Any]) -> Marks:
        """The timeline's Kingsoft marks: the five-day window (K-F2), the renewal/downgrade overlaps K-S3
        forbids (and no other overlap), and K-L3 (an accepted application releases the instance)."""
        start = eligibility.window_opens(head)
        overlaps = tuple(RuleOverlap("K-S3", (r.order, d.order), a, b,
                                     f"downgrade {d.order} overlaps renewal {r.order}")
                         for r, d, a, b in eligibility.k_s3_overlaps(build_orders(facts)))
        return Marks(windows=(Window("K-F2", "five-day window", start, start + eligibility.FIVE_DAY_WINDOW),),
                     overlaps=overlaps, overlap_rules=("K-S3",), release_rule="K-L3")


UNREFUNDED = ("voucher", "gift_balance")  # K-M1: never refunded (the journal shows them as such)
POLICY: Policy = Kingsoft()
