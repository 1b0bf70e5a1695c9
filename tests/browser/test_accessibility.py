"""Accessibility of every console page: axe-core (shipped inside the PyPI package ``axe-playwright-python``, so
nothing is downloaded at test time) finds no WCAG 2 A/AA violation (labels and contrast among them), and the
keyboard alone signs in and moves the instance page's ``at`` and ``known_at``."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.browser.conftest import playwright_api, sign_in

AT, BEFORE, AFTER = "2026-04-15T09:00:00+08:00", "2026-04-10T00:00:00Z", "2026-04-21T00:00:00Z"
PAGES = {
    "search": "/console?q=kec",
    "instance": f"/console/instances/kec-7?at={quote(AT)}&known_at={quote(BEFORE)}",
    "history": "/console/instances/kec-7/history",
    "diff": f"/console/instances/kec-7/diff?at={quote(AT)}&known_at={quote(BEFORE)}&vs={quote(AFTER)}",
    "account": "/console/accounts/globex",
    "reconcile": "/console/reconcile",
    "record": "/console/record",
    "chain": "/console/chain",
    "error": "/console/instances/no-such-instance",
}
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

sync_api = playwright_api()  # skipped without Playwright (an error in CI)
Page, expect = sync_api.Page, sync_api.expect


def violations(page: Page) -> list[str]:
    """axe-core's WCAG 2 A/AA violations on the page; its contrast rule (and, on a page with a form field, its
    label rule) must really have run on something (passed, failed or left for review), so an empty answer is not
    a page axe could not read."""
    from axe_playwright_python.sync_playwright import Axe

    checked = {"color-contrast"} | ({"label"} if page.locator("input:not([type=hidden])").count() else set())

    results = Axe().run(page, options=WCAG).response
    ran = {r["id"] for kind in ("passes", "violations", "incomplete") for r in results[kind]}
    assert checked <= ran, (page.url, sorted(ran))
    # axe cannot tell the background of text inside an SVG image: that text's contrast is measured below
    unsure = [n["target"][0] for r in results["incomplete"] if r["id"] == "color-contrast" for n in r["nodes"]]
    assert all(page.locator(t).evaluate("e => e.closest('svg') !== null") for t in unsure), (page.url, unsure)
    assert svg_text_contrast(page) == [], page.url
    return [f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']]})" for v in results["violations"]]


def _luminance(rgb: tuple[int, int, int]) -> float:
    c = [x / 255 for x in rgb]
    c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def svg_text_contrast(page: Page, least: float = 4.5) -> list[tuple[str, str, float]]:
    """Every SVG text on the page (drawn on white) whose computed fill has a WCAG contrast ratio under
    ``least`` (AA, normal text): (text, fill, ratio)."""
    fills = page.evaluate("""() => Array.from(document.querySelectorAll('svg text')).map(
        e => [e.textContent, getComputedStyle(e).fill])""")
    low = []
    for text, fill in fills:
        rgb = tuple(int(x) for x in re.findall(r"\d+", fill)[:3])
        ratio = 1.05 / (_luminance(rgb) + 0.05)
        if ratio < least:
            low.append((text, fill, round(ratio, 2)))
    return low


def test_the_sign_in_page_has_no_accessibility_violations(page: Page):
    page.goto("/console/sign-in")
    assert violations(page) == []


def test_every_console_page_has_no_accessibility_violations(page: Page, console, tmp_path):
    sign_in(page, console, "admin")
    found = {}
    for name, path in PAGES.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        found[name] = violations(page)
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    assert found == {name: [] for name in PAGES}


@pytest.mark.parametrize("key", ["auditor"])
def test_the_keyboard_alone_signs_in_and_moves_the_knowledge_time(page: Page, console, key):
    page.goto("/console/sign-in")
    for _ in range(10):  # Tab from the top of the page reaches the key's field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "key":
            break
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(console.keys[key])
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto("/console/instances/kec-7")
    reached = []
    for _ in range(20):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id")
        reached.append(focused)
        if focused == "at":
            page.keyboard.press("Control+A")
            page.keyboard.type(AT)
        if focused == "known_at":
            page.keyboard.press("Control+A")
            page.keyboard.type(AFTER)
            break
    assert "at" in reached and reached[-1] == "known_at", reached
    page.keyboard.press("Enter")
    expect(page.locator("#quote-amount")).to_have_text("810.00")
    expect(page).to_have_url(f"{console.base}/console/instances/kec-7?at={quote(AT, safe='')}"
                             f"&known_at={quote(AFTER, safe='')}&mode=auto")
