"""The console refund application, for any policy whose requests are judged at once and then settled by staff
(Kingsoft's; a new policy can use it as it is).

- ``apply``: judge the request on what the ledger knows now, with the policy's own ``assess``; record it with
  its frozen quote (K-L1) on the instance, and on every instance refunded with it (released with it, K-L3);
  note it on the account, whose version makes concurrent requests of one account conflict (K-F4, K-F5,
  K-Q1). A request the policy does not allow is recorded as denied, with its reasons, and counts against
  no quota.
- ``settle``: ``complete_refund`` / ``reject_refund`` of an accepted application (K-L2); a rejection (K-Q2)
  un-releases every instance of the application and keeps the quota slot used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.errors import Conflict, LedgerError
from domain.instance import Account, Instance
from domain.policy import Context, Policy, Session
from domain.quote import Quote


def apply(policy: Policy, session: Session, inst: Instance, c: Any, ts: datetime, *, mode: str = "auto",
          counts_quota: Callable[[Quote], bool] = lambda q: True) -> None:
    """Judge and record request ``c`` (its fields: ``refund``, ``at``, ``id``, ``with_``, ``exception_report``,
    ``reason``). ``counts_quota``: whether an application accepted with that quote counts against the account's
    quota (K-Q1)."""
    if mode != "auto" and mode not in policy.modes:  # the feed takes any registered policy's modes
        raise LedgerError(f"{mode!r} is not a mode of {policy.name}, which judges this instance; its modes: "
                          f"{', '.join(('auto', *policy.modes))}", "mode")
    purchase = inst.check_can_request()
    bundle = [session.require(w, "with") for w in c.with_]
    for b in bundle:
        b.check_can_request("with")
    key = session.key("refund", c.refund)
    if key is not None:
        raise Conflict(f"refund id {c.refund!r} is already used (on {key.owner!r})", "refund")
    account = session.account(purchase.account, ts)
    ctx = Context(instances=[(i.name, i.facts) for i in [inst, *bundle]], load=session.facts, at=c.at,
                  known_at=ts, mode=mode, exception_report=c.exception_report, reason=c.reason)
    q = policy.assess(ctx)
    frozen = q.as_json()
    if q.eligible:
        counts = counts_quota(q)
        inst.trigger_event(Instance.RefundApplied, timestamp=ts, at=c.at, line=c.id, refund=c.refund, mode=q.mode,
                           with_=list(c.with_), amount=q.amount, currency=q.currency, counts_quota=counts,
                           quote=frozen, exception_report=c.exception_report, reason=c.reason)
        for b in bundle:
            b.trigger_event(Instance.RefundIncluded, timestamp=ts, at=c.at, line=None, refund=c.refund,
                            primary=inst.name)
        members = [inst, *bundle]
        account.record(Account.ApplicationAccepted, timestamp=ts, at=c.at, line=c.id, refund=c.refund, mode=q.mode,
                       instances=[m.name for m in members], products=[m.require_purchase().product for m in members],
                       purchased_at=[m.require_purchase().at for m in members], counts_quota=counts)
    else:
        inst.trigger_event(Instance.RefundDenied, timestamp=ts, at=c.at, line=c.id, refund=c.refund, mode=c.mode,
                           reasons=[r.as_json() for r in q.reasons], quote=frozen,
                           exception_report=c.exception_report, reason=c.reason)
        account.record(Account.ApplicationDenied, timestamp=ts, at=c.at, line=c.id, refund=c.refund,
                       reasons=[r.rule for r in q.reasons])
        session.denied += 1
    session.claim("refund", c.refund, inst.name, "", ts)


def complete(session: Session, inst: Instance, c: Any, ts: datetime) -> None:
    """K-L2: an accepted application is completed (credited), once."""
    inst.settle_refund(Instance.RefundCompleted, refund=c.refund, at=c.at, timestamp=ts, line=c.id)


def reject(session: Session, inst: Instance, c: Any, ts: datetime) -> None:
    """K-Q2: staff reject an accepted application; every instance of it is released no more (K-L3)."""
    r = inst.refund(c.refund)
    inst.settle_refund(Instance.RefundRejected, refund=c.refund, at=c.at, timestamp=ts, line=c.id, reason=c.reason)
    for name in getattr(r.request, "with_", []) if r is not None else []:
        member = session.instance(name)
        assert member is not None
        member.settle_refund(Instance.RefundRejected, refund=c.refund, at=c.at, timestamp=ts, line=None,
                             reason=c.reason)
    account = session.account(inst.require_purchase().account, ts)
    account.record(Account.ApplicationRejected, timestamp=ts, at=c.at, line=c.id, refund=c.refund, reason=c.reason)
