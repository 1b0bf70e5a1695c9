"""Every request measured and logged (docs/http.md, "Metrics and logs"): a pure ASGI middleware, outermost, so
it sees every answer, the problem details and the console's pages included.

- the request's id: its ``X-Request-Id`` when it is 1 to 128 of ``A-Z a-z 0-9 . _ : -``, else a new one;
  echoed in the answer's ``X-Request-Id``;
- the metrics (`adapters.formats.metrics.observe_request`): by method, route *template*
  (``/v1/instances/{instance}/history``, never the instance: bounded label values), status;
- one JSON line per request on the ``billing_ledger.access`` logger (stderr): time, request id, method, route,
  path, status, duration in milliseconds and the id of the key that authenticated (never its secret: the
  `Principal` the authorization step left on the request's state); no query string, no body.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from adapters.formats import metrics

log = logging.getLogger("billing_ledger.access")
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def install_log() -> None:
    """One JSON object a line on stderr, nothing else on the line (not uvicorn's format)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


def route_of(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class Observe:
    def __init__(self, app: Any, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope.get("headers", []))
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            metrics.observe_request(scope["method"], route, status, seconds)
            if self.log_requests:
                who = scope.get("state", {}).get("principal")
                log.info(json.dumps({
                    "time": datetime.now(UTC).isoformat(), "request_id": rid, "method": scope["method"],
                    "route": route, "path": scope.get("path", ""), "status": status,
                    "duration_ms": round(seconds * 1000, 3), "key_id": getattr(who, "id", None)}))
