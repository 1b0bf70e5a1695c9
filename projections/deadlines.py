"""Processing deadlines in working days (K-L2: applications settled within 5 working days).

Working days are Monday to Friday in the policy's time zone, minus the ``holidays`` Parameter.
Decision: the submission day is day 0; an application is due by the end of the 5th working day
after it, and overdue from then on while neither completed nor rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from domain.instance import Instance

PROCESSING_DAYS = 5  # K-L2


@dataclass(frozen=True)
class ApplicationRecord:
    refund: str
    instance: str
    at: datetime
    amount: str
    settled: str | None = None  # completed | rejected
    settled_at: datetime | None = None


def tz_of(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset.lstrip("+-").split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def add_working_days(start: date, n: int, holidays: Iterable[date]) -> date:
    skip, day, left = set(holidays), start, n
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in skip:
            left -= 1
    return day


def due(submitted: datetime, calendar_tz: str, holidays: Iterable[date]) -> datetime:
    tz = tz_of(calendar_tz)
    last = add_working_days(submitted.astimezone(tz).date(), PROCESSING_DAYS, holidays)
    return datetime.combine(last, time.max, tzinfo=tz)


def fold_applications(events: Iterable[tuple[str, Any]]) -> list[ApplicationRecord]:
    """Accepted applications and how they were settled, from ``(instance, event)`` pairs in recorded order."""
    records: dict[str, ApplicationRecord] = {}
    for instance, e in events:
        if isinstance(e, Instance.RefundApplied):
            records[e.refund] = ApplicationRecord(e.refund, instance, e.at, str(e.amount))
        elif isinstance(e, Instance.RefundCompleted | Instance.RefundRejected) and e.refund in records:
            kind = "completed" if isinstance(e, Instance.RefundCompleted) else "rejected"
            r = records[e.refund]
            records[e.refund] = ApplicationRecord(r.refund, r.instance, r.at, r.amount, kind, e.at)
    return list(records.values())


@dataclass(frozen=True)
class Overdue:
    refund: str
    instance: str
    at: datetime
    due: datetime
    amount: str

    def as_json(self) -> dict[str, str]:
        return {"refund": self.refund, "instance": self.instance, "applied_at": self.at.isoformat(),
                "due": self.due.isoformat(), "amount": self.amount}


def overdue(records: Iterable[ApplicationRecord], at: datetime, calendar_tz: str,
            holidays: Iterable[date]) -> list[Overdue]:
    """Applications still open at ``at`` (business time) past their K-L2 deadline."""
    holidays = tuple(holidays)
    out = []
    for r in records:
        if r.at > at or (r.settled_at is not None and r.settled_at <= at):
            continue
        deadline = due(r.at, calendar_tz, holidays)
        if at > deadline:
            out.append(Overdue(r.refund, r.instance, r.at, deadline, r.amount))
    return sorted(out, key=lambda o: o.due)
