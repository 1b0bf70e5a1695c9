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

from domain.instance import Instance
from domain.policies.kingsoft.amount import POLICY as KINGSOFT
from domain.policies.kingsoft.amount import KingsoftParameters
from domain.policies.korpro.subscription import POLICY as KORPRO
from domain.policies.korpro.subscription import KorProParameters, Subscription, in_force
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


def open_stages(events: Iterable[tuple[str, Any]], at: datetime, calendars: Calendars | None = None) -> list[Stage]:
    """Each refund's stage at business time ``at``, from ``(instance, event)`` pairs (as known), with the
    working-day calendar of its policy (K-L2; P-R2, P-R3, P-D1 from the version of P-V1)."""
    cal = calendars or Calendars()
    stages: dict[str, Stage | None] = {}
    amounts: dict[str, str] = {}
    korpro: dict[str, tuple[str, KorProParameters]] = {}  # refund -> the version its request was made under
    for instance, e in sorted(events, key=lambda p: p[1].at):
        if e.at > at or not hasattr(e, "refund"):
            continue

        def stage(rule: str, waiting: str, calendar: tuple[str, int, str, tuple[date, ...]], e: Any = e,
                  instance: str = instance) -> Stage:
            policy, days, tz, holidays = calendar
            return Stage(e.refund, instance, rule, waiting, e.at, days, tz, amounts.get(e.refund, ""), holidays,
                         policy)

        def of_korpro(rule: str, e: Any = e) -> tuple[str, int, str, tuple[date, ...]]:
            if e.refund not in korpro:  # first seen at its request (whose business time decides, P-V1)
                korpro[e.refund] = cal.korpro(e.at)
            policy, p = korpro[e.refund]
            days = {"P-R2": p.review_days, "P-R3": p.processing_days, "P-D1": p.escalation_days}[rule]
            return policy, days, p.calendar_tz, p.holidays

        if isinstance(e, Instance.RefundApplied):
            amounts[e.refund] = str(e.amount)
            stages[e.refund] = stage("K-L2", "completion or rejection", cal.kingsoft_stage())
        elif isinstance(e, Subscription.RefundRequested):
            amounts[e.refund] = str(e.amount)
            stages[e.refund] = (stage("P-R3", "payment", of_korpro("P-R3")) if e.approved
                                else stage("P-R2", "a staff decision", of_korpro("P-R2")))
        elif isinstance(e, Subscription.RefundDecided | Subscription.EscalationDecided):
            if e.approve and e.amount is not None:
                amounts[e.refund] = str(e.amount)
            stages[e.refund] = stage("P-R3", "payment", of_korpro("P-R3")) if e.approve else None
        elif isinstance(e, Subscription.Escalated):
            stages[e.refund] = stage("P-D1", "the escalation's decision", of_korpro("P-D1"))
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
