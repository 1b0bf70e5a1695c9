"""Kingsoft Cloud's refund policy as a `domain.policy.Policy` (the package's ``POLICY`` loads it on first use).

Kingsoft is the registry's fallback: it judges every product no other policy claims (its rules treat an
unknown product as "in no self-service list").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from domain import applications
from domain.errors import Inconsistent, UnknownInstance
from domain.instance import Instance, account_id, opening
from domain.lifecycle import Refund
from domain.policies.kingsoft import ABOUT, NAME, commands, rules
from domain.policies.kingsoft.orders import build_orders
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.policies.kingsoft.view import InstanceView, replay
from domain.policies.kingsoft.view import applications as prior_applications
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
from domain.timeutil import readable

DEFAULTS = KingsoftParameters()  # frozen: one value for every quote without overrides
SETTLE_DAYS = 5  # K-L2: "within 1-5 working days"; the spec makes only `holidays` a Parameter


def check_bundle(views: list[InstanceView]) -> None:
    """Bad input (not a denial): every instance in ``with`` must be an EIP bound to, or an EBS mounted on,
    the primary KEC, of the same account, and named once."""
    primary, names = views[0], [v.name for v in views]
    if len(set(names)) != len(names):
        raise Inconsistent(f"an instance is named twice in the application: {names}", "with")
    for v in views[1:]:
        if v.account != primary.account:
            raise Inconsistent(f"{v.name} belongs to account {v.account}, not {primary.account}", "with")
        if v.name not in primary.eips | primary.disks:
            raise Inconsistent(f"{v.name} is not an EIP bound to, or an EBS mounted on, {primary.name}", "with")


def assess(instances: list[tuple[str, Sequence[Any]]], account_events: Sequence[Any], request: rules.Request,
           known_at: datetime, params: KingsoftParameters | None = None, explain: bool = True) -> Quote:
    """Replay the instances (primary first) and the account at the request's time, as known at
    ``known_at``, and judge the request (``explain`` False: the lean quote, `judge`). Raises `UnknownInstance`
    for an instance with no purchase then."""
    views: list[InstanceView] = []
    params = params or KingsoftParameters()
    for name, events in instances:
        view = replay(name, events, request.at, known_at)
        if view is None:
            zone = params.calendar_tz
            raise UnknownInstance(f"{name!r} had no purchase at {readable(request.at, zone, exact=True)} as known "
                                  f"at {readable(known_at, zone)}", "instance" if not views else "with")
        views.append(view)
    check_bundle(views)
    prior = prior_applications(account_events, request.at, known_at)
    return rules.judge(rules.Application(views, prior, request, known_at, params), explain)


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
        request = rules.Request(at=ctx.at, mode=ctx.mode, exception_report=ctx.exception_report,
                                      reason=ctx.reason)
        account = ctx.load(account_id(opening(ctx.instances[0][1]).account))
        return assess(ctx.instances, account, request, ctx.known_at, params, ctx.explain)

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
        return QuotaPeriod("K-Q1", rules.quota_month(at, zone), zone, rules.QUOTA)

    def marks(self, head: Any, facts: Iterable[Any]) -> Marks:
        """The timeline's Kingsoft marks: the five-day window (K-F2), the renewal/downgrade overlaps K-S3
        forbids (and no other overlap), and K-L3 (an accepted application releases the instance)."""
        start = rules.window_opens(head)
        overlaps = tuple(RuleOverlap("K-S3", (r.order, d.order), a, b,
                                     f"downgrade {d.order} overlaps renewal {r.order}")
                         for r, d, a, b in rules.k_s3_overlaps(build_orders(facts)))
        return Marks(windows=(Window("K-F2", "five-day window", start, start + rules.FIVE_DAY_WINDOW),),
                     overlaps=overlaps, overlap_rules=("K-S3",), release_rule="K-L3")


UNREFUNDED = ("voucher", "gift_balance")  # K-M1: never refunded (the journal shows them as such)
POLICY: Policy = Kingsoft()
