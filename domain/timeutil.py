"""Business time: usage days (K-T1) and 30-day months (K-T2)."""

from __future__ import annotations

from datetime import datetime, timedelta

DAY = timedelta(hours=24)
MONTH_DAYS = 30  # K-T2: a month is 30 days, everywhere


def require_aware(value: datetime, what: str) -> datetime:
    """Every instant in the ledger is timezone-aware; a naive one is a programming error here
    (the feed rejects naive input at the edge, with the line and field)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value


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
