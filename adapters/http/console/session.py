"""The console's session: the API key in a cookie, authenticated and authorized on every request exactly as the
API's bearer (`adapters.http.auth.authorize`, `GRANTS`), and the CSRF token every form carries.

- The cookie (`COOKIE`) holds the key itself: HttpOnly, SameSite=Strict, Path=/console, Secure when the request
  came over https. It is read on every request with `adapters.services.keys.authenticate`, so a revoked key is
  signed out at its next click. The key is never put in a URL or a page.
- CSRF: every POST form carries `csrf_token` of the session's key (an HMAC keyed by the key itself: only the
  key's holder can make it, every server process computes the same one, and it does not reveal the key); a POST
  without the right one is 403. The sign-in form, before any session, carries a random token that must equal
  the one in a short-lived cookie (`SIGN_IN_COOKIE`, double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Request, Response

from adapters.bootstrap import App
from adapters.http.auth import authorize, check_unnarrowed, count_address
from adapters.services.keys import Principal, authenticate

COOKIE = "billing_ledger_console"
SIGN_IN_COOKIE = "billing_ledger_sign_in"
PATH = "/console"
CSRF_FIELD = "csrf"


class SignedOut(Exception):
    """No session, or its key is malformed, unknown or revoked: the console answers with the sign-in page."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def csrf_token(key: str) -> str:
    return hmac.new(key.encode(), b"billing-ledger console: csrf", hashlib.sha256).hexdigest()


def signed_in(request: Request, app: App) -> tuple[Principal, str]:
    """The session's principal and its CSRF token; `SignedOut` without a session that authenticates."""
    key = request.cookies.get(COOKIE)
    if not key:
        count_address(request)
        raise SignedOut("none")
    who = authenticate(app, key)
    if who is None:
        count_address(request)
        raise SignedOut("revoked")
    return who, csrf_token(key)


def need(request: Request, app: App, *functions: str, whole: bool = False) -> tuple[Principal, str]:
    """`signed_in`, then the same authorization as the API: each of ``functions`` granted to the key's role
    (403 otherwise), the key's rate limit, and (``whole``, a ledger-wide function) a key not narrowed to
    accounts (403)."""
    who, token = signed_in(request, app)
    authorize(request, who, functions)
    if whole:
        check_unnarrowed(who)
    return who, token


def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """A POST of the session must carry its CSRF token (403 otherwise)."""
    key = request.cookies.get(COOKIE) or ""
    sent = form.get(CSRF_FIELD)
    if not key or not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(key)):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page and try again")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start(response: Response, request: Request, key: str) -> None:
    response.set_cookie(COOKIE, key, path=PATH, httponly=True, samesite="strict", secure=_secure(request))
    response.delete_cookie(SIGN_IN_COOKIE, path=PATH)


def end(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict", secure=_secure(request))


def sign_in_token(request: Request) -> str:
    """The sign-in form's token (kept from the cookie when there is one)."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def remember_sign_in_token(response: Response, request: Request, token: str) -> None:
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, path=PATH, httponly=True, samesite="strict",
                        secure=_secure(request))


def check_sign_in_token(request: Request, form: Mapping[str, Any]) -> None:
    kept = request.cookies.get(SIGN_IN_COOKIE) or ""
    sent = form.get(CSRF_FIELD)
    if not kept or not isinstance(sent, str) or not hmac.compare_digest(sent, kept):
        raise HTTPException(403, "the sign-in form's CSRF token is missing or wrong: reload the page and try again")
