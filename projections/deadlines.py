"""Refund deadlines in working days: which refunds are past the deadline of their open stage.

The refund lifecycle (`domain.lifecycle`) says which stage a refund is in and since when (``settle``,
``review``, ``payment``, ``escalation``); the refund's policy says which rule sets that stage's deadline, how
many working days it allows and on which calendar (`domain.policy.Policy.deadline`): K-L2 for Kingsoft;
P-R2, P-R3 (flagged, not failed), P-D1 for the subscription policy, each read from the policy's
parameters.

Working days are Monday to Friday in the policy's ``calendar_tz``, minus its ``holidays``.
Decision: the day a stage starts is day 0; the stage is due by the end of the n-th working day after it,
and overdue from then on while it is still open at the business time asked about.

Decision (P-V1, which version governs a stage): every stage of a versioned policy's refund (its review, its payment,
its escalation) runs on the parameters of the policy version in force at the business time of the refund
*request*, as known at the ``known_at`` of the question, i.e. the version that judges the request. A
version posted after the request does not move the deadlines of requests made before it; a version
recorded later but in force from before the request (back-dated) does, once it is known.

Decision (what-if): ``overrides`` (``overdue --set NAME=VALUE``) are split per policy as for quotes
(`domain.policies.registry.own`): a name both policies know (``calendar_tz``, ``holidays``) applies to both,
a name no policy knows is bad input naming ``--set``; an override replaces the value of the version
in force. ``holidays`` given apart (``overdue --holiday D``) are *added* to every policy's holidays.
Overrides of parameters that no deadline reads (e.g. ``performance_rate``) are checked, and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from domain.lifecycle import Refund
from domain.policy import Deadline
from domain.timeutil import tz_of

WAITING = {"settle": "completion or rejection", "review": "a staff decision", "payment": "payment",
           "escalation": "the escalation's decision"}


@dataclass(frozen=True)
class Stage:
    """What an open refund is waiting for, since when, under which rule, and on which calendar."""

    refund: str
    instance: str
    rule: str  # K-L2 | P-R2 | P-R3 | P-D1
    waiting_for: str
    since: datetime
    days: int
    calendar_tz: str
    amount: str
    holidays: tuple[date, ...] = ()
    policy: str = ""  # the policy (and version, P-V1) whose parameters set the deadline
    severity: str = "overdue"  # or "flag" (P-R3: card refunds may take longer)
    currency: str = ""  # the amount's


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


def open_refunds(events: Iterable[tuple[str, Any]], at: datetime) -> list[tuple[str, Refund]]:
    """Each refund with an open stage at business time ``at`` and the instance it was requested on, from
    ``(instance, lifecycle event)`` pairs as known, folded by the refund lifecycle."""
    folded: dict[str, Refund] = {}
    owner: dict[str, str] = {}
    for instance, e in sorted(events, key=lambda p: p[1].at):
        if e.at <= at and hasattr(e, "advance"):
            step = e.advance(folded.get(e.refund))
            if step.primary or e.refund not in folded:  # an instance included in an application adds nothing
                folded[e.refund] = step
                owner.setdefault(e.refund, instance)
    return [(owner[r.refund], r) for r in folded.values() if r.stage is not None and r.since is not None]


def open_stages(events: Iterable[tuple[str, Any]], at: datetime, deadline_of: Callable[[Refund], Deadline],
                holidays: Iterable[date] = ()) -> list[Stage]:
    """Each open refund's stage at ``at``, on its policy's calendar (plus the extra ``holidays``)."""
    extra = set(holidays)
    stages = []
    for instance, r in open_refunds(events, at):
        d = deadline_of(r)
        assert r.stage is not None and r.since is not None
        stages.append(Stage(r.refund, instance, d.rule, WAITING[r.stage], r.since, d.days, d.calendar_tz,
                            str(r.amount), tuple(sorted(set(d.holidays) | extra)), d.policy, d.severity,
                            r.currency))
    return stages


@dataclass(frozen=True)
class Overdue:
    stage: Stage
    due: datetime

    def as_json(self) -> dict[str, str]:
        s = self.stage
        return {"refund": s.refund, "instance": s.instance, "rule": s.rule, "waiting_for": s.waiting_for,
                "since": s.since.isoformat(), "due": self.due.isoformat(), "amount": s.amount,
                "severity": s.severity, "policy": s.policy, "currency": s.currency}


def overdue(events: Iterable[tuple[str, Any]], at: datetime, deadline_of: Callable[[Refund], Deadline],
            holidays: Iterable[date] = ()) -> list[Overdue]:
    """Refunds whose current stage is past its deadline at business time ``at``. ``events``: the refund
    lifecycle events as known; ``deadline_of``: the refund's policy's deadline for its open stage."""
    late = []
    for s in open_stages(events, at, deadline_of, holidays):
        deadline = due(s.since, s.calendar_tz, s.holidays, s.days)
        if at > deadline:
            late.append(Overdue(s, deadline))
    return sorted(late, key=lambda o: o.due)
