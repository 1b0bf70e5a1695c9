"""Webhook subscriptions under ``/v1/webhooks`` (an unnarrowed admin key; docs/webhooks.md): add (its signing
secret is in the answer, once), list, remove, a subscription's delivery log and a manual re-send."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from adapters.http.auth import AppDep, Hooks, Unnarrowed
from adapters.http.bodies import Body, json_body, json_model
from adapters.http.problems import responses
from adapters.services import webhooks

router = APIRouter(prefix="/v1", responses=responses(401, 403, 404, 422, 429), tags=["webhooks"])
Id = Annotated[str, Path(max_length=40)]


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(max_length=2000, description="where messages are POSTed (http or https)")
    types: list[str] = Field([], max_length=20, description="event types (none: every type)")
    accounts: list[str] = Field([], max_length=1000, description="only these accounts' (none: every account)")
    after: str | None = Field(None, max_length=100, description="a change-feed cursor to start after "
                                                                 "(default: what is recorded from now on)")
    from_start: bool = Field(False, description="send the whole log")


class Resend(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    after: str | None = Field(None, max_length=100, description="send every message after this change-feed "
                                                                 "cursor again (default: the waiting one, now)")


@router.post("/webhooks", status_code=201, summary="Subscribe a URL (its signing secret is shown once)",
             openapi_extra=json_body(NewSubscription))
def add(app: AppDep, who: Hooks, whole: Unnarrowed, body: Body) -> dict[str, Any]:
    new, _ = json_model(body, NewSubscription)
    return webhooks.add_subscription(app, new.url, new.types, new.accounts, new.after, from_start=new.from_start,
                                     actor=who.actor).as_json()


@router.get("/webhooks", summary="Every subscription and where its delivery stands (never a secret)")
def list_all(app: AppDep, who: Hooks, whole: Unnarrowed) -> dict[str, Any]:
    return {"webhooks": [s.as_json() for s in webhooks.list_subscriptions(app)]}


@router.delete("/webhooks/{subscription}", summary="Remove a subscription: nothing more is sent to it")
def remove(app: AppDep, who: Hooks, whole: Unnarrowed, subscription: Id) -> dict[str, Any]:
    return webhooks.remove_subscription(app, subscription).as_json()


@router.get("/webhooks/{subscription}/deliveries", summary="The subscription's delivery log, newest first")
def deliveries(app: AppDep, who: Hooks, whole: Unnarrowed, subscription: Id,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    return webhooks.webhook_deliveries(app, subscription, limit)


@router.post("/webhooks/{subscription}/resend", summary="Try the waiting message now, or send again after a "
             "cursor", openapi_extra=json_body(Resend))
def resend(app: AppDep, who: Hooks, whole: Unnarrowed, subscription: Id, body: Body) -> dict[str, Any]:
    asked, _ = json_model(body, Resend)
    return webhooks.resend(app, subscription, asked.after).as_json()
