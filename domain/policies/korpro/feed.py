"""KorPro's feed commands as the edge reads them (interface.md, "KorPro subscriptions"; docs/feed.md): pydantic
models of the shared field types (`adapters.formats.feed`), one per command in `MODELS` (its subscriptions' facts,
its refund lifecycle's steps, its policy book), which the feed parser reads through the registry
(`domain.policy.About.feed`). The policy's edge: only the parser imports it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from adapters.formats import envelope
from adapters.formats.envelope import Refused
from adapters.formats.feed import (
    Command,
    Currency,
    Id,
    InstanceId,
    Instant,
    Money,
    Months,
    OptionalMoney,
    OptionalText,
    Version,
)


class Subscribe(Command):
    type: Literal["subscribe"]
    instance: InstanceId
    account: Id
    plan: Literal["performance", "fixed"]
    currency: Currency = "USD"
    commitment_months: Months = 12
    estimated_monthly_savings: OptionalMoney = None
    cpus: Annotated[int, Field(gt=0, le=envelope.CPUS_MAX, strict=True)] | None = None


class Charge(Command):
    type: Literal["charge"]
    instance: InstanceId
    invoice: Id
    amount: Money
    period_start: Instant
    period_end: Instant
    estimated_savings: OptionalMoney = None

    @model_validator(mode="after")
    def _period(self) -> Charge:
        if self.period_end - self.period_start > timedelta(days=envelope.PERIOD_DAYS_MAX):
            raise Refused(f"a billing period lasts at most {envelope.PERIOD_DAYS_MAX:,} days", "period_end")
        return self


class ReportSavings(Command):
    type: Literal["report_savings"]
    instance: InstanceId
    invoice: Id
    actual_savings: Money


class ReportOutage(Command):
    type: Literal["report_outage"]
    instance: InstanceId
    start: Instant
    end: Instant


class ReportBillingError(Command):
    type: Literal["report_billing_error"]
    instance: InstanceId
    invoice: Id
    incorrect_amount: Money
    duplicate: Annotated[bool, Field(strict=True)] = False


class EndSubscription(Command):
    type: Literal["cancel", "terminate_for_violation"]
    instance: InstanceId


class _Decision(Command):
    refund: Id
    approve: Annotated[bool, Field(strict=True)]
    amount: OptionalMoney = None


class DecideRefund(_Decision):
    type: Literal["decide_refund"]
    reason: OptionalText = None


class Escalate(Command):
    type: Literal["escalate"]
    refund: Id


class DecideEscalation(_Decision):
    type: Literal["decide_escalation"]


class PostPolicy(Command):
    type: Literal["post_policy"]
    policy: Literal["korpro"]
    version: Version
    parameters: Annotated[dict[str, Any], BeforeValidator(envelope.free_form)] = {}

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Each value within the envelope for its type; the policy's own parser checks names and meaning."""
        if info.data.get("policy") is not None:
            from domain.policies.korpro.parameters import KorProParameters  # loaded with the policy

            params = KorProParameters
            for name, raw in value.items():
                try:
                    envelope.parameter(params, name, raw)
                except Refused as e:
                    raise Refused(e.message, name) from None
        return value


MODELS: dict[str, type[Command]] = {
    "subscribe": Subscribe, "charge": Charge, "report_savings": ReportSavings, "report_outage": ReportOutage,
    "report_billing_error": ReportBillingError, "cancel": EndSubscription, "terminate_for_violation": EndSubscription,
    "decide_refund": DecideRefund, "escalate": Escalate, "decide_escalation": DecideEscalation,
    "post_policy": PostPolicy,
}
