"""Reads under ``/v1``: the listings, an instance's quote, history, timeline and diff, overdue refunds and the
chain's verification. Each route parses, calls one use case and answers its JSON (the CLI's ``--json``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse

from adapters.formats import answers, pages
from adapters.http import headers, params
from adapters.http.auth import AppDep, Customer, Reader, Unnarrowed, Verifier, Visible, VisibleWith, narrowed_to
from adapters.http.problems import responses
from adapters.services import listings, queries

router = APIRouter(prefix="/v1", responses=responses(401, 403, 404, 422, 429))
PAGE = 100


def _walk(cursor: str | None, shape: tuple[type, ...]) -> pages.Cursor | None:
    return pages.decode(cursor, shape) if cursor is not None else None


@router.get("/instances", tags=["listings"], summary="Every instance, by name (billing-ledger instances)")
def instances(app: AppDep, who: Customer, account: Annotated[str | None, Query(max_length=200)] = None,
              product: Annotated[str | None, Query(max_length=200)] = None, known_at: params.KnownAt = None,
              limit: params.Limit = PAGE, cursor: params.Cursor = None) -> dict[str, Any]:
    walk = _walk(cursor, (str,))
    k = walk.known_at if walk else params.optional_instant("known_at", known_at) or app.now()
    rows = listings.instances(app, k, account, product, limit + 1, accounts=narrowed_to(who),
                              after=walk.after if walk else None)
    return pages.page("instances", rows, limit, k)


@router.get("/accounts", tags=["listings"], summary="Every account and how many instances it has")
def accounts(app: AppDep, who: Reader, known_at: params.KnownAt = None, limit: params.Limit = PAGE,
             cursor: params.Cursor = None) -> dict[str, Any]:
    walk = _walk(cursor, (str,))
    k = walk.known_at if walk else params.optional_instant("known_at", known_at) or app.now()
    rows = listings.accounts(app, k, limit + 1, accounts=narrowed_to(who), after=walk.after if walk else None)
    return pages.page("accounts", rows, limit, k)


@router.get("/refunds", tags=["listings"], summary="Every refund request, its amount and state")
def refunds(app: AppDep, who: Customer, open: bool = False,
            account: Annotated[str | None, Query(max_length=200)] = None, known_at: params.KnownAt = None,
            limit: params.Limit = PAGE, cursor: params.Cursor = None) -> dict[str, Any]:
    walk = _walk(cursor, (int, str))
    k = walk.known_at if walk else params.optional_instant("known_at", known_at) or app.now()
    rows = listings.refunds(app, k, open, account, limit + 1, accounts=narrowed_to(who),
                            after=walk.after if walk else None)
    return pages.page("refunds", rows, limit, k)


@router.get("/instances/{instance}/quote", tags=["instance"],
            summary="What a refund requested at `at` would pay, as known at `known_at`; writes nothing")
def quote(app: AppDep, who: Customer, instance: Visible, with_: VisibleWith, at: params.At,
          known_at: params.KnownAt = None, mode: params.Mode = "auto",
          invoice: Annotated[str | None, Query(max_length=200)] = None, sets: params.Sets = None,
          exception_report: Annotated[str | None, Query(max_length=2000)] = None,
          reason: Annotated[str | None, Query(max_length=200)] = None, explain: bool = False) -> dict[str, Any]:
    """The quote's JSON is the CLI's ``quote --json`` (docs/quote.md); ``explain`` changes nothing in it (the
    JSON always carries each line's formula and each reason's facts)."""
    q = queries.quote(app, instance, params.instant("at", at), params.optional_instant("known_at", known_at),
                      mode, with_, params.overrides(sets), exception_report=exception_report, reason=reason,
                      invoice=invoice)
    return q.as_json()


@router.get("/instances/{instance}/history", tags=["instance"],
            summary="Every fact about the instance, with both times, its line id and its retraction")
def history(app: AppDep, who: Customer, instance: Visible, known_at: params.KnownAt = None) -> dict[str, Any]:
    return queries.history(app, instance, params.optional_instant("known_at", known_at)).as_json()


@router.get("/instances/{instance}/timeline", tags=["instance"],
            summary="Each order's validity period (JSON; Accept: text/html for the picture)",
            responses={200: {"content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}}}})
def timeline(app: AppDep, who: Customer, instance: Visible, at: params.OptionalAt = None,
             known_at: params.KnownAt = None,
             accept: Annotated[str | None, Header(include_in_schema=False)] = None) -> Any:
    t, k = params.optional_instant("at", at), params.optional_instant("known_at", known_at)
    if accept and "text/html" in accept and "application/json" not in accept:
        return HTMLResponse(queries.timeline_html(app, instance, t, k), headers=headers.TIMELINE)
    return queries.timeline(app, instance, t, k).as_json()


@router.get("/instances/{instance}/diff", tags=["instance"],
            summary="How the quote for `at` changed between `known_at` and `vs`, and what caused it")
def diff(app: AppDep, who: Reader, instance: Visible, with_: VisibleWith, at: params.At,
         known_at: Annotated[str, Query(description="the first knowledge time", max_length=64)],
         vs: Annotated[str, Query(description="the second knowledge time", max_length=64)],
         mode: params.Mode = "auto") -> dict[str, Any]:
    return queries.diff(app, instance, params.instant("at", at), params.instant("known_at", known_at),
                        params.instant("vs", vs), mode, with_)


@router.get("/overdue", tags=["ledger"], summary="Refunds past the deadline of their open stage at `at`")
def overdue(app: AppDep, who: Reader, whole: Unnarrowed, at: params.At, sets: params.Sets = None,
            holiday: Annotated[list[str] | None, Query(description="a non-working day, YYYY-MM-DD",
                                                       max_length=366)] = None) -> dict[str, Any]:
    t = params.instant("at", at)
    late = queries.overdue(app, t, params.overrides(sets), params.days("holiday", holiday or []))
    return answers.overdue(t, late)


@router.get("/verify", tags=["ledger"], summary="Re-walk the hash-chained log (verify --json)")
def verify(app: AppDep, who: Verifier, whole: Unnarrowed,
           expect_head: Annotated[list[str] | None, Query(description="a head published earlier",
                                                          max_length=100)] = None) -> dict[str, Any]:
    """``ok`` false is still 200: the answer is the finding (the CLI exits 1)."""
    return queries.verify(app, expect_head or []).as_json()
