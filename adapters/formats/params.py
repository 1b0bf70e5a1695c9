"""Parameter values as the use cases take them, parsed alike for the CLI's options and the HTTP API's query
parameters and bodies: a bad one is bad input naming the parameter (``name``: its neutral name, ``known_at``,
which each entrypoint says in its own words, `BadInput.named`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from adapters.formats import envelope
from adapters.formats.errors import BadInput, echo


def instant(name: str, value: str | None) -> datetime:
    """A business or knowledge time: ISO 8601 with an offset (`envelope.instant`); None is missing."""
    if value is None:
        raise BadInput(None, "missing", param=name)
    try:
        return envelope.instant(value)
    except ValueError as e:
        raise BadInput(None, str(e), param=name) from None


def optional_instant(name: str, value: str | None) -> datetime | None:
    return None if value is None else instant(name, value)


def day(name: str, value: str) -> date:
    """A calendar day, YYYY-MM-DD (`envelope.day`)."""
    try:
        return envelope.day(value)
    except ValueError as e:
        raise BadInput(None, str(e), param=name) from None


def days(name: str, values: Iterable[str]) -> tuple[date, ...]:
    return tuple(day(name, v) for v in values)


def pairs(name: str, items: Iterable[str] | None) -> dict[str, str]:
    """``NAME=VALUE`` items (``--set``, ``set=``) as a dict, names and values stripped; the values are checked
    by the use case (`adapters.services.check_overrides`)."""
    found = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise BadInput(None, f"{echo(item)} is not NAME=VALUE", param=name)
        found[key.strip()] = value.strip()
    return found
