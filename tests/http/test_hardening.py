"""Issue 30, defects 4-6 and "Also seen", on the seeded server: broken JSON is 422 naming the body, what-if's
added lines go through the feed's parser exactly, every HTML answer carries its CSP and nosniff, an instance id
with a slash is refused at the feed's edge, and an error repeats an offending value only cut short."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess

from tests.http.conftest import EXE
from tests.stores import stored_rows

AT = "2027-04-06T00:00:00+08:00"
BROKEN = {
    "nested past the recursion limit": b'{"set": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "invalid UTF-8": b'{"role": "\xff\xfe", "name": "x"}',
    "an integer over 4,300 digits": b'{"role": "auditor", "name": ' + b"9" * 5000 + b"}",
    "not JSON at all": b'{"role": ',
    "a key twice": b'{"role": "auditor", "role": "admin"}',
}


def test_a_broken_json_body_is_422_problem_details_naming_the_body(server):
    keys_before = len(server.get("/v1/keys", "admin").json()["keys"])
    for path, key in (("/v1/what-if", "finance"), ("/v1/keys", "admin")):
        for why, data in BROKEN.items():
            got = server.post(path, key, content=data, headers={"content-type": "application/json"})
            assert got.status_code == 422, (path, why, got.status_code, got.text[:300])
            problem = got.json()
            assert problem["type"].endswith("/bad-input") and problem["errors"][0].startswith("body: "), problem
            assert len(got.content) < 1000, (path, why)  # the value is not sent back
    assert len(server.get("/v1/keys", "admin").json()["keys"]) == keys_before


def test_a_what_if_line_is_read_by_the_feeds_parser_exactly(server):
    """A duplicate key in an added line is refused as on /v1/feeds (before: the last one won, 200)."""
    line = ('{"type": "renew", "at": "' + AT + '", "instance": "kec-2", "order": "o-dup", "months": 1, '
            '"monthly_price": "9999.00", "monthly_price": "50.00", "payment": {"cash": "50.00"}}')
    fed = server.post("/v1/feeds", "recorder", content=line.encode())
    assert fed.status_code == 422
    body = '{"instance": "kec-2", "at": "' + AT + '", "add": [' + line + "]}"
    got = server.post("/v1/what-if", "finance", content=body.encode(), headers={"content-type": "application/json"})
    assert got.status_code == 422, got.text
    assert got.json()["errors"] == [f"add: {e}" for e in fed.json()["errors"]]
    assert "monthly_price" in got.json()["errors"][0]
    number = line.replace('"monthly_price": "9999.00", ', "").replace('"months": 1', '"months": 1.0')
    fed = server.post("/v1/feeds", "recorder", content=number.encode())  # a number's own text reaches it too
    got = server.post("/v1/what-if", "finance", content=body.replace(line, number).encode())
    assert fed.status_code == got.status_code == 422 and got.json()["errors"] == [f"add: {e}" for e in
                                                                                  fed.json()["errors"]]


def script_hashes(html: str) -> set[str]:
    return {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
            for s in re.findall(r"<script>(.*?)</script>", html, re.S)}


def test_every_html_answer_has_its_csp_and_nosniff(server):
    timeline = server.get("/v1/instances/kec-1/timeline", "auditor", headers={"accept": "text/html"})
    assert timeline.status_code == 200 and "<script>" in timeline.text
    csp = timeline.headers["content-security-policy"]
    assert timeline.headers["x-content-type-options"] == "nosniff"
    script = re.search(r"script-src ([^;]*)", csp).group(1).split()
    assert script == sorted(script_hashes(timeline.text)) and "default-src 'none'" in csp, csp  # its one script
    assert "frame-ancestors 'none'" in csp
    sign_in = server.get("/console/sign-in")
    csp = sign_in.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "'self'" not in re.search(r"script-src ([^;]*)", csp).group(1)
    assert "<script" not in sign_in.text and sign_in.headers["x-content-type-options"] == "nosniff"
    for path in ("/v1/verify", "/healthz", "/console/static/console.css"):  # every answer is nosniff
        assert server.get(path, "auditor").headers["x-content-type-options"] == "nosniff", path


def test_an_instance_id_with_a_slash_is_refused_at_the_feeds_edge(server, tmp_path):
    """Before: recorded, then unreachable by every /v1/instances/{i} route and console page."""
    rows = len(stored_rows(server.db))
    line = {"type": "purchase", "id": "buy-slash", "at": "2026-01-01T00:00:00+08:00", "instance": "a/b",
            "account": "acme", "product": "MongoDB", "order": "o-slash", "months": 12, "monthly_price": "30.00",
            "payment": {"cash": "360.00"}}
    got = server.post("/v1/feeds", "recorder", content=json.dumps(line).encode())
    assert got.status_code == 422 and got.json()["errors"][0].startswith("line 1: instance: "), got.text
    assert "/" in got.json()["errors"][0]
    bound = {"type": "bind_eip", "at": "2026-02-01T00:00:00+08:00", "instance": "kec-1", "eip": "e/1"}
    got = server.post("/v1/feeds", "recorder", content=json.dumps(bound).encode())
    assert got.status_code == 422 and got.json()["errors"][0].startswith("line 1: eip: "), got.text
    feed = tmp_path / "slash.jsonl"
    feed.write_text(json.dumps(line) + "\n")
    done = subprocess.run([str(EXE), "--db", server.db, "record", str(feed)], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("line 1: instance: "), done.stderr
    assert len(stored_rows(server.db)) == rows


def test_an_error_repeats_an_offending_value_cut_short(server):
    big = "X" * 200_000
    for line in ({"type": big, "at": AT},
                 {"type": "purchase", "id": "buy-big", "at": big, "instance": "big", "account": "acme",
                  "product": "MongoDB", "order": "o-big", "months": 12, "monthly_price": "30.00",
                  "payment": {"cash": "360.00"}, "currency": big}):
        got = server.post("/v1/feeds", "recorder", content=json.dumps(line).encode())
        assert got.status_code == 422 and len(got.content) < 2000, got.text[:500]
        assert "XXXXXXXXXX" in got.json()["detail"] and "200,000 characters" in got.json()["detail"]


def test_a_key_made_over_http_may_expire_and_shows_when_it_was_last_used(server):
    """Issue 30, item 9, over HTTP: ``expires_at`` (a time already past: 422 naming it), ``last_used_at``."""
    past = server.post("/v1/keys", "admin", json={"role": "auditor", "expires_at": "2020-01-01T00:00:00+00:00"})
    assert past.status_code == 422 and past.json()["errors"][0].startswith("expires_at: "), past.text
    made = server.post("/v1/keys", "admin", json={"role": "auditor", "expires_at": "2199-01-01T00:00:00+00:00"})
    assert made.status_code == 201 and made.json()["expires_at"] == "2199-01-01T00:00:00+00:00"
    assert server.get("/v1/verify", made.json()["key"]).status_code == 200
    listed = {k["id"]: k for k in server.get("/v1/keys", "admin").json()["keys"]}
    assert listed[made.json()["id"]]["last_used_at"] is not None
    assert listed[made.json()["id"]]["expires_at"] == "2199-01-01T00:00:00+00:00"
