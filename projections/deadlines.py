"""Refund deadlines in working days, for both policies, read from each policy's parameters.

- K-L2: a Kingsoft application is completed or rejected within 5 working days (5 is the rule's own number,
  not a Parameter), counted in the Kingsoft ``calendar_tz`` minus its ``holidays``;
- P-R2: a KorPro request is decided within ``review_days`` business days (3); P-R3: an approved refund is
  paid within ``processing_days`` (10; past that it is *flagged*, not failed: card refunds may take
  longer); P-D1: an escalation is decided within ``escalation_days`` (5); all counted in the KorPro
  ``calendar_tz`` minus its ``holidays``.

Working days are Monday to Friday in the policy's time zone, minus its ``holidays``.
Decision: the day a stage starts is day 0; the stage is due by the end of the n-th working day after it,
and overdue from then on while it is still open at the business time asked about.

Decision (P-V1, which version governs a stage): every stage of a KorPro refund (its review, its payment,
its escalation) runs on the parameters of the policy version in force at the business time of the refund
*request*, as known at the ``known_at`` of the question, i.e. the version that judges the request. A
version posted after the request does not move the deadlines of requests made before it; a version
recorded later but in force from before the request (back-dated) does, once it is known.

Decision (what-if): ``overrides`` (``overdue --set NAME=VALUE``) are split per policy as for quotes
(`domain.policies.registry.own`): a name both policies know (``calendar_tz``, ``holidays``) applies to both,
a name no policy knows is bad input naming ``--set``; a KorPro override replaces the value of the version
in force. ``holidays`` given apart (``overdue --holiday D``) are *added* to both policies' holidays.
Overrides of parameters that no deadline reads (e.g. ``performance_rate``) are checked, and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from domain.lifecycle import Refund
from domain.policies.kingsoft.amount import POLICY as KINGSOFT
from domain.policies.kingsoft.amount import KingsoftParameters
from domain.policies.korpro.subscription import POLICY as KORPRO
from domain.policies.korpro.subscription import KorProParameters, in_force
from domain.policies.registry import own
from domain.timeutil import tz_of

KINGSOFT_DAYS = 5  # K-L2: "within 1-5 working days"; the spec makes only `holidays` a Parameter
FAR = datetime.max.replace(tzinfo=UTC)


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
    policy: str = ""  # the policy (and KorPro version, P-V1) whose parameters set the deadline


def add_working_days(start: date, n: int, holidays: Iterable[date]) -> date:
    skip, day, left = set(holidays), start, n
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in skip:
            left -= 1
    return day


def due(since: datetime, calendar_tz: str, holidays: Iterable[date], days: int = KINGSOFT_DAYS) -> datetime:
    tz = tz_of(calendar_tz)
    last = add_working_days(since.astimezone(tz).date(), days, holidays)
    return datetime.combine(last, time.max, tzinfo=tz)


@dataclass(frozen=True)
class Calendars:
    """Where each stage's deadline comes from: the Kingsoft parameters (defaults + overrides), and for
    KorPro the policy book's versions (P-V1) as known at ``known_at`` + the KorPro overrides; plus the
    extra ``holidays`` of both policies."""

    kingsoft: KingsoftParameters = field(default_factory=KingsoftParameters)
    book: tuple[Any, ...] = ()  # the policy book's events (PolicyBook.VersionPosted among them)
    known_at: datetime = FAR
    korpro_overrides: dict[str, Any] = field(default_factory=dict)
    holidays: tuple[date, ...] = ()

    @classmethod
    def of(cls, book: Iterable[Any] = (), known_at: datetime | None = None,
           overrides: dict[str, Any] | None = None, holidays: Iterable[date] = ()) -> Calendars:
        """Checks every override now (bad input even when no refund of that policy is open)."""
        overrides = overrides or {}
        kingsoft = KingsoftParameters().parse(own(overrides, KingsoftParameters))
        korpro = own(overrides, KorProParameters)
        KorProParameters().override(korpro)
        return cls(kingsoft, tuple(book), known_at or FAR, korpro, tuple(holidays))

    def kingsoft_stage(self) -> tuple[str, int, str, tuple[date, ...]]:
        """K-L2: (policy, working days, calendar_tz, holidays)."""
        p = self.kingsoft
        return KINGSOFT, KINGSOFT_DAYS, p.calendar_tz, _union(p.holidays, self.holidays)

    def korpro(self, requested_at: datetime) -> tuple[str, KorProParameters]:
        """P-V1: the version in force at the request's business time, as known at ``known_at``, with the
        overrides on top."""
        version, params = in_force(list(self.book), requested_at, self.known_at)
        if self.korpro_overrides:
            params = params.override(self.korpro_overrides)
        return f"{KORPRO}-{version}", replace(params, holidays=_union(params.holidays, self.holidays))


def _union(*days: Iterable[date]) -> tuple[date, ...]:
    return tuple(sorted({d for group in days for d in group}))


WAITING = {"settle": "completion or rejection", "review": "a staff decision", "payment": "payment",
           "escalation": "the escalation's decision"}


def open_stages(events: Iterable[tuple[str, Any]], at: datetime, calendars: Calendars | None = None) -> list[Stage]:
    """Each open refund's stage at business time ``at``, from ``(instance, event)`` pairs (as known), folded by
    the refund lifecycle, with the working-day calendar of its policy (K-L2; P-R2, P-R3, P-D1 from the version
    of P-V1)."""
    cal = calendars or Calendars()
    folded: dict[str, Refund] = {}
    owner: dict[str, str] = {}
    for instance, e in sorted(events, key=lambda p: p[1].at):
        if e.at <= at and hasattr(e, "advance"):
            folded[e.refund] = e.advance(folded.get(e.refund))
            owner.setdefault(e.refund, instance)
    stages = []
    for r in folded.values():
        if r.stage is None or r.since is None:
            continue
        if r.stage == "settle":
            rule, (policy, days, tz, holidays) = "K-L2", cal.kingsoft_stage()
        else:
            policy, p = cal.korpro(r.requested_at)
            rule, days = {"review": ("P-R2", p.review_days), "payment": ("P-R3", p.processing_days),
                          "escalation": ("P-D1", p.escalation_days)}[r.stage]
            tz, holidays = p.calendar_tz, p.holidays
        stages.append(Stage(r.refund, owner[r.refund], rule, WAITING[r.stage], r.since, days, tz, str(r.amount),
                            holidays, policy))
    return stages


@dataclass(frozen=True)
class Overdue:
    stage: Stage
    due: datetime

    def as_json(self) -> dict[str, str]:
        s = self.stage
        return {"refund": s.refund, "instance": s.instance, "rule": s.rule, "waiting_for": s.waiting_for,
                "since": s.since.isoformat(), "due": self.due.isoformat(), "amount": s.amount,
                "severity": "flag" if s.rule == "P-R3" else "overdue", "policy": s.policy}


def overdue(events: Iterable[tuple[str, Any]], at: datetime, holidays: Iterable[date] = (), *,
            book: Iterable[Any] = (), known_at: datetime | None = None,
            overrides: dict[str, Any] | None = None) -> list[Overdue]:
    """Refunds whose current stage is past its deadline at business time ``at``.

    ``events``: the refund lifecycle events as known at ``known_at``; ``book``: the KorPro policy book's
    events (P-V1); ``overrides``: ``--set`` values as given; ``holidays``: extra non-working days, both
    policies."""
    calendars = Calendars.of(book, known_at, overrides, holidays)
    late = []
    for s in open_stages(events, at, calendars):
        deadline = due(s.since, s.calendar_tz, s.holidays, s.days)
        if at > deadline:
            late.append(Overdue(s, deadline))
    return sorted(late, key=lambda o: o.due)
