"""The security headers of every answer (docs/http.md, "Headers"), in one place.

- Every answer: ``X-Content-Type-Options: nosniff`` (`SecurityHeaders`, an ASGI middleware).
- The console's pages (`CONSOLE`): a CSP with no script at all (``script-src 'none'``), styles from its own
  stylesheet, no framing, forms posted to itself only; ``Referrer-Policy``, ``Cache-Control: no-store``.
- The API's HTML timeline (`timeline`): ``default-src 'none'``, its one inline script allowed by its SHA-256
  hash (no value of the page is put in the script), inline styles, no framing, no form, no network.
- The interactive docs (``/docs``, ``/redoc``, Swagger's OAuth2 redirect): their scripts from the server
  itself (``'self'``) and their inline scripts by hash. These pages are FastAPI's, made from the app's fixed
  settings (no value of the request is put in them): the hashes are of the page as sent.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from adapters.formats.timeline_html import SCRIPT_HASH

NOSNIFF = (b"x-content-type-options", b"nosniff")
_FRAMES = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
CONSOLE = {
    "Content-Security-Policy": f"default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
                               f"img-src 'self' data:; form-action 'self'; {_FRAMES}",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
TIMELINE = {
    "Content-Security-Policy": f"default-src 'none'; script-src {SCRIPT_HASH}; style-src 'unsafe-inline'; "
                               f"img-src data:; form-action 'none'; {_FRAMES}",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
DOCS = ("/docs", "/redoc", "/docs/oauth2-redirect")
SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)

Message = MutableMapping[str, Any]
ASGI = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def docs_policy(page: bytes) -> str:
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'"
                      for s in SCRIPT.findall(page))
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:; worker-src 'self' blob:; {_FRAMES}")


class SecurityHeaders:
    """``nosniff`` on every answer; the docs pages' CSP (their whole page is read first: a few kB)."""

    def __init__(self, app: ASGI) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path") in DOCS
        held: list[Message] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != NOSNIFF[0]]
                message = {**message, "headers": [*headers, NOSNIFF]}
                if docs:
                    held.append(message)
                    return
            elif docs and message["type"] == "http.response.body":
                held.append(message)
                if message.get("more_body", False):
                    return
                page = b"".join(m.get("body", b"") for m in held[1:])
                start = {**held[0], "headers": [*held[0]["headers"],
                                                 (b"content-security-policy", docs_policy(page).encode())]}
                await send(start)
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, sending)
