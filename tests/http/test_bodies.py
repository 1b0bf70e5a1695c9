"""Issue 30, defects 1 and 2: every body on every route is read through one size-checked reader, after
authentication, and never past the limit (413), whether it is sent with a Content-Length or chunked; the
console's forms too. Proved on a real server with a tight limit: a raw socket sends the headers and part of a
body and the answer must come without the rest (a server that reads the whole body would wait for it)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.http.conftest import purchase, seed, serving
from tests.http.test_console import csrf, signed_in
from tests.stores import STORES, store_url

LIMIT = 1000


@pytest.fixture(scope="module", params=STORES)
def tight(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"tight-{request.param}")
    db = store_url(request.param, workdir)
    made = seed(db)
    with serving(db, workdir, env={"BILLING_LEDGER_HTTP_MAX_BODY": str(LIMIT)}) as s:
        s.keys = made
        yield s


def chunked(data: bytes, size: int = 100) -> Iterator[bytes]:
    """The body as an iterator: httpx sends it with Transfer-Encoding: chunked and no Content-Length."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def answer_without_the_rest(server, head: str, part: bytes, timeout: float = 10) -> int:
    """Send ``head`` (a request's line and headers) and ``part`` of its body, never the rest: the status of the
    answer the server gives meanwhile (0 when it waits for the rest of the body)."""
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + part)
        try:
            got = sock.recv(200)
        except TimeoutError:
            return 0
    return int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/1.1 ") else -1


def padded(value: dict) -> bytes:
    return json.dumps(value).encode() + b" " * (2 * LIMIT)


def test_every_json_route_refuses_a_body_over_the_limit_sent_either_way(tight):
    keys_before = len(tight.get("/v1/keys", "admin").json()["keys"])
    for send in (lambda b: {"content": b}, lambda b: {"content": chunked(b)}):
        made = tight.post("/v1/keys", "admin", headers={"content-type": "application/json"},
                          **send(padded({"role": "auditor", "name": "padded"})))
        assert made.status_code == 413 and made.headers["content-type"] == "application/problem+json", made.text
        assert made.json()["type"].endswith("/too-large")
        scenario = tight.post("/v1/what-if", "finance", headers={"content-type": "application/json"},
                              **send(padded({"set": {"refundable_tenders": "cash"}})))
        assert scenario.status_code == 413, scenario.text
        assert tight.post("/v1/reconcile", "finance", **send(b"x" * (LIMIT + 1))).status_code == 413
        feed = (purchase("big-chunked", "acme") + "\n").encode() + b"\n" * LIMIT
        assert tight.post("/v1/feeds", "recorder", **send(feed)).status_code == 413
    assert len(tight.get("/v1/keys", "admin").json()["keys"]) == keys_before  # no key from a padded body
    assert tight.get("/v1/instances/big-chunked/history", "admin").status_code == 404
    small = tight.post("/v1/keys", "admin", json={"role": "auditor", "name": "small"})  # within the limit: fine
    assert small.status_code == 201


def test_no_body_is_read_before_the_key_is_checked(tight):
    """A request without a key is 401 at once, with its body unread (before: what-if and keys read a 200 MiB
    chunked body in full before answering 401)."""
    for path in ("/v1/what-if", "/v1/keys", "/v1/feeds", "/v1/reconcile"):
        head = (f"POST {path} HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                f"Content-Length: {200 * 1024 * 1024}\n")
        assert answer_without_the_rest(tight, head, b'{"role": "admin", ') == 401, path
        head = f"POST {path} HTTP/1.1\nHost: x\nContent-Type: application/json\nTransfer-Encoding: chunked\n"
        assert answer_without_the_rest(tight, head, b"10\r\n" + b" " * 16 + b"\r\n") == 401, path


def test_a_body_is_never_read_past_the_limit(tight):
    """Past the limit the answer is 413 at once: the rest of the body is never waited for."""
    for path, key in (("/v1/what-if", "finance"), ("/v1/keys", "admin"), ("/v1/feeds", "recorder")):
        auth = f"Authorization: Bearer {tight.keys[key]}\n"
        head = f"POST {path} HTTP/1.1\nHost: x\n{auth}Content-Type: application/json\nTransfer-Encoding: chunked\n"
        over = f"{LIMIT + 1:x}\r\n".encode() + b" " * (LIMIT + 1) + b"\r\n"
        assert answer_without_the_rest(tight, head, over) == 413, path


def multipart(fields: dict[str, bytes]) -> tuple[bytes, str]:
    parts = b"".join(b'--B\r\nContent-Disposition: form-data; name="%s"%s\r\n\r\n%s\r\n'
                     % (name.encode(), b'; filename="f.jsonl"' if name == "feed" else b"", value)
                     for name, value in fields.items())
    return parts + b"--B--\r\n", "multipart/form-data; boundary=B"


def test_console_forms_sent_chunked_are_bounded_too(tight):
    with signed_in(tight, "recorder") as client:
        token = csrf(client.get("/console/record").text).encode()
        feed = (purchase("console-chunked", "acme") + "\n").encode() + b"\n" * LIMIT
        body, kind = multipart({"csrf": token, "feed": feed})
        got = client.post("/console/record", content=chunked(body), headers={"content-type": kind})
        assert got.status_code == 413, got.text  # before: recorded
        assert "text/html" in got.headers["content-type"]
        one_field, kind = multipart({"csrf": token + b" " * (2 * LIMIT)})
        assert client.post("/console/record", content=chunked(one_field),
                           headers={"content-type": kind}).status_code == 413  # before: 400
    assert tight.get("/v1/instances/console-chunked/history", "admin").status_code == 404


def test_the_sign_in_form_is_read_within_its_own_small_limit(tight):
    """Before any session the sign-in form is read at most 4 KiB (a key is 60 characters): a bigger one is 413
    at once, without its rest being read (before: a 300 MB form was read in full)."""
    head = ("POST /console/sign-in HTTP/1.1\nHost: x\nContent-Type: application/x-www-form-urlencoded\n"
            "Transfer-Encoding: chunked\n")
    assert answer_without_the_rest(tight, head, b"1001\r\n" + b"k" * 4097 + b"\r\n") == 413
    head = ("POST /console/sign-in HTTP/1.1\nHost: x\nContent-Type: application/x-www-form-urlencoded\n"
            f"Content-Length: {300 * 1024 * 1024}\n")
    assert answer_without_the_rest(tight, head, b"key=") == 413
