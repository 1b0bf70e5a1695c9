"""Use case: record a feed (all or nothing), stamped by the App's clock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from adapters.bootstrap import App
from adapters.formats.feed import lines_of, parse_feed
from adapters.services import record as service
from adapters.services.record import RecordResult


def record_feed(app: App, feed: str | bytes | IO[bytes] | Iterable[str | bytes], *,
                preserve_recorded_at: bool = False, actor: str | None = None,
                at_recorded: bool = False) -> RecordResult:
    """Validate every line of ``feed`` (its text or bytes, a binary file, or its lines), then record it in one
    transaction.

    A bad line raises `BadInput` before the store is touched; a refused fact raises it with nothing written.
    An empty feed (no line but blank ones) touches no store: ``lines`` is 0, for the entrypoint to say so.
    ``actor``: who records it (an API key's ``key:<id>``; the CLI's local user), kept on every event written
    and on the feed's seal, and shown by ``history``. ``at_recorded``: each line's ``at`` is the time it is
    recorded (`adapters.services.record.record`).
    """
    lines = parse_feed(lines_of(feed))
    if not lines:
        return RecordResult(lines=0)
    result = service.record(app.writer, lines, app.clock, preserve_recorded_at=preserve_recorded_at,
                            actor=actor, at_recorded=at_recorded)
    result.lines = len(lines)
    return result
