"""Every error as RFC 9457 problem details (``application/problem+json``), from one handler.

- bad input (`BadInput`, a refused fact, a request that does not validate): 422, ``errors`` lists the same
  ``line N: field: what`` items as the CLI (every bad line of a feed, `BadFeed`; a parameter the CLI names by
  its option, ``--known-at``, is named ``known_at`` here: `BadInput.param`);
- an unknown instance: 404; a key that may not call the function: 403; no or bad key: 401;
- a refund's step that its state does not allow now (`InConflict`): 409;
- an idempotency key reused with another body: 422, its first request still running: 409;
- a store that holds no ledger or cannot be reached: 503; anything else: 500, saying only that.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from adapters.bootstrap import StoreURLError
from adapters.formats.errors import BadFeed, BadInput
from adapters.services.idempotency import KeyReused, StillRunning
from adapters.services.refund_steps import InConflict
from domain.errors import LedgerError, UnknownInstance

MEDIA_TYPE = "application/problem+json"
TYPES = "https://billing-ledger.example/problems/"  # + a slug; the docs (docs/http.md) describe each
log = logging.getLogger("billing_ledger.http")


def problem(status: int, detail: str | None = None, *, slug: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPES + slug if slug else "about:blank", "title": HTTPStatus(status).phrase,
                            "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def bad_input(items: list[str]) -> JSONResponse:
    return problem(422, items[0] if len(items) == 1 else f"{len(items)} problems", slug="bad-input", errors=items)


def not_found(detail: str) -> JSONResponse:
    return problem(404, detail, slug="not-found")


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "header", "body")]
    return ".".join(parts) or "request"


async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
    return bad_input([f"{_location(tuple(x.get('loc', ())))}: {x.get('msg', 'invalid')}" for x in e.errors()])


async def _http(_: Request, e: HTTPException) -> JSONResponse:
    detail = e.detail if isinstance(e.detail, str) else None
    slug = {404: "not-found", 401: "unauthenticated", 403: "forbidden", 413: "too-large",
            429: "too-many-requests"}.get(e.status_code)
    return problem(e.status_code, detail, slug=slug, headers=dict(e.headers or {}))


async def _domain(_: Request, e: Exception) -> JSONResponse:
    if isinstance(e, UnknownInstance):
        return not_found(str(e))
    if isinstance(e, InConflict):  # a refund's step its state does not allow now
        return problem(409, str(e), slug="conflict", errors=[str(e)])
    if isinstance(e, BadFeed):  # every bad line of a feed, one item each
        return problem(422, e.summary if len(e.problems) > 1 or e.truncated else str(e), slug="bad-input",
                       errors=[str(p) for p in e.problems])
    return bad_input([str(e)])  # a parameter by its own name, as the API calls it (`BadInput.param`)


async def _idempotency(_: Request, e: Exception) -> JSONResponse:
    if isinstance(e, StillRunning):
        return problem(409, str(e), slug="idempotency-key-in-use")
    return problem(422, str(e), slug="idempotency-key-reused")


async def _store(_: Request, e: StoreURLError) -> JSONResponse:
    return problem(503, str(e), slug="store-unavailable")


async def _unexpected(_: Request, e: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=e)
    return problem(500, "an unexpected error (the server log has it)", slug="internal")


def install(api: FastAPI) -> None:
    # Starlette types every handler as taking any Exception; one registered for a class gets that class only
    api.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]  # called for its class only
    api.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]  # called for its class only
    api.add_exception_handler(BadInput, _domain)
    api.add_exception_handler(LedgerError, _domain)
    api.add_exception_handler(KeyReused, _idempotency)
    api.add_exception_handler(StillRunning, _idempotency)
    api.add_exception_handler(StoreURLError, _store)  # type: ignore[arg-type]  # called for its class only
    api.add_exception_handler(Exception, _unexpected)


PROBLEM = {"content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each code answered as problem details."""
    return {code: {"description": HTTPStatus(code).phrase, **PROBLEM} for code in codes}
