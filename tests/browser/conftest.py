"""The console in a real browser: Debian's chromium driven by Playwright (its sync API; no ``playwright install``,
the browser is the system's), against a real ``billing-ledger serve`` (tests/http/conftest.py's `serving`).

One server and one browser per session, a fresh browser context (no cookies) per test. Without chromium or
Playwright the tests are skipped with the reason, except in CI (``CI=true``), where that is an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import App, Settings, bootstrap
from adapters.services import feeds, keys, queries
from tests.http.conftest import ROOT, Server, seed, serving
from tests.stores import store_url

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AUDIT = ROOT / "examples" / "audit-story.jsonl"
XSS = "<script>window.__pwned = 1</script>"
HOSTILE = [  # untrusted text from a feed: an account name and a retraction reason
    {"type": "purchase", "id": "x-1", "at": "2026-01-02T00:00:00+08:00", "instance": "kec-x", "account": XSS,
     "product": "KEC", "order": "o-x1", "months": 1, "monthly_price": "10.00", "payment": {"cash": "10.00"}},
    {"type": "renew", "id": "x-2", "at": "2026-01-05T00:00:00+08:00", "instance": "kec-x", "order": "o-x2",
     "months": 1, "monthly_price": "10.00", "payment": {"cash": "10.00"}},
    {"type": "retract", "id": "x-3", "at": "2026-01-06T00:00:00+08:00", "target": "x-2", "reason": XSS},
]


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs the browser tests to run: {why}")
    pytest.skip(why)


def playwright_api():
    """``playwright.sync_api``, for a test module to import at its top: without Playwright the module is skipped
    with the reason (in CI, the import error stands)."""
    try:
        import playwright.sync_api as api
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("Playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)
    return api


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not (os.path.exists(path) or shutil.which(path)):
        _unavailable(f"no chromium at {path} (scripts/test-env installs Debian's; or set CHROMIUM)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def seed_console(db: str) -> dict[str, str]:
    """The audit story (with its own recorded times, so first), then tests/http's examples and keys, the hostile
    feed, and keys for the story's account."""
    app = bootstrap(Settings.resolve(db))
    try:
        feeds.record_feed(app, AUDIT.read_bytes(), preserve_recorded_at=True, actor=keys.local_actor())
    finally:
        app.close()
    made = seed(db)
    app = bootstrap(Settings.resolve(db))
    try:
        feeds.record_feed(app, "\n".join(json.dumps(line) for line in HOSTILE), actor=keys.local_actor())
        made["customer@globex"] = keys.create_key(app, "customer", ["globex"], name="customer@globex").key
        made["auditor@globex"] = keys.create_key(app, "auditor", ["globex"], name="auditor@globex").key
    finally:
        app.close()
    return made


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.store)  # through a real store (SQLite): not an in-memory test


@pytest.fixture(scope="session")
def console(tmp_path_factory) -> Iterator[Server]:
    """One server for every browser test (they share its ledger: each test's own writes use ids of its own)."""
    workdir = tmp_path_factory.mktemp("console")
    db = store_url("sqlite", workdir)
    made = seed_console(db)
    with serving(db, workdir) as s:
        s.keys = made
        yield s


@pytest.fixture
def page(browser, console: Server):
    """A fresh browser context (no cookie) on the console's server; a JavaScript dialog (an injected script
    running) is dismissed and kept in ``page.dialogs``."""
    context = browser.new_context(base_url=console.base, viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(15_000)
    p = context.new_page()
    dialogs: list[str] = []
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    p.dialogs = dialogs  # type: ignore[attr-defined]  # the tests read what dialogs it showed
    try:
        yield p
    finally:
        context.close()


def sign_in(page, console: Server, key: str) -> None:
    from playwright.sync_api import expect

    page.goto("/console")
    expect(page).to_have_url(f"{console.base}/console/sign-in?signed_out=none")
    page.get_by_label("API key").fill(console.keys.get(key, key))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# ----- the refund center's tests (test_refund_center*.py): their own accounts and instances -----

@contextlib.contextmanager
def ledger(console) -> Iterator[App]:
    app = bootstrap(Settings.resolve(console.db))
    try:
        yield app
    finally:
        app.close()


def bought(console, *products: str) -> tuple[str, list[str], str, str]:
    """A new account with one instance per product (KEC, MongoDB: a 12-month purchase of 360.00 CNY; KorPro: a
    fixed-rate subscription with a 600.00 USD charge), bought a day ago; a customer key for it (its secret and
    its actor)."""
    account = f"acct-{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC) - timedelta(days=1)
    names, lines = [], []
    for n, product in enumerate(products):
        name = f"{product.lower()}-{account}-{n}"
        names.append(name)
        if product == "KorPro":
            lines += [{"type": "subscribe", "at": start.isoformat(), "instance": name, "account": account,
                       "plan": "fixed", "cpus": 25},
                      {"type": "charge", "at": start.isoformat(), "instance": name, "invoice": f"inv-{name}",
                       "amount": "600.00", "period_start": start.isoformat(),
                       "period_end": (start + timedelta(days=30)).isoformat()}]
        else:
            lines.append({"type": "purchase", "at": start.isoformat(), "instance": name, "account": account,
                          "product": product, "order": f"o-{name}", "months": 12, "monthly_price": "30.00",
                          "payment": {"cash": "360.00"}})
    with ledger(console) as app:
        feeds.record_feed(app, "\n".join(json.dumps(x) for x in lines), actor=keys.local_actor())
        key = keys.create_key(app, "customer", [account], name=f"customer@{account}")
    return account, names, key.key, f"key:{key.id}"


def history(console, instance: str) -> list[tuple[str, str | None]]:
    """Each fact of ``instance`` with its actor, as the ledger has it."""
    with ledger(console) as app:
        return [(f["fact"], f["actor"]) for f in queries.history(app, instance).facts]


def actor_of(console, role: str) -> str:
    """The actor of the console fixture's unnarrowed key of ``role``."""
    with ledger(console) as app:
        return f"key:{keys.authenticate(app, console.keys[role]).id}"


def section(page, instance: str):
    """The Refunds page's section of ``instance``."""
    return page.locator("section.refundable", has=page.get_by_role("heading", name=re.compile(f"^{instance} ")))


def new_page(browser, console):
    context = browser.new_context(base_url=console.base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()
