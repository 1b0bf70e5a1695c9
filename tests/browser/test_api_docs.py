"""The interactive API docs work offline (issue 25, item 11): ``/docs`` (Swagger UI) and ``/redoc`` load every
asset from the server itself, so a browser that can reach nothing else still lists the operations."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.browser.conftest import playwright_api

sync_api = playwright_api()  # skipped without Playwright (an error in CI)
Page, expect = sync_api.Page, sync_api.expect


def offline(page: Page, base: str) -> list[str]:
    """Every request to another origin than the server's is aborted (as without internet) and kept."""
    own = urlsplit(base).netloc
    elsewhere: list[str] = []

    def route(r) -> None:
        if urlsplit(r.request.url).netloc == own:
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return elsewhere


def test_swagger_ui_lists_the_operations_without_internet(page: Page, console):
    elsewhere = offline(page, console.base)
    page.goto("/docs")
    quote = page.locator(".opblock-summary").filter(has_text="/v1/instances/{instance}/quote")
    expect(quote).to_be_visible()
    expect(page.locator(".opblock-summary").filter(has_text="/v1/feeds")).to_be_visible()
    assert page.locator(".opblock").count() >= 15  # every route of docs/http.md's table
    assert elsewhere == []


def test_redoc_lists_the_operations_without_internet(page: Page, console):
    elsewhere = offline(page, console.base)
    page.goto("/redoc")
    expect(page.get_by_role("heading", level=1)).to_contain_text("billing-ledger")
    expect(page.get_by_role("heading", level=2).filter(has_text="What a refund requested at")).to_be_visible()
    # ReDoc's script always asks for its "API docs by Redocly" logo, and shows nothing in its place when it fails
    assert [u for u in elsewhere if not u.endswith("cdn.redoc.ly/redoc/logo-mini.svg")] == []
