"""Ledger-wide jobs as pure per-partition functions: what-if judging (recorded requests again, every instance's
refund exposure at a time), finance rows, journal rows and reconciliation items (the exports' rows:
`projections.exports`).

Each takes one partition's instances ``[(name, events), ...]`` (any iterable, in the order they were opened),
the pinned ``known_at``, the job's plain parameters and, where the job reads shared streams (an account, the
policy book, an instance refunded with another's application), ``load(aggregate_id)``; it touches no store
and returns plain rows (frozen dataclasses of strings, times, integers and decimals, or dicts of them), never
events or aggregates. The same function runs in one process (``adapters.services``: a plain loop over the
partitions) or on a worker of a process pool or a cluster; the driver concatenates the partitions' rows in
partition order, so the rows come in instance-opening order, as when the whole ledger was one loop.

Decisions:

- **What is seen.** Each instance's events recorded after ``known_at`` are left out (``load`` gives shared
  streams as recorded by ``known_at`` too), so a write made after the driver pinned ``known_at`` changes no
  answer. With ``known_at`` the newest recorded time when the job was planned, that leaves out nothing that
  was there, so a job's rows are those of the single loop it replaces.
- **What the driver assembles.** A job whose answer needs more than one partition at a time gets its rows and
  groups them itself: the account ledger (`projections.exports.account_ledger_rows`, after every partition's
  `finance_rows`), the what-if totals, the reconciliation findings (`projections.reconcile.reconcile` on the
  merged items).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.errors import LedgerError
from domain.instance import Instance, account_id, instance_id, known, live, opening
from domain.lifecycle import refunds as lifecycle
from domain.policies import registry
from domain.policy import Context, Load
from projections import segments
from projections.finance import OrderRow, RefundRow, cents, instance_orders, instance_rows
from projections.reconcile import Expected, Scope, expected_items

Instances = Iterable[tuple[str, Sequence[Any]]]  # one partition: (name, events) in the order they were opened


def as_known(events: Iterable[Any], known_at: datetime) -> list[Any]:
    """The events of a stream recorded by ``known_at`` (opening events included)."""
    return [e for e in events if e.timestamp <= known_at]


# ----- what-if: every recorded refund request judged again -----

LEGACY_REPORT = "(recorded before requests kept their exception report)"


@dataclass(frozen=True)
class Rejudged:
    instance: str
    account: str
    refund: str
    policy: str
    at: datetime
    currency: str
    baseline: Decimal  # today's parameters
    scenario: Decimal  # with the overrides

    @property
    def difference(self) -> Decimal:
        return self.scenario - self.baseline

    def as_json(self) -> dict[str, str]:
        return {"instance": self.instance, "account": self.account, "refund": self.refund, "policy": self.policy,
                "at": self.at.isoformat(), "currency": self.currency, "baseline": str(self.baseline),
                "scenario": str(self.scenario), "difference": str(self.difference)}


def _before(events: Sequence[Any], stop: Any) -> list[Any]:
    """The events of a stream before ``stop`` (by version; one feed shares one recorded time)."""
    return [e for e in events if e.originator_version < stop.originator_version]


def context(name: str, events: Sequence[Any], request: Any, load: Load, overrides: dict[str, Any],
            explain: bool = True) -> Context:
    """The request exactly as it was judged: its own instances and its account up to (not including) its own
    events, every other stream (a policy book) as recorded, and the mode, reason, invoice and exception report
    it was recorded with (``explain`` False: for a lean quote, `domain.policy.Context`)."""
    instances: list[tuple[str, Sequence[Any]]] = [(name, _before(events, request))]
    for other in getattr(request, "with_", None) or []:
        theirs = load(instance_id(other))
        included = next(e for e in theirs if isinstance(e, Instance.RefundIncluded) and e.refund == request.refund)
        instances.append((other, _before(theirs, included)))
    account = account_id(opening(events).account)

    def judged_on(aggregate_id: Any) -> Sequence[Any]:
        events_ = load(aggregate_id)
        if aggregate_id == account:
            own = next((e for e in events_ if getattr(e, "refund", None) == request.refund), None)
            return _before(events_, own) if own is not None else events_
        return events_

    mode = getattr(request, "mode", "auto")
    reason = getattr(request, "reason", None)
    report = getattr(request, "exception_report", None)
    if mode == "exception" and report is None and reason is None:
        report = LEGACY_REPORT
    return Context(instances=instances, load=judged_on, at=request.at, known_at=request.timestamp, mode=mode,
                   reason=reason, invoice=getattr(request, "invoice", None), exception_report=report,
                   overrides=overrides, explain=explain)


def rejudge(instances: Instances, load: Load, known_at: datetime, overrides: dict[str, Any],
            account: str | None = None) -> list[Rejudged]:
    """Every refund request recorded by ``known_at`` on the partition's instances (only ``account``'s), judged
    again on exactly what preceded it, under today's parameters and under ``overrides`` (each policy takes the
    names it knows); per instance in the order the requests were made."""
    rows = []
    for name, stream in instances:
        events = as_known(stream, known_at)
        head = opening(events)
        requests = [r.request for r in lifecycle(events).values() if r.primary]
        if head is None or not requests or (account is not None and head.account != account):
            continue
        for request in requests:
            base = registry.assess(context(name, events, request, load, {}, explain=False))  # amounts only
            what = registry.assess(context(name, events, request, load, overrides, explain=False))
            rows.append(Rejudged(name, head.account, request.refund, base.policy, request.at, base.currency,
                                 base.amount, what.amount))
    return rows


# ----- what-if: every instance's refund exposure at a time -----

@dataclass(frozen=True)
class Exposed:
    """What one instance would be refunded if its customer asked at ``at``: today and under the scenario; or,
    when its policy refuses to judge the request (``error``: a KorPro request names its reason), nothing."""

    instance: str
    account: str
    policy: str  # the registered policy that judges it (the name ``--mode`` and the totals go by)
    product: str
    currency: str
    mode: str  # the mode asked (its policy's ``--mode``, or auto)
    baseline: Decimal | None  # today's parameters; None: not judged
    scenario: Decimal | None  # with the overrides
    error: str | None = None  # why it was not judged

    @property
    def difference(self) -> Decimal | None:
        return None if self.baseline is None or self.scenario is None else self.scenario - self.baseline

    @property
    def changed(self) -> bool:
        return self.baseline != self.scenario

    def as_json(self) -> dict[str, str | None]:
        money = {k: None if v is None else str(v) for k, v in (("baseline", self.baseline), ("scenario",
                                                                                             self.scenario),
                                                              ("difference", self.difference))}
        return {"instance": self.instance, "account": self.account, "policy": self.policy, "product": self.product,
                "currency": self.currency, "mode": self.mode, **money, "error": self.error}


def exposure(instances: Instances, load: Load, known_at: datetime, at: datetime, modes: dict[str, str],
             overrides: dict[str, Any], account: str | None = None) -> list[Exposed]:
    """Every instance of the partition (only ``account``'s) that was open at business time ``at``, as known at
    ``known_at``, judged as a request of its own made at ``at`` under the mode ``modes`` gives its policy (by
    name; ``auto`` if none), once under today's parameters and once with ``overrides`` (lean quotes: amounts
    only). An instance opened after ``at`` (or whose opening fact was retracted) is no exposure and has no row;
    one its policy will not judge so (a refusal: `domain.errors.LedgerError`) has a row with the refusal."""
    rows = []
    for name, stream in instances:
        events = as_known(stream, known_at)
        head = opening(live(known(events, known_at)))
        if head is None or head.at > at or (account is not None and head.account != account):
            continue
        policy = registry.for_product(head.product)
        mode = modes.get(policy.name, "auto")
        ctx = Context(instances=[(name, events)], load=load, at=at, known_at=known_at, mode=mode, explain=False)
        try:
            base = registry.assess(ctx).amount
            what = registry.assess(replace(ctx, overrides=overrides)).amount if overrides else base
        except LedgerError as e:
            rows.append(Exposed(name, head.account, policy.name, head.product, head.currency, mode, None, None,
                                str(e)))
            continue
        rows.append(Exposed(name, head.account, policy.name, head.product, head.currency, mode, base, what))
    return rows


# ----- finance rows (the read models, the account ledger) -----

def finance_rows(instances: Instances, known_at: datetime) -> tuple[list[OrderRow], list[RefundRow]]:
    """The partition's order and refund rows as known at ``known_at``, instance after instance."""
    orders: list[OrderRow] = []
    refunds: list[RefundRow] = []
    for name, events in instances:
        o, r = instance_rows(name, events, known_at)
        orders += o
        refunds += r
    return orders, refunds


def finance_months(instances: Instances, known_at: datetime,
                   tz: str | None = None) -> tuple[list[OrderRow], list[RefundRow], list[segments.MonthTuple]]:
    """`finance_rows` and the months of their accounts (`segments.month_tuples`, the reporting calendar ``tz``):
    the read models' rows of a partition of whole accounts (`adapters.store.scan.AccountPartition`)."""
    orders, refunds = finance_rows(instances, known_at)
    months = [m for rows in segments.by_account(orders, refunds) if rows[0] for m in segments.month_tuples(*rows, tz)]
    return orders, refunds, months


# ----- the journal -----

@dataclass(frozen=True)
class JournalPart:
    """One partition's rows for the journal (`projections.journal`): as known at ``known_at``, and (a closed
    period) as known at the close, with the line ids of the facts recorded in between, per customer account."""

    now: tuple[list[OrderRow], list[RefundRow], dict[tuple[str, str], tuple[tuple[str, int], ...]]]
    at_close: tuple[list[OrderRow], list[RefundRow], dict[tuple[str, str], tuple[tuple[str, int], ...]]] | None
    caused_by: dict[str, tuple[str, ...]]  # the late facts that concern the closed days, per account
    late: dict[str, tuple[str, ...]] = field(default_factory=dict)  # every other late fact, per account


def causes(parts: Iterable[JournalPart]) -> dict[str, tuple[str, ...]]:
    """Per account, the facts that caused its correction, across every partition: those that concern the closed
    days, or, when none of the account's do (on any partition), every late fact. Independent of how the
    instances were cut into partitions."""
    caused: dict[str, tuple[str, ...]] = {}
    late: dict[str, tuple[str, ...]] = {}
    for p in parts:
        for account, lines in p.caused_by.items():
            caused[account] = caused.get(account, ()) + lines
        for account, lines in p.late.items():
            late[account] = late.get(account, ()) + lines
    return {**{a: v for a, v in late.items() if a not in caused}, **caused}


def unrefunded(name: str, orders: Sequence[Any]) -> dict[tuple[str, str], tuple[tuple[str, int], ...]]:
    """The tenders of each of the instance's orders (`finance.instance_orders`) that are never refunded (K-M1:
    vouchers, gift balance)."""
    return {(name, p.order): tuple((t, cents(v)) for t, v in p.unrefunded) for p in orders if p.unrefunded}


def journal_rows(instances: Instances, known_at: datetime, close_at: datetime | None = None,
                 open_from: datetime | None = None) -> JournalPart:
    """The partition's order and refund rows and unrefunded tenders as known at ``known_at`` and, given a close
    time, as known at ``close_at`` too, with the line ids of the facts recorded after it that concern the
    closed days (business time before ``open_from``, `concerns_closed`; every fact recorded after it when none
    seems to), by customer account."""
    now: tuple[list, list, dict] = ([], [], {})
    then: tuple[list, list, dict] = ([], [], {})
    caused: dict[str, list[str]] = {}
    others: dict[str, list[str]] = {}
    for name, events in instances:
        for rows, at in ((now, known_at), (then, close_at)):
            if at is None:
                continue
            o, r, policy_orders = instance_orders(name, events, at)
            rows[0].extend(o)
            rows[1].extend(r)
            rows[2].update(unrefunded(name, policy_orders))
        if close_at is not None:
            late = [e for e in events if close_at < e.timestamp <= known_at and hasattr(e, "line")]
            head = opening(live(known(events, known_at))) or opening(live(known(events, close_at)))
            if late and head is not None:
                for e in late:
                    which = caused if concerns_closed(e, events, open_from) else others
                    which.setdefault(head.account, []).append(
                        e.line or f"{type(e).__name__}@{e.timestamp.isoformat()}")
    return JournalPart(now, then if close_at is not None else None, {a: tuple(v) for a, v in caused.items()},
                       {a: tuple(v) for a, v in others.items()})


def concerns_closed(fact: Any, events: Sequence[Any], open_from: datetime | None) -> bool:
    """Whether a fact can change a day before ``open_from``: it happened before (a late fact), it retracts
    one that did, or it moves a refund requested before (a decision, a rejection, a completion)."""
    if open_from is None or fact.at < open_from:
        return True
    if isinstance(fact, Instance.Retracted):
        target = next((e for e in events if getattr(e, "line", None) == fact.target), None)
        return target is not None and target.at < open_from
    refund = getattr(fact, "refund", None)
    if refund is not None and hasattr(fact, "advance"):
        request = next((e for e in events if getattr(e, "refund", None) == refund and hasattr(e, "quote")), None)
        return request is not None and request.at < open_from
    return False


# ----- reconciliation -----

def reconcile_items(instances: Instances, known_at: datetime,
                    scope: Scope | None = None) -> dict[tuple[str, str], Expected]:
    """What the partition's instances expect to see paid, as known at ``known_at``: given a statement's `Scope`,
    only what it can be compared with. Merged instance after instance (a reused order id: the later instance's
    item, when the scope keeps it); the driver merges the partitions in order the same way."""
    expected: dict[tuple[str, str], Expected] = {}
    for name, events in instances:
        expected.update(expected_items(*instance_rows(name, events, known_at), scope))
    return expected
