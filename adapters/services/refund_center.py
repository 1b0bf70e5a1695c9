"""Use cases of the refund center (issue 28), its reads: the customer's "Unsubscribe management" list, and one
refund application as it stands (its frozen quote and the deadline of its open stage).

Everything here reaches a policy through the registry (`domain.policies.registry`, `domain.policy.Policy`):
its modes, its quote (`reads.assess`, as ``quote`` judges), its windows (``marks``: K-F2's five days for
Kingsoft), its quota period (``quota_period``: K-Q1) and its deadlines (``deadline``: K-L2; P-R2, P-R3, P-D1).
No policy is named here, so a third policy's instances are listed with its own modes, windows and quota.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.bootstrap import App
from adapters.services import listings, reads
from adapters.services.queries import history_rows
from domain.errors import LedgerError, UnknownInstance
from domain.instance import Account, Key, account_id, key_id, known, live, opening
from domain.lifecycle import Refund, refunds
from domain.policies import registry
from domain.policy import Policy
from domain.stream import actor_of
from projections import deadlines


@dataclass(frozen=True)
class ModeQuote:
    """What a refund asked to be judged as ``asked`` would pay: the quote (its ``mode`` is the one it was
    judged under: ``auto`` picks one), or the refusal of a request the ledger would not even record."""

    asked: str
    quote: dict[str, Any] | None  # the quote's JSON (docs/quote.md)
    refused: str | None = None  # bad input naming the field (e.g. a reason that needs an invoice)

    def as_json(self) -> dict[str, Any]:
        q = self.quote
        if q is None:
            return {"mode": self.asked, "eligible": False, "rules": [], "refused": self.refused}
        why_not = [] if q["eligible"] else list(dict.fromkeys(r["rule"] for r in q["reasons"]))
        return {"mode": self.asked, "judged_as": q["mode"], "eligible": q["eligible"], "amount": q["amount"],
                "currency": q["currency"], "rules": why_not,
                "quote": q}


@dataclass(frozen=True)
class Quota:
    """An account's applications in the quota period that ``at`` falls in (K-Q1: a calendar month in the
    policy's zone); rejected ones keep their slot (K-Q2)."""

    rule: str
    period: str
    zone: str
    limit: int
    used: int

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "period": self.period, "zone": self.zone, "limit": self.limit,
                "used": self.used, "left": max(self.limit - self.used, 0)}


@dataclass(frozen=True)
class Refundable:
    """One instance of the list: its row, its policy, a quote per mode, its windows and its account's quota."""

    row: listings.InstanceRow
    policy: str
    modes: tuple[ModeQuote, ...]
    windows: tuple[dict[str, str], ...]
    quota: Quota | None

    def as_json(self) -> dict[str, Any]:
        best = next((m for m in self.modes if m.asked == "auto"), None)
        return {**self.row.as_json(), "policy": self.policy,
                "eligible": any(m.quote is not None and m.quote["eligible"] for m in self.modes),
                "auto": best.as_json() if best is not None else None,
                "modes": [m.as_json() for m in self.modes if m.asked != "auto"],
                "windows": list(self.windows), "quota": self.quota.as_json() if self.quota else None}


@dataclass(frozen=True)
class UnsubscribeList:
    at: datetime
    known_at: datetime
    accounts: tuple[str, ...]
    instances: list[Refundable]

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "known_at": self.known_at.isoformat(), "accounts": list(self.accounts),
                "instances": [i.as_json() for i in self.instances]}


def unsubscribe_list(app: App, accounts: Sequence[str], at: datetime | None = None) -> UnsubscribeList:
    """The instances of ``accounts`` (a customer key's), each with what a refund requested at ``at`` (default
    now) would pay in ``auto`` and in each mode its policy allows, as the ledger knows now; why not (rule ids);
    the windows its policy opens (K-F2) and its account's applications left in ``at``'s quota period (K-Q1).
    Writes nothing."""
    known_at = app.now()
    at = at or known_at
    out = []
    for row in listings.instances(app, known_at, accounts=accounts):
        policy = registry.for_product(row.product)
        facts = live(known(reads.events_of(app.ledger, row.instance), known_at))
        head = opening(facts)
        marks = registry.marks(policy, head, facts)
        windows = tuple({"rule": w.rule, "label": w.label, "start": w.start.isoformat(), "end": w.end.isoformat()}
                        for w in marks.windows)
        out.append(Refundable(row, policy.name, tuple(_mode_quote(app, row.instance, at, known_at, m)
                                                      for m in registry.modes(policy)),
                              windows, quota(app, row.account, policy, at, known_at)))
    return UnsubscribeList(at, known_at, tuple(accounts), out)


def _mode_quote(app: App, instance: str, at: datetime, known_at: datetime, mode: str) -> ModeQuote:
    try:
        return ModeQuote(mode, reads.assess(app.ledger, instance, at, known_at, mode).as_json())
    except LedgerError as e:  # a request in this mode needs more than a quote is given (e.g. an invoice)
        return ModeQuote(mode, None, str(e))


def quota(app: App, account: str, policy: Policy, at: datetime, known_at: datetime) -> Quota | None:
    """K-Q1: ``account``'s accepted applications (judged by ``policy``) that count in the quota period of
    ``at``, as known at ``known_at``; None for a policy without a quota."""
    period = policy.quota_period(at)
    if period is None:
        return None
    used = 0
    for e in known(app.ledger.streams.get(account_id(account)), known_at):
        if isinstance(e, Account.ApplicationAccepted) and e.counts_quota:
            theirs = registry.for_product(e.products[0])
            if theirs.name == policy.name and (p := theirs.quota_period(e.at)) is not None \
                    and p.period == period.period:
                used += 1
    return Quota(period.rule, period.period, period.zone, period.limit, used)


# ----- one application -----

class UnknownRefund(UnknownInstance):
    """No such refund was requested, or the key may not see it: the same answer (404) for both."""


def refund_instance(app: App, refund: str, accounts: Collection[str] | None = None) -> str:
    """The instance that refund ``refund`` was requested on; `UnknownRefund` (404) when no such refund was
    requested, or it is not one of ``accounts``' (a key's narrowing): the same answer for both."""
    owner = None
    for e in app.ledger.streams.get(key_id("refund", refund)):
        if isinstance(e, (Key.Claimed, Key.Reclaimed)):
            owner = e.owner
    if owner is None or (accounts and listings.instance_account(app, owner) not in accounts):
        raise UnknownRefund(f"no refund {refund!r}", "refund")
    return owner


@dataclass(frozen=True)
class Application:
    """A refund application as it stands: its lifecycle state, its frozen quote (K-L1), the rules that denied
    it, and the deadline of the stage it waits in (K-L2; P-R2, P-R3, P-D1), if any."""

    refund: Refund
    instance: str
    account: str
    known_at: datetime
    deadlines: tuple[dict[str, Any], ...]
    actor: str | None
    steps: tuple[dict[str, Any], ...] = ()  # its lifecycle facts as history rows (a page's; not in the JSON)

    def as_json(self) -> dict[str, Any]:
        r, request = self.refund, self.refund.request
        reasons = list(getattr(request, "reasons", None) or request.quote.get("reasons", []))
        return {"refund": r.refund, "instance": self.instance, "account": self.account, "policy": r.policy,
                "mode": r.mode, "state": r.state, "eligible": r.state != "denied", "amount": str(r.amount),
                "currency": r.currency, "requested_at": r.requested_at.isoformat(),
                "recorded_at": r.recorded_at.isoformat(), "known_at": self.known_at.isoformat(),
                "settled_at": r.settled_at.isoformat() if r.settled_at else None, "escalated": r.escalated,
                "actor": self.actor,
                "rules": [] if r.state != "denied" else list(dict.fromkeys(x["rule"] for x in reasons)),
                "quote": request.quote, "deadlines": list(self.deadlines)}


def application(app: App, refund: str, accounts: Collection[str] | None = None) -> Application:
    """Refund ``refund`` as the ledger knows it now (`UnknownRefund` as `refund_instance`)."""
    instance = refund_instance(app, refund, accounts)
    known_at = app.now()
    return application_in(app, refund, instance, known(reads.events_of(app.ledger, instance), known_at), known_at)


def application_in(app: App, refund: str, instance: str, facts: list[Any], known_at: datetime) -> Application:
    """Refund ``refund`` as ``facts`` (``instance``'s, as known at ``known_at``: the store's, or a dry run's
    pending ones) leave it; `UnknownRefund` when they hold no such refund (retracted since)."""
    kept = live(facts)
    r = refunds(kept).get(refund)
    head = opening(kept)
    if r is None or head is None:
        raise UnknownRefund(f"no refund {refund!r}", "refund")
    steps = tuple(row for row in history_rows(facts, known_at) if row["details"].get("refund") == refund)
    return Application(r, instance, head.account, known_at, _deadlines(app, r, known_at), actor_of(r.request),
                       steps)


def request_fields(policy: str | None) -> tuple[str, ...]:
    """The ``request_refund`` fields an application judged by ``policy`` (its name) takes, the first naming
    its choice among the policy's modes (`domain.policy.About.asks`): what an application form asks."""
    try:
        return registry.named(policy).asks if policy else ("mode",)
    except LookupError:
        return ("mode",)


# the lifecycle commands a refund's state lets someone give now (`domain.lifecycle`), each taken only if the
# refund's policy takes it (its ``refund_commands``): what a page offers, never a policy named
NEXT = {"accepted": ("complete_refund", "reject_refund"), "requested": ("decide_refund",),
        "approved": ("complete_refund",), "rejected": ("escalate",), "escalated": ("decide_escalation",)}


def next_steps(policy: str, state: str, escalated: bool = False) -> tuple[str, ...]:
    """The commands that move a refund of ``policy`` (a quote's ``policy``, with its version) in ``state`` on:
    those of `NEXT` its policy takes; a refund escalated once is not escalated again (P-D1)."""
    try:
        takes = registry.named(policy).refund_commands
    except LookupError:  # a quote without a policy (none judged it): nothing to offer
        return ()
    return tuple(c for c in NEXT.get(state, ()) if c in takes and not (c == "escalate" and escalated))


def _deadlines(app: App, r: Refund, known_at: datetime) -> tuple[dict[str, Any], ...]:
    if r.stage is None or r.since is None:
        return ()
    d = registry.named(r.policy).deadline(r, lambda i: list(app.ledger.streams.get(i)), known_at, {})
    due = deadlines.due(r.since, d.calendar_tz, d.holidays, d.days)
    return ({"rule": d.rule, "waiting_for": deadlines.WAITING[r.stage], "since": r.since.isoformat(),
             "working_days": d.days, "due": due.isoformat(), "severity": d.severity},)
