"""Kingsoft's facts about an instance (interface.md, "Kingsoft-style instances"): orders, billing mode, bindings.

They are recorded on the generic `Instance` stream; refund applications use the generic lifecycle events of
`domain.instance` (RefundApplied, RefundIncluded, RefundDenied, RefundCompleted, RefundRejected). These
classes were nested in `Instance` before they moved here: their former topics are registered in
`domain.topics`, so ledgers written then still decode.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.instance import Instance
from domain.money import Payment


class Purchased(Instance.Event):
    KIND = "purchase"
    OPENS = True  # the fact that opens the instance (account, product, currency)
    order: str
    account: str
    product: str
    months: int
    monthly_price: Decimal
    payment: Payment
    currency: str
    discounts: dict[str, Decimal]
    activated_at: datetime | None
    trial_started_at: datetime | None
    billing: str
    image: str | None
    bandwidth_mbps: int | None
    promotion: dict[str, Any] | None
    spec: dict[str, Any] | None


class Renewed(Instance.Event):
    KIND = "renewal"
    order: str
    months: int
    monthly_price: Decimal
    payment: Payment
    discounts: dict[str, Decimal]


class SpecChanged(Instance.Event):
    """An upgrade or a downgrade: the new spec and its monthly price, from ``at`` to the expiry (K-T3)."""

    order: str
    monthly_price: Decimal
    spec: dict[str, Any] | None


class Upgraded(SpecChanged):
    KIND = "upgrade"
    payment: Payment


class Downgraded(SpecChanged):
    KIND = "downgrade"
    credit: Decimal


class BillingModeChanged(Instance.Event):
    mode: str


class EipBound(Instance.Event):
    eip: str


class EipUnbound(Instance.Event):
    eip: str


class DiskMounted(Instance.Event):
    disk: str


class DiskUnmounted(Instance.Event):
    disk: str


class KdrdsAssociated(Instance.Event):
    kdrds: str


class KdrdsDeleted(Instance.Event):
    kdrds: str


BOUND = {  # what can be bound to an instance: (the fact that binds it, the fact that unbinds it)
    "eip": (EipBound, EipUnbound),
    "disk": (DiskMounted, DiskUnmounted),
    "kdrds": (KdrdsAssociated, KdrdsDeleted),
}
