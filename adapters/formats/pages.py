"""Cursor pagination of a listing: an opaque cursor holds the last row's sort key and the knowledge time the
first page was read at, so that every page of one walk lists the ledger as known at the same moment."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.formats.errors import BadInput


@dataclass(frozen=True)
class Cursor:
    after: list[Any]  # the sort key of the last row of the previous page
    known_at: datetime


def encode(after: list[Any], known_at: datetime) -> str:
    raw = json.dumps({"after": after, "known_at": known_at.isoformat()}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(text: str, shape: Sequence[type]) -> Cursor:
    """A cursor given back by `page`; ``shape``: the types of the listing's sort key. Anything else is bad
    input naming ``cursor``."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        after, known_at = raw["after"], datetime.fromisoformat(raw["known_at"])
        if (known_at.tzinfo is None or not isinstance(after, list) or len(after) != len(shape)
                or not all(type(v) is t for v, t in zip(after, shape, strict=True))):
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise BadInput(None, "cursor: not a cursor this listing gave") from None
    return Cursor(after, known_at)


def page(name: str, rows: Sequence[Any], limit: int, known_at: datetime) -> dict[str, Any]:
    """``{name: rows}`` (the CLI's ``--json``) of at most ``limit`` rows, given ``limit + 1`` rows when there
    are more, and ``next_cursor``: the next page's cursor, or None on the last page."""
    shown = rows[:limit]
    more = len(rows) > limit and shown
    return {name: [r.as_json() for r in shown],
            "next_cursor": encode(shown[-1].sort_key(), known_at) if more else None}


# ----- the change feed's cursor (`adapters.services.changes`) -----

_POSITION = "pos:"


def position_cursor(position: int) -> str:
    """The opaque cursor of a position in the global log: the feed's ``after`` (and ``next_cursor``)."""
    return base64.urlsafe_b64encode(f"{_POSITION}{position}".encode()).decode().rstrip("=")


def cursor_position(text: str | None, param: str = "after") -> int:
    """The position a change-feed cursor names (none or empty: the start of the log); anything else is bad input
    naming ``param``."""
    if not text:
        return 0
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        if not raw.startswith(_POSITION) or not raw[len(_POSITION):].isdigit() or len(raw) > 40:
            raise ValueError
        return int(raw[len(_POSITION):])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadInput(None, "not a cursor the change feed gave", param=param) from None
