"""KorPro's facts about a subscription (interface.md, "KorPro subscriptions"): the subscription itself, its
charges, the savings and outages reported, billing errors, and its end.

They are recorded on the `Subscription` stream (`domain.policies.korpro.subscription`), whose own events are the
refund lifecycle (P-R1, P-R2, P-D1, P-B1), as Kingsoft's facts are in `domain.policies.kingsoft.events` and its
lifecycle events in `domain.instance`. These classes were nested in `Subscription` before they moved here: their
former topics are registered in the package's ``former_topics``, so ledgers written then still decode.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.instance import Instance


class Subscribed(Instance.Event):
    OPENS = True
    account: str
    product: str
    plan: str  # performance | fixed
    currency: str
    commitment_months: int
    estimated_monthly_savings: Decimal | None
    cpus: int | None


class Charged(Instance.Event):
    invoice: str
    amount: Decimal
    period_start: datetime
    period_end: datetime
    estimated_savings: Decimal | None


class SavingsReported(Instance.Event):
    invoice: str
    actual_savings: Decimal


class OutageReported(Instance.Event):
    start: datetime
    end: datetime


class BillingErrorReported(Instance.Event):
    invoice: str
    incorrect_amount: Decimal
    duplicate: bool


class Cancelled(Instance.Event):
    pass


class TerminatedForViolation(Instance.Event):
    pass
