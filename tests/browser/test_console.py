"""The web console in headless Chromium (issue 19): sign-in, search, the instance page moving ``known_at`` across
the audit story's retraction, the diff naming the retraction, history with both times and actors, the account
page, the reconciliation upload and report download; then what each role sees, CSRF, revocation and escaping.
Screenshots go to each test's temporary directory."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import quote

from adapters.bootstrap import Settings, bootstrap
from adapters.services import jobs, keys
from tests.browser.conftest import XSS, playwright_api, sign_in
from tests.http.conftest import ROOT

AT = "2026-04-15T09:00:00+08:00"  # the audit story's question: a refund asked on 15 April
BEFORE = "2026-04-10T00:00:00Z"  # the upgrade still believed
AFTER = "2026-04-21T00:00:00Z"  # after its retraction (a-3, recorded 20 April)

sync_api = playwright_api()  # skipped without Playwright (an error in CI)
Page, expect = sync_api.Page, sync_api.expect


def shot(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_without_a_session_every_page_sends_you_to_sign_in(page: Page, console):
    for path in ("/", "/console", "/console/instances/kec-7", "/console/accounts/globex", "/console/reconcile"):
        page.goto(path)
        expect(page).to_have_url(f"{console.base}/console/sign-in?signed_out=none")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_key_is_refused_on_the_sign_in_page(page: Page, console):
    page.goto("/console/sign-in")
    page.get_by_label("API key").fill("blk_k_0123456789abcdef_" + "A" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That key is malformed, unknown or revoked.")
    assert not [c for c in page.context.cookies() if c["name"] == "billing_ledger_console"]


def test_the_auditor_sees_kec7_change_from_1335_to_810_when_known_at_crosses_the_retraction(page: Page, console,
                                                                                          tmp_path):
    """The acceptance story (README "For auditors"): a self-service refund (K-A1 lines) asked on 15 April, as
    known on 10 April (upgrade o-72 believed) and on 21 April (o-72 retracted by a-3): 1335.00 -> 810.00; the
    five-day window (K-F2) drawn and the retracted fact shown with its reason."""
    sign_in(page, console, "auditor")
    cookie = next(c for c in page.context.cookies() if c["name"] == "billing_ledger_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert console.keys["auditor"] not in page.url
    page.get_by_label("Instance, account or product").fill("kec-7")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name="globex").first).to_be_visible()
    shot(page, tmp_path, "search")
    page.get_by_role("link", name="kec-7").click()
    expect(page.get_by_role("heading", name="Instance kec-7")).to_be_visible()

    page.get_by_label("Business time (at)").fill(AT)
    page.get_by_label("Knowledge time (known at)").fill(BEFORE)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#quote-amount")).to_have_text("1335.00")
    expect(page.get_by_role("table", name="How the amount is made")).to_contain_text("o-72")
    expect(page.get_by_role("img", name="Timeline of kec-7")).to_be_visible()
    assert page.locator("svg rect.order").count() == 2  # o-71 and the upgrade o-72, still believed
    shot(page, tmp_path, "instance-known-10-april")

    page.get_by_label("Knowledge time (known at)").fill(AFTER)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#quote-amount")).to_have_text("810.00")
    expect(page.get_by_role("table", name="How the amount is made")).not_to_contain_text("o-72")
    retracted = page.get_by_role("table", name="Retracted facts")
    expect(retracted).to_contain_text("a-2")
    expect(retracted).to_contain_text("the upgrade was never provisioned (ticket OPS-311)")
    assert page.locator("svg rect.retracted").count() == 1
    # times in the policy's business time zone (+08:00): 21 April 00:00Z is 08:00 there
    expect(page.get_by_label("Knowledge time (known at)")).to_have_value("2026-04-21T08:00:00+08:00")
    shot(page, tmp_path, "instance-known-21-april")


def test_the_diff_names_the_retraction_that_changed_the_amount(page: Page, console, tmp_path):
    sign_in(page, console, "auditor")
    page.goto(f"/console/instances/kec-7/diff?at={quote(AT)}")
    page.get_by_label("First knowledge time").fill(BEFORE)
    page.get_by_label("Second knowledge time").fill(AFTER)
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#diff-from")).to_have_text("1335.00")
    expect(page.locator("#diff-to")).to_have_text("810.00")
    causes = page.get_by_role("table", name="Facts recorded between the two knowledge times")
    expect(causes.get_by_role("row").filter(has_text="Retracted")).to_contain_text("line a-2: the upgrade was never "
                                                                                     "provisioned (ticket OPS-311)")
    expect(page.get_by_role("table", name="Lines that differ")).to_contain_text("o-72")
    shot(page, tmp_path, "diff")


def test_history_shows_both_times_the_actor_and_the_retraction(page: Page, console, tmp_path):
    sign_in(page, console, "auditor")
    page.goto("/console/instances/kec-7/history")
    table = page.get_by_role("table", name="Every fact recorded by")
    upgrade = table.get_by_role("row").filter(has_text="Upgraded")
    expect(upgrade).to_contain_text("2026-04-01T09:00:00+08:00")  # business time
    expect(upgrade).to_contain_text("2026-04-01T10:00:00+08:00")  # recorded 02:00Z
    expect(upgrade).to_contain_text("by a-3")
    expect(table.get_by_role("row").filter(has_text="RefundApplied")).to_contain_text("frozen quote 773.33 CNY")
    assert table.get_by_role("row").filter(has_text="user:").count() >= 4  # every fact's actor (recorded locally)
    page.get_by_role("link", name="What recording a-3 changed").click()  # the diff just before and after it
    expect(page.locator("#diff-from")).not_to_have_text(page.locator("#diff-to").inner_text())
    causes = page.get_by_role("table", name="Facts recorded between the two knowledge times")
    expect(causes.locator("tbody tr")).to_have_count(1)
    expect(causes).to_contain_text("line a-2: the upgrade was never provisioned")
    page.go_back()
    page.get_by_label("Knowledge time (known at)").fill(BEFORE)
    page.get_by_role("button", name="Show").click()
    expect(table.get_by_role("row").filter(has_text="a-3")).to_have_count(0)
    shot(page, tmp_path, "history")


def test_the_account_page_shows_instances_applications_quota_and_the_ledger_chart(page: Page, console, tmp_path):
    sign_in(page, console, "auditor")
    page.goto("/console/instances/kec-7")
    page.get_by_role("link", name="Account globex").click()  # an instance page links its account
    expect(page).to_have_url(re.compile(r"/console/accounts/globex$"))
    expect(page.get_by_role("table", name="The account's instances")).to_contain_text("kec-7")
    expect(page.get_by_role("table", name="Every refund request of the account")).to_contain_text("rf-7")
    quota = page.get_by_role("table", name="Accepted applications that count against the quota")
    expect(quota.get_by_role("row").filter(has_text="2026-04")).to_contain_text("rf-7")
    chart = page.get_by_role("img", name="Paid, consumed, refunded and deferred per month, CNY")
    expect(chart).to_be_visible()
    table = page.get_by_role("table", name="Account ledger per month, CNY")
    rows = table.locator("tbody tr")
    # the chart draws exactly the table's numbers: one bar per month and series
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        for series, amount in zip(("paid", "consumed", "refunded", "deferred"), cells[1:], strict=True):
            bar = chart.locator(f'rect[data-series="{series}"][data-month="{cells[0]}"]')
            expect(bar).to_have_attribute("data-amount", amount)
    expect(rows.last.locator("td").last).to_have_text("0.00")  # released (K-L3): nothing deferred at the end
    shot(page, tmp_path, "account")


def test_finance_uploads_a_statement_sees_the_findings_and_downloads_the_report(page: Page, console, tmp_path):
    sign_in(page, console, "finance")
    page.get_by_role("link", name="Reconcile").click()
    page.get_by_label("Statement").set_input_files(str(ROOT / "examples" / "statement.csv"))
    page.get_by_role("button", name="Reconcile").click()
    findings = page.get_by_role("table", name="Every finding")
    expect(findings.get_by_role("row").filter(has_text="inv-202")).to_contain_text("amount_mismatch")
    expect(page.locator("#counts")).to_contain_text("something does not reconcile")
    shot(page, tmp_path, "reconcile")
    with page.expect_download() as done:
        page.get_by_role("button", name="Download the report (CSV)").click()
    report = done.value
    assert report.suggested_filename == "reconciliation.csv"
    rows = list(csv.DictReader(io.StringIO(Path(report.path()).read_text())))
    expected = services_reconcile(console.db)
    assert rows == [{k: "" if v is None else str(v) for k, v in f.items()} for f in expected]


def services_reconcile(db: str) -> list[dict]:
    app = bootstrap(Settings.resolve(db))
    try:
        return jobs.reconcile(app, (ROOT / "examples" / "statement.csv").read_text()).findings
    finally:
        app.close()


# ----- roles, CSRF, revocation, escaping -----

def test_a_customer_sees_its_own_instances_and_another_accounts_as_unknown(page: Page, console, tmp_path):
    """Issue 25, item 14: the home lists the customer's instances, its account page answers; another account's
    instance or page is the same 404 as an unknown one."""
    sign_in(page, console, "customer@acme")
    expect(page.get_by_role("link", name="Reconcile")).to_have_count(0)
    listed = page.get_by_role("table", name="Every instance of your accounts")
    expect(listed.get_by_role("link", name="kec-2")).to_be_visible()
    expect(listed.get_by_role("link", name="kec-7")).to_have_count(0)
    shot(page, tmp_path, "customer-home")
    page.get_by_role("link", name="acme").first.click()
    expect(page.get_by_role("heading", name="Account acme")).to_be_visible()
    expect(page.get_by_role("table", name="The account's instances")).to_contain_text("kec-2")
    page.get_by_role("link", name="kec-1").click()
    expect(page.get_by_role("heading", name="Instance kec-1")).to_be_visible()
    expect(page.get_by_role("link", name="Diff between two knowledge times")).to_have_count(0)  # read only
    other = page.goto("/console/instances/kec-7")
    assert other is not None and other.status == 404
    other_text = page.get_by_role("alert").inner_text()
    unknown = page.goto("/console/instances/kec-nope")
    assert unknown is not None and unknown.status == 404
    assert page.get_by_role("alert").inner_text().replace("kec-nope", "X") == other_text.replace("kec-7", "X")
    for path in ("/console/accounts/globex", "/console/accounts/no-such-account"):
        assert page.goto(path).status == 404, path
    for path in ("/console/reconcile", "/console/instances/kec-1/diff"):
        assert page.goto(path).status == 403, path  # no "read" / "reconcile" for a customer key
    shot(page, tmp_path, "customer")


def test_an_auditor_sees_no_write_action_and_an_admin_does(page: Page, console):
    sign_in(page, console, "auditor")
    expect(page.get_by_role("link", name="Record a feed")).to_have_count(0)
    expect(page.get_by_role("link", name="Reconcile")).to_have_count(0)
    assert page.goto("/console/record").status == 403
    page.goto("/console/instances/kec-7")
    forms = page.locator("form[method=post]")
    assert forms.count() == 1 and forms.get_attribute("action") == "/console/sign-out"
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, console, "admin")
    expect(page.get_by_role("link", name="Record a feed")).to_be_visible()


def test_a_post_without_the_csrf_token_is_refused(page: Page, console):
    assert page.request.post("/console/sign-in", form={"key": console.keys["admin"]}).status == 403
    assert not page.context.cookies()
    sign_in(page, console, "admin")
    for path in ("/console/sign-out", "/console/record", "/console/reconcile"):
        answer = page.request.post(path, form={"feed": "{}"})
        assert answer.status == 403, (path, answer.status)
        answer = page.request.post(path, form={"csrf": "0" * 64})
        assert answer.status == 403, (path, answer.status)
    page.goto("/console")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # still signed in: nothing happened


def test_the_admin_records_a_feed_as_its_key(page: Page, console, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"type": "purchase", "id": "web-1", "at": "2026-05-01T00:00:00+08:00", "instance": "kec-web", '
                    '"account": "acme", "product": "KEC", "order": "o-web", "months": 1, "monthly_price": "10.00", '
                    '"payment": {"cash": "10.00"}}\n')
    sign_in(page, console, "admin")
    page.get_by_role("link", name="Record a feed").click()
    page.get_by_label("Feed").set_input_files(str(feed))
    page.get_by_role("button", name="Record").click()
    expect(page.locator("#recorded")).to_have_text("1 line: recorded 1, duplicates 0, denied 0.")
    page.goto("/console/instances/kec-web/history")
    expect(page.get_by_role("row").filter(has_text="web-1")).to_contain_text("key:k_")


def test_the_record_page_lists_every_bad_line(page: Page, console, tmp_path):
    """Issue 25 item 8: the alert names the count, then each bad line; nothing is recorded."""
    feed = tmp_path / "bad.jsonl"
    feed.write_text('{"type": "purchase"}\n\nnot json\n')
    sign_in(page, console, "admin")
    page.goto("/console/record")
    page.get_by_label("Feed").set_input_files(str(feed))
    page.get_by_role("button", name="Record").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("2 bad lines; nothing was recorded")
    expect(alert.get_by_role("listitem")).to_have_count(2)
    expect(alert.get_by_role("listitem").nth(1)).to_contain_text("line 3: malformed JSON")


def test_a_revoked_key_is_signed_out_at_its_next_click(page: Page, console):
    app = bootstrap(Settings.resolve(console.db))
    try:
        made = keys.create_key(app, "auditor", name="soon revoked")
        sign_in(page, console, made.key)
        keys.revoke_key(app, made.id)
    finally:
        app.close()
    page.goto("/console/instances/kec-7")
    expect(page).to_have_url(f"{console.base}/console/sign-in?signed_out=revoked")
    expect(page.get_by_role("status")).to_contain_text("revoked")
    assert not [c for c in page.context.cookies() if c["name"] == "billing_ledger_console"]


def test_untrusted_text_from_the_feed_stays_text(page: Page, console, tmp_path):
    sign_in(page, console, "auditor")
    page.goto("/console?q=kec-x")
    expect(page.get_by_role("cell", name=XSS)).to_be_visible()
    page.goto("/console/instances/kec-x")
    expect(page.get_by_role("table", name="Retracted facts")).to_contain_text(XSS)
    page.goto("/console/instances/kec-x/history")
    expect(page.get_by_role("table").first).to_contain_text(XSS)
    page.goto(f"/console/accounts/{quote(XSS, safe='')}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Account {XSS}")
    assert page.evaluate("window.__pwned") is None and page.dialogs == []
    shot(page, tmp_path, "escaped")
