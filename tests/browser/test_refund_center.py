"""The console's refund center in headless Chromium (issue 28, items 2 and 4): a customer applies through a
confirmation step that records nothing, support completes the application, the customer sees it; a KorPro
request rejected, escalated by the customer and decided on escalation (P-R2, P-D1, P-R3); a request the policy
denies recorded as denied with its rules; bad input named on the page with nothing written. Every step's
actor is the key that took it (``key:<id>``), as history shows. Screenshots go to each test's temporary
directory.

Each test buys its own instances for an account of its own, a day ago by the real clock (the server's): its
five-day window (K-F2) open, its quota (K-Q1) untouched by the other tests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from adapters.services import feeds, keys, queries
from tests.browser.conftest import actor_of, bought, history, ledger, new_page, playwright_api, section, sign_in

sync_api = playwright_api()  # skipped without Playwright (an error in CI)
Page, expect = sync_api.Page, sync_api.expect


def shot(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def shown_refund(page: Page) -> str:
    """The id of the refund whose page is shown."""
    return page.get_by_role("heading", level=1).inner_text().removeprefix("Refund ")


def test_a_customer_applies_with_a_confirmation_support_completes_and_the_customer_sees_it(page: Page, browser,
                                                                                         console, tmp_path):
    """K-F2/K-F9: within five days a KEC purchase refunds its whole payment (360.00), frozen at application
    (K-L1), due within five working days (K-L2), counted in K-Q1's three a month."""
    account, (kec,), key, customer = bought(console, "KEC")
    sign_in(page, console, key)
    page.get_by_role("link", name="Refunds").click()
    expect(page.get_by_role("heading", name="Refunds", level=1)).to_be_visible()
    mine = section(page, kec)
    modes = mine.get_by_role("table", name=f"What a refund of {kec} requested now would pay")
    five = modes.get_by_role("row").filter(has=page.get_by_role("rowheader", name="five_day", exact=True))
    expect(five).to_contain_text("360.00 CNY")
    expect(five.get_by_role("cell").nth(0)).to_have_text("yes")
    five.get_by_text("Formula and reasons").click()  # the formula on demand
    expect(five.locator("details code")).to_contain_text("360.00")
    expect(modes.get_by_role("row").filter(has_text="exception")).to_contain_text("K-E1")  # why not: no report
    expect(mine).to_contain_text("Five-day window (K-F2) ends")
    expect(mine.locator(".quota-left")).to_have_text("3")
    shot(page, tmp_path, "refunds")

    mine.get_by_role("button", name=f"Review the refund of {kec}").click()
    expect(page.get_by_role("heading", name=f"Confirm the refund of {kec}")).to_be_visible()
    expect(page.locator("#confirm-amount")).to_have_text("360.00")
    expect(page.locator("#confirm-state")).to_contain_text("accepted")
    expect(page.locator("#confirmation")).to_contain_text("K-L2")
    shot(page, tmp_path, "confirm")
    assert history(console, kec) == [("Purchased", keys.local_actor())]  # the confirmation wrote nothing

    page.get_by_role("button", name="Confirm: apply for 360.00 CNY").click()
    expect(page.locator("#done")).to_contain_text("Your application is recorded")
    expect(page.locator("#state")).to_have_text("accepted")
    expect(page.locator("#amount")).to_have_text("360.00")
    refund = shown_refund(page)
    assert history(console, kec)[-1] == ("RefundApplied", customer)
    shot(page, tmp_path, "refund-applied")
    page.get_by_role("link", name="Your refunds").click()
    expect(section(page, kec).locator(".quota-left")).to_have_text("2")  # K-Q1: one of three used
    expect(section(page, kec)).to_contain_text(f"released by the application {refund}")  # K-L3

    staff = new_page(browser, console)
    sign_in(staff, console, "support")
    staff.get_by_role("link", name="Support queue").click()
    queued = staff.get_by_role("table", name="Open refund requests, oldest first").get_by_role("row").filter(
        has_text=refund)
    expect(queued).to_contain_text("K-L2: completion or rejection by")
    expect(queued).to_contain_text("360.00 CNY")
    shot(staff, tmp_path, "support-queue")
    queued.get_by_role("link", name=f"Review {refund}").click()
    staff.get_by_role("button", name=re.compile("^Complete")).click()
    expect(staff.locator("#state")).to_have_text("completed")
    assert history(console, kec)[-1] == ("RefundCompleted", actor_of(console, "support"))
    staff.context.close()

    page.reload()
    listed = page.get_by_role("table", name="Refund applications of your accounts").get_by_role("row").filter(
        has_text=refund)
    expect(listed).to_contain_text("completed")
    expect(listed).to_contain_text("360.00 CNY")
    page.goto(f"/console/instances/{kec}/history")
    expect(page.get_by_role("row").filter(has_text="RefundApplied")).to_contain_text(customer)


def test_a_korpro_request_is_rejected_escalated_and_decided_on_escalation(page: Page, browser, console, tmp_path):
    """P-R1 (the request's fields, a missing one named), P-R2 (support decides; a rejection says why), P-D1
    (the customer escalates once; decided on escalation), P-R3 (approved: paid), each step its key's."""
    account, (sub,), key, customer = bought(console, "KorPro")
    sign_in(page, console, key)
    page.goto("/console/refunds")
    form = section(page, sub)
    form.get_by_label("Reason").select_option("not_as_described")
    form.get_by_label("Invoice number").fill(f"inv-{sub}")
    form.get_by_label("Explanation").fill("the dashboard does not show the savings")
    form.get_by_role("button", name=f"Review the refund of {sub}").click()
    expect(page.get_by_role("alert")).to_have_text("email: a KorPro refund request needs the account email (P-R1)")
    form = section(page, sub)
    expect(form.get_by_label("Account email")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Invoice number")).to_have_value(f"inv-{sub}")  # what was typed is kept
    shot(page, tmp_path, "refunds-bad-input")
    form.get_by_label("Account email").fill("it@example.com")
    form.get_by_role("button", name=f"Review the refund of {sub}").click()
    expect(page.locator("#confirm-state")).to_contain_text("requested")
    expect(page.locator("#confirmation")).to_contain_text("P-R2")
    page.get_by_role("button", name="Confirm: apply for 600.00 USD").click()
    expect(page.locator("#state")).to_have_text("requested")
    expect(page.locator("#deadlines")).to_contain_text("P-R2: a staff decision by")
    refund = shown_refund(page)
    expect(page.get_by_role("button", name="Escalate to management")).to_have_count(0)  # P-D1: not yet

    staff = new_page(browser, console)
    sign_in(staff, console, "support")
    staff.goto(f"/console/refunds/{refund}")
    staff.get_by_role("button", name="Reject").click()
    expect(staff.get_by_role("alert")).to_have_text("reason: say why the request is rejected")
    expect(staff.locator("#state")).to_have_text("requested")  # nothing written
    staff.get_by_label("Reason for rejecting (required)").fill("the savings are on the dashboard's second tab")
    staff.get_by_role("button", name="Reject").click()
    expect(staff.locator("#state")).to_have_text("rejected")

    page.goto("/console/refunds")
    page.get_by_role("button", name=f"Escalate {refund}").click()
    expect(page.locator("#state")).to_have_text("escalated")
    expect(page.locator("#deadlines")).to_contain_text("P-D1: the escalation's decision by")
    steps = page.get_by_role("table", name=f"Every step of {refund}")
    expect(steps.get_by_role("row").filter(has_text="RefundDecided")).to_contain_text(  # why, for the customer
        "rejected: the savings are on the dashboard's second tab")
    shot(page, tmp_path, "refund-escalated")

    staff.goto("/console/support")
    escalations = staff.get_by_role("table", name="Escalated requests, oldest first")
    expect(escalations.get_by_role("row").filter(has_text=refund)).to_contain_text("P-D1")
    expect(staff.get_by_role("table", name="Open refund requests")).not_to_contain_text(refund)
    shot(staff, tmp_path, "support-escalations")
    escalations.get_by_role("link", name=f"Review {refund}").click()
    staff.get_by_label(re.compile("^Amount")).fill("600.01")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.get_by_role("alert")).to_contain_text("amount: ")  # beyond the ceiling: named, nothing written
    expect(staff.locator("#state")).to_have_text("escalated")
    shot(staff, tmp_path, "refund-bad-amount")
    staff.get_by_label(re.compile("^Amount")).fill("250.00")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator("#state")).to_have_text("approved")
    expect(staff.locator("#deadlines")).to_contain_text("P-R3: payment by")
    staff.get_by_role("button", name=re.compile("^Complete")).click()
    expect(staff.locator("#state")).to_have_text("completed")
    staff.context.close()

    page.reload()
    expect(page.locator("#state")).to_have_text("completed")
    expect(page.locator("#amount")).to_have_text("250.00")
    support = actor_of(console, "support")
    assert history(console, sub)[2:] == [("RefundRequested", customer), ("RefundDecided", support),
                                         ("Escalated", customer), ("EscalationDecided", support),
                                         ("RefundCompleted", support)]


def test_a_request_the_policy_denies_is_recorded_as_denied_with_its_rules(page: Page, console, tmp_path):
    """K-E1: the exception mode needs an exception report; the request is recorded as denied (as a feed line
    would be), shown with its rule, and counts against no quota (K-Q1)."""
    account, (kec,), key, customer = bought(console, "KEC")
    sign_in(page, console, key)
    page.goto("/console/refunds")
    section(page, kec).get_by_label("Mode", exact=True).select_option("exception")
    section(page, kec).get_by_role("button", name=f"Review the refund of {kec}").click()
    expect(page.locator("#confirm-state")).to_contain_text("denied")
    expect(page.locator("#confirm-rules")).to_have_text("K-E1")
    page.get_by_role("button", name="Confirm: record the request (denied)").click()
    expect(page.locator("#state")).to_have_text("denied")
    expect(page.locator("#denied-by")).to_contain_text("K-E1")
    refund = shown_refund(page)
    assert history(console, kec)[-1] == ("RefundDenied", customer)
    shot(page, tmp_path, "refund-denied")
    page.goto("/console/refunds")
    expect(section(page, kec).locator(".quota-left")).to_have_text("3")
    listed = page.get_by_role("table", name="Refund applications of your accounts")
    expect(listed.get_by_role("row").filter(has_text=refund)).to_contain_text("K-E1")


def test_confirming_judges_the_request_again_and_a_second_confirmation_records_once(page: Page, console, tmp_path):
    """K-L1: the quote is frozen when the application is recorded. A renewal recorded between the review and
    the confirmation ends the five-day refund (K-F3: no longer a new purchase): the amount recorded is the one
    judged then, and the refund's page says it differs from the one shown. Posting the confirmation again (a
    second click) answers the same application: recorded once."""
    account, (kec,), key, customer = bought(console, "KEC")
    sign_in(page, console, key)
    page.goto("/console/refunds")
    section(page, kec).get_by_role("button", name=f"Review the refund of {kec}").click()
    expect(page.locator("#confirm-amount")).to_have_text("360.00")  # five-day: the whole payment (K-F9)
    confirm = page.locator(f'form[action="/console/instances/{kec}/refund-requests"]')
    form = {i.get_attribute("name"): i.get_attribute("value") for i in confirm.locator("input[type=hidden]").all()}
    with ledger(console) as app:
        renewed = datetime.now(UTC) - timedelta(hours=12)
        feeds.record_feed(app, json.dumps({
            "type": "renew", "at": renewed.isoformat(), "instance": kec, "order": f"o-{kec}-r", "months": 1,
            "monthly_price": "30.00", "payment": {"cash": "30.00"}}))
        expected = queries.quote(app, kec, datetime.now(UTC)).amount  # self-service now (K-S4)
    page.get_by_role("button", name="Confirm: apply for 360.00 CNY").click()
    recorded = page.locator("#amount").inner_text()
    assert recorded != "360.00" and abs(Decimal(recorded) - expected) <= Decimal("0.01"), (recorded, expected)
    expect(page.locator("#done")).to_contain_text("The amount shown before you confirmed was 360.00 CNY")
    shot(page, tmp_path, "refund-amount-moved")
    refund = shown_refund(page)
    again = page.request.post(f"/console/instances/{kec}/refund-requests", form=form)
    assert again.ok and again.url.split("?")[0].endswith(f"/console/refunds/{refund}")
    assert [f for f, _ in history(console, kec)].count("RefundApplied") == 1
