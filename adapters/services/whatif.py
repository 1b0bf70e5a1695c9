"""What-if replays: nothing is written to the ledger.

- **Instance scenario** (`scenario`): the instance's streams (with its account, the policy book, and the
  line keys a ``--drop`` needs) are copied into an in-memory ledger; the scenario feed (facts to add; the
  dropped lines become retractions) is recorded there through the same validation as a real feed; the
  quote at ``at`` is compared before and after.
- **Ledger-wide scenario** (`rejudge_all`): every recorded refund request (or only an account's) is judged
  again, on exactly what preceded it (its own stream and its account up to, not including, its own
  events), once under today's parameters and once with the overrides (``--set``, ``--policy-version``).
  The judging is `projections.partitions.rejudge`, one partition of instances at a time (see
  ``adapters.store.scan``): the ledger is pinned when the job is planned (its newest position and recorded
  time), so requests recorded while it runs are not judged; memory stays flat as the ledger grows.

- **Refund exposure** (`ledger_exposure`): every instance open at a business time, judged as a request of its
  own made then (`projections.partitions.exposure`), by the ledger's parameters and under the overrides;
  totals per (currency, policy, product). Partitioned and pinned as the ledger-wide scenario.

The baseline is always the ledger as recorded, by its own parameters; only the scenario is changed.
The use cases `instance_scenario`, `ledger_scenario` and `ledger_exposure` take the App and plain values and
return plain data; `scenario` and `rejudge_all` are the same work on a bare `Ledger` (tests, the benchmark).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.bootstrap import App
from adapters.formats.errors import BadInput
from adapters.formats.feed import parse_feed
from adapters.services import reads
from adapters.services import record as service
from adapters.services.queries import check_mode, naming_params
from adapters.store.ledger import Ledger
from adapters.store.scan import Pinned, pin, shared
from adapters.store.tasks import Mapper, Store, Task
from domain.instance import account_id, instance_id, key_id, opening
from domain.policies import registry
from domain.quote import Quote
from domain.timeutil import FAR
from projections.partitions import Exposed, Rejudged, exposure, rejudge


def _copy(source: Ledger, target: Ledger, aggregate_id: Any) -> None:
    stored = source.recorder.select_events(aggregate_id)
    if stored:
        target.recorder.insert_events(stored)


def scenario(ledger: Ledger, name: str, at: datetime, now: datetime, add: list[str], drop: list[str],
             mode: str = "auto", with_: list[str] | None = None, overrides: dict[str, Any] | None = None,
             **quote_kw: Any) -> tuple[Quote, Quote]:
    """The quote for ``name`` at ``at`` as the ledger stands, judged by its own parameters (the baseline), and
    with the scenario: the facts ``add`` (feed lines) recorded, the lines ``drop`` names left out and the
    parameter ``overrides``. A scenario the ledger refuses is bad input naming the option and the user's value
    (``add: line N: ...``, ``drop: ID: ...``), never a line the user did not write."""
    before = reads.assess(ledger, name, at, now, mode, with_, **quote_kw)
    names = [name, *(with_ or [])]
    drop = list(dict.fromkeys(drop))  # a line dropped twice is dropped
    for line_id in drop:
        owner = _owner(ledger, line_id)
        if owner is None:
            raise BadInput(None, f"{line_id}: no line with this id was recorded", param="drop")
        if owner not in names:
            raise BadInput(None, f"{line_id}: the line is a fact about {owner}, not about {' or '.join(names)}",
                           param="drop")
    memory = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for n in names:
        _copy(ledger, memory, instance_id(n))
    head = opening(reads.events_of(ledger, name))
    if head is not None:
        _copy(ledger, memory, account_id(head.account))
    for aggregate_id in {i for p in registry.POLICIES for i in p.prefetch}:  # what every policy may read
        _copy(ledger, memory, aggregate_id)
    for line_id in drop:
        _copy(ledger, memory, key_id("line", line_id))
    retractions = [json.dumps({"type": "retract", "at": at.isoformat(), "target": line_id,
                               "reason": "what-if: dropped"}) for line_id in drop]
    try:
        service.record(memory, parse_feed([*add, *retractions]), now)
    except BadInput as e:  # the feed's line N: a line of add, or the retraction of a drop
        if e.line is None:
            raise
        if e.line <= len(add):
            raise BadInput(None, f"line {e.line}: {e.message}", param="add") from None
        raise BadInput(None, f"{drop[e.line - len(add) - 1]}: {e.message.removeprefix('target: ')}",
                       param="drop") from None
    after = reads.assess(memory, name, at, FAR, mode, with_, overrides=overrides, **quote_kw)
    return before, after


def _owner(ledger: Ledger, line_id: str) -> str | None:
    """The stream (an instance's name) a recorded line's fact is about, or None if no line has that id."""
    owner = None
    for e in ledger.events.get(key_id("line", line_id)):
        owner = getattr(e, "owner", owner)
    return owner


def policy_version_parameters(ledger: Ledger, version: str, known_at: datetime = FAR) -> dict[str, Any]:
    """The parameters of a posted policy version (P-V1) as recorded by ``known_at``, to judge every request by
    them."""
    found = registry.posted_version(shared(ledger, known_at), version)
    if found is None:
        raise BadInput(None, f"no policy version {version!r} was posted", param="policy_version")
    return found


def rejudge_all(ledger: Ledger, overrides: dict[str, Any], account: str | None = None, *,
                pinned: Pinned | None = None, store: Store | None = None, size: int | None = None,
                map: Mapper = map) -> Iterator[Rejudged]:
    """Every recorded refund request judged again under today's parameters and under the overrides (each
    policy takes the parameter names it knows), in the order the instances were opened.

    The driver: the ledger is pinned (``pinned``, default: its newest position and recorded time now) and cut
    into partitions of ``size`` instances; ``map`` runs `projections.partitions.rejudge` on each (a `Task`
    reading ``store``, default: this ledger, in this process) and must give their rows back in partition
    order; the rows are yielded partition after partition (memory holds one partition's rows). The ledger is
    pinned when this is called, not when the rows are first asked for."""
    pinned = pinned or pin(ledger, size)
    task = Task(store or Store(None, ledger), rejudge, pinned.known_at, (overrides, account), load=True)
    return (row for rows in map(task, pinned.partitions) for row in rows)


# ----- the use cases (App in, plain data out) -----

@dataclass(frozen=True)
class InstanceScenario:
    instance: str
    at: datetime
    today: Quote  # as the ledger stands, by its own parameters (the baseline)
    scenario: Quote  # with the facts added, the lines dropped and the parameters overridden
    overrides: dict[str, Any] = field(default_factory=dict)  # as applied to the scenario

    @property
    def difference(self) -> Decimal:
        return self.scenario.amount - self.today.amount

    def as_json(self) -> dict[str, Any]:
        """``baseline`` is the quote as the ledger stands (``today``, its former name, is kept for scripts)."""
        baseline = self.today.as_json()
        return {"instance": self.instance, "at": self.at.isoformat(), "overrides": self.overrides,
                "baseline": baseline, "today": baseline, "scenario": self.scenario.as_json(),
                "difference": str(self.difference)}


def instance_scenario(app: App, instance: str, at: datetime, add: Sequence[str] = (), drop: Sequence[str] = (),
                      mode: str = "auto", overrides: dict[str, str] | None = None,
                      policy_version: str | None = None) -> InstanceScenario:
    """The quote for ``instance`` at ``at`` as the ledger stands, by its own parameters (the baseline), and under
    the scenario: ``add`` (feed lines; line N is the N-th) recorded and the lines ``drop`` names left out, in an
    in-memory copy, judged with ``overrides`` on top of the posted ``policy_version``'s parameters (P-V1). The
    ledger is not written."""
    check_mode(mode)
    now = app.now()
    applied: dict[str, Any] = dict(overrides or {})
    if policy_version:
        applied = {**policy_version_parameters(app.ledger, policy_version, now), **applied}
    with naming_params():
        before, after = scenario(app.ledger, instance, at, now, list(add), list(drop), mode, overrides=applied)
    return InstanceScenario(instance, at, before, after, applied)


@dataclass(frozen=True)
class Totals:
    baseline: Decimal
    scenario: Decimal
    judged: int = 0  # requests judged in this currency
    changed: int = 0  # of which the scenario changes the amount

    @property
    def difference(self) -> Decimal:
        return self.scenario - self.baseline

    def as_json(self) -> dict[str, str | int]:  # amounts as text (exact), counts as numbers
        return {"baseline": str(self.baseline), "scenario": str(self.scenario), "difference": str(self.difference),
                "judged": self.judged, "changed": self.changed}


@dataclass(frozen=True)
class LedgerScenario:
    overrides: dict[str, Any]  # as applied: a posted version's parameters, then the explicit ones
    requests: list[Rejudged]  # every recorded request (or ``account``'s), judged twice
    totals: dict[str, Totals]  # per currency, in order of first appearance

    def as_json(self) -> dict[str, Any]:
        return {"overrides": self.overrides, "requests": [r.as_json() for r in self.requests],
                "totals": {c: t.as_json() for c, t in self.totals.items()}}


def ledger_scenario(app: App, overrides: dict[str, str] | None = None, policy_version: str | None = None,
                    account: str | None = None, *, size: int | None = None, map: Mapper = map) -> LedgerScenario:
    """Every recorded refund request (only ``account``'s) judged again under today's parameters and under
    ``overrides`` (on top of the parameters of the posted ``policy_version``, P-V1); writes nothing.

    Plan (pin the ledger, cut it into partitions of ``size`` instances), ``map`` the per-partition judging
    over them (the builtin: one after the other in this process; a pool's or a cluster's map gets picklable
    tasks that open the store by its URL), assemble (requests in partition order, totals per currency)."""
    pinned = pin(app.ledger, size)
    applied: dict[str, Any] = dict(overrides or {})
    if policy_version:
        applied = {**policy_version_parameters(app.ledger, policy_version, pinned.known_at), **applied}
    requests: list[Rejudged] = []
    totals: dict[str, Totals] = {}
    for r in rejudge_all(app.ledger, applied, account, pinned=pinned, store=Store(app.settings.url, app.ledger),
                         map=map):
        requests.append(r)
        t = totals.get(r.currency, Totals(Decimal(0), Decimal(0)))
        totals[r.currency] = Totals(t.baseline + r.baseline, t.scenario + r.scenario, t.judged + 1,
                                    t.changed + (r.baseline != r.scenario))
    return LedgerScenario(applied, requests, totals)


# ----- every instance's refund exposure at a time -----

def exposure_modes(modes: Sequence[str]) -> dict[str, str]:
    """``mode`` of the exposure, per policy (by name): each given mode is judged on the instances whose policy
    knows it, the others are judged under ``auto``; two modes of one policy are bad input."""
    chosen: dict[str, str] = {}
    for mode in modes:
        check_mode(mode)
        for p in registry.POLICIES:
            if mode != "auto" and mode in p.modes:
                if chosen.setdefault(p.name, mode) != mode:
                    raise BadInput(None, f"{chosen[p.name]} and {mode} are both modes of {p.name}: give at most one "
                                         "per policy", param="mode")
    return chosen


@dataclass(frozen=True)
class Exposure:
    """One (currency, policy, product)'s refund exposure: what its instances would be refunded."""

    currency: str
    policy: str
    product: str
    baseline: Decimal = Decimal("0.00")
    scenario: Decimal = Decimal("0.00")
    instances: int = 0  # judged
    changed: int = 0  # of which the scenario changes the amount
    unjudged: int = 0  # that the policy would not judge so
    unjudged_because: str | None = None  # the first one's refusal

    @property
    def difference(self) -> Decimal:
        return self.scenario - self.baseline

    def add(self, row: Exposed) -> Exposure:
        if row.baseline is None or row.scenario is None:
            return replace(self, unjudged=self.unjudged + 1, unjudged_because=self.unjudged_because or row.error)
        return replace(self, baseline=self.baseline + row.baseline, scenario=self.scenario + row.scenario,
                       instances=self.instances + 1, changed=self.changed + row.changed)

    def as_json(self) -> dict[str, Any]:
        return {"currency": self.currency, "policy": self.policy, "product": self.product,
                "baseline": str(self.baseline), "scenario": str(self.scenario), "difference": str(self.difference),
                "instances": self.instances, "changed": self.changed, "unjudged": self.unjudged,
                "unjudged_because": self.unjudged_because}


@dataclass(frozen=True)
class LedgerExposure:
    at: datetime
    known_at: datetime  # the ledger as pinned when the job was planned
    modes: dict[str, str]  # per policy, the mode asked (every other policy: auto)
    overrides: dict[str, Any]  # as applied to the scenario: a posted version's parameters, then the explicit ones
    instances: list[Exposed]  # those the scenario changes (every instance judged or not: ``every``)
    totals: list[Exposure]  # per (currency, policy, product), in order of first appearance
    every: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "known_at": self.known_at.isoformat(), "modes": self.modes,
                "overrides": self.overrides, "listed": "every" if self.every else "changed",
                "instances": [r.as_json() for r in self.instances], "totals": [t.as_json() for t in self.totals]}


def ledger_exposure(app: App, at: datetime, modes: Sequence[str] = (), overrides: dict[str, str] | None = None,
                    policy_version: str | None = None, account: str | None = None, *, every: bool = False,
                    size: int | None = None, map: Mapper = map) -> LedgerExposure:
    """What every instance open at ``at`` (only ``account``'s) would be refunded if its customer asked at ``at``,
    under ``modes`` (`exposure_modes`), as the ledger stands and under the scenario (``overrides`` on top of the
    posted ``policy_version``'s parameters, P-V1); totals per (currency, policy, product). Writes nothing.

    Plan (pin the ledger, cut it into partitions of ``size`` instances), ``map``
    `projections.partitions.exposure` (lean quotes) over them, assemble: the totals, and the rows of the
    instances the scenario changes (``every``: every row), in the order the instances were opened."""
    chosen = exposure_modes(modes)
    pinned = pin(app.ledger, size)
    applied: dict[str, Any] = dict(overrides or {})
    if policy_version:
        applied = {**policy_version_parameters(app.ledger, policy_version, pinned.known_at), **applied}
    task = Task(Store(app.settings.url, app.ledger), exposure, pinned.known_at, (at, chosen, applied, account),
                load=True)
    kept: list[Exposed] = []
    totals: dict[tuple[str, str, str], Exposure] = {}
    for rows in map(task, pinned.partitions):
        for r in rows:
            key = (r.currency, r.policy, r.product)
            totals[key] = totals.get(key, Exposure(*key)).add(r)
            if every or r.changed:
                kept.append(r)
    return LedgerExposure(at, pinned.known_at, chosen, applied, kept, list(totals.values()), every)
