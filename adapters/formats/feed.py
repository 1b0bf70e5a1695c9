"""The command feed (JSON Lines), validated at the edge with pydantic (interface.md, "Command feed").

Money is a JSON string with at most 2 decimals; a JSON number is refused (a float
must never come near money). Every timestamp must carry an offset. Unknown types and
fields are refused. Errors name the line and the field: ``line 3: payment.cash: ...``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from domain.money import Payment


class BadInput(Exception):
    """Bad input at a feed line (or a CLI argument, ``line`` None): exit status 2, nothing written."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.message = message


MONEY_TEXT = re.compile(r"^\d+(\.\d{1,2})?$")  # an amount: digits, at most 2 decimals (feed and statement)
_RATE = re.compile(r"^\d+(\.\d+)?$")


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise ValueError(f"money must be a JSON string such as \"696.00\", not the number {value!r}")
    if not isinstance(value, str):
        raise ValueError("money must be a JSON string such as \"696.00\"")
    if value.startswith("-"):
        raise ValueError(f"a negative amount ({value}) makes no sense here")
    if not MONEY_TEXT.match(value):
        raise ValueError(f"{value!r} is not an amount with at most 2 decimals")
    return Decimal(value)


def _rate(value: Any) -> Decimal:
    if not isinstance(value, str) or not _RATE.match(value):
        raise ValueError(f"a rate must be a JSON string such as \"0.30\", not {value!r}")
    rate = Decimal(value)
    if not rate < 1:
        raise ValueError(f"a rate must be below 1, got {value}")
    return rate


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"a time must be an ISO 8601 string with an offset, not {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{value!r} has no offset: every time must be timezone-aware (e.g. +08:00)")
    return parsed


Money = Annotated[Decimal, BeforeValidator(_money)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]
Instant = Annotated[datetime, BeforeValidator(_instant)]
Id = Annotated[str, Field(min_length=1, strict=True)]
Months = Annotated[int, Field(gt=0, strict=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PaymentIn(_Model):
    cash: Money = Decimal("0")
    cloud_ticket: Money = Decimal("0")
    voucher: Money = Decimal("0")
    gift_balance: Money = Decimal("0")

    def value(self) -> Payment:
        return Payment(self.cash, self.cloud_ticket, self.voucher, self.gift_balance)


class PromotionIn(_Model):
    id: Id
    refundable: bool = True
    five_day_refund: bool = True


def _check_discounts(value: dict[str, Decimal]) -> dict[str, Decimal]:
    for k in value:
        if not k.isdigit() or int(k) < 1:
            raise ValueError(f"discount key {k!r} must be a whole number of months")
    return value


class Command(_Model):
    type: str
    at: Instant
    id: Id | None = None
    recorded_at: Instant | None = None


class Purchase(Command):
    type: Literal["purchase"]
    instance: Id
    account: Id
    product: Id
    order: Id
    months: Months
    monthly_price: Money
    payment: PaymentIn
    price: Money | None = None
    currency: Id = "CNY"
    discounts: dict[str, Rate] = {}
    activated_at: Instant | None = None
    trial_started_at: Instant | None = None
    billing: Literal["subscription", "pay_as_you_go"] = "subscription"
    image: Literal["public", "market"] | None = None
    bandwidth_mbps: Annotated[int, Field(gt=0, strict=True)] | None = None
    promotion: PromotionIn | None = None
    spec: dict[str, Any] | None = None

    _discounts = field_validator("discounts")(_check_discounts)


class Renew(Command):
    type: Literal["renew"]
    instance: Id
    order: Id
    months: Months
    monthly_price: Money
    payment: PaymentIn
    price: Money | None = None
    currency: Id | None = None
    discounts: dict[str, Rate] = {}

    _discounts = field_validator("discounts")(_check_discounts)


class _Change(Command):
    """An upgrade or a downgrade: the new spec's monthly price, from ``at`` to the instance's expiry (K-T3)."""

    instance: Id
    order: Id
    monthly_price: Money
    currency: Id | None = None
    spec: dict[str, Any] | None = None


class Upgrade(_Change):
    type: Literal["upgrade"]
    payment: PaymentIn
    price: Money | None = None


class Downgrade(_Change):
    type: Literal["downgrade"]
    credit: Money


class ChangeBillingMode(Command):
    type: Literal["change_billing_mode"]
    instance: Id
    mode: Id


class BindEip(Command):
    type: Literal["bind_eip", "unbind_eip"]
    instance: Id
    eip: Id


class MountDisk(Command):
    type: Literal["mount_disk", "unmount_disk"]
    instance: Id
    disk: Id


class Kdrds(Command):
    type: Literal["associate_kdrds", "delete_kdrds"]
    instance: Id
    kdrds: Id


class RequestRefund(Command):
    """Kingsoft: ``mode``, ``with``, ``exception_report``, ``reason`` (free text). KorPro: ``reason`` (one of
    the policy's reasons), ``email``, ``invoice``, ``explanation`` (all required, P-R1)."""

    type: Literal["request_refund"]
    instance: Id
    refund: Id
    mode: Literal["auto", "five_day", "self_service", "exception"] = "auto"
    with_: list[Id] = Field(default=[], alias="with")
    exception_report: Id | None = None
    reason: str | None = None
    email: str | None = None
    invoice: str | None = None
    explanation: str | None = None


class CompleteRefund(Command):
    type: Literal["complete_refund"]
    refund: Id


class RejectRefund(Command):
    type: Literal["reject_refund"]
    refund: Id
    reason: Id


class Retract(Command):
    type: Literal["retract"]
    target: Id
    reason: Id


class Subscribe(Command):
    type: Literal["subscribe"]
    instance: Id
    account: Id
    plan: Literal["performance", "fixed"]
    currency: Id = "USD"
    commitment_months: Months = 12
    estimated_monthly_savings: Money | None = None
    cpus: Annotated[int, Field(gt=0, strict=True)] | None = None


class Charge(Command):
    type: Literal["charge"]
    instance: Id
    invoice: Id
    amount: Money
    period_start: Instant
    period_end: Instant
    estimated_savings: Money | None = None


class ReportSavings(Command):
    type: Literal["report_savings"]
    instance: Id
    invoice: Id
    actual_savings: Money


class ReportOutage(Command):
    type: Literal["report_outage"]
    instance: Id
    start: Instant
    end: Instant


class ReportBillingError(Command):
    type: Literal["report_billing_error"]
    instance: Id
    invoice: Id
    incorrect_amount: Money
    duplicate: Annotated[bool, Field(strict=True)] = False


class EndSubscription(Command):
    type: Literal["cancel", "terminate_for_violation"]
    instance: Id


class _Decision(Command):
    refund: Id
    approve: Annotated[bool, Field(strict=True)]
    amount: Money | None = None


class DecideRefund(_Decision):
    type: Literal["decide_refund"]
    reason: str | None = None


class Escalate(Command):
    type: Literal["escalate"]
    refund: Id


class DecideEscalation(_Decision):
    type: Literal["decide_escalation"]


class PostPolicy(Command):
    type: Literal["post_policy"]
    policy: Literal["korpro"]
    version: Id
    parameters: dict[str, Any] = {}


COMMANDS: dict[str, type[Command]] = {
    "purchase": Purchase, "renew": Renew, "upgrade": Upgrade, "downgrade": Downgrade,
    "change_billing_mode": ChangeBillingMode,
    "bind_eip": BindEip, "unbind_eip": BindEip, "mount_disk": MountDisk, "unmount_disk": MountDisk,
    "associate_kdrds": Kdrds, "delete_kdrds": Kdrds,
    "request_refund": RequestRefund, "complete_refund": CompleteRefund, "reject_refund": RejectRefund,
    "retract": Retract,
    "subscribe": Subscribe, "charge": Charge, "report_savings": ReportSavings, "report_outage": ReportOutage,
    "report_billing_error": ReportBillingError, "cancel": EndSubscription, "terminate_for_violation": EndSubscription,
    "decide_refund": DecideRefund, "escalate": Escalate, "decide_escalation": DecideEscalation,
    "post_policy": PostPolicy,
}


class FeedLine(NamedTuple):
    """A validated feed line: its number, its command, and for a line with an ``id`` the digest of its
    content (canonical JSON without ``recorded_at``), which tells a duplicate from a conflicting reuse."""

    number: int
    command: Command
    digest: str


def parse_line(number: int, text: str) -> FeedLine:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(number, f"malformed JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(raw, dict):
        raise BadInput(number, "a feed line must be a JSON object")
    kind = raw.get("type")
    if kind is None:
        raise BadInput(number, "type: missing required field")
    model = COMMANDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise BadInput(number, f"type: unknown command {kind!r} (known: {', '.join(sorted(COMMANDS))})")
    try:
        command = model.model_validate(raw)
    except ValidationError as e:
        raise BadInput(number, describe(e)) from None
    digest = ""
    if command.id is not None:
        content = {k: v for k, v in raw.items() if k != "recorded_at"}
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return FeedLine(number, command, digest)


def describe(error: ValidationError) -> str:
    """The first pydantic error as ``field: message``."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "line"
    kind = first["type"]
    if kind == "missing":
        return f"{where}: missing required field"
    if kind == "extra_forbidden":
        return f"{where}: unknown field"
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"


def parse_feed(lines: Iterable[str]) -> list[FeedLine]:
    """Every line of a feed, validated; blank lines are skipped. Raises `BadInput` at the first bad line."""
    out: list[FeedLine] = []
    for number, text in enumerate(lines, start=1):
        if text.strip():
            out.append(parse_line(number, text))
    return out
