"""The console's refund center (issue 28; docs/http.md, "Console"): a customer's "Unsubscribe management" page
and its applications, one refund's page, and support's queue. Each route authenticates and authorizes the
session's key as the API does (`session.need`), checks the form's CSRF token, calls the same use case as the
API's route (`adapters.services.refund_center`, `adapters.services.refund_steps`) and renders a template; none
touches the store. Every write is the feed line it stands for, recorded with the key's actor (``key:<id>``).

| page | function (GRANTS) |
| --- | --- |
| ``GET /console/refunds``: the Unsubscribe management list of the key's accounts, their applications | apply (1) |
| ``POST /console/instances/{i}/refund-application``: the confirmation step, a dry run (nothing written) | apply (1) |
| ``POST /console/instances/{i}/refund-requests``: confirmed, the application recorded | apply (1) |
| ``GET /console/refunds/{r}``: one application, its frozen quote, deadline and the steps the key may take | customer |
| ``POST /console/refunds/{r}/escalation`` | escalate |
| ``POST /console/refunds/{r}/decision``, ``/escalation-decision``, ``/completion``, ``/rejection`` | decide |
| ``GET /console/support``: open requests and escalations, oldest first, each late one with its rule | decide |

(1) and customer; a key narrowed to accounts (as ``GET /v1/me/instances``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote as escaped

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.bootstrap import App
from adapters.formats import output
from adapters.formats.errors import BadInput
from adapters.http.auth import AppDep, check_visible, may, narrowed_to
from adapters.http.console import session
from adapters.http.console.common import context, read_form
from adapters.http.console.rendering import page
from adapters.services import listings, queries, refund_center, refund_steps
from adapters.services.keys import Principal
from adapters.services.refund_steps import InConflict
from domain.errors import LedgerError, UnknownInstance

router = APIRouter(prefix="/console", include_in_schema=False)
LIMIT = 100  # the rows a list shows: the customer's newest applications, support's oldest open requests
STEPS = {"escalation": "escalate", "decision": "decide", "escalation-decision": "decide", "completion": "decide",
         "rejection": "decide"}  # a refund's step (its route) -> the function (GRANTS) it needs
COMMANDS = {"escalate": "escalation", "decide_refund": "decision", "decide_escalation": "escalation-decision",
            "complete_refund": "completion", "reject_refund": "rejection"}  # a lifecycle command -> its step
MONEY = re.compile(r"\d{1,16}\.\d{2}")  # the amount a confirmation showed, as the page says it back
TEXT_MAX = 10_000  # characters of one form field (the feed's longest text, an explanation)


def _text(form: Any, name: str) -> str | None:
    """A form field's text (None when absent or blank); longer than `TEXT_MAX` is bad input naming it."""
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    if len(value) > TEXT_MAX:
        raise BadInput(None, f"at most {TEXT_MAX:,} characters", param=name)
    return value.strip()


def _asked(form: Any, policy: str | None) -> dict[str, str | None]:
    """The application's fields the instance's policy asks (`refund_center.request_fields`), as the form gave them."""
    return {name: _text(form, name) for name in refund_center.request_fields(policy)}


def _mine(who: Principal) -> None:
    """The Unsubscribe management list is a customer's own: a key narrowed to accounts (as `GET /v1/me/instances`)."""
    if not who.accounts:
        raise HTTPException(403, "a key not narrowed to accounts has no instances of its own (the support queue "
                                 "lists every account's requests)")


def _who(who: Principal, attempt: str | None = None) -> refund_steps.Who:
    return refund_steps.Who(who.id, who.actor, who.accounts, attempt)


def _late(application: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``application`` with each deadline marked ``late`` when its due time has passed (`overdue`'s rule: due
    by the end of its last working day)."""
    for d in application["deadlines"]:
        d["late"] = datetime.fromisoformat(d["due"]) < now
    return application


# ----- the customer's Unsubscribe management page -----

def _refunds_page(request: Request, app: App, who: Principal, token: str, status: int = 200,
                  errors: dict[str, dict[str, str | None]] | None = None,
                  values: dict[str, dict[str, Any]] | None = None) -> Response:
    _mine(who)
    listing = refund_center.unsubscribe_list(app, who.accounts).as_json()
    now = datetime.fromisoformat(listing["known_at"])
    for row in listing["instances"]:
        row["asks"] = refund_center.request_fields(row["policy"])
        row["zone"] = output.calendar_tz(product=row["product"])  # an instance's own times in its business zone
        for w in row["windows"]:
            w["closed"] = datetime.fromisoformat(w["end"]) <= now
    zone, note = output.one_zone(output.calendar_tz(product=r["product"]) for r in listing["instances"])
    rows = listings.refunds(app, accounts=who.accounts)[-LIMIT:][::-1]  # the newest first
    applications = []
    for r in rows:
        a = _late(refund_center.application(app, r.refund, who.accounts).as_json(), now)
        a["steps"] = [COMMANDS[c] for c in refund_center.next_steps(a["policy"], a["state"], a["escalated"])
                      if may(who, STEPS[COMMANDS[c]])]
        applications.append(a)
    return page(request, "refunds.html", status=status,
                **context(request, who, token, listing=listing, zone=zone, note=note, applications=applications,
                          limit=LIMIT, errors=errors or {}, values=values or {}))


@router.get("/refunds")
def refunds_page(request: Request, app: AppDep) -> Response:
    who, token = session.need(request, app, "customer", "apply")
    return _refunds_page(request, app, who, token)


async def _application_form(request: Request, app: App, instance: str) -> tuple[Principal, str, dict[str, Any]]:
    """A POST of an application form: the key (apply, narrowed), its CSRF token checked, the instance its own
    (else the 404 of an unknown one), and the form."""
    who, token = await run_in_threadpool(session.need, request, app, "customer", "apply")
    form = await read_form(request)
    session.check_csrf(request, form)
    _mine(who)
    await run_in_threadpool(check_visible, app, who, [instance])
    return who, token, form


def _refused(request: Request, app: App, who: Principal, token: str, instance: str, e: Exception,
             fields: dict[str, Any]) -> Response:
    """The Unsubscribe management page again, the refusal at the instance's form (its field named), the
    form's values kept: nothing was written."""
    status = 409 if isinstance(e, InConflict) else 422
    field = e.param if isinstance(e, BadInput) and e.param else str(e).partition(":")[0]  # the field it names
    return _refunds_page(request, app, who, token, status, errors={instance: {"message": str(e), "field": field}},
                         values={instance: fields})


@router.post("/instances/{instance}/refund-application")
async def confirmation(request: Request, app: AppDep, instance: str) -> Response:
    """The confirmation step: what applying now would record (`preview_application`, a dry run: the same
    feed path, nothing written), with the form that records it."""
    who, token, form = await _application_form(request, app, instance)
    policy = await run_in_threadpool(queries.instance_policy, app, instance)
    fields: dict[str, Any] = {}
    try:
        fields = _asked(form, policy)
        shown = await run_in_threadpool(refund_steps.preview_application, app, instance, fields, _who(who))
    except UnknownInstance:
        raise
    except (BadInput, LedgerError) as e:
        return await run_in_threadpool(_refused, request, app, who, token, instance, e, fields)
    zone = output.calendar_tz(policy=shown["policy"])
    return page(request, "refund_confirm.html",
                **context(request, who, token, instance=instance, shown=_late(shown, datetime.fromisoformat(
                    shown["known_at"])), fields=fields, zone=zone, attempt=f"console-{shown['refund']}"))


@router.post("/instances/{instance}/refund-requests")
async def apply(request: Request, app: AppDep, instance: str) -> Response:
    """Confirmed: the application recorded (`apply_for_refund`, as ``POST /v1/instances/{i}/refund-requests``),
    its quote frozen now (K-L1); then its page. The confirmation's refund id and attempt (its
    ``Idempotency-Key``) make a second click answer the first application, recorded once."""
    who, token, form = await _application_form(request, app, instance)
    policy = await run_in_threadpool(queries.instance_policy, app, instance)
    fields: dict[str, Any] = {}
    try:
        fields = {**_asked(form, policy), "refund": _text(form, "refund")}
        attempt = _text(form, "attempt")
        answer = await run_in_threadpool(refund_steps.apply_for_refund, app, instance, fields,
                                         _who(who, attempt[:255] if attempt else None))
    except UnknownInstance:
        raise
    except (BadInput, LedgerError) as e:
        return await run_in_threadpool(_refused, request, app, who, token, instance, e, fields)
    refund = answer.as_json()["refund"]
    shown = _text(form, "shown") or ""
    return RedirectResponse(f"/console/refunds/{escaped(refund, safe='')}?done=applied&shown={escaped(shown[:32])}",
                            status_code=303)


# ----- one refund, and its steps -----

def _refund_page(request: Request, app: App, who: Principal, token: str, refund: str, status: int = 200,
                 error: str | None = None, done: str | None = None, shown: str | None = None,
                 failed: str | None = None, values: dict[str, Any] | None = None) -> Response:
    found = refund_center.application(app, refund, who.accounts)  # another account's: the 404 of an unknown one
    a = {**found.as_json(), "steps_taken": found.steps}
    _late(a, datetime.fromisoformat(a["known_at"]))
    steps = [COMMANDS[c] for c in refund_center.next_steps(a["policy"], a["state"], a["escalated"])
             if may(who, STEPS[COMMANDS[c]])]
    return page(request, "refund.html", status=status,
                **context(request, who, token, a=a, zone=output.calendar_tz(policy=a["policy"]), steps=steps,
                          error=error, failed=failed, done=done if done in ("applied", *STEPS) else None,
                          shown=shown if shown and MONEY.fullmatch(shown) else None, values=values or {}))


@router.get("/refunds/{refund}")
def refund_page(request: Request, app: AppDep, refund: str, done: str | None = None,
                shown: str | None = None) -> Response:
    who, token = session.need(request, app, "customer")
    return _refund_page(request, app, who, token, refund, done=done, shown=shown)


def _approve(form: Any) -> bool:
    value = form.get("approve")
    if value not in ("yes", "no"):
        raise BadInput(None, "choose approve or reject", param="approve")
    return value == "yes"


def _take(app: App, who: Principal, refund: str, step: str, form: Any) -> None:
    """Refund ``refund``'s ``step`` with the form's values, through its use case (as the API's route)."""
    by = _who(who)
    if step == "escalation":
        refund_steps.escalate_refund(app, refund, by)
    elif step == "completion":
        refund_steps.complete_refund(app, refund, by)
    elif step == "rejection":
        reason = _text(form, "reason")
        if reason is None:  # K-Q2: staff say why (the feed requires it)
            raise BadInput(None, "say why the application is rejected", param="reason")
        refund_steps.reject_refund(app, refund, reason, by)
    else:
        approve = _approve(form)
        amount = _text(form, "amount") if approve else None
        if step == "escalation-decision":
            refund_steps.decide_escalation(app, refund, approve, amount, by)
            return
        reason = _text(form, "reason")
        if not approve and reason is None:  # P-R2: a rejection says why (the customer may escalate it, P-D1)
            raise BadInput(None, "say why the request is rejected", param="reason")
        refund_steps.decide_refund(app, refund, approve, amount, reason, by)


@router.post("/refunds/{refund}/{step}")
async def refund_step(request: Request, app: AppDep, refund: str, step: str) -> Response:
    """A step of refund ``refund`` (`STEPS`): recorded, then its page; a refusal is shown on its page, the
    field named (422), or the state that does not allow it (409); nothing written."""
    if step not in STEPS:
        raise HTTPException(404, "no such page")
    who, token = await run_in_threadpool(session.need, request, app, STEPS[step])
    form = await read_form(request)
    session.check_csrf(request, form)
    try:
        await run_in_threadpool(_take, app, who, refund, step, form)
    except UnknownInstance:
        raise
    except (BadInput, LedgerError) as e:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != session.CSRF_FIELD}
        return await run_in_threadpool(_refund_page, request, app, who, token, refund,
                                       409 if isinstance(e, InConflict) else 422, str(e), failed=step, values=values)
    return RedirectResponse(f"/console/refunds/{escaped(refund, safe='')}?done={step}", status_code=303)


# ----- support's queue -----

@router.get("/support")
def support_page(request: Request, app: AppDep) -> Response:
    """Every open refund request of the key's accounts (all, for a key not narrowed), oldest first; the
    escalations (P-D1) in their own queue; each with its deadline, marked when late (K-L2; P-R2, P-R3, P-D1)."""
    who, token = session.need(request, app, "decide")
    now = app.now()
    rows = listings.refunds(app, known_at=now, open_only=True, accounts=narrowed_to(who))
    queued = [_late(refund_center.application(app, r.refund).as_json(), now) for r in rows[:LIMIT]]
    zone, note = output.one_zone(output.calendar_tz(policy=a["policy"]) for a in queued)
    return page(request, "support.html",
                **context(request, who, token, requests=[a for a in queued if a["state"] != "escalated"],
                          escalations=[a for a in queued if a["state"] == "escalated"], more=len(rows) > LIMIT,
                          limit=LIMIT, zone=zone, note=note, now=now))
