"""Who is asking, and may they: API keys, roles, account scopes and the per-key rate limit.

Small dependencies, each exported as an ``Annotated`` alias for the routes:

- `principal`: ``Authorization: Bearer <key>`` -> the key's `Principal` (`adapters.services.keys.authenticate`,
  read on every request, so a revocation takes effect at once); none or a bad one is 401 with
  ``WWW-Authenticate``.
- `authorized`: the route's function (its ``Security`` scope) must be granted to the key's role (`GRANTS`,
  deny by default), else 403; then the key's rate limit (429 with ``Retry-After``).
- `Visible`: an instance named in the path must be one of the key's accounts' when the key is narrowed to
  accounts, else 404 exactly as an unknown instance (same body: no existence leak).
- `Unnarrowed`: a ledger-wide function (recording, overdue, verify, reconcile, exports, what-if over every
  request) needs a key that is not narrowed to accounts (403).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from adapters.bootstrap import App
from adapters.formats.wording import a as article
from adapters.services import listings, ratelimit
from adapters.services.keys import Principal, authenticate

# What each role may call (issue 15, "Roles and scopes"; issue 28, the refund center). The scopes:
#   customer  quote, history, timeline of an instance, the instances and refunds listings, the console's
#             account page and the refund center's list (each narrowed to the key's accounts by its use case;
#             issue 25, item 14)
#   read      the other reads: accounts, diff, overdue
#   record    POST /v1/feeds
#   apply     POST /v1/instances/{i}/refund-requests (a customer: its accounts' instances only)
#   escalate  POST /v1/refunds/{r}/escalation (a customer: its accounts' refunds only)
#   decide    POST /v1/refunds/{r}/decision, /escalation-decision, /completion, /rejection (staff)
#   verify, what-if, reconcile, export, keys   one function each
#   metrics   GET /metrics (issue 29: admin only)
#   webhooks  /v1/webhooks: the subscriptions, their delivery logs, re-sends (issue 29: admin only)
GRANTS: dict[str, frozenset[str]] = {
    "admin": frozenset({"customer", "read", "record", "apply", "escalate", "decide", "verify", "what-if",
                        "reconcile", "export", "keys", "metrics", "webhooks"}),
    "recorder": frozenset({"record", "apply"}),
    "finance": frozenset({"customer", "read", "verify", "what-if", "reconcile", "export"}),
    "auditor": frozenset({"customer", "read", "verify"}),
    "support": frozenset({"customer", "read", "decide"}),
    "customer": frozenset({"customer", "apply", "escalate"}),
}
REALM = 'Bearer realm="billing-ledger"'

bearer = HTTPBearer(auto_error=False, description="an API key: billing-ledger keys create --role ROLE")


def the_app(request: Request) -> App:
    return request.app.state.ledger_app


AppDep = Annotated[App, Depends(the_app)]


def principal(request: Request, app: AppDep,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    if credentials is None:
        count_address(request)
        raise HTTPException(401, "an API key is needed: Authorization: Bearer <key>",
                            headers={"WWW-Authenticate": REALM})
    found = authenticate(app, credentials.credentials)
    if found is None:
        count_address(request)
        raise HTTPException(401, "the API key is malformed, unknown or revoked",
                            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    return found


def count_address(request: Request) -> None:
    """Count a request refused for its key (or a console sign-in attempt) against its client address, within
    ``BILLING_LEDGER_HTTP_ANON_RATE`` (429 with ``Retry-After`` past it; docs/http.md, "Timeouts and
    unauthenticated limits")."""
    limiter = request.app.state.address_limiter
    if limiter is not None:
        limiter.check(request.app.state.ledger_app, ratelimit.address_bucket(request.client.host if request.client
                                                                              else None))


def may(who: Principal, function: str) -> bool:
    """Whether the key's role is granted ``function`` (`GRANTS`, deny by default)."""
    return function in GRANTS.get(who.role, frozenset())


def authorize(request: Request, who: Principal, functions: Iterable[str]) -> Principal:
    """The one authorization step of every entrypoint over HTTP (the API's bearer, the console's cookie): each
    of ``functions`` must be granted to the key's role, else 403; then the key's rate limit (429)."""
    missing = [f for f in functions if not may(who, f)]
    if missing:
        raise HTTPException(403, f"{article(who.role)} key may not {missing[0]}")
    limiter = request.app.state.limiter
    if limiter is not None:
        limiter.check(request.app.state.ledger_app, who.id)
    request.state.principal = who  # from here on, the request's body may be read (`adapters.http.bodies`)
    return who


def authorized(scopes: SecurityScopes, request: Request, who: Annotated[Principal, Depends(principal)]) -> Principal:
    return authorize(request, who, scopes.scopes)


Customer = Annotated[Principal, Security(authorized, scopes=["customer"])]
Reader = Annotated[Principal, Security(authorized, scopes=["read"])]
Recorder = Annotated[Principal, Security(authorized, scopes=["record"])]
Verifier = Annotated[Principal, Security(authorized, scopes=["verify"])]
WhatIf = Annotated[Principal, Security(authorized, scopes=["what-if"])]
Reconciler = Annotated[Principal, Security(authorized, scopes=["reconcile"])]
Exporter = Annotated[Principal, Security(authorized, scopes=["export"])]
KeyAdmin = Annotated[Principal, Security(authorized, scopes=["keys"])]
Watcher = Annotated[Principal, Security(authorized, scopes=["metrics"])]
Hooks = Annotated[Principal, Security(authorized, scopes=["webhooks"])]
Applicant = Annotated[Principal, Security(authorized, scopes=["apply"])]
Escalator = Annotated[Principal, Security(authorized, scopes=["escalate"])]
Decider = Annotated[Principal, Security(authorized, scopes=["decide"])]


def unknown(name: str) -> HTTPException:
    """The one answer for an instance the key may not see and for one the ledger does not know."""
    return HTTPException(404, f"no instance {name!r}")


def check_visible(app: App, who: Principal, names: Iterable[str]) -> None:
    """Each instance must be one of the key's accounts' (a key that is not narrowed sees every instance)."""
    if not who.accounts:
        return
    for name in names:
        if listings.instance_account(app, name) not in who.accounts:
            raise unknown(name)


def visible(app: AppDep, who: Annotated[Principal, Depends(principal)],
            instance: Annotated[str, Path(min_length=1, max_length=200)]) -> str:
    check_visible(app, who, [instance])
    return instance


def visible_with(app: AppDep, who: Annotated[Principal, Depends(principal)],
                 with_: Annotated[list[str] | None, Query(alias="with", max_length=100,
                                                          description="instances refunded together")] = None
                 ) -> list[str]:
    check_visible(app, who, with_ or [])
    return with_ or []


Visible = Annotated[str, Depends(visible)]
VisibleWith = Annotated[list[str], Depends(visible_with)]


def check_unnarrowed(who: Principal) -> Principal:
    """A ledger-wide function needs a key that is not narrowed to accounts (403)."""
    if who.accounts:
        raise HTTPException(403, "a key narrowed to accounts may not use a ledger-wide function")
    return who


def unnarrowed(who: Annotated[Principal, Depends(principal)]) -> Principal:
    return check_unnarrowed(who)


Unnarrowed = Annotated[Principal, Depends(unnarrowed)]


def narrowed_to(who: Principal) -> tuple[str, ...] | None:
    """The accounts a listing is narrowed to (None: every account)."""
    return who.accounts or None


class RateLimit:
    """At most ``rate`` requests per key (or per client address: `count_address`) in a moving window, counted in
    the ledger's database (shared by every worker: `adapters.services.ratelimit`); over it, 429 with
    ``Retry-After``."""

    def __init__(self, rate: str, what: str = "with this key") -> None:
        self.rate = ratelimit.Rate.parse(rate)
        self.what = what

    def check(self, app: App, key_id: str) -> None:
        wait = ratelimit.hit(app, key_id, self.rate)
        if wait is not None:
            raise HTTPException(429, f"too many requests {self.what} (at most {self.rate.text})",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
