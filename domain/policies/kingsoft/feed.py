"""Kingsoft's feed commands as the edge reads them (interface.md, "Kingsoft-style instances"; docs/feed.md):
pydantic models of the shared field types (`adapters.formats.feed`), one per command in `MODELS`, which the feed
parser reads through the registry (`domain.policy.About.feed`). The policy's edge: only the parser imports it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator

from adapters.formats import envelope
from adapters.formats.feed import (
    Command,
    Currency,
    FreeForm,
    Id,
    InstanceId,
    Money,
    Months,
    OptionalCurrency,
    OptionalInstant,
    OptionalMoney,
    PaymentIn,
    Product,
    Rate,
    _Model,
)


class PromotionIn(_Model):
    id: Id
    refundable: bool = True
    five_day_refund: bool = True


def _check_discounts(value: dict[str, Decimal]) -> dict[str, Decimal]:
    for k in value:
        envelope.months_key(k)
    return value


class Purchase(Command):
    type: Literal["purchase"]
    instance: InstanceId
    account: Id
    product: Product
    order: Id
    months: Months
    monthly_price: Money
    payment: PaymentIn
    price: OptionalMoney = None
    currency: Currency = "CNY"
    discounts: dict[str, Rate] = {}
    activated_at: OptionalInstant = None
    trial_started_at: OptionalInstant = None
    billing: Literal["subscription", "pay_as_you_go"] = "subscription"
    image: Literal["public", "market"] | None = None
    bandwidth_mbps: Annotated[int, Field(gt=0, le=envelope.BANDWIDTH_MBPS_MAX, strict=True)] | None = None
    promotion: PromotionIn | None = None
    spec: FreeForm = None

    _discounts = field_validator("discounts")(_check_discounts)


class Renew(Command):
    type: Literal["renew"]
    instance: InstanceId
    order: Id
    months: Months
    monthly_price: Money
    payment: PaymentIn
    price: OptionalMoney = None
    currency: OptionalCurrency = None
    discounts: dict[str, Rate] = {}

    _discounts = field_validator("discounts")(_check_discounts)


class _Change(Command):
    """An upgrade or a downgrade: the new spec's monthly price, from ``at`` to the instance's expiry (K-T3)."""

    instance: InstanceId
    order: Id
    monthly_price: Money
    currency: OptionalCurrency = None
    spec: FreeForm = None


class Upgrade(_Change):
    type: Literal["upgrade"]
    payment: PaymentIn
    price: OptionalMoney = None


class Downgrade(_Change):
    type: Literal["downgrade"]
    credit: Money


class ChangeBillingMode(Command):
    type: Literal["change_billing_mode"]
    instance: InstanceId
    mode: Id


class BindEip(Command):
    type: Literal["bind_eip", "unbind_eip"]
    instance: InstanceId
    eip: InstanceId


class MountDisk(Command):
    type: Literal["mount_disk", "unmount_disk"]
    instance: InstanceId
    disk: InstanceId


class Kdrds(Command):
    type: Literal["associate_kdrds", "delete_kdrds"]
    instance: InstanceId
    kdrds: InstanceId


MODELS: dict[str, type[Command]] = {
    "purchase": Purchase, "renew": Renew, "upgrade": Upgrade, "downgrade": Downgrade,
    "change_billing_mode": ChangeBillingMode,
    "bind_eip": BindEip, "unbind_eip": BindEip, "mount_disk": MountDisk, "unmount_disk": MountDisk,
    "associate_kdrds": Kdrds, "delete_kdrds": Kdrds,
}
