"""Query values as the use cases take them; a bad one is bad input naming the parameter (422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from adapters.formats import params
from adapters.formats.params import days, instant, optional_instant  # noqa: F401 - the routes' parsing
from adapters.services import queries

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


def overrides(sets: list[str] | None) -> dict[str, str]:
    """``set=NAME=VALUE`` overrides, each checked as the CLI's ``--set``."""
    return queries.check_overrides(params.pairs("set", sets))
