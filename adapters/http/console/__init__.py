"""The web console (docs/http.md, "Console"): HTML pages under ``/console`` for auditors, finance, support and
customers, another entrypoint over the same use cases, keys, roles (`adapters.http.auth.GRANTS`) and account
scopes as the JSON API. `install` adds its routes (kept out of the OpenAPI schema), its static files and its
error pages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

from adapters.http.console import refunds
from adapters.http.console.pages import router
from adapters.http.console.rendering import HERE, install_errors


def install(api: FastAPI) -> None:
    install_errors(api)
    api.include_router(router)
    api.include_router(refunds.router)
    api.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @api.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console", status_code=307)


__all__ = ["install"]
