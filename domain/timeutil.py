"""Business time: usage days (K-T1), 30-day months (K-T2), exact ratios of durations, and a policy's calendar
time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from functools import lru_cache
from typing import Any

DAY = timedelta(hours=24)
FAR = datetime.max.replace(tzinfo=UTC)  # "as known at the end of time": everything recorded
MONTH_DAYS = 30  # K-T2: a month is 30 days, everywhere
_OFFSET = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")



def usage_days(start: datetime, t: datetime) -> int:
    """K-T1: ``max(1, ceil((t - start) / 24h))`` days when ``t > start``, else 0.

    24 h or less is one day; 24 h + 1 s is two days.
    """
    if t <= start:
        return 0
    delta = t - start
    whole, rest = divmod(delta, DAY)
    return max(1, whole + (1 if rest else 0))


def months_days(months: int) -> timedelta:
    """K-T2: a validity of ``months`` months lasts ``30 * months`` days."""
    return DAY * (MONTH_DAYS * months)


def micros(td: timedelta) -> int:
    """A duration as exact integer microseconds (``td / timedelta(microseconds=1)`` is a float)."""
    return (td.days * 86400 + td.seconds) * 10**6 + td.microseconds


def ratio(a: timedelta, b: timedelta) -> Fraction:
    """``a / b`` exactly, from integer microseconds (P-O1 proration, finance recognition): ``a / b`` on two
    timedeltas is a float and loses the odd microsecond of a long span."""
    d = micros(b)
    if d == 0:
        raise ZeroDivisionError(f"ratio of {a!r} to a zero duration")
    return Fraction(micros(a), d)


def tz_of(offset: str) -> timezone:
    """A policy's ``calendar_tz`` (K-Q1, K-L2, P-R2/P-R3/P-D1): a fixed UTC offset written ``±HH:MM``
    (hours 00-23, minutes 00-59). Anything else raises ValueError (the parameter parsers turn it into bad
    input naming the field). Each offset is parsed once per process (a quota check asks on every quote)."""
    return _tz(offset) if isinstance(offset, str) else _tz_of(offset)


@lru_cache(maxsize=256)
def _tz(offset: str) -> timezone:
    return _tz_of(offset)


def _tz_of(offset: Any) -> timezone:
    match = _OFFSET.fullmatch(offset) if isinstance(offset, str) else None
    if match is None or int(match[2]) > 23 or int(match[3]) > 59:
        raise ValueError(f"{offset!r} is not a UTC offset written ±HH:MM (e.g. +08:00)")
    sign = -1 if match[1] == "-" else 1
    return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))


def readable(t: datetime, zone: str | None = None, *, exact: bool = False) -> str:
    """A time as people read it (a message, a table, a page): ISO 8601 in ``zone`` (a policy's
    ``calendar_tz``, ±HH:MM, its offset written out) or, with no zone, in UTC written ``Z`` (no business time
    zone applies: said so, never a silent +00:00); to the second, or with its microseconds when they are
    non-zero and ``exact`` (a time the user typed, or one compared with another within the same second).
    One function for every time a person reads; JSON keeps times as stored (``isoformat()``)."""
    try:
        local = t.astimezone(tz_of(zone) if zone else UTC)
    except OverflowError:  # the edge of the calendar (the end of time): as stored
        local = t
    text = local.isoformat(timespec="microseconds" if exact and t.microsecond else "seconds")
    return text[:-6] + "Z" if not zone and text.endswith("+00:00") else text
