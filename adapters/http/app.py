"""The FastAPI application: `create_app` wires the routers, the problem+json handler, the limits and the
health checks around one `App` (the composition root's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from adapters import services
from adapters.bootstrap import App, Settings, bootstrap
from adapters.formats import metrics
from adapters.http import changes, console, finance, keys, problems, reads, refunds, webhooks, writes
from adapters.http.auth import AppDep, RateLimit, Unnarrowed, Watcher
from adapters.http.headers import SecurityHeaders
from adapters.http.observe import Observe, install_log
from adapters.http.settings import HttpSettings
from adapters.services import health
from adapters.services import observe as observed

ERRORS = (400, 401, 403, 404, 408, 409, 413, 422, 429, 431, 503)  # 408, 431: adapters.http.protocol


def create_app(app: App | None = None, http: HttpSettings | None = None) -> FastAPI:
    """The API over ``app`` (default: bootstrapped from the environment, closed when the server stops)."""
    owned = app is None
    ledger_app = app if app is not None else bootstrap(Settings.resolve())
    http = http or HttpSettings.resolve()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.load_all()  # a server pays the use cases' imports once, at start-up, not on a first request
        yield
        if owned:
            ledger_app.close()

    # /docs (Swagger UI) and /redoc with their scripts and styles served from the installed package
    # fastapi-offline, under /static-offline-docs: the pages work without internet (FastAPI's own load a CDN's)
    api = FastAPIOffline(title="billing-ledger", version="1", lifespan=lifespan,
                         description="An event-sourced billing ledger over HTTP (docs/http.md). Every call but the "
                                     "health checks needs `Authorization: Bearer <key>`.")
    api.state.ledger_app = ledger_app
    api.state.http_settings = http
    api.state.limiter = RateLimit(http.rate) if http.rate else None
    api.state.address_limiter = (RateLimit(http.anon_rate, "from this address without a valid key")
                                 if http.anon_rate else None)
    problems.install(api)
    api.add_middleware(SecurityHeaders)  # nosniff on every answer, the docs pages' CSP (adapters.http.headers)
    if http.access_log:
        install_log()
    api.add_middleware(Observe, log_requests=http.access_log)  # outermost: metrics, request id, JSON log line
    for module in (writes, reads, refunds, finance, keys, changes, webhooks):
        api.include_router(module.router)
    console.install(api)  # the web console under /console (after problems: its error pages wrap the API's)

    @api.get("/healthz", tags=["health"], summary="The server answers (no key needed)")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", tags=["health"], summary="The store is reachable (no key needed)",
             responses=problems.responses(503))
    def readyz(app: AppDep) -> Any:
        ready = health.ready(app)
        return ready.as_json() if ready.ok else problems.problem(503, ready.detail, slug="store-unavailable")

    @api.get("/metrics", tags=["health"], summary="Prometheus metrics (an admin key)", response_class=Response,
             responses={200: {"content": {"text/plain": {}}}, **problems.responses(401, 403, 429)})
    def metrics_text(app: AppDep, who: Watcher, whole: Unnarrowed) -> Response:
        return Response(metrics.exposition(observed.figures(app, http.checkpoints)), media_type=metrics.CONTENT_TYPE)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = _problem_details(get_openapi(title=api.title, version=api.version,
                                                              description=api.description, routes=api.routes))
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
    return api


PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "errors": {"type": "array", "items": {"type": "string"}}},
}


def _problem_details(schema: dict[str, Any]) -> dict[str, Any]:
    """Every error answer is problem details: FastAPI's default 422 (``HTTPValidationError``) is replaced."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        for op in operations.values():
            answers = op.setdefault("responses", {})
            codes = ERRORS if path.startswith("/v1") else tuple(int(c) for c in answers if int(c) >= 400)
            for code in codes:
                answers[str(code)] = {"description": answers.get(str(code), {}).get("description", "problem"),
                                      **problems.PROBLEM}
            if path.startswith("/v1"):
                answers.setdefault("500", {"description": "unexpected", **problems.PROBLEM})
    return schema
