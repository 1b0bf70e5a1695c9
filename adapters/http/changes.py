"""``GET /v1/events``: the change feed (docs/http.md, "The change feed"), with an optional long poll.

The route parses, calls `adapters.services.changes` and answers its page; with ``wait``, an empty page is read
again every `POLL` seconds until a fact comes or ``wait`` seconds have passed (at most `MAX_WAIT`), sleeping
on the event loop, not in a worker thread."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from adapters.http.auth import AppDep, Customer, narrowed_to
from adapters.http.problems import responses
from adapters.services.changes import MAX_LIMIT, changes

router = APIRouter(prefix="/v1", responses=responses(401, 403, 422, 429), tags=["feed"])
MAX_WAIT = 30.0  # seconds a long poll may wait
POLL = 0.25  # seconds between two reads of a long poll

After = Annotated[str | None, Query(max_length=100, description="next_cursor (or an event's cursor) of an earlier "
                                                                "page; none: from the start of the log")]
Types = Annotated[list[str] | None, Query(max_length=100, description="only these types of fact (e.g. "
                                                                      "RefundApplied), repeated or comma-separated")]

Wait = Annotated[float, Query(ge=0, le=MAX_WAIT, description="seconds to wait for a fact when there is none yet")]


@router.get("/events", summary="Every recorded fact after a cursor, in log order (billing-ledger events)")
async def events(app: AppDep, who: Customer, after: After = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100, types: Types = None,
                 wait: Wait = 0) -> dict[str, Any]:
    """A key narrowed to accounts sees only its accounts' instances' facts; the cursor moves past the others."""
    wanted = [t.strip() for given in types or [] for t in given.split(",") if t.strip()]
    deadline = time.monotonic() + wait
    while True:
        page = await run_in_threadpool(changes, app, after, limit, wanted, narrowed_to(who))
        left = deadline - time.monotonic()
        if page.events or page.more or left <= 0:
            return page.as_json()
        after = page.next_cursor
        await asyncio.sleep(min(POLL, left))
