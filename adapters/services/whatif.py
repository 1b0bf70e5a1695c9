"""What-if replays: nothing is written to the ledger.

- **Instance scenario** (`scenario`): the instance's streams (with its account, the policy book, and the
  line keys a ``--drop`` needs) are copied into an in-memory ledger; the scenario feed (facts to add; the
  dropped lines become retractions) is recorded there through the same validation as a real feed; the
  quote at ``at`` is compared before and after.
- **Ledger-wide scenario** (`rejudge_all`): every recorded refund request (or only an account's) is judged
  again, on exactly what preceded it (its own stream and its account up to, not including, its own
  events), once under today's parameters and once with the overrides (``--set``, ``--policy-version``).
  Instances are read one at a time: memory stays flat as the ledger grows.

The use cases `instance_scenario` and `ledger_scenario` take the App and plain values and return plain data;
`scenario` and `rejudge_all` are the same work on a bare `Ledger` (tests, the benchmark).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.bootstrap import App
from adapters.formats.feed import parse_feed
from adapters.services import record as service
from adapters.store.ledger import Ledger
from adapters.store.scan import stream_instances
from domain.errors import LedgerError
from domain.instance import Instance, account_id, instance_id, key_id, opening
from domain.lifecycle import refunds as lifecycle
from domain.policies import registry
from domain.policy import Context
from domain.quote import Quote
from domain.timeutil import FAR


def _copy(source: Ledger, target: Ledger, aggregate_id: Any) -> None:
    stored = source.recorder.select_events(aggregate_id)
    if stored:
        target.recorder.insert_events(stored)


def scenario(ledger: Ledger, name: str, at: datetime, now: datetime, add: list[str], drop: list[str],
             mode: str = "auto", with_: list[str] | None = None, **quote_kw: Any) -> tuple[Quote, Quote]:
    """The quote for ``name`` at ``at`` as the ledger stands, and with the scenario's facts."""
    before = service.quote(ledger, name, at, now, mode, with_, **quote_kw)
    memory = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    names = [name, *(with_ or [])]
    for n in names:
        _copy(ledger, memory, instance_id(n))
    head = opening(service.events_of(ledger, name))
    if head is not None:
        _copy(ledger, memory, account_id(head.account))
    for aggregate_id in {i for p in registry.POLICIES for i in p.prefetch}:  # what every policy may read
        _copy(ledger, memory, aggregate_id)
    for line_id in drop:
        _copy(ledger, memory, key_id("line", line_id))
    import json

    retractions = [json.dumps({"type": "retract", "at": at.isoformat(), "target": line_id,
                               "reason": "what-if: dropped"}) for line_id in drop]
    lines = parse_feed([*add, *retractions])
    service.record(memory, lines, now)
    after = service.quote(memory, name, at, FAR, mode, with_, **quote_kw)
    return before, after


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


def _before(events: list[Any], stop: Any) -> list[Any]:
    """The events of a stream before ``stop`` (by version; one feed shares one recorded time)."""
    return [e for e in events if e.originator_version < stop.originator_version]


def _context(ledger: Ledger, name: str, events: list[Any], request: Any, stream: Callable[[Any], list[Any]],
             overrides: dict[str, Any]) -> Context:
    """The request exactly as it was judged: its own instances and its account up to (not including) its own
    events, every other stream (a policy book) as recorded, and the mode, reason, invoice and exception report
    it was recorded with."""
    instances = [(name, _before(events, request))]
    for other in getattr(request, "with_", None) or []:
        theirs = service.events_of(ledger, other)
        included = next(e for e in theirs if isinstance(e, Instance.RefundIncluded) and e.refund == request.refund)
        instances.append((other, _before(theirs, included)))
    account = account_id(opening(events).account)

    def load(aggregate_id: Any) -> list[Any]:
        events_ = stream(aggregate_id)
        if aggregate_id == account:
            own = next((e for e in events_ if getattr(e, "refund", None) == request.refund), None)
            return _before(events_, own) if own is not None else events_
        return events_

    mode = getattr(request, "mode", "auto")
    reason = getattr(request, "reason", None)
    report = getattr(request, "exception_report", None)
    if mode == "exception" and report is None and reason is None:
        report = LEGACY_REPORT
    return Context(instances=instances, load=load, at=request.at, known_at=request.timestamp, mode=mode,
                   reason=reason, invoice=getattr(request, "invoice", None), exception_report=report,
                   overrides=overrides)


LEGACY_REPORT = "(recorded before requests kept their exception report)"


def policy_version_parameters(ledger: Ledger, version: str) -> dict[str, Any]:
    """The parameters of a posted policy version (P-V1), to judge every request by them."""
    found = registry.posted_version(lambda aggregate_id: list(ledger.events.get(aggregate_id)), version)
    if found is None:
        raise LedgerError(f"no policy version {version!r} was posted", "--policy-version")
    return found


def rejudge_all(ledger: Ledger, overrides: dict[str, Any], account: str | None = None) -> Iterator[Rejudged]:
    """Every recorded refund request judged again under today's parameters and under the overrides (each
    policy takes the parameter names it knows)."""
    recent: OrderedDict[Any, list[Any]] = OrderedDict()  # a few recent shared streams: memory stays flat

    def stream(aggregate_id: Any) -> list[Any]:
        if aggregate_id not in recent:
            recent[aggregate_id] = list(ledger.events.get(aggregate_id))
            if len(recent) > 64:
                recent.popitem(last=False)
        return recent[aggregate_id]

    for name, events in stream_instances(ledger):
        head = opening(events)
        requests = [r.request for r in lifecycle(events).values() if r.primary]
        if head is None or not requests or (account is not None and head.account != account):
            continue
        for request in requests:
            base = registry.assess(_context(ledger, name, events, request, stream, {}))
            what = registry.assess(_context(ledger, name, events, request, stream, overrides))
            yield Rejudged(name, head.account, request.refund, base.policy, request.at, base.currency, base.amount,
                           what.amount)



# ----- the use cases (App in, plain data out) -----

@dataclass(frozen=True)
class InstanceScenario:
    instance: str
    at: datetime
    today: Quote  # as the ledger stands
    scenario: Quote  # with the facts added and the lines dropped

    @property
    def difference(self) -> Decimal:
        return self.scenario.amount - self.today.amount

    def as_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "at": self.at.isoformat(), "today": self.today.as_json(),
                "scenario": self.scenario.as_json(), "difference": str(self.difference)}


def instance_scenario(app: App, instance: str, at: datetime, add: Sequence[str] = (), drop: Sequence[str] = (),
                      mode: str = "auto", overrides: dict[str, str] | None = None) -> InstanceScenario:
    """The quote for ``instance`` at ``at`` today, and with ``add`` (feed lines) recorded and the lines
    ``drop`` names left out, in an in-memory copy; the ledger is not written."""
    before, after = scenario(app.ledger, instance, at, app.now(), [x for x in add if x.strip()], list(drop), mode,
                             overrides=dict(overrides or {}))
    return InstanceScenario(instance, at, before, after)


@dataclass(frozen=True)
class Totals:
    baseline: Decimal
    scenario: Decimal

    @property
    def difference(self) -> Decimal:
        return self.scenario - self.baseline

    def as_json(self) -> dict[str, str]:
        return {"baseline": str(self.baseline), "scenario": str(self.scenario), "difference": str(self.difference)}


@dataclass(frozen=True)
class LedgerScenario:
    overrides: dict[str, Any]  # as applied: a posted version's parameters, then the explicit ones
    requests: list[Rejudged]  # every recorded request (or ``account``'s), judged twice
    totals: dict[str, Totals]  # per currency, in order of first appearance

    def as_json(self) -> dict[str, Any]:
        return {"overrides": self.overrides, "requests": [r.as_json() for r in self.requests],
                "totals": {c: t.as_json() for c, t in self.totals.items()}}


def ledger_scenario(app: App, overrides: dict[str, str] | None = None, policy_version: str | None = None,
                    account: str | None = None) -> LedgerScenario:
    """Every recorded refund request (only ``account``'s) judged again under today's parameters and under
    ``overrides`` (on top of the parameters of the posted KorPro ``policy_version``); writes nothing."""
    applied: dict[str, Any] = dict(overrides or {})
    if policy_version:
        applied = {**policy_version_parameters(app.ledger, policy_version), **applied}
    requests, sums = [], {}
    for r in rejudge_all(app.ledger, applied, account):
        requests.append(r)
        base, scen = sums.get(r.currency, (Decimal(0), Decimal(0)))
        sums[r.currency] = (base + r.baseline, scen + r.scenario)
    return LedgerScenario(applied, requests, {c: Totals(b, s) for c, (b, s) in sums.items()})
