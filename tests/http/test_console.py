"""The web console over plain HTTP (the browser tests are in tests/browser): sessions, CSRF, headers, the same
authorization as the API, and the API left as it was (no console route in the schema)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.http.conftest import OTHER, OWN


@contextlib.contextmanager
def signed_in(server, key: str) -> Iterator[httpx.Client]:
    """A client with a console session: the sign-in form fetched (its token), then posted with the key."""
    with httpx.Client(base_url=server.base, timeout=30) as client:
        token = csrf(client.get("/console/sign-in").text)
        done = client.post("/console/sign-in", data={"csrf": token, "key": server.keys[key]})
        assert done.status_code == 303 and done.headers["location"] == "/console", done.text
        cookie = done.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        yield client


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_the_root_and_every_console_page_without_a_session_lead_to_sign_in(server):
    assert server.get("/").status_code == 307 and server.get("/").headers["location"] == "/console"
    for path in ("/console", "/console/instances/kec-1", "/console/accounts/acme", "/console/reconcile"):
        got = server.get(path)
        assert got.status_code == 303 and got.headers["location"] == "/console/sign-in?signed_out=none", path


def test_console_pages_carry_the_security_headers_and_no_key(server):
    with signed_in(server, "auditor") as client:
        page = client.get("/console/instances/kec-1?at=2027-02-22T10:00:00%2B08:00")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-store"
        assert server.keys["auditor"] not in page.text
        assert "196.00" in page.text  # seed example 1 (K-A1)


def test_the_sign_in_and_every_post_need_their_csrf_token(server):
    assert server.post("/console/sign-in", data={"key": server.keys["admin"]}).status_code == 403
    with signed_in(server, "admin") as client:
        for path in ("/console/sign-out", "/console/record", "/console/reconcile", "/console/reconcile/report"):
            assert client.post(path, data={}).status_code == 403, path
            assert client.post(path, data={"csrf": "0" * 64}).status_code == 403, path
        assert client.get("/console").status_code == 200  # still signed in
        out = client.post("/console/sign-out", data={"csrf": csrf(client.get("/console").text)})
        assert out.status_code == 303
        assert client.get("/console").headers["location"] == "/console/sign-in?signed_out=none"


@pytest.mark.parametrize("key, status", [("auditor", 403), ("finance", 200), ("admin", 200),
                                         ("finance@acme", 403), ("customer@acme", 403), ("recorder", 403)])
def test_the_reconciliation_page_follows_the_grants(server, key, status):
    """Reconcile is a ledger-wide function: finance and admin keys that are not narrowed to accounts."""
    with signed_in(server, key) as client:
        assert client.get("/console/reconcile").status_code == status


@pytest.mark.parametrize("key, status", [("admin", 200), ("recorder", 200), ("auditor", 403), ("finance", 403),
                                         ("admin@acme", 403)])
def test_the_one_write_page_follows_the_grants(server, key, status):
    with signed_in(server, key) as client:
        page = client.get("/console/record")
        assert page.status_code == status
        assert ('href="/console/record"' in client.get("/console").text) == (status == 200)


def test_the_record_page_lists_every_bad_line_of_a_feed(server):
    """Issue 25 item 8: a 422 page with the count and one item per bad line; nothing written."""
    feed = b'{"type": "purchase"}\nnot json\n{"type": "renew", "instance": "x"}\n'
    with signed_in(server, "admin") as client:
        token = csrf(client.get("/console/record").text)
        got = client.post("/console/record", data={"csrf": token}, files={"feed": ("feed.jsonl", feed)})
    assert got.status_code == 422, got.text
    assert "3 bad lines; nothing was recorded" in got.text
    items = re.findall(r"<li>(line \d+: [^<]*)</li>", got.text)
    assert [i.split(":")[0] for i in items] == ["line 1", "line 2", "line 3"], items


def test_the_history_page_numbers_the_facts_from_1(server):
    """Issue 25 item 15: the purchase is fact 1 (the stream's opening event is not listed)."""
    with signed_in(server, "auditor") as client:
        page = client.get("/console/instances/kec-1/history").text
    body = page.split("<tbody>", 1)[1]
    numbers = re.findall(r'<tr(?: class="retracted")?><td>(\d+)</td>', body)
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)] and numbers, body[:500]


def test_a_narrowed_key_sees_another_accounts_instance_and_account_as_unknown(server):
    with signed_in(server, "auditor@acme") as client:
        assert client.get("/console/instances/kec-1").status_code == 200
        other, unknown = client.get("/console/instances/kp-1"), client.get("/console/instances/kp-1-nope")
        assert other.status_code == unknown.status_code == 404
        assert other.text.replace("kp-1", "X") == unknown.text.replace("kp-1-nope", "X")
        assert client.get(f"/console/accounts/{OWN}").status_code == 200
        assert client.get(f"/console/accounts/{OTHER}").status_code == 404
        assert "kp-1" not in client.get("/console?q=kp").text


def test_the_console_is_not_in_the_api_schema(server):
    paths = server.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/console")]


def test_the_instance_page_takes_a_mode_and_redraws_bad_input_with_its_message(server):
    """KorPro's P-O1 (an outage) is judged when the mode names it: README's 107.14; a bad time or mode is 422 and
    the page says which parameter."""
    with signed_in(server, "auditor") as client:
        page = client.get("/console/instances/kp-1?at=2026-03-10T00:00:00Z&mode=outage")
        assert page.status_code == 200 and 'id="quote-amount">107.14<' in page.text
        assert '<option value="outage" selected>' in page.text
        bad = client.get("/console/instances/kp-1?at=2026-03-10&mode=outage")
        assert bad.status_code == 422 and "at: " in bad.text and 'value="2026-03-10"' in bad.text
        assert client.get("/console/instances/kp-1?mode=no-such-mode").status_code == 422
        diff = client.get("/console/instances/kp-1/diff?at=2026-03-10T00:00:00Z&mode=outage"
                          "&known_at=2026-01-01T00:00:00Z&vs=2030-01-01T00:00:00Z")
        assert diff.status_code == 200 and 'id="diff-to">107.14<' in diff.text


def test_a_customer_key_lists_its_accounts_instances_and_reads_its_own_account_page(server):
    """Issue 25, item 14: the console's home lists the customer's instances (empty before) and its account page
    answers (403 before); another account's page is the same 404 as an unknown account's."""
    with signed_in(server, "customer@acme") as client:
        home = client.get("/console")
        assert home.status_code == 200
        listed = set(re.findall(r'href="/console/instances/([^"]+)"', home.text))
        assert listed >= {"kec-1", "kec-2"} and not listed & {"kp-1", "kp-2", "kec-7", "race-0"}
        assert f'href="/console/accounts/{OWN}"' in home.text
        page = client.get(f"/console/accounts/{OWN}")
        assert page.status_code == 200 and 'href="/console/instances/kec-1"' in page.text
        other, unknown = client.get(f"/console/accounts/{OTHER}"), client.get("/console/accounts/no-such-account")
        assert other.status_code == unknown.status_code == 404
        assert other.text.replace(OTHER, "X") == unknown.text.replace("no-such-account", "X")
        assert f'href="/console/accounts/{OWN}"' in client.get("/console/instances/kec-1").text
        assert "kp-1" not in client.get("/console?q=kp").text


def test_the_unfiltered_search_says_what_it_lists(server):
    """Issue 25, item 13: without a search text the list is every instance (not instances matching “”)."""
    with signed_in(server, "auditor") as client:
        every = client.get("/console").text
        assert "Every instance as known now, by name: " in every and "matching" not in every
        assert "Every account, with how many instances each has" in every
        some = client.get("/console?q=kec").text
        assert "Instances whose name, account or product contains “kec”" in some
    with signed_in(server, "auditor@acme") as client:
        assert "Every instance of your accounts as known now, by name: 2; " in client.get("/console").text


def test_the_history_shows_labelled_values_money_with_its_currency_and_yes_or_no(server):
    """Issue 25, item 13: no raw JSON (`{"cash": ...}`) and no Python `True` in the details."""
    with signed_in(server, "auditor") as client:
        page = client.get("/console/instances/kec-1/history").text
        details = " ".join(re.findall(r'<td class="details">(.*?)</td>', page, re.S))
        assert "<dt>monthly price</dt> <dd>50.00 CNY</dd>" in details
        assert "<dt>payment</dt> <dd>cash 696.00 CNY</dd>" in details
        assert "{&#34;" not in details and '{"' not in details and "True" not in details and "False" not in details
        page = client.get("/console/instances/race-0/history?known_at=2030-01-01T00:00:00Z").text
        assert "<dt>payment</dt> <dd>cash 360.00 CNY</dd>" in page


def test_a_purchase_dated_after_the_business_time_asked_gets_a_neutral_note(server):
    """Issue 25, item 13: kec-2 is bought on 1 January 2027 (seed example 2); asked at an earlier business time
    the page says so, with a link to its start, instead of a red error."""
    with signed_in(server, "auditor") as client:
        page = client.get("/console/instances/kec-2?at=2026-06-01T00:00:00Z")
        assert page.status_code == 200
        note = re.search(r'<p class="note" role="status" id="not-yet">(.*?)</p>', page.text, re.S)
        assert note and "2027-01-01T00:00:00+08:00" in note.group(1) and "nothing to refund before it" in note.group(1)
        assert 'role="alert"' not in page.text and 'class="error"' not in page.text
        start = re.search(r'href="(/console/instances/kec-2\?at=[^"]+)">Quote at its start', page.text).group(1)
        quoted = client.get(start.replace("&amp;", "&"))
        assert quoted.status_code == 200 and 'id="quote-amount">' in quoted.text and "not-yet" not in quoted.text
        assert 'id="not-yet"' not in client.get("/console/instances/kec-2?at=2027-04-06T00:00:00%2B08:00").text


MIXED = "tz-mixed"  # an account with an instance of each policy (Kingsoft +08:00, KorPro +00:00)
MIXED_FEED = [
    {"type": "purchase", "id": "tz-kec-buy", "at": "2026-01-01T02:00:00Z", "instance": "tz-kec", "account": MIXED,
     "product": "KEC", "order": "tz-o", "months": 1, "monthly_price": "30.00", "payment": {"cash": "30.00"},
     "activated_at": "2026-01-01T03:00:00Z"},
    {"type": "subscribe", "id": "tz-kp-sub", "at": "2026-01-10T08:00:00+08:00", "instance": "tz-kp",
     "account": MIXED, "plan": "fixed", "cpus": 25},
    {"type": "charge", "id": "tz-kp-inv", "at": "2026-01-10T08:00:00+08:00", "instance": "tz-kp",
     "invoice": "tz-inv", "amount": "600.00", "period_start": "2026-01-10T08:00:00+08:00",
     "period_end": "2026-02-10T08:00:00+08:00"},
]


@pytest.fixture
def mixed(server):
    got = server.post("/v1/feeds", "recorder", json=MIXED_FEED)  # recorded once per server (then duplicates)
    assert got.status_code == 200, got.text
    return server


OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)")


def offsets(html: str) -> set[str]:
    """The offsets of every time written on a page."""
    return {m.group(2) for m in OFFSET.finditer(html)}


def test_an_account_of_one_policy_reads_in_its_zone_like_its_instance_pages(server):
    """One zone per page (issue 25, item 7): acme's instances are all Kingsoft's, so its account page shows
    every time in +08:00, as their instance pages do (it showed +00:00)."""
    with signed_in(server, "auditor") as client:
        page = client.get(f"/console/accounts/{OWN}").text
        assert "Times in +08:00, the business time zone of the policies concerned." in page
        assert offsets(page) == {"+08:00"}, offsets(page)
        assert "2027-01-01T00:00:00+08:00" in page  # kec-2 opened (seed example 2)
        assert re.search(r'id="known_at" name="known_at" type="text" value="[^"]+\+08:00"', page)
        assert offsets(client.get("/console/instances/kec-2").text) == {"+08:00"}
        typed = client.get(f"/console/accounts/{OWN}?known_at=2030-01-01T00:00:00.5Z").text
        assert 'value="2030-01-01T08:00:00.500000+08:00"' in typed  # what was typed, in the page's zone


def test_an_account_of_both_policies_reads_in_utc_and_says_so(mixed):
    with signed_in(mixed, "auditor") as client:
        page = client.get(f"/console/accounts/{MIXED}").text
        assert ("Times in UTC: the policies concerned have different business time zones (+00:00, +08:00)."
                in page)
        assert offsets(page) == {"Z"}, offsets(page)
        assert "2026-01-01T02:00:00Z" in page and "2026-01-10T00:00:00Z" in page  # each opened, in UTC
        search = client.get("/console?q=tz-").text
        assert "times in UTC: the policies concerned have different business time zones" in search
        assert offsets(search) == {"Z"}


def test_the_history_page_shows_the_details_that_are_times_in_the_policys_zone(mixed):
    """A KorPro charge whose period the feed wrote in +08:00 reads in +00:00 (its details were shown raw);
    a Kingsoft purchase's activation written in UTC reads in +08:00."""
    with signed_in(mixed, "auditor") as client:
        korpro = client.get("/console/instances/tz-kp/history").text
        assert "2026-01-10T00:00:00+00:00" in korpro and "2026-02-10T00:00:00+00:00" in korpro
        assert offsets(korpro) == {"+00:00"}, offsets(korpro)
        kingsoft = client.get("/console/instances/tz-kec/history").text
        assert '<dt>activated at</dt> <dd><span class="t">2026-01-01T11:00:00+08:00</span></dd>' in kingsoft
        assert offsets(kingsoft) == {"+08:00"}, offsets(kingsoft)


def test_an_error_on_a_page_shows_its_times_in_the_policys_zone_without_microseconds(server):
    """The instance page's "No quote" message, and a diff with no quote on either side, in +08:00 (the first
    was UTC with the clock's microseconds; the second stated no zone)."""
    with signed_in(server, "auditor") as client:
        page = client.get("/console/instances/kec-2?at=2027-04-06T00:00:00Z&known_at=2020-01-01T00:00:00Z").text
        assert ('No quote: instance: &#39;kec-2&#39; had no purchase at <span class="t">2027-04-06T08:00:00+08:00'
                '</span> as known at <span class="t">2020-01-01T08:00:00+08:00</span><') in page, page
        note = client.get("/console/instances/kec-2?at=2020-01-01T00:00:00Z").text  # before it: a note, no error
        assert 'kec-2 begins at <span class="t">2027-01-01T00:00:00+08:00</span>' in note
        diff = client.get("/console/instances/kec-2/diff?at=2027-04-06T00:00:00Z&known_at=2020-01-01T00:00:00Z"
                          "&vs=2021-01-01T00:00:00Z").text
        assert "Times are shown in +08:00, the policy&#39;s business time zone." in diff


def test_the_console_offers_only_the_instances_policys_modes_and_a_foreign_one_is_a_422_page(server):
    """Issue 25 item 1: the mode select of the instance and diff pages lists ``auto`` and the instance's policy's
    modes (interface.md), none of the other policy's; asking for one of those is the page again, 422, saying
    ``mode`` (it was a 500 page)."""
    from tests.integration.test_modes import CASES

    with signed_in(server, "auditor") as client:
        for instance, policy, own, foreign in CASES:
            for path in (f"/console/instances/{instance}", f"/console/instances/{instance}/diff"):
                page = client.get(path)
                assert page.status_code == 200, page.text
                offered = re.findall(r'<option value="([^"]*)"', page.text)
                assert offered == ["auto", *own], (path, offered)
                for mode in foreign:
                    bad = client.get(path, params={"at": "2026-03-10T00:00:00Z", "mode": mode})
                    assert bad.status_code == 422, (path, mode, bad.text[-500:])
                    assert f"mode: {mode!r} is not a mode of {policy}" in bad.text.replace("&#39;", "'"), (path, mode)
                    assert re.findall(r'<option value="([^"]*)"', bad.text) == ["auto", *own]
