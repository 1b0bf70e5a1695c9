"""Use case: record a feed (all or nothing), stamped by the App's clock."""

from __future__ import annotations

from collections.abc import Iterable

from adapters.bootstrap import App
from adapters.formats.feed import parse_feed
from adapters.services import record as service
from adapters.services.record import RecordResult


def record_feed(app: App, feed: str | Iterable[str], *, preserve_recorded_at: bool = False) -> RecordResult:
    """Validate every line of ``feed`` (its text, or its lines), then record it in one transaction.

    A bad line raises `BadInput` before the store is touched; a refused fact raises it with nothing written.
    """
    lines = parse_feed(feed.splitlines() if isinstance(feed, str) else feed)
    return service.record(app.writer, lines, app.clock, preserve_recorded_at=preserve_recorded_at)
