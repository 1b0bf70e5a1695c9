"""The console's readability (issue 25, item 13), measured in the browser at a desktop width and at a phone's
(375 px): no date or time is broken across lines, no page is wider than the screen (a wide table scrolls inside
its own box), and the account ledger's chart fits its box whatever the ledger's length. Screenshots of every page
go to the test's temporary directory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from tests.browser.conftest import playwright_api, sign_in

AT, BEFORE = "2026-04-15T09:00:00+08:00", "2026-04-10T00:00:00Z"
PAGES = {
    "search": "/console",
    "instance": f"/console/instances/kec-7?at={quote(AT)}&known_at={quote(BEFORE)}",
    "instance-kec1": "/console/instances/kec-1?at=2027-02-22T10:00:00%2B08:00",
    "instance-kp1": "/console/instances/kp-1?at=2026-03-10T00:00:00Z&mode=outage",
    "history": "/console/instances/kec-7/history",
    "history-kp1": "/console/instances/kp-1/history",
    "diff": f"/console/instances/kec-7/diff?at={quote(AT)}&known_at={quote(BEFORE)}&vs=2026-04-21T00:00:00Z",
    "account": "/console/accounts/globex",
    "account-acme": "/console/accounts/acme",  # 24 months of ledger
    "account-initech": "/console/accounts/initech",
}
WIDTHS = {"desktop": 1280, "phone": 375}

# a date (YYYY-MM, YYYY-MM-DD) or a time with its offset, as the console prints them
BROKEN_TIMES = r"""() => {
  const re = /\d{4}-\d{2}(?:-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?/g;
  const broken = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (n.parentElement.closest('svg, option, script, style')) continue;
    for (const m of n.data.matchAll(re)) {
      const r = document.createRange();
      r.setStart(n, m.index);
      r.setEnd(n, m.index + m[0].length);
      const lines = new Set(Array.from(r.getClientRects()).filter(x => x.width > 0).map(x => Math.round(x.top)));
      if (lines.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""

sync_api = playwright_api()  # skipped without Playwright (an error in CI)
Page, expect = sync_api.Page, sync_api.expect


def read(page: Page, path: str, picture: Path, name: str, broken: dict[str, list[str]], wide: list[str]) -> None:
    """Open ``path`` (200), take its picture, and note ``name`` in ``broken`` with the times it breaks across
    lines, in ``wide`` if the page is wider than the screen."""
    assert page.goto(path).status == 200, path
    page.screenshot(path=str(picture), full_page=True)
    if found := page.evaluate(BROKEN_TIMES):
        broken[name] = found
    if page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"):
        wide.append(name)


@pytest.mark.parametrize("width", WIDTHS, ids=str)
def test_no_time_wraps_and_no_page_is_wider_than_the_screen(page: Page, console, tmp_path: Path, width: str):
    page.set_viewport_size({"width": WIDTHS[width], "height": 800})
    sign_in(page, console, "auditor")
    broken: dict[str, list[str]] = {}
    wide: list[str] = []
    for name, path in PAGES.items():
        read(page, path, tmp_path / f"{name}-{width}.png", name, broken, wide)
    assert broken == {}
    assert wide == []  # what does not fit scrolls inside its own box (a table's, the drawing's)


def test_on_a_phone_a_wide_table_scrolls_inside_its_box_which_the_keyboard_can_reach(page: Page, console):
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 800})
    sign_in(page, console, "auditor")
    page.goto(PAGES["history"])
    box = page.get_by_role("region", name="Every fact")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # the table is wider than the phone ...
    assert box.evaluate("e => e.getBoundingClientRect().right <= document.documentElement.clientWidth")
    box.focus()  # ... and scrolls inside its box, by keyboard too
    page.keyboard.press("ArrowRight")
    page.keyboard.press("End")
    expect(box).to_be_focused()
    page.wait_for_function("e => e.scrollLeft > 0", arg=box.element_handle())  # a smooth scroll takes a moment
    caption = page.get_by_role("table", name="Every fact recorded by").locator("caption")
    assert caption.evaluate("e => e.getBoundingClientRect().right <= document.documentElement.clientWidth + 1")


@pytest.mark.parametrize("width", WIDTHS, ids=str)
def test_the_account_chart_fits_its_box_at_any_ledger_length(page: Page, console, width: str):
    """acme's ledger runs 24 months (a chart of 2,048 px before, cut off by its box). On a desktop the chart fits
    its box; on a phone it keeps a legible size (its labels were 4 px tall, scaled to 375 px) and its box, which
    the keyboard reaches, scrolls to every bar."""
    page.set_viewport_size({"width": WIDTHS[width], "height": 800})
    sign_in(page, console, "auditor")
    for account in ("globex", "acme"):
        page.goto(f"/console/accounts/{account}")
        chart = page.get_by_role("img", name="Paid, consumed, refunded and deferred per month, CNY")
        box = chart.locator("xpath=ancestor::div[contains(@class, 'drawing')]")
        inner = box.evaluate("e => e.getBoundingClientRect().right")
        assert inner <= page.evaluate("document.documentElement.clientWidth"), account
        if width == "desktop":
            assert box.evaluate("e => e.scrollWidth <= e.clientWidth"), account
            assert chart.evaluate("e => e.getBoundingClientRect().right") <= inner + 0.5, account
        else:  # nothing cut off: the box scrolls as far as the chart reaches
            assert box.evaluate("e => e.scrollWidth") >= chart.evaluate("e => e.getBoundingClientRect().width") - 1
            assert box.get_attribute("tabindex") == "0"
        label = chart.locator("text.tick").last.evaluate("e => e.getBoundingClientRect().height")
        assert label >= 9, (account, label)  # a month's label can be read
        months = page.get_by_role("table", name="Account ledger per month, CNY").locator("tbody tr").count()
        assert chart.locator("rect.bar").count() == 4 * months  # every month is drawn
