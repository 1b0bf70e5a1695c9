"""An aggregate's events as an immutable value, with what is derived from the whole of it memoised."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


class Stream(tuple):  # noqa: SLOT001 - the memo needs a __dict__
    """An aggregate's events (an immutable value), with what is derived from the whole of it memoised.

    ``version`` is the last event's version; ``last_at`` / ``last_recorded`` the latest business and
    recorded times in it. A question whose ``at`` and ``known_at`` reach both sees every event, so its
    answer is the same for all such questions and is computed once per stream value."""

    def __init__(self, events: Iterable[Any] = ()):
        super().__init__()
        self.version = self[-1].originator_version if self else None
        self.last_at = max((e.at for e in self if hasattr(e, "at")), default=None)
        self.last_recorded = max((e.timestamp for e in self), default=None)
        self.memo: dict[Any, Any] = {}

    def covers(self, at: datetime, known_at: datetime) -> bool:
        return (self.last_recorded is None or known_at >= self.last_recorded) and \
            (self.last_at is None or at >= self.last_at)


def actor_of(event: Any) -> str | None:
    """Who recorded ``event`` (an API key's ``key:<id>``, or ``user:<login>`` from the CLI), stamped when it
    was stored; None for an event recorded before actors were kept. Not a dataclass field: no rule reads it."""
    return event.__dict__.get("actor")
