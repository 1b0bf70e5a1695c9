"""The console's pages under ``/console``: server-rendered HTML over the same use cases, keys, roles and scopes
as the JSON API (docs/http.md, "Console"). Each route authenticates the session's key, authorizes it with the
API's function (`session.need`), parses, calls one use case and renders a template; none touches the store.

| page | function (GRANTS) |
| --- | --- |
| ``/console``: search instances and accounts (a key without *read*: and its accounts' refunds) | customer |
| ``/console/instances/{i}``: timeline and quote at ``at`` as known at ``known_at`` | customer |
| ``/console/instances/{i}/history`` | customer |
| ``/console/instances/{i}/diff`` | read |
| ``/console/accounts/{a}`` | customer (a narrowed key: its accounts only) |
| ``/console/reconcile`` (upload a statement, download the report) | reconcile, ledger-wide |
| ``/console/record`` (upload a feed: the console's only write) | record, ledger-wide |
| ``/console/chain``: the hash chain's state (verified head, position, last seal and checkpoint) | verify, ledger-wide |

The refund center's pages (a customer's Refunds page, a refund's page, support's queue) are
`adapters.http.console.refunds`; what both modules share is `adapters.http.console.common`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.formats import chain, output, tables, timeline_html
from adapters.formats.errors import BadFeed, BadInput
from adapters.http.auth import AppDep, check_visible, count_address, may, narrowed_to
from adapters.http.console import chart, session
from adapters.http.console.common import context, instant, read_form
from adapters.http.console.rendering import local, page
from adapters.services import feeds, jobs, keys, listings, queries
from adapters.services.overview import account_overview
from domain.errors import LedgerError

router = APIRouter(prefix="/console", include_in_schema=False)
SEARCH_LIMIT = 50


def _mode(mode: str, errors: list[str], policy: str | None) -> str:
    """The form's mode, if the instance's ``policy`` knows it (the select offers only its modes)."""
    try:
        return queries.check_mode(mode, policy)
    except BadInput as e:
        errors.append(str(e))  # the form's field: mode
        return "auto"


# ----- signing in and out -----

@router.get("/sign-in")
def sign_in_page(request: Request, app: AppDep, signed_out: str | None = None) -> Response:
    token = session.sign_in_token(request)
    message = {"revoked": "Your key was revoked or is no longer valid: you are signed out.",
               "none": "Sign in to continue.", "bye": "You are signed out."}.get(signed_out or "")
    answer = page(request, "sign_in.html", csrf=token, message=message, error=None)
    session.remember_sign_in_token(answer, request, token)
    return answer


@router.post("/sign-in")
async def sign_in(request: Request, app: AppDep) -> Response:
    await run_in_threadpool(count_address, request)  # every attempt, before its key is looked at (429 past it)
    form = await read_form(request, small=True)
    session.check_sign_in_token(request, form)
    key = form.get("key")
    who = await run_in_threadpool(keys.authenticate, app, key.strip()) if isinstance(key, str) else None
    if who is None:
        token = session.sign_in_token(request)
        return page(request, "sign_in.html", status=401, csrf=token, message=None,
                    error="That key is malformed, unknown or revoked.")
    answer = RedirectResponse("/console", status_code=303)
    session.start(answer, request, key.strip())
    return answer


@router.post("/sign-out")
async def sign_out(request: Request, app: AppDep) -> Response:
    form = await read_form(request, small=True)
    session.check_csrf(request, form)  # the token is the session key's own: no store read
    answer = RedirectResponse("/console/sign-in?signed_out=bye", status_code=303)
    session.end(answer, request)
    return answer


# ----- search -----

@router.get("")
def home(request: Request, app: AppDep, q: str = "") -> Response:
    who, token = session.need(request, app)
    if not may(who, "customer"):
        return page(request, "search.html", **context(request, who, token, q=q, found=None, refunds=None))
    found = listings.search(app, q[:200], limit=SEARCH_LIMIT, accounts=narrowed_to(who))
    zone, note = output.one_zone(output.calendar_tz(product=r.product) for r in found.instances)
    refunds = None if may(who, "read") else listings.refunds(app, accounts=narrowed_to(who), limit=SEARCH_LIMIT)
    return page(request, "search.html", **context(request, who, token, q=q, found=found, refunds=refunds,
                                                    limit=SEARCH_LIMIT, zone=zone, note=note))



# ----- an instance -----

@router.get("/instances/{instance}")
def instance_page(request: Request, app: AppDep, instance: str, at: str | None = None,
                  known_at: str | None = None, mode: str = "auto") -> Response:
    who, token = session.need(request, app, "customer")
    check_visible(app, who, [instance])
    errors: list[str] = []
    t, k = instant("at", at, errors), instant("known_at", known_at, errors)
    k = k or app.now()
    t = t or k
    tl = queries.timeline(app, instance, t, k)
    zone = tl.calendar_tz
    modes = queries.quote_modes(tl.policy)  # the instance's policy's
    mode = _mode(mode, errors, tl.policy)
    quote, quote_error = None, None
    opened = listings.instance(app, instance, k)
    not_yet = opened.opened_at if opened is not None and t < opened.opened_at else None  # a quote before it: none
    if not errors and not_yet is None:
        try:
            quote = queries.quote(app, instance, t, k, mode).as_json()
        except (LedgerError, BadInput) as e:
            quote_error = str(e)
    drawing = timeline_html.drawing(tl, ' role="img" aria-labelledby="timeline-title timeline-subtitle"')
    values = {"at": at if errors and at else local(t, zone, exact=bool(at or known_at)),
              "known_at": known_at if errors and known_at else local(k, zone, exact=bool(known_at)), "mode": mode}
    return page(request, "instance.html", status=422 if errors else 200,
                **context(request, who, token, instance=instance, zone=zone, tl=tl.as_json(), drawing=drawing,
                           modes=modes, quote=quote, quote_error=quote_error, not_yet=not_yet, errors=errors,
                           values=values,
                           account=listings.instance_account(app, instance)))


@router.get("/instances/{instance}/history")
def history_page(request: Request, app: AppDep, instance: str, known_at: str | None = None) -> Response:
    who, token = session.need(request, app, "customer")
    check_visible(app, who, [instance])
    errors: list[str] = []
    k = instant("known_at", known_at, errors) or app.now()
    h = queries.history(app, instance, k)
    zone = h.zone  # the instance's policy's business time zone (None: UTC, said so)
    return page(request, "history.html", status=422 if errors else 200,
                **context(request, who, token, instance=instance, zone=zone, history=h, errors=errors,
                           unverified_note=chain.UNVERIFIED_NOTE, values={"known_at": known_at if errors and known_at
                                   else local(k, zone, exact=bool(known_at))}))


@router.get("/instances/{instance}/diff")
def diff_page(request: Request, app: AppDep, instance: str, at: str | None = None, known_at: str | None = None,
              vs: str | None = None, mode: str = "auto") -> Response:
    who, token = session.need(request, app, "read")
    check_visible(app, who, [instance])
    errors: list[str] = []
    t, k1, k2 = instant("at", at, errors), instant("known_at", known_at, errors), instant("vs", vs, errors)
    policy = queries.instance_policy(app, instance)
    modes = queries.quote_modes(policy)  # the instance's policy's
    mode = _mode(mode, errors, policy)
    result, diff_error = None, None
    if not errors and t and k1 and k2:
        try:
            result = queries.diff(app, instance, t, k1, k2, mode)
        except (LedgerError, BadInput) as e:
            diff_error = str(e)
    elif not errors and (at or known_at or vs):
        errors.append("at, known_at and vs are all needed")
    zone = listings.instance_zone(app, instance)  # one zone for the page: the instance's policy's
    values = {"at": at or "", "known_at": known_at or "", "vs": vs or "", "mode": mode}
    return page(request, "diff.html", status=422 if errors else 200,
                **context(request, who, token, instance=instance, zone=zone, result=result, modes=modes,
                           diff_error=diff_error, errors=errors, values=values))


# ----- an account -----

@router.get("/accounts/{account:path}")
def account_page(request: Request, app: AppDep, account: str, known_at: str | None = None) -> Response:
    who, token = session.need(request, app, "customer")
    errors: list[str] = []
    k = instant("known_at", known_at, errors) or app.now()
    overview = account_overview(app, account, k, accounts=narrowed_to(who))
    # one zone for the page: its instances' policies' business time zone if they share one, else UTC (said so)
    zone, note = output.one_zone(output.calendar_tz(product=r.product) for r in overview.instances)
    return page(request, "account.html", status=422 if errors else 200,
                **context(request, who, token, account=account, overview=overview, zone=zone, note=note,
                           charts=chart.ledger_charts(overview.ledger), errors=errors,
                           values={"known_at": known_at if errors and known_at
                                   else local(k, zone, exact=bool(known_at))}))


# ----- the hash chain -----

@router.get("/chain")
def chain_page(request: Request, app: AppDep) -> Response:
    """`verify` for auditors: re-walks the log now; with the operator's checkpoint file
    (``BILLING_LEDGER_CHECKPOINTS``), every checkpoint in it is checked too and the last one shown."""
    who, token = session.need(request, app, "verify", whole=True)
    path = request.app.state.http_settings.checkpoints
    error = None
    try:
        result = queries.verify(app, [], path)
    except BadInput as e:  # the configured file is missing or malformed: say so, and still show the chain
        result, error = queries.verify(app), str(e)
    report = result.as_json()
    first = report["first_problem"]
    cps = report.get("checkpoints")
    return page(request, "chain.html", **context(
        request, who, token, report=report, problem=chain.problem_lines(first) if first else [],
        checkpoints_file=path, checkpoints_error=error, last_checkpoint=cps["results"][-1] if cps else None))


# ----- reconciliation -----

@router.get("/reconcile")
def reconcile_page(request: Request, app: AppDep) -> Response:
    who, token = session.need(request, app, "reconcile", whole=True)
    return page(request, "reconcile.html", **context(request, who, token, result=None, statement=None, error=None))


async def _statement(request: Request) -> tuple[dict[str, Any], str]:
    form = await read_form(request)
    session.check_csrf(request, form)
    upload = form.get("statement")
    data = await upload.read() if hasattr(upload, "read") else (upload or "").encode()
    try:
        return form, data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise BadInput(None, f"statement: line {line}: not valid UTF-8") from None


@router.post("/reconcile")
async def reconcile(request: Request, app: AppDep) -> Response:
    who, token = await run_in_threadpool(session.need, request, app, "reconcile", whole=True)
    _, text = await _statement(request)
    try:
        result = await run_in_threadpool(jobs.reconcile, app, text)
    except BadInput as e:
        return page(request, "reconcile.html", status=422,
                    **context(request, who, token, result=None, statement=None, error=str(e)))
    return page(request, "reconcile.html", **context(request, who, token, result=result, statement=text, error=None))


@router.post("/reconcile/report")
async def reconcile_report(request: Request, app: AppDep) -> Response:
    await run_in_threadpool(session.need, request, app, "reconcile", whole=True)
    _, text = await _statement(request)
    rows = (await run_in_threadpool(jobs.reconcile, app, text)).findings
    body = b"".join(tables.csv_chunks(rows, list(rows[0]) if rows else ["status"]))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="reconciliation.csv"',
                             "Cache-Control": "no-store"})


# ----- recording (the one write) -----

@router.get("/record")
def record_page(request: Request, app: AppDep) -> Response:
    who, token = session.need(request, app, "record", whole=True)
    return page(request, "record.html", **context(request, who, token, result=None, error=None))


@router.post("/record")
async def record(request: Request, app: AppDep) -> Response:
    who, token = await run_in_threadpool(session.need, request, app, "record", whole=True)
    form = await read_form(request)
    session.check_csrf(request, form)
    upload = form.get("feed")
    data = await upload.read() if hasattr(upload, "read") else (upload or "").encode()
    try:
        result = await run_in_threadpool(feeds.record_feed, app, data,
                                         preserve_recorded_at=form.get("preserve_recorded_at") == "on", actor=who.actor)
    except (BadInput, LedgerError) as e:  # a feed's every bad line (BadFeed), listed
        error, lines = (e.summary, [str(p) for p in e.problems]) if isinstance(e, BadFeed) else (str(e), [])
        return page(request, "record.html", status=422, **context(request, who, token, result=None, error=error,
                                                                  bad_lines=lines))
    return page(request, "record.html", **context(request, who, token, result=result.as_json(), error=None))
