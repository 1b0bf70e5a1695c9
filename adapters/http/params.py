"""Query values as the use cases take them; a bad one is bad input naming the parameter (422)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Query

from adapters import services
from adapters.formats import envelope
from adapters.formats.errors import BadInput

INSTANT = "ISO 8601 with an offset (URL-encode '+' as %2B)"

At = Annotated[str, Query(description=f"business time, {INSTANT}", max_length=64)]
OptionalAt = Annotated[str | None, Query(description=f"business time, {INSTANT}", max_length=64)]
KnownAt = Annotated[str | None, Query(description=f"as recorded by then (default: now), {INSTANT}",
                                      max_length=64)]
Sets = Annotated[list[str] | None, Query(alias="set", description="a policy parameter: NAME=VALUE",
                                         max_length=100)]
Mode = Annotated[str, Query(description="auto, or a mode or refund reason of the instance's policy",
                            max_length=64)]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many rows in a page")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page", max_length=2000)]


def instant(name: str, value: str) -> datetime:
    try:
        return envelope.instant(value)
    except ValueError as e:
        raise BadInput(None, f"{name}: {e}") from None


def optional_instant(name: str, value: str | None) -> datetime | None:
    return None if value is None else instant(name, value)


def overrides(sets: list[str] | None) -> dict[str, str]:
    """``set=NAME=VALUE`` overrides, each checked as the CLI's ``--set``."""
    found = {}
    for item in sets or []:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise BadInput(None, f"set: {item!r} is not NAME=VALUE")
        found[name.strip()] = value.strip()
    return services.check_overrides(found)


def days(name: str, values: list[str]) -> tuple[date, ...]:
    found = []
    for v in values:
        try:
            found.append(envelope.day(v))
        except ValueError as e:
            raise BadInput(None, f"{name}: {e}") from None
    return tuple(found)
