"""Who may use the console's refund center (issue 28): no page works without signing in, every POST without
the session's CSRF token is 403 and writes nothing, a customer sees neither support's queue nor another
account's instance or refund (the same 404 as an unknown one) and decides nothing, staff keys see the queue;
and the new pages pass the accessibility checks of test_accessibility.py. Screenshots go to each test's
temporary directory."""

from __future__ import annotations

import json

import pytest

from adapters.services import feeds, refund_steps
from tests.browser.conftest import bought, history, ledger, new_page, playwright_api, section, sign_in
from tests.browser.test_accessibility import violations
from tests.browser.test_readability import WIDTHS, read

sync_api = playwright_api()  # skipped without Playwright (an error in CI)
Page, expect = sync_api.Page, sync_api.expect

STEPS = ("escalation", "decision", "escalation-decision", "completion", "rejection")


def applied(console, instance: str, accounts: tuple[str, ...], **fields: str) -> str:
    """An application of ``instance`` recorded through the use case the console calls; its refund id."""
    with ledger(console) as app:
        made = refund_steps.apply_for_refund(app, instance, fields, refund_steps.Who("test", "user:test", accounts))
        return made.as_json()["refund"]


def csrf(page: Page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value") or ""


def test_no_refund_center_page_works_without_signing_in(page: Page, console):
    account, (kec,), key, _ = bought(console, "KEC")
    refund = applied(console, kec, (account,))
    for path in ("/console/refunds", "/console/support", f"/console/refunds/{refund}"):
        page.goto(path)
        expect(page).to_have_url(f"{console.base}/console/sign-in?signed_out=none")
    posts = [f"/console/instances/{kec}/refund-application", f"/console/instances/{kec}/refund-requests",
             *(f"/console/refunds/{refund}/{step}" for step in STEPS)]
    for path in posts:
        answer = page.request.post(path, form={"approve": "yes", "reason": "r"}, max_redirects=0)
        assert (answer.status, answer.headers["location"]) == (303, "/console/sign-in?signed_out=none"), path
    assert [f for f, _ in history(console, kec)] == ["Purchased", "RefundApplied"]  # nothing more written


def test_every_refund_center_post_without_the_csrf_token_is_403_and_writes_nothing(page: Page, console):
    """``admin@acme``'s role may take every step (apply, escalate, decide): only the token is missing."""
    with ledger(console) as app:
        feeds.record_feed(app, json.dumps({
            "type": "purchase", "at": "2026-06-01T00:00:00+08:00", "instance": "kec-csrf", "account": "acme",
            "product": "KEC", "order": "o-kec-csrf", "months": 12, "monthly_price": "30.00",
            "payment": {"cash": "360.00"}}))
    refund = applied(console, "kec-csrf", ("acme",))
    sign_in(page, console, "admin@acme")
    page.goto("/console/refunds")
    posts = ["/console/instances/kec-csrf/refund-application", "/console/instances/kec-csrf/refund-requests",
             *(f"/console/refunds/{refund}/{step}" for step in STEPS)]
    for path in posts:
        for form in ({"approve": "yes", "reason": "r"}, {"approve": "yes", "reason": "r", "csrf": "0" * 64}):
            answer = page.request.post(path, form=form)
            assert answer.status == 403, (path, answer.status)
            assert "CSRF token is missing or wrong" in answer.text()
    assert [f for f, _ in history(console, "kec-csrf")] == ["Purchased", "RefundApplied"]
    page.goto("/console/refunds")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # still signed in: nothing happened


def test_a_customer_sees_no_queue_and_another_accounts_instance_or_refund_is_unknown(page: Page, console, tmp_path):
    mine, (own,), key, _ = bought(console, "KEC")
    theirs, (other,), _, _ = bought(console, "KEC")
    their_refund = applied(console, other, (theirs,))
    sign_in(page, console, key)
    expect(page.get_by_role("link", name="Support queue")).to_have_count(0)
    assert page.goto("/console/support").status == 403
    page.goto("/console/refunds")
    expect(page.get_by_role("heading", name=other)).to_have_count(0)  # only its own accounts' instances
    token = csrf(page)
    for path in (f"/console/instances/{other}/refund-application", f"/console/instances/{other}/refund-requests"):
        foreign = page.request.post(path, form={"csrf": token})
        unknown = page.request.post(path.replace(other, f"{other}-nope"), form={"csrf": token})
        assert foreign.status == unknown.status == 404, path
        assert foreign.text().replace(other, "X") == unknown.text().replace(f"{other}-nope", "X")
    foreign = page.goto(f"/console/refunds/{their_refund}")
    assert foreign is not None and foreign.status == 404
    text = page.get_by_role("alert").inner_text()
    assert page.goto(f"/console/refunds/{their_refund}-nope").status == 404
    assert page.get_by_role("alert").inner_text().replace(f"{their_refund}-nope", "X") == text.replace(
        their_refund, "X")
    escalated = page.request.post(f"/console/refunds/{their_refund}/escalation", form={"csrf": token})
    assert escalated.status == 404  # escalate: its own refunds only
    for step in ("decision", "completion", "rejection", "escalation-decision"):  # no "decide" for a customer
        assert page.request.post(f"/console/refunds/{their_refund}/{step}", form={"csrf": token}).status == 403
    assert [f for f, _ in history(console, other)] == ["Purchased", "RefundApplied"]
    page.screenshot(path=str(tmp_path / "customer-refunds.png"), full_page=True)


def test_staff_keys_see_the_queue_and_a_key_without_accounts_has_no_refunds_page(page: Page, browser, console):
    sign_in(page, console, "support")
    expect(page.get_by_role("link", name="Support queue")).to_be_visible()
    expect(page.get_by_role("link", name="Refunds")).to_have_count(0)
    assert page.goto("/console/refunds").status == 403  # a key not narrowed to accounts has no instances
    auditor = new_page(browser, console)
    sign_in(auditor, console, "auditor")
    expect(auditor.get_by_role("link", name="Support queue")).to_have_count(0)
    assert auditor.goto("/console/support").status == 403  # an auditor decides nothing
    admin = new_page(browser, console)
    sign_in(admin, console, "admin")
    admin.get_by_role("link", name="Support queue").click()
    expect(admin.get_by_role("heading", name="Support queue")).to_be_visible()
    for other in (auditor, admin):
        other.context.close()


def test_the_refund_center_pages_have_no_accessibility_violations(page: Page, browser, console, tmp_path):
    account, (kec, sub), key, _ = bought(console, "KEC", "KorPro")
    found = {}
    sign_in(page, console, key)
    page.goto("/console/refunds")
    found["refunds"] = violations(page)
    section(page, sub).get_by_role("button", name=f"Review the refund of {sub}").click()  # no reason: an error
    expect(page.get_by_role("alert")).to_be_visible()
    found["refunds with an error"] = violations(page)
    section(page, kec).get_by_role("button", name=f"Review the refund of {kec}").click()
    found["confirmation"] = violations(page)
    page.get_by_role("button", name="Confirm: apply for 360.00 CNY").click()
    found["refund"] = violations(page)
    refund = applied(console, sub, (account,), reason="not_as_described", email="it@example.com",
                     invoice=f"inv-{sub}", explanation="no savings shown")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, console, "support")
    page.goto("/console/support")
    found["support queue"] = violations(page)
    page.screenshot(path=str(tmp_path / "support.png"), full_page=True)
    page.goto(f"/console/refunds/{refund}")
    page.get_by_role("button", name="Reject").click()  # no reason: an error at the form
    expect(page.get_by_role("alert")).to_be_visible()
    found["refund with its decision forms"] = violations(page)
    page.screenshot(path=str(tmp_path / "decision.png"), full_page=True)
    assert found == {name: [] for name in found}


@pytest.mark.parametrize("width", WIDTHS, ids=str)
def test_no_time_wraps_and_no_refund_center_page_is_wider_than_the_screen(page: Page, browser, console,
                                                                          tmp_path, width):
    """As test_readability.py does for the other pages, at a desktop's width and a phone's."""
    account, (kec, sub), key, _ = bought(console, "KEC", "KorPro")
    refund = applied(console, sub, (account,), reason="not_as_described", email="it@example.com",
                     invoice=f"inv-{sub}", explanation="no savings shown")
    pages = {key: {"refunds": "/console/refunds", "refund-customer": f"/console/refunds/{refund}"},
             "support": {"support": "/console/support", "refund-support": f"/console/refunds/{refund}"}}
    broken: dict[str, list[str]] = {}
    wide: list[str] = []
    for who, paths in pages.items():
        one = new_page(browser, console)
        one.set_viewport_size({"width": WIDTHS[width], "height": 800})
        sign_in(one, console, who)
        for name, path in paths.items():
            read(one, path, tmp_path / f"{name}-{width}.png", name, broken, wide)
        one.context.close()
    assert broken == {}
    assert wide == []
