"""Application services: load aggregates, call the domain, save in one transaction, translate errors.

``record`` applies a whole feed in memory and stores the new events of every touched aggregate, with
the hash chain's seal over them, in one insert (one transaction, optimistic concurrency on every
aggregate): a feed is recorded all or nothing. The clock is the caller's (``now``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, OperationalError

from adapters.formats import feed
from adapters.formats.feed import BadInput
from adapters.store.integrity import save_sealed
from adapters.store.ledger import Ledger
from adapters.store.prefetch import select_many
from domain.errors import Conflict, Inconsistent, LedgerError, UnknownInstance, UnknownReference
from domain.instance import Account, Instance, Key, account_id, instance_id, key_id, opening
from domain.policies.kingsoft.eligibility import Request, assess
from domain.policies.korpro.subscription import REASONS, PolicyBook, Subscription, policy_book_id
from domain.policies.registry import Context, assess_korpro
from domain.policies.registry import assess as assess_policy
from domain.quote import Quote
from domain.topics import aliases
from projections import deadlines
from projections.diff import diff as projections_diff

PAIRS: dict[str, tuple[type, type]] = {  # attribute: (added, removed)
    "eip": (Instance.EipBound, Instance.EipUnbound),
    "disk": (Instance.DiskMounted, Instance.DiskUnmounted),
    "kdrds": (Instance.KdrdsAssociated, Instance.KdrdsDeleted),
}
BINDINGS: dict[str, tuple[str, bool, str, str]] = {
    # command: (attribute, adds?, product of the instance, product of the bound one ("" = not checked))
    "bind_eip": ("eip", True, "KEC", "EIP"),
    "unbind_eip": ("eip", False, "KEC", "EIP"),
    "mount_disk": ("disk", True, "KEC", "EBS"),
    "unmount_disk": ("disk", False, "KEC", "EBS"),
    "associate_kdrds": ("kdrds", True, "KRDS", ""),
    "delete_kdrds": ("kdrds", False, "KRDS", ""),
}


@dataclass
class RecordResult:
    recorded: int = 0
    duplicates: int = 0
    denied: int = 0


def fold(aggregate: Any, events: Any) -> Any:
    """Reconstruct an aggregate by mutating it with each event (skips the library's per-event runtime
    Protocol check, which dominated reconstruction)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


@dataclass
class UnitOfWork:
    """Aggregates loaded or created while applying one feed; saved together."""

    ledger: Ledger
    instances: dict[str, Instance | None] = field(default_factory=dict)
    keys: dict[str, Key | None] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    book: PolicyBook | None = None
    denied: int = 0
    latest: datetime | None = None  # the newest recorded time among the loaded aggregates
    stamp: datetime | None = None  # the last recorded time given to this feed's events
    prefetched: dict[Any, list[Any]] = field(default_factory=dict)  # stored events read ahead, by aggregate id

    def prefetch(self, lines: list[feed.Line]) -> None:
        """Read every aggregate the feed names, in a few queries (see `adapters.store.prefetch`)."""
        ids = [policy_book_id()]
        for line in lines:
            c = vars(line.command)  # the model's fields (pydantic's getattr is slow for absent ones)
            ids += [instance_id(c[a]) for a in ("instance", "eip", "disk") if c.get(a)]
            ids += [instance_id(w) for w in c.get("with_", ())]
            ids += [key_id("line", v) for v in (c["id"], c.get("target")) if v]
            ids += [key_id(kind, c[kind]) for kind in ("order", "refund") if c.get(kind)]
            if c.get("account"):
                ids.append(account_id(c["account"]))
        self.prefetched = select_many(self.ledger.recorder, ids) or {}

    def instance(self, name: str) -> Instance | None:
        if name not in self.instances:
            self.instances[name] = self._get(instance_id(name))
        return self.instances[name]

    def require(self, name: str, field_name: str = "instance") -> Instance:
        inst = self.instance(name)
        if inst is None:
            raise UnknownInstance(f"unknown instance {name!r}", field_name)
        inst.require_purchase(field_name)
        return inst

    def open(self, name: str, at: datetime, timestamp: datetime, kind: type[Instance] = Instance) -> Instance:
        inst = self.instance(name)
        if inst is None:
            inst = kind._create(kind.Opened, id=instance_id(name), name=name, at=at, line=None, timestamp=timestamp)
            self.instances[name] = inst
        elif type(inst) is not kind:
            raise Conflict(f"{name!r} is already a {type(inst).__name__}, not a {kind.__name__}", "instance")
        return inst

    def subscription(self, name: str, field_name: str = "instance") -> Subscription:
        inst = self.require(name, field_name)
        if not isinstance(inst, Subscription):
            raise Inconsistent(f"{name!r} is not a KorPro subscription", field_name)
        return inst

    def policy_book(self, timestamp: datetime) -> PolicyBook:
        if self.book is None:
            self.book = self._get(policy_book_id()) or PolicyBook.open(timestamp)
        return self.book

    def account(self, name: str, timestamp: datetime) -> Account:
        if name not in self.accounts:
            self.accounts[name] = self._get(account_id(name)) or Account.open(name, timestamp)
        return self.accounts[name]

    def key(self, kind: str, value: str) -> Key | None:
        k = f"{kind}:{value}"
        if k not in self.keys:
            self.keys[k] = self._get(key_id(kind, value))
        return self.keys[k]

    def claim(self, kind: str, value: str, owner: str, digest: str, timestamp: datetime) -> None:
        key = self.key(kind, value)
        if key is None:
            self.keys[f"{kind}:{value}"] = Key.claim(kind, value, owner, digest, timestamp)
        else:
            key.reclaim(owner, digest, timestamp)

    def _get(self, aggregate_id: Any) -> Any:
        if aggregate_id in self.prefetched:
            stored = self.prefetched.pop(aggregate_id)
            if not stored:
                return None
            aggregate = fold(None, map(self.ledger.mapper.to_domain_event, stored))
        else:
            try:
                aggregate = self.ledger.repository.get(aggregate_id, projector_func=fold)
            except AggregateNotFoundError:
                return None
        if self.latest is None or aggregate.modified_on > self.latest:
            self.latest = aggregate.modified_on
        return aggregate

    def dirty(self) -> list[Any]:
        everything = [*self.instances.values(), *self.keys.values(), *self.accounts.values(), self.book]
        return [a for a in everything if a is not None and a.pending_events]


def last_recorded_at(ledger: Ledger) -> datetime | None:
    """The recorded time of the newest event in the store."""
    top = ledger.recorder.max_notification_id()
    if not top:
        return None
    note = ledger.recorder.select_notifications(start=top, limit=1)[0]
    event = next(iter(ledger.events.get(note.originator_id, gt=note.originator_version - 1,
                                        lte=note.originator_version)))
    return event.timestamp


class ConcurrentWriters(RuntimeError):
    """Other writers kept changing the same aggregates; nothing of this feed was written."""


class _StaleClock(Exception):
    """The feed's recorded time precedes a fact it was judged on (another writer's clock ran ahead)."""

    def __init__(self, latest: datetime) -> None:
        self.latest = latest


Clock = Callable[[], datetime]


def record(ledger: Ledger, lines: list[feed.Line], now: datetime | Clock, *, preserve_recorded_at: bool = False,
           attempts: int = 30) -> RecordResult:
    """Apply a validated feed atomically.

    Every decision is judged on what the ledger knows at the feed's recorded time, and that time is
    never earlier than any fact the decision rests on. When a concurrent writer saved one of the same
    aggregates first (optimistic concurrency: the save fails whole), the clock is read again and the
    feed is judged again against the new state.
    """
    clock: Clock = now if callable(now) else (lambda: now)  # type: ignore[assignment,return-value]
    floor: datetime | None = None
    for attempt in range(attempts):
        uow = UnitOfWork(ledger)
        uow.prefetch(lines)
        try:
            result = apply_feed(uow, ledger, lines, clock(), preserve_recorded_at, floor)
        except _StaleClock as stale:
            floor = stale.latest
            continue
        dirty = uow.dirty()
        if not dirty:
            return result  # nothing new (e.g. only duplicates): nothing to write, not even a seal
        try:
            save_sealed(ledger, dirty, uow.stamp or clock())
            return result
        except (IntegrityError, OperationalError):
            time.sleep(random.uniform(0.005, 0.05) * min(attempt + 1, 5))
    raise ConcurrentWriters(f"gave up after {attempts} attempts: other writers kept changing the same instances "
                            "or account; nothing was written, record the feed again")


def apply_feed(uow: UnitOfWork, ledger: Ledger, lines: list[feed.Line], now: datetime, preserve: bool,
               floor: datetime | None = None) -> RecordResult:
    result = RecordResult()
    last = last_recorded_at(ledger)
    floor = max(t for t in (last, floor) if t is not None) if (last or floor) else None
    stamp = max(now, floor) if floor else now  # recorded time never goes backwards
    for line in lines:
        c = line.command
        if c.recorded_at is not None and not preserve:
            raise BadInput(line.number, "recorded_at: only allowed with record --preserve-recorded-at")
        if preserve:
            stamp = _preserved(line, now, floor)
            floor = stamp
        if c.id is not None:
            key = uow.key("line", c.id)
            if key is not None and key.active:
                if key.digest == line.digest:
                    result.duplicates += 1
                    continue
                raise BadInput(line.number, f"id: {c.id!r} was already recorded with other content")
        try:
            owner = HANDLERS[c.type](uow, c, stamp)
            if c.id is not None:
                uow.claim("line", c.id, owner, line.digest, stamp)
        except LedgerError as e:
            raise BadInput(line.number, str(e)) from None
        uow.stamp = stamp
        if uow.latest is not None and uow.latest > stamp:
            if preserve:
                raise BadInput(line.number, f"recorded_at: {stamp.isoformat()} is before "
                                            f"{uow.latest.isoformat()}, when a fact it concerns was recorded")
            raise _StaleClock(uow.latest)
        result.recorded += 1
    result.denied = uow.denied
    return result


def _preserved(line: feed.Line, now: datetime, floor: datetime | None) -> datetime:
    ts = line.command.recorded_at
    if ts is None:
        raise BadInput(line.number, "recorded_at: missing required field (record --preserve-recorded-at)")
    if ts > now:
        raise BadInput(line.number, f"recorded_at: {ts.isoformat()} lies in the future")
    if floor is not None and ts < floor:
        raise BadInput(line.number, f"recorded_at: {ts.isoformat()} is before {floor.isoformat()}, "
                                    "the ledger's (or the previous line's) recorded time")
    return ts


# ----- one handler per command type: returns the instance the line is recorded on -----

def _purchase(uow: UnitOfWork, c: feed.Purchase, ts: datetime) -> str:
    inst = uow.open(c.instance, c.at, ts)
    inst.record_purchase(
        timestamp=ts, price=c.price, at=c.at, line=c.id, order=c.order, account=c.account, product=c.product,
        months=c.months, monthly_price=c.monthly_price, payment=c.payment.value(), currency=c.currency,
        discounts=dict(c.discounts), activated_at=c.activated_at, trial_started_at=c.trial_started_at,
        billing=c.billing, image=c.image, bandwidth_mbps=c.bandwidth_mbps,
        promotion=c.promotion.model_dump() if c.promotion else None, spec=c.spec)
    uow.claim("order", c.order, c.instance, "", ts)
    return c.instance


def _renew(uow: UnitOfWork, c: feed.Renew, ts: datetime) -> str:
    uow.require(c.instance).record_renewal(
        timestamp=ts, currency=c.currency, price=c.price, at=c.at, line=c.id, order=c.order, months=c.months,
        monthly_price=c.monthly_price, payment=c.payment.value(), discounts=dict(c.discounts))
    uow.claim("order", c.order, c.instance, "", ts)
    return c.instance


def _upgrade(uow: UnitOfWork, c: feed.Upgrade, ts: datetime) -> str:
    uow.require(c.instance).record_change(
        "upgrade", timestamp=ts, currency=c.currency, price=c.price, at=c.at, line=c.id, order=c.order,
        monthly_price=c.monthly_price, payment=c.payment.value(), spec=c.spec)
    uow.claim("order", c.order, c.instance, "", ts)
    return c.instance


def _downgrade(uow: UnitOfWork, c: feed.Downgrade, ts: datetime) -> str:
    uow.require(c.instance).record_change(
        "downgrade", timestamp=ts, currency=c.currency, price=None, at=c.at, line=c.id, order=c.order,
        monthly_price=c.monthly_price, credit=c.credit, spec=c.spec)
    uow.claim("order", c.order, c.instance, "", ts)
    return c.instance


def _billing_mode(uow: UnitOfWork, c: feed.ChangeBillingMode, ts: datetime) -> str:
    uow.require(c.instance).record_fact(Instance.BillingModeChanged, timestamp=ts, at=c.at, line=c.id,
                                        mode=c.mode)
    return c.instance


def _binding(uow: UnitOfWork, c: Any, ts: datetime) -> str:
    """bind/unbind an EIP, mount/unmount an EBS, associate/delete a KDRDS (facts K-F6..K-F8 judge)."""
    attr, adds, product, other_product = BINDINGS[c.type]
    inst = uow.require(c.instance)
    purchase = inst.require_purchase()
    other = getattr(c, attr)
    if purchase.product != product:
        raise Inconsistent(f"{c.type} needs a {product} instance; {c.instance!r} is a {purchase.product}",
                           "instance")
    if other_product:
        bound = uow.require(other, attr).require_purchase(attr)
        if bound.product != other_product or bound.account != purchase.account:
            raise Inconsistent(f"{other!r} is not an {other_product} of account {purchase.account!r}", attr)
    if adds == (other in inst.bound(*PAIRS[attr], attr)):
        state = "already" if adds else "not"
        raise Inconsistent(f"{other!r} is {state} bound to {c.instance!r}", attr)
    inst.record_fact(PAIRS[attr][0 if adds else 1], timestamp=ts, at=c.at, line=c.id, **{attr: other})
    return c.instance


def _retract(uow: UnitOfWork, c: feed.Retract, ts: datetime) -> str:
    key = uow.key("line", c.target)
    if key is None:
        raise UnknownReference(f"no line with id {c.target!r} was recorded", "target")
    inst = uow.instance(key.owner)
    assert inst is not None, "a line key always names an existing instance"
    target = next(f for f in inst.facts if f.line == c.target)
    inst.retract(target=c.target, reason=c.reason, at=c.at, line=c.id, timestamp=ts)
    order = getattr(target, "order", None)
    if order is not None:  # a retracted order frees its order id
        order_key = uow.key("order", order)
        if order_key is not None and order_key.active:
            order_key.release(ts)
    return key.owner


def _request_refund(uow: UnitOfWork, c: feed.RequestRefund, ts: datetime) -> str:
    """Judge the request on what the ledger knows now (K-L1: the quote is frozen into the event);
    save the account and every instance of the application together."""
    inst = uow.require(c.instance)
    if isinstance(inst, Subscription):
        return _korpro_request(uow, inst, c, ts)
    for name in ("email", "invoice", "explanation"):
        if getattr(c, name) is not None:
            raise Inconsistent(f"{name} belongs to KorPro requests; {c.instance!r} is a Kingsoft instance", name)
    purchase = inst.check_can_request()
    bundle = [uow.require(w, "with") for w in c.with_]
    for b in bundle:
        b.check_can_request("with")
    key = uow.key("refund", c.refund)
    if key is not None:
        raise Conflict(f"refund id {c.refund!r} is already used (on {key.owner!r})", "refund")
    account = uow.account(purchase.account, ts)
    request = Request(at=c.at, mode=c.mode, exception_report=c.exception_report, reason=c.reason)
    q = assess([(i.name, i.facts) for i in [inst, *bundle]], account.facts, request, ts)
    frozen = q.as_json()
    if q.eligible:
        counts = q.mode != "exception"  # K-E1: exception refunds do not count against K-Q1
        inst.apply_refund(timestamp=ts, at=c.at, line=c.id, refund=c.refund, mode=q.mode, with_=list(c.with_),
                          amount=q.amount, currency=q.currency, counts_quota=counts, quote=frozen,
                          exception_report=c.exception_report, reason=c.reason)
        for b in bundle:
            b.include_in_refund(timestamp=ts, at=c.at, line=None, refund=c.refund, primary=c.instance)
        members = [inst, *bundle]
        account.record(Account.ApplicationAccepted, timestamp=ts, at=c.at, line=c.id, refund=c.refund, mode=q.mode,
                       instances=[m.name for m in members], products=[m.require_purchase().product for m in members],
                       purchased_at=[m.require_purchase().at for m in members], counts_quota=counts)
    else:
        inst.deny_refund(timestamp=ts, at=c.at, line=c.id, refund=c.refund, mode=c.mode,
                         reasons=[r.as_json() for r in q.reasons], quote=frozen, exception_report=c.exception_report,
                         reason=c.reason)
        account.record(Account.ApplicationDenied, timestamp=ts, at=c.at, line=c.id, refund=c.refund,
                       reasons=[r.rule for r in q.reasons])
        uow.denied += 1
    uow.claim("refund", c.refund, c.instance, "", ts)
    return c.instance


def _korpro_request(uow: UnitOfWork, sub: Subscription, c: feed.RequestRefund, ts: datetime) -> str:
    """A KorPro request (P-R1: email, invoice and explanation required), judged by the policy version in
    force at its time (P-V1); eligible requests wait for a staff decision (P-R2), billing errors do not (P-B1)."""
    for name in ("email", "invoice", "explanation"):
        if not getattr(c, name):
            raise LedgerError(f"a KorPro refund request needs the account {name} (P-R1)", name)
    if c.reason not in REASONS:
        raise LedgerError(f"{c.reason!r} is not a KorPro refund reason ({', '.join(REASONS)})", "reason")
    if c.with_ or c.exception_report or c.mode != "auto":
        raise Inconsistent("mode, with and exception_report belong to Kingsoft requests", "mode")
    if uow.key("refund", c.refund) is not None:
        raise Conflict(f"refund id {c.refund!r} is already used", "refund")
    if c.invoice not in {f.invoice for f in sub.live_facts() if isinstance(f, Subscription.Charged)}:
        raise LedgerError(f"no charge for invoice {c.invoice!r} on {sub.name!r}", "invoice")
    book = uow.book or uow._get(policy_book_id())
    posted = book.posted if book is not None else []
    ctx = Context(instances=[(sub.name, sub.facts)], load=lambda _id: posted, at=c.at, known_at=ts, mode="auto",
                  reason=c.reason, invoice=c.invoice)
    q = assess_korpro(ctx)
    frozen = q.as_json()
    if q.eligible:
        sub.trigger_event(Subscription.RefundRequested, timestamp=ts, at=c.at, line=c.id, refund=c.refund,
                          reason=c.reason, email=c.email, invoice=c.invoice, explanation=c.explanation,
                          amount=q.amount, ceiling=q.ceiling, policy_version=q.policy, quote=frozen,
                          approved=c.reason in ("billing_error", "duplicate_payment"))
    else:
        sub.deny_refund(timestamp=ts, at=c.at, line=c.id, refund=c.refund, mode=c.reason,
                        reasons=[r.as_json() for r in q.reasons], quote=frozen, invoice=c.invoice, reason=c.reason)
        uow.denied += 1
    uow.claim("refund", c.refund, sub.name, "", ts)
    return sub.name


def _refund_owner(uow: UnitOfWork, refund: str) -> Instance:
    key = uow.key("refund", refund)
    if key is None:
        raise UnknownReference(f"no refund {refund!r} was requested", "refund")
    inst = uow.instance(key.owner)
    assert inst is not None, "a refund key always names an existing instance"
    return inst


def _decide(uow: UnitOfWork, c: feed.DecideRefund | feed.DecideEscalation, ts: datetime) -> str:
    """decide_refund (P-R2) / decide_escalation (P-D1)."""
    sub = _refund_owner(uow, c.refund)
    if not isinstance(sub, Subscription):
        raise Inconsistent(f"refund {c.refund!r} is a Kingsoft application: complete or reject it", "refund")
    sub.decide(refund=c.refund, approve=c.approve, amount=c.amount, reason=getattr(c, "reason", None), at=c.at,
               line=c.id, timestamp=ts, escalation=isinstance(c, feed.DecideEscalation))
    return sub.name


def _escalate(uow: UnitOfWork, c: feed.Escalate, ts: datetime) -> str:
    sub = _refund_owner(uow, c.refund)
    if not isinstance(sub, Subscription):
        raise Inconsistent(f"refund {c.refund!r} is a Kingsoft application; escalation is KorPro's (P-D1)", "refund")
    sub.escalate(refund=c.refund, at=c.at, line=c.id, timestamp=ts)
    return sub.name


def _subscribe(uow: UnitOfWork, c: feed.Subscribe, ts: datetime) -> str:
    sub = uow.open(c.instance, c.at, ts, Subscription)
    assert isinstance(sub, Subscription)
    sub.subscribe(timestamp=ts, at=c.at, line=c.id, account=c.account, plan=c.plan, currency=c.currency,
                  commitment_months=c.commitment_months, estimated_monthly_savings=c.estimated_monthly_savings,
                  cpus=c.cpus)
    return c.instance


SUBSCRIPTION_FACTS: dict[str, type[Instance.Event]] = {
    "charge": Subscription.Charged, "report_savings": Subscription.SavingsReported,
    "report_outage": Subscription.OutageReported, "report_billing_error": Subscription.BillingErrorReported,
    "cancel": Subscription.Cancelled, "terminate_for_violation": Subscription.TerminatedForViolation,
}


def _subscription_fact(uow: UnitOfWork, c: Any, ts: datetime) -> str:
    fields_ = c.model_dump(exclude={"type", "id", "recorded_at", "instance"})
    uow.subscription(c.instance).record(SUBSCRIPTION_FACTS[c.type], timestamp=ts, line=c.id, **fields_)
    return c.instance


def _post_policy(uow: UnitOfWork, c: feed.PostPolicy, ts: datetime) -> str:
    """P-V1: a new version, in force from its ``at``."""
    uow.policy_book(ts).post(version=c.version, parameters=c.parameters, at=c.at, line=c.id, timestamp=ts)
    return f"policy:{c.policy}"


def _settle(uow: UnitOfWork, c: feed.CompleteRefund | feed.RejectRefund, ts: datetime) -> str:
    """complete_refund / reject_refund (K-L2, K-Q2) of an accepted, open application."""
    inst = _refund_owner(uow, c.refund)
    if isinstance(inst, Subscription):
        if isinstance(c, feed.RejectRefund):
            raise Inconsistent("a KorPro refund is rejected with decide_refund (approve: false)", "type")
        inst.complete(refund=c.refund, at=c.at, line=c.id, timestamp=ts)
        return inst.name
    key = uow.key("refund", c.refund)
    assert key is not None
    if isinstance(c, feed.CompleteRefund):
        inst.settle_refund(Instance.RefundCompleted, refund=c.refund, at=c.at, timestamp=ts, line=c.id)
        return key.owner
    applied = next(f for f in inst.facts if isinstance(f, Instance.RefundApplied) and f.refund == c.refund)
    inst.settle_refund(Instance.RefundRejected, refund=c.refund, at=c.at, timestamp=ts, line=c.id, reason=c.reason)
    for name in applied.with_:  # K-L3: a rejection un-releases every instance of the application
        member = uow.instance(name)
        assert member is not None
        member.settle_refund(Instance.RefundRejected, refund=c.refund, at=c.at, timestamp=ts, line=None,
                             reason=c.reason)
    account = uow.account(inst.require_purchase().account, ts)
    account.record(Account.ApplicationRejected, timestamp=ts, at=c.at, line=c.id, refund=c.refund, reason=c.reason)
    return key.owner


HANDLERS: dict[str, Callable[[UnitOfWork, Any, datetime], str]] = {
    "purchase": _purchase, "renew": _renew, "upgrade": _upgrade, "downgrade": _downgrade,
    "change_billing_mode": _billing_mode, "retract": _retract,
    **{k: _binding for k in BINDINGS},
    "request_refund": _request_refund, "complete_refund": _settle, "reject_refund": _settle,
    "subscribe": _subscribe, **{k: _subscription_fact for k in SUBSCRIPTION_FACTS},
    "decide_refund": _decide, "decide_escalation": _decide, "escalate": _escalate, "post_policy": _post_policy,
}


# ----- reading -----

def events_of(ledger: Ledger, name: str) -> Sequence[Any]:
    return ledger.streams.get(instance_id(name))


def iter_events(ledger: Ledger, names: list[str]) -> Iterator[tuple[str, Sequence[Any]]]:
    for name in names:
        events = events_of(ledger, name)
        if not events:
            raise UnknownInstance(f"unknown instance {name!r}", "instance")
        yield name, events



def quote(ledger: Ledger, name: str, at: datetime, known_at: datetime, mode: str = "auto",
          with_: list[str] | None = None, overrides: dict[str, Any] | None = None,
          exception_report: str | None = None, reason: str | None = None, invoice: str | None = None) -> Quote:
    """What a refund of ``name`` (and ``with_``) requested at ``at`` would pay, judged on what the
    ledger knew at ``known_at`` by the policy the instance's product selects. Writes nothing."""
    instances = list(iter_events(ledger, [name, *(with_ or [])]))
    ctx = Context(instances=instances, load=lambda aggregate_id: events_at(ledger, aggregate_id), at=at,
                  known_at=known_at, mode=mode, exception_report=exception_report, reason=reason, invoice=invoice,
                  overrides=overrides or {})
    return assess_policy(ctx)


def events_at(ledger: Ledger, aggregate_id: Any) -> Sequence[Any]:
    return ledger.streams.get(aggregate_id)


def refund_events(ledger: Ledger, known_at: datetime, page: int = 1000) -> list[tuple[str, Any]]:
    """Every refund lifecycle event in the ledger, with its instance, as known at ``known_at``
    (read from the notification log, filtered by topic)."""
    classes = (Instance.RefundApplied, Instance.RefundCompleted, Instance.RefundRejected,
               Subscription.RefundRequested, Subscription.RefundDecided, Subscription.Escalated,
               Subscription.EscalationDecided, Subscription.RefundCompleted, Subscription.RefundRejected)
    topics = [t for c in (Instance.Opened, Subscription.Opened, *classes) for t in aliases(c)]
    names: dict[Any, str] = {}
    pairs = []
    start = 1
    while True:
        batch = ledger.recorder.select_notifications(start=start, limit=page, topics=topics)
        for note in batch:
            event = ledger.mapper.to_domain_event(note)
            if isinstance(event, Instance.Opened):
                names[event.originator_id] = event.name
            elif event.timestamp <= known_at:
                pairs.append((names[event.originator_id], event))
        if len(batch) < page:
            return pairs
        start = batch[-1].id + 1


def overdue(ledger: Ledger, at: datetime, known_at: datetime, overrides: dict[str, Any] | None = None,
            holidays: Sequence[date] = ()) -> list[deadlines.Overdue]:
    """Refunds past a deadline at business time ``at``, as known at ``known_at`` (K-L2; P-R2, P-R3, P-D1 on
    the KorPro version of P-V1), with ``overrides`` (``--set``) and extra ``holidays``. Writes nothing."""
    return deadlines.overdue(refund_events(ledger, known_at), at, holidays, book=events_at(ledger, policy_book_id()),
                             known_at=known_at, overrides=overrides or {})


def diff(ledger: Ledger, name: str, at: datetime, k1: datetime, k2: datetime, mode: str = "auto",
         with_: list[str] | None = None) -> dict[str, Any]:
    """The quote for ``at`` as known at ``k1`` vs ``k2``, and the recorded events that changed it."""
    def known_quote(k: datetime) -> Quote | None:
        try:
            return quote(ledger, name, at, k, mode, with_)
        except UnknownInstance:
            return None

    streams = list(iter_events(ledger, [name, *(with_ or [])]))
    purchase = opening(streams[0][1])
    if purchase is not None:
        streams.append((f"account {purchase.account}", events_at(ledger, account_id(purchase.account))))
    pairs = [(stream, e) for stream, events in streams for e in events]
    return projections_diff(known_quote(k1), known_quote(k2), pairs, k1, k2)
