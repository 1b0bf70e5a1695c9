"""What every console page module shares (`adapters.http.console.pages`, `adapters.http.console.refunds`): the
template context of a signed-in page (its navigation by the key's role), a time field read from a query, and a
POST form read through the API's size-checked reader."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from adapters.formats.errors import BadInput
from adapters.http import bodies, params
from adapters.http.auth import may
from adapters.services.keys import Principal

SMALL_FORM = 4096  # bytes: a form read before any key is checked (a key is 60 characters, a CSRF token 64)


def context(request: Request, who: Principal, token: str, **values: Any) -> dict[str, Any]:
    """A signed-in page's template values: the key, its CSRF token, the links its role may follow, and
    ``values``."""
    whole = not who.accounts
    nav = {"search": True, "reconcile": may(who, "reconcile") and whole, "record": may(who, "record") and whole,
           "chain": may(who, "verify") and whole,
           "refunds": may(who, "apply") and not whole,  # a customer's own instances (issue 28)
           "support": may(who, "decide")}
    return {"who": who, "csrf": token, "nav": nav, "may_read": may(who, "read"), **values}


def instant(name: str, value: str | None, errors: list[str]) -> datetime | None:
    """A time field of a query (ISO 8601 with an offset): None when empty; a bad one is kept in ``errors``,
    naming the field."""
    if value is None or not value.strip():
        return None
    try:
        return params.instant(name, value.strip())
    except BadInput as e:
        errors.append(str(e))
        return None


async def read_form(request: Request, *, small: bool = False) -> Any:
    """The form, read through the API's one size-checked reader (`bodies.read_within`, a chunked body too):
    within ``max_body``, or (``small``: the sign-in and sign-out forms, read before any key is checked) within
    `SMALL_FORM`; 413 past it."""
    limit = request.app.state.http_settings.max_body
    await bodies.read_within(request, min(limit, SMALL_FORM) if small else limit)
    return await request.form(max_part_size=limit)
