"""Rendering the console: Jinja2 templates (autoescape on: every value from the ledger is text, never markup),
times in a policy's business time zone, the security headers of every page, and error pages (HTML under
``/console``, problem details everywhere else, as before)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.exceptions import HTTPException

from adapters.bootstrap import StoreURLError
from adapters.formats import details, output
from adapters.formats.errors import BadInput
from adapters.http import problems
from adapters.http.console import session
from adapters.http.headers import CONSOLE
from domain.errors import LedgerError, UnknownInstance

HERE = Path(__file__).resolve().parent
HEADERS = CONSOLE  # adapters.http.headers: no script at all


def local(value: datetime | str | None, zone: str | None, exact: bool = False) -> str:
    """A time for people: in ``zone``, the page's one zone (a policy's ``calendar_tz``, ±HH:MM; None: UTC,
    written ``Z``), to the second (``exact``: with non-zero microseconds, a value the user typed), ISO 8601 with
    its offset (what the controls take back); `output.when`."""
    return output.when(value, zone, exact=exact) or "—"


def zone_note(zone: str | None, note: str | None = None) -> str:
    """The sentence a page states its zone in: ``note`` (`output.one_zone`'s, for a page over several
    instances), or the instance's policy's zone."""
    if note:
        return f"{note[:1].upper()}{note[1:]}."
    if zone:
        return f"Times are shown in {zone}, the policy's business time zone."
    return "Times are shown in UTC: no business time zone applies."


def shown(value: datetime | str | None, zone: str | None) -> Markup:
    """`local`, as one value that never wraps (``span.t``): a time is never broken across lines."""
    return Markup('<span class="t">%s</span>') % local(value, zone)


TIME = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?")


def unbroken(text: object) -> Markup:
    """``text`` (escaped) with every date or time in it as one value that never wraps (``span.t``): for
    messages that name times (a rule's reason, an error)."""
    s = str(text)
    out, last = Markup(), 0
    for m in TIME.finditer(s):
        out += s[last:m.start()] + Markup('<span class="t">%s</span>') % m.group()
        last = m.end()
    return out + s[last:]


def fact_details(values: dict[str, Any], currency: str | None, zone: str | None) -> list[details.Detail]:
    """A history row's details as labelled values (`adapters.formats.details`), times in ``zone``."""
    return details.details(values, currency, lambda t: local(t, zone))


def just_before(recorded_at: str) -> str:
    """The knowledge time one microsecond before a fact was recorded (a diff's "before it")."""
    return (datetime.fromisoformat(recorded_at) - timedelta(microseconds=1)).isoformat()


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = shown
    env.filters["unbroken"] = unbroken
    env.globals["local_text"] = local  # the same text, not marked up: for a URL
    env.globals["zone_note"] = zone_note
    env.globals["just_before"] = just_before
    env.globals["fact_details"] = fact_details
    return env


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


# ----- errors -----

Handler = Callable[[Request, Exception], Awaitable[Response]]
TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 413: "Too large", 422: "Bad input",
          429: "Too many requests", 500: "Something went wrong", 503: "The ledger is unavailable"}


def _status(e: Exception) -> tuple[int, str]:
    if isinstance(e, HTTPException):
        return e.status_code, e.detail if isinstance(e.detail, str) else TITLES.get(e.status_code, "")
    if isinstance(e, UnknownInstance):
        return 404, str(e)
    if isinstance(e, (BadInput, LedgerError, RequestValidationError)):
        return 422, str(e)
    if isinstance(e, StoreURLError):
        return 503, str(e)
    return 500, "an unexpected error (the server log has it)"


def _console(request: Request) -> bool:
    return request.url.path == session.PATH or request.url.path.startswith(session.PATH + "/")


def html_errors(previous: Handler) -> Handler:
    """Under ``/console``, an error page (a session that no longer authenticates: the sign-in page); elsewhere
    the API's own handler, unchanged."""

    async def handle(request: Request, e: Exception) -> Response:
        if not _console(request):
            return await previous(request, e)
        if isinstance(e, session.SignedOut):
            redirect = RedirectResponse(f"/console/sign-in?signed_out={e.why}", status_code=303)
            session.end(redirect, request)
            return redirect
        status, detail = _status(e)
        if status == 500:
            await previous(request, e)  # logged as the API logs it
        answer = page(request, "error.html", status=status, title=TITLES.get(status, "Error"), detail=detail,
                      status_code=status)
        for name in ("Retry-After",):
            if isinstance(e, HTTPException) and e.headers and name in e.headers:
                answer.headers[name] = e.headers[name]
        return answer

    return handle


async def _signed_out(request: Request, e: Exception) -> Response:  # raised under /console only
    return problems.problem(401, "sign in to the console", slug="unauthenticated")


def install_errors(api: FastAPI) -> None:
    for kind in (HTTPException, RequestValidationError, BadInput, LedgerError, StoreURLError, Exception):
        previous = api.exception_handlers.get(kind)
        if previous is not None:
            api.add_exception_handler(kind, html_errors(cast(Handler, previous)))  # the API's: all async
    api.add_exception_handler(session.SignedOut, html_errors(_signed_out))
