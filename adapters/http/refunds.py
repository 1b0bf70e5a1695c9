"""The refund center's API (issue 28; docs/http.md, "The refund center"): a customer's "Unsubscribe management"
list, applying for a refund, and each step of a refund's lifecycle. Each route parses, calls one use case
(`adapters.services.refund_center`, `adapters.services.refund_steps`) and answers its JSON; each write is
the feed line it stands for, recorded as a feed (same rules, frozen quote, races), with ``Idempotency-Key``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from adapters.http import params
from adapters.http.auth import AppDep, Applicant, Customer, Decider, Escalator, principal
from adapters.http.bodies import Body, json_body, json_model
from adapters.http.problems import responses
from adapters.services import listings, refund_center, refund_steps
from adapters.services.idempotency import Answer
from adapters.services.keys import Principal
from adapters.services.refund_steps import Who

router = APIRouter(prefix="/v1", responses=responses(401, 403, 404, 409, 422, 429), tags=["refund center"])

IdempotencyKey = Annotated[str | None, Header(max_length=255, description="retry safely: the first answer again")]
Id = Annotated[str, Path(min_length=1, max_length=200)]
AT = "staff only (a key not narrowed to accounts): the business time it was asked, ISO 8601 with an offset; " \
     "default now"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    at: str | None = Field(None, max_length=64, description=AT)

    def fields(self) -> dict[str, Any]:
        """The feed line's fields the body gives (by their feed names; ``at`` apart)."""
        return self.model_dump(by_alias=True, exclude={"at"}, exclude_none=True)


class Application(_Body):
    """A ``request_refund`` line's fields (docs/feed.md): which a request takes is its instance's policy's."""

    refund: str | None = Field(None, max_length=200, description="its id (default: generated)")
    mode: str | None = Field(None, max_length=64, description="auto (default), or a mode of the policy")
    reason: str | None = Field(None, max_length=2000, description="a policy's refund reason, or free text")
    with_: list[str] | None = Field(None, alias="with", max_length=100, description="instances refunded with it")
    invoice: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    explanation: str | None = Field(None, max_length=10000)
    exception_report: str | None = Field(None, max_length=2000)


class Decision(_Body):
    approve: bool = Field(strict=True)
    amount: str | None = Field(None, max_length=32, description="money text, e.g. 120.00 (at most the ceiling)")


class RefundDecision(Decision):
    reason: str | None = Field(None, max_length=2000)


class Rejection(_Body):
    reason: str = Field(max_length=2000)


class DeadlineOut(BaseModel):
    rule: str = Field(description="K-L2, P-R2, P-R3 or P-D1")
    waiting_for: str
    since: str
    working_days: int
    due: str = Field(description="the end of the last working day, in the policy's zone")
    severity: str = Field(description="overdue, or flag (P-R3: noted, not failed)")


class ApplicationOut(BaseModel):
    """A refund application as it stands (docs/http.md, "The refund center")."""

    refund: str
    instance: str
    account: str
    policy: str
    mode: str
    state: str = Field(description="accepted, requested, approved, escalated, rejected, completed or denied")
    eligible: bool
    amount: str
    currency: str
    requested_at: str
    recorded_at: str
    known_at: str
    settled_at: str | None
    escalated: bool
    actor: str | None
    rules: list[str] = Field(description="a denied request's rule ids")
    quote: dict[str, Any] = Field(description="the frozen quote (K-L1), docs/quote.md")
    deadlines: list[DeadlineOut] = Field(description="the deadline of the stage it waits in; empty once none")


class ModeOut(BaseModel):
    mode: str
    judged_as: str | None = None
    eligible: bool
    amount: str | None = None
    currency: str | None = None
    rules: list[str] = Field(description="the rule ids that deny it (empty when eligible)")
    quote: dict[str, Any] | None = Field(None, description="the quote in this mode, docs/quote.md")
    refused: str | None = Field(None, description="bad input: what a request in this mode needs more")


class RefundableOut(BaseModel):
    instance: str
    account: str
    product: str
    currency: str
    opened_at: str
    recorded_at: str
    released_by: str | None
    policy: str
    eligible: bool
    auto: ModeOut | None
    modes: list[ModeOut]
    windows: list[dict[str, str]] = Field(description="rule, label, start, end (K-F2: the five-day window)")
    quota: dict[str, Any] | None = Field(description="rule, period, zone, limit, used, left (K-Q1)")


class UnsubscribeListOut(BaseModel):
    at: str
    known_at: str
    accounts: list[str]
    instances: list[RefundableOut]


APPLICATION = {"model": ApplicationOut, "description": "the application"}


def applicable(app: AppDep, who: Annotated[Principal, Depends(principal)], instance: Id) -> str:
    """An instance the key may apply for: known, and one of its accounts' (else the same 404 for both)."""
    account = listings.instance_account(app, instance)
    if account is None or (who.accounts and account not in who.accounts):
        raise HTTPException(404, f"no instance {instance!r}")
    return instance


def visible_refund(app: AppDep, who: Annotated[Principal, Depends(principal)], refund: Id) -> str:
    """A refund the key may see (`UnknownRefund`, 404, for another account's as for an unknown one)."""
    refund_center.refund_instance(app, refund, who.accounts)
    return refund


Applicable = Annotated[str, Depends(applicable)]
VisibleRefund = Annotated[str, Depends(visible_refund)]


def _who(who: Principal, body: _Body, key: str | None) -> Who:
    return Who(who.id, who.actor, who.accounts, key, params.optional_instant("at", body.at))


def _answer(answer: Answer, response: Response) -> dict[str, Any]:
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer.as_json()


@router.get("/me/instances", responses={200: {"model": UnsubscribeListOut, "description": "the list"}},
            summary="The Unsubscribe management list: the key's instances, what a refund would pay in each "
                    "mode, why not, and the quota left")
def my_instances(app: AppDep, who: Customer, at: params.OptionalAt = None) -> dict[str, Any]:
    """For a key narrowed to accounts (a customer's): each instance of its accounts, with the quote in
    ``auto`` and in each mode its policy allows at ``at`` (default now) as known now, the rule ids that deny
    each, the windows its policy opens (K-F2) and its account's applications left in ``at``'s month (K-Q1)."""
    if not who.accounts:
        raise HTTPException(403, "a key not narrowed to accounts has no instances of its own")
    return refund_center.unsubscribe_list(app, who.accounts, params.optional_instant("at", at)).as_json()


@router.post("/instances/{instance}/refund-requests", status_code=201, responses={201: APPLICATION},
             openapi_extra=json_body(Application),
             summary="Apply for a refund: recorded as the request_refund feed line, its quote frozen")
def apply(app: AppDep, who: Applicant, instance: Applicable, raw: Body, response: Response,
          idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    """Answers the application: its state (``accepted``, ``requested``, ``approved`` or ``denied`` with its
    ``rules``), frozen quote (K-L1) and the deadline of the stage it waits in (K-L2; P-R2, P-R3)."""
    body, _ = json_model(raw, Application)
    answer = refund_steps.apply_for_refund(app, instance, body.fields(), _who(who, body, idempotency_key))
    return _answer(answer, response)


@router.post("/refunds/{refund}/decision", openapi_extra=json_body(RefundDecision), responses={200: APPLICATION},
             summary="Decide a reviewed request (decide_refund, P-R2)")
def decision(app: AppDep, who: Decider, refund: VisibleRefund, raw: Body, response: Response,
             idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    """Approve (``amount``: a discretionary case's, at most its ceiling) or reject; answers the application
    as it stands after it (its state and the deadline of its next stage: P-R3, P-D1)."""
    body, _ = json_model(raw, RefundDecision)
    answer = refund_steps.decide_refund(app, refund, body.approve, body.amount, body.reason,
                                        _who(who, body, idempotency_key))
    return _answer(answer, response)


@router.post("/refunds/{refund}/escalation", openapi_extra=json_body(_Body), responses={200: APPLICATION},
             summary="Escalate a rejected request to management (escalate, P-D1)")
def escalation(app: AppDep, who: Escalator, refund: VisibleRefund, response: Response, raw: Body,
               idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    """Once per request; answers the application, waiting for the escalation's decision (P-D1)."""
    body = json_model(raw, _Body)[0] if raw.strip() else _Body(at=None)
    return _answer(refund_steps.escalate_refund(app, refund, _who(who, body, idempotency_key)), response)


@router.post("/refunds/{refund}/escalation-decision", openapi_extra=json_body(Decision), responses={200: APPLICATION},
             summary="Decide an escalation (decide_escalation, P-D1)")
def escalation_decision(app: AppDep, who: Decider, refund: VisibleRefund, raw: Body, response: Response,
                        idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    body, _ = json_model(raw, Decision)
    answer = refund_steps.decide_escalation(app, refund, body.approve, body.amount, _who(who, body, idempotency_key))
    return _answer(answer, response)


@router.post("/refunds/{refund}/completion", openapi_extra=json_body(_Body), responses={200: APPLICATION},
             summary="Complete an accepted or approved refund (complete_refund: K-L2, P-R3)")
def completion(app: AppDep, who: Decider, refund: VisibleRefund, response: Response, raw: Body,
               idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    body = json_model(raw, _Body)[0] if raw.strip() else _Body(at=None)
    return _answer(refund_steps.complete_refund(app, refund, _who(who, body, idempotency_key)), response)


@router.post("/refunds/{refund}/rejection", openapi_extra=json_body(Rejection), responses={200: APPLICATION},
             summary="Reject an accepted application (reject_refund, K-Q2)")
def rejection(app: AppDep, who: Decider, refund: VisibleRefund, raw: Body, response: Response,
              idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    body, _ = json_model(raw, Rejection)
    answer = refund_steps.reject_refund(app, refund, body.reason, _who(who, body, idempotency_key))
    return _answer(answer, response)
