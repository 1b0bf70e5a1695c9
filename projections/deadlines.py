"""Refund deadlines in working days, for both policies.

- K-L2: a Kingsoft application is completed or rejected within 5 working days (policy time zone +08:00);
- P-R2: a KorPro request is decided within 3 business days; P-R3: an approved refund is paid within 10
  (past that it is *flagged*, not failed: card refunds may take longer); P-D1: an escalation is decided
  within 5.

Working days are Monday to Friday in the policy's time zone, minus the ``holidays`` Parameter.
Decision: the day a stage starts is day 0; the stage is due by the end of the n-th working day after it,
and overdue from then on while it is still open at the business time asked about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from domain.instance import Instance
from domain.policies.korpro.subscription import Subscription

KINGSOFT_TZ, KORPRO_TZ = "+08:00", "+00:00"


@dataclass(frozen=True)
class Stage:
    """What an open refund is waiting for, since when, and under which rule."""

    refund: str
    instance: str
    rule: str  # K-L2 | P-R2 | P-R3 | P-D1
    waiting_for: str
    since: datetime
    days: int
    calendar_tz: str
    amount: str


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


def due(since: datetime, calendar_tz: str, holidays: Iterable[date], days: int = 5) -> datetime:
    tz = tz_of(calendar_tz)
    last = add_working_days(since.astimezone(tz).date(), days, holidays)
    return datetime.combine(last, time.max, tzinfo=tz)


def open_stages(events: Iterable[tuple[str, Any]], at: datetime) -> list[Stage]:
    """Each refund's stage at business time ``at``, from ``(instance, event)`` pairs (as known)."""
    stages: dict[str, Stage | None] = {}
    amounts: dict[str, str] = {}
    for instance, e in sorted(events, key=lambda p: p[1].at):
        if e.at > at or not hasattr(e, "refund"):
            continue

        def stage(rule: str, waiting: str, days: int, tz: str, e: Any = e, instance: str = instance) -> Stage:
            return Stage(e.refund, instance, rule, waiting, e.at, days, tz, amounts.get(e.refund, ""))

        if isinstance(e, Instance.RefundApplied):
            amounts[e.refund] = str(e.amount)
            stages[e.refund] = stage("K-L2", "completion or rejection", 5, KINGSOFT_TZ)
        elif isinstance(e, Subscription.RefundRequested):
            amounts[e.refund] = str(e.amount)
            stages[e.refund] = (stage("P-R3", "payment", 10, KORPRO_TZ) if e.approved
                                else stage("P-R2", "a staff decision", 3, KORPRO_TZ))
        elif isinstance(e, Subscription.RefundDecided | Subscription.EscalationDecided):
            if e.approve and e.amount is not None:
                amounts[e.refund] = str(e.amount)
            stages[e.refund] = stage("P-R3", "payment", 10, KORPRO_TZ) if e.approve else None
        elif isinstance(e, Subscription.Escalated):
            stages[e.refund] = stage("P-D1", "the escalation's decision", 5, KORPRO_TZ)
        elif isinstance(e, Instance.RefundCompleted | Instance.RefundRejected):
            stages[e.refund] = None
    return [s for s in stages.values() if s is not None]


@dataclass(frozen=True)
class Overdue:
    stage: Stage
    due: datetime

    def as_json(self) -> dict[str, str]:
        s = self.stage
        return {"refund": s.refund, "instance": s.instance, "rule": s.rule, "waiting_for": s.waiting_for,
                "since": s.since.isoformat(), "due": self.due.isoformat(), "amount": s.amount,
                "severity": "flag" if s.rule == "P-R3" else "overdue"}


def overdue(events: Iterable[tuple[str, Any]], at: datetime, holidays: Iterable[date] = ()) -> list[Overdue]:
    """Refunds whose current stage is past its deadline at business time ``at``."""
    holidays = tuple(holidays)
    late = []
    for s in open_stages(events, at):
        deadline = due(s.since, s.calendar_tz, holidays, s.days)
        if at > deadline:
            late.append(Overdue(s, deadline))
    return sorted(late, key=lambda o: o.due)
