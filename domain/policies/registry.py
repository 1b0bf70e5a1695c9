"""The policy registry: the instance's product decides which policy judges a refund request.

Each entry pairs a `PolicyInfo` with an ``assess`` function ``(Context) -> Quote``. The first policy
that claims the product wins; Kingsoft is the fallback (its rules treat unknown products as "in no
self-service list").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from domain.errors import LedgerError, UnknownInstance
from domain.instance import account_id, opening
from domain.policies.kingsoft import eligibility
from domain.policies.kingsoft.amount import POLICY as KINGSOFT
from domain.policies.kingsoft.amount import KingsoftParameters
from domain.policies.korpro import rules as korpro
from domain.policies.korpro.subscription import BASE_VERSION, PRODUCT, KorProParameters, in_force, policy_book_id
from domain.policy import PolicyInfo
from domain.quote import Quote


@dataclass(frozen=True)
class Context:
    """Everything a policy may read to judge one request, as known at ``known_at``."""

    instances: list[tuple[str, list[Any]]]  # primary first, then the instances refunded with it
    load: Callable[[Any], list[Any]]  # events of another aggregate (the account, the policy book)
    at: datetime
    known_at: datetime
    mode: str = "auto"  # Kingsoft: auto | five_day | self_service | exception; KorPro: the reason
    exception_report: str | None = None
    reason: str | None = None
    invoice: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # parameter overrides, as given (what-if)


def own(overrides: dict[str, Any], parameters: type) -> dict[str, Any]:
    """The overrides a policy's parameters know; a name that no registered policy knows is bad input."""
    every = {f.name for cls in (KingsoftParameters, KorProParameters) for f in fields(cls)}
    unknown = sorted(set(overrides) - every)
    if unknown:
        raise LedgerError(f"unknown policy parameter(s) {unknown}; known: {sorted(every)}", "--set")
    mine = {f.name for f in fields(parameters)}
    return {k: v for k, v in overrides.items() if k in mine}


def assess_kingsoft(ctx: Context) -> Quote:
    purchase = opening(ctx.instances[0][1])
    params = KingsoftParameters().parse(own(ctx.overrides, KingsoftParameters))
    request = eligibility.Request(at=ctx.at, mode=ctx.mode, exception_report=ctx.exception_report, reason=ctx.reason)
    return eligibility.assess(ctx.instances, ctx.load(account_id(purchase.account)), request, ctx.known_at, params)


def assess_korpro(ctx: Context) -> Quote:
    (name, events), *bundle = ctx.instances
    if bundle:
        raise LedgerError("a KorPro refund concerns one subscription; `with` is not allowed", "with")
    view = korpro.replay_subscription(name, events, ctx.at, ctx.known_at)
    if view is None:
        raise UnknownInstance(f"{name!r} had no subscription at {ctx.at.isoformat()} as known at "
                              f"{ctx.known_at.isoformat()}", "instance")
    version, params = in_force(ctx.load(policy_book_id()), ctx.at, ctx.known_at)
    if ctx.overrides:
        params = params.override(own(ctx.overrides, KorProParameters))
    reason = ctx.reason if ctx.mode == "auto" else ctx.mode
    return korpro.judge(view, korpro.KorProRequest(ctx.at, reason or "", ctx.invoice), params, version, ctx.known_at)


POLICIES: list[tuple[PolicyInfo, Callable[[Context], Quote]]] = [
    (PolicyInfo("korpro", BASE_VERSION, frozenset({PRODUCT})), assess_korpro),
    (PolicyInfo(KINGSOFT, "2021-05-27", None), assess_kingsoft),
]


def policy_for(product: str) -> tuple[PolicyInfo, Callable[[Context], Quote]]:
    for info, assess in POLICIES:
        if info.products is None or product in info.products:
            return info, assess
    raise AssertionError("the registry ends with a fallback policy")


def assess(ctx: Context) -> Quote:
    purchase = opening(ctx.instances[0][1])
    if purchase is None:
        raise UnknownInstance(f"{ctx.instances[0][0]!r} has no purchase or subscription", "instance")
    return policy_for(purchase.product)[1](ctx)
