"""A webhook receiver on 127.0.0.1 for the tests: every request's signature checked with the Standard
Webhooks library's own verifier, every request kept; it answers as its plan says (a status, or a pause longer
than the deliverer waits), then 200."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    id: str
    body: bytes
    verified: bool
    status: int  # what the receiver answered (0: it paused past the deliverer's timeout)

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    secret: str | None = None
    plan: list[int | float] = field(default_factory=list)  # per request, in turn: a status, or seconds to pause
    pause: float = 0.0  # before every answer
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        """What it took in (answered 2xx, or late, after the deliverer stopped waiting), each id once (the
        first), in the order it came: what a deduplicating receiver keeps."""
        seen, kept = set(), []
        with self.lock:
            for r in self.got:
                if (r.status == 0 or 200 <= r.status < 300) and r.id not in seen:
                    seen.add(r.id)
                    kept.append(r)
        return kept

    def wait_for(self, n: int, timeout: float = 60) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.accepted()) < n:
            assert time.monotonic() < deadline, f"{len(self.accepted())} of {n} messages after {timeout} s"
            time.sleep(0.05)
        return self.accepted()


@contextmanager
def receiving(**kw) -> Iterator[Receiver]:
    receiver = Receiver(**kw)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the standard library's name
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                Webhook(receiver.secret or "").verify(body, dict(self.headers.items()))
                verified = True
            except Exception:  # noqa: BLE001 - any refusal of the verifier: recorded as unverified
                verified = False
            with receiver.lock:
                step = receiver.plan.pop(0) if receiver.plan else 200
            time.sleep(receiver.pause)
            if isinstance(step, float):
                time.sleep(step)
                status = 0
            else:
                status = step
            with receiver.lock:
                receiver.got.append(Received(self.headers.get("webhook-id", ""), body, verified, status))
            try:
                self.send_response(status or 200)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the deliverer stopped waiting

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
