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
