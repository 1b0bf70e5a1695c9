"""The server's HTTP/1.1 protocol: uvicorn's h11 one with deadlines on the request itself (docs/http.md,
"Timeouts"), so that a client that connects and says nothing, sends half a head, or stops half-way through a
body never holds a connection (and the request waiting for its body) for ever. uvicorn alone only times out an
idle connection between two requests (``timeout_keep_alive``).

- **The head**: from the moment a connection opens (or its previous answer was sent), the request's headers must
  be complete within ``header_timeout`` seconds, however slowly they trickle in; else the connection is closed.
- **The head's size**: at most `MAX_HEAD` bytes (request line and headers), else ``431`` and the connection closed.
- **The body**: from its headers, the request's whole body must arrive within ``body_timeout`` seconds; else the
  server answers ``408`` (``Connection: close``, problem details) and closes the connection. The request waiting
  for its body then sees the client gone and ends.

`billing-ledger serve` runs uvicorn with ``http=TimedH11Protocol`` (by its import path, so that each worker
process imports it) and the keep-alive timeout of the same settings (`adapters.http.settings`).
"""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from adapters.http.problems import MEDIA_TYPE, TYPES
from adapters.http.settings import HttpSettings

PATH = "adapters.http.protocol:TimedH11Protocol"
MAX_HEAD = 64 * 1024  # bytes of a request line and headers; over it: 431 (the routes' own bounds, a hundred
#                      `with` of 200 characters percent-encoded, stay under it)


@cache
def settings() -> HttpSettings:
    """This process's settings (from the environment, read once)."""
    return HttpSettings.resolve()


class TimedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: asyncio.TimerHandle | None = None
        self.waiting: str | None = None  # "head" or "body": what the deadline is for

    def _track(self) -> None:
        """The deadline of what the connection waits for now: a request's head, its body, or nothing."""
        state = self.conn.their_state
        waiting = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if waiting == self.waiting:
            return
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self.waiting = waiting
        if waiting == "head":
            self.deadline = self.loop.call_later(settings().header_timeout, self._head_too_slow)
        elif waiting == "body":
            self.deadline = self.loop.call_later(settings().body_timeout, self._body_too_slow)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._track()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            return
        super().data_received(data)
        self._track()

    def _head_too_large(self, data: bytes) -> bool:
        """A request head over `MAX_HEAD` bytes is answered 431 and the connection closed (h11's own limit
        holds only while a head is incomplete: one that arrives whole in a read passes it)."""
        buffered = self.conn.trailing_data[0] + data
        end = buffered.find(b"\r\n\r\n")
        if (end + 4 if end >= 0 else len(buffered)) <= MAX_HEAD:
            return False
        self._answer(431, "Request Header Fields Too Large", f"the request line and headers are over {MAX_HEAD} bytes")
        self.transport.close()
        return True

    def _answer(self, status: int, title: str, detail: str) -> None:
        """Problem details written straight to the connection, which is closed after them."""
        data = json.dumps({"type": TYPES + title.lower().replace(" ", "-"), "title": title, "status": status,
                           "detail": detail}).encode()
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n"
                             b"x-content-type-options: nosniff\r\n\r\n" % (status, title.encode(), MEDIA_TYPE.encode(),
                                                                             len(data)) + data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self.waiting = None  # the next request's head gets a deadline of its own
            self._track()

    def _head_too_slow(self) -> None:
        self.deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def _body_too_slow(self) -> None:
        self.deadline = None
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and self.conn.our_state is h11.SEND_RESPONSE:
            self._answer(408, "Request Timeout", f"the body did not arrive within {settings().body_timeout:g} "
                                                 "seconds of the request's headers")
            cycle.response_started = cycle.response_complete = True
        if cycle is not None:
            cycle.disconnected = True  # the request waiting for its body sees the client gone, and ends
            cycle.message_event.set()
        self.transport.close()
