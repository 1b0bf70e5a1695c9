"""Use cases of the refund center (issue 28), its writes: apply for a refund, and each step of a refund's
lifecycle (decide, escalate, decide the escalation, complete, reject).

Decision: **each is one feed line, recorded as a feed.** The use case builds the line the feed would carry
(``request_refund``, ``decide_refund``, ``escalate``, ``decide_escalation``, ``complete_refund``,
``reject_refund``: docs/feed.md) and records it with `adapters.services.feeds.record_feed`, the same parser,
unit of work and policy handlers as ``POST /v1/feeds``: the same rules, the same frozen quote (K-L1), the same
optimistic concurrency on the account (no K-Q1 quota or K-F4/K-F5 limit is exceeded by concurrent requests),
and a request the policy denies is recorded as denied, as a feed line would be. The line's business time is
the time it is recorded (not the clock read before: a concurrent application saved first is then always
earlier in business time too, and counted); a key that is not narrowed to accounts (staff recording what a
customer asked by mail) may give an earlier ``at``, a customer key may not. Bad input (a field the feed
refuses, a step the refund's policy does not take) names the field and writes nothing; a step its state does
not allow now is `InConflict`.

``Idempotency-Key`` is honoured as for feeds (`adapters.services.idempotency.once`): the fingerprint is the
route and what the body asked for, so a replay answers the first answer (the same generated refund id).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from adapters.bootstrap import App
from adapters.formats.errors import BadFeed, BadInput
from adapters.formats.feed import parse_feed
from adapters.services import idempotency, listings
from adapters.services import record as service
from adapters.services.feeds import record_feed
from adapters.services.refund_center import application, application_in, refund_instance
from domain.errors import Conflict, UnknownInstance
from domain.instance import instance_id


@dataclass(frozen=True)
class Who:
    """Who asks: the principal (whose ``Idempotency-Key`` ``key`` is), the actor recorded, the accounts the key
    is narrowed to (empty: none), and the business time staff give (None: now)."""

    principal: str
    actor: str | None = None
    accounts: tuple[str, ...] = ()
    key: str | None = None
    at: datetime | None = None


def _fingerprint(op: str, target: str, fields: Mapping[str, Any], at: datetime | None) -> str:
    asked = {"op": op, "target": target, "fields": dict(fields), "at": at.isoformat() if at else None}
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()


def _business_time(app: App, at: datetime | None, accounts: Collection[str] | None) -> datetime:
    """``at`` (staff only), else now: a placeholder, which `_record` replaces by the recorded time."""
    if at is not None and accounts:
        raise BadInput(None, "a key narrowed to accounts applies and escalates now; only staff give a time",
                       param="at")
    return at or app.now()


class InConflict(BadInput):
    """A step the refund's state does not allow now (decided twice, escalated twice, a refund id already used):
    409 over HTTP. Nothing was written."""


@contextmanager
def _refusals() -> Iterator[None]:
    """A one-line feed's refusal as bad input naming the field (no ``line 1``), or `InConflict` when the
    ledger refused it as a `Conflict` with what it holds."""
    try:
        yield
    except BadFeed as e:
        first = e.problems[0]
        cause = first.__context__  # the domain's refusal, which the feed's `BadInput` was raised from
        raise (InConflict if isinstance(cause, Conflict) else BadInput)(None, first.message) from None


def _record(app: App, line: dict[str, Any], actor: str | None, now: bool) -> None:
    """Record ``line`` as a one-line feed (``now``: at the time it is recorded, `record_feed`'s
    ``at_recorded``); a refusal as `_refusals`."""
    with _refusals():
        record_feed(app, [json.dumps(line)], actor=actor, at_recorded=now)


def _application_fields(app: App, instance: str, fields: Mapping[str, Any], who: Who) -> dict[str, Any]:
    """``fields`` of an application of ``instance`` (None ones left out), which must be one of
    ``who.accounts``' (a key's narrowing), else the same `UnknownInstance` as an unknown one."""
    account = listings.instance_account(app, instance)
    if account is None or (who.accounts and account not in who.accounts):
        raise UnknownInstance(f"unknown instance {instance!r}", "instance")
    given = {k: v for k, v in fields.items() if v is not None}
    for name in ("type", "instance", "at", "id", "recorded_at"):
        if name in given:
            raise BadInput(None, "not a field of a refund application", param=name)
    return given


def _application_line(app: App, instance: str, given: Mapping[str, Any], who: Who) -> dict[str, Any]:
    """The ``request_refund`` line of an application (its ``refund`` id generated when not given)."""
    return {"type": "request_refund", "at": _business_time(app, who.at, who.accounts).isoformat(),
            "instance": instance, **given, "refund": given.get("refund") or f"rf-{secrets.token_hex(8)}"}


def preview_application(app: App, instance: str, fields: Mapping[str, Any], who: Who) -> dict[str, Any]:
    """A dry run of `apply_for_refund`: the application that recording it now would make (the same line,
    judged by the same feed path on what the store holds now, with its generated ``refund`` id, its frozen
    quote, its state, a denial's rules and its deadline), and nothing written (`record.dry_run`). The
    console's confirmation step shows it; the same refusals as `apply_for_refund`. Confirming records the
    application again, at its own time: the quote it freezes is judged then (K-L1)."""
    given = _application_fields(app, instance, fields, who)
    line = _application_line(app, instance, given, who)
    with _refusals():
        uow = service.dry_run(app.ledger, parse_feed([json.dumps(line)]), app.clock, at_recorded=who.at is None)
    known_at = uow.stamp or app.now()
    made = application_in(app, line["refund"], instance, uow.facts(instance_id(instance)), known_at)
    return replace(made, actor=who.actor).as_json()  # the actor a recording would keep


def apply_for_refund(app: App, instance: str, fields: Mapping[str, Any], who: Who) -> idempotency.Answer:
    """Record a ``request_refund`` of ``instance`` with ``fields`` (the feed's: ``refund``, ``mode``,
    ``reason``, ``with``, ``invoice``, ``email``, ``explanation``, ``exception_report``; ``refund`` generated
    when absent; None ones left out), as ``who.actor``; answers the application (`refund_center.Application`).
    ``instance`` must be one of ``who.accounts``' (a key's narrowing), else the same `UnknownInstance` as an
    unknown one."""
    given = _application_fields(app, instance, fields, who)

    def run() -> dict[str, Any]:
        line = _application_line(app, instance, given, who)
        _record(app, line, who.actor, who.at is None)
        return application(app, line["refund"]).as_json()

    return idempotency.once(app, who.principal, who.key, _fingerprint("request_refund", instance, given, who.at),
                            run, status=201)


def _step(app: App, command: str, refund: str, fields: dict[str, Any], who: Who) -> idempotency.Answer:
    """Record ``command`` on ``refund`` with ``fields`` (None ones left out, as the feed leaves them) as
    ``who.actor``; answers the application as it stands after it. A refund outside ``who.accounts`` (a key's
    narrowing) is `UnknownRefund` (404), exactly as an unknown one."""
    refund_instance(app, refund, who.accounts)
    given = {k: v for k, v in fields.items() if v is not None}

    def run() -> dict[str, Any]:
        line = {"type": command, "at": _business_time(app, who.at, who.accounts).isoformat(), "refund": refund,
                **given}
        _record(app, line, who.actor, who.at is None)
        return application(app, refund).as_json()

    return idempotency.once(app, who.principal, who.key, _fingerprint(command, refund, given, who.at), run)


def decide_refund(app: App, refund: str, approve: bool, amount: str | None, reason: str | None,
                  who: Who) -> idempotency.Answer:
    """``decide_refund`` (P-R2): staff approve (``amount``: a discretionary case's, at most the ceiling) or
    reject a reviewed request."""
    return _step(app, "decide_refund", refund, {"approve": approve, "amount": amount, "reason": reason}, who)


def escalate_refund(app: App, refund: str, who: Who) -> idempotency.Answer:
    """``escalate`` (P-D1): a rejected request goes to management, once."""
    return _step(app, "escalate", refund, {}, who)


def decide_escalation(app: App, refund: str, approve: bool, amount: str | None, who: Who) -> idempotency.Answer:
    """``decide_escalation`` (P-D1): management's decision on an escalated request."""
    return _step(app, "decide_escalation", refund, {"approve": approve, "amount": amount}, who)


def complete_refund(app: App, refund: str, who: Who) -> idempotency.Answer:
    """``complete_refund``: an accepted application is credited (K-L2), an approved request paid (P-R3)."""
    return _step(app, "complete_refund", refund, {}, who)


def reject_refund(app: App, refund: str, reason: str, who: Who) -> idempotency.Answer:
    """``reject_refund`` (K-Q2): staff reject an accepted application; its quota slot stays used."""
    return _step(app, "reject_refund", refund, {"reason": reason}, who)
