"""A third policy is one module and one registry line (domain.policy.Policy): nothing else changes.

``Flat`` lives only in this file. It judges instances of the product ``Widget``: a refund of ``share`` (a
Parameter, 50% by default) of the cash paid, rounded half-up, line rule FLAT-1; staff settle an accepted
application within 2 working days (FLAT-2). It records through the console application of
`domain.applications` and the ``purchase`` command of the fallback policy, like any new policy could.
Registering it (the test's one "registry line") is enough for the ledger to quote, record, settle, list
deadlines and compute finance rows under it, while every other product keeps its policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from adapters.formats.feed import BadInput
from adapters.services import record as service
from domain import applications
from domain.errors import LedgerError
from domain.instance import Instance, opening
from domain.lifecycle import Refund, refunds
from domain.lines import Line
from domain.money import round_cents
from domain.policies import registry
from domain.policy import About, Context, Deadline, Load, Paid, PolicyBase
from domain.quote import Quote
from projections.finance import instance_rows
from tests.feedkit import FAR, day, ledger_with, purchase, record


@dataclass(frozen=True)
class FlatParameters:
    share: Decimal = Decimal("0.50")

    def override(self, values: Mapping[str, Any]) -> FlatParameters:
        out = self
        for name, raw in values.items():
            try:
                out = replace(out, share=Decimal(str(raw)))
            except ArithmeticError:
                raise LedgerError(f"{raw!r} is not a share", name) from None
        return out


class Flat(PolicyBase):
    aggregate = Instance
    parameters = FlatParameters

    def __init__(self) -> None:
        super().__init__(About("flat-2026", products=frozenset({"Widget"}), modes=("flat",)))
        self.refund_commands = {
            "request_refund": lambda session, inst, c, ts: applications.apply(self, session, inst, c, ts,
                                                                              mode=c.mode),
            "complete_refund": applications.complete, "reject_refund": applications.reject}

    def assess(self, ctx: Context) -> Quote:
        name, events = ctx.instances[0]
        head = opening(events)
        share = FlatParameters().override(ctx.overrides).share
        paid = Fraction(head.payment.cash)
        refund = round_cents(paid * Fraction(share), "half_up")
        line = Line(name, head.order, "purchase", "FLAT-1", paid, None, refund, f"{share} × {paid} = {refund}")
        return Quote(instance=name, at=ctx.at, known_at=ctx.known_at, currency=head.currency, mode="flat",
                     eligible=True, amount=refund, outcome="refund", lines=[line], policy=self.name)

    def deadline(self, refund: Refund, load: Load, known_at: datetime, overrides: dict[str, Any]) -> Deadline:
        return Deadline("FLAT-2", 2, "+00:00", (), self.name)

    def orders(self, head: Any, facts: Iterable[Any]) -> list[Paid]:
        return [Paid(head.order, "purchase", head.at, head.at, head.at + timedelta(days=30), head.payment.cash,
                     head.payment.cash)]


@pytest.fixture
def flat(monkeypatch) -> Flat:
    policy = Flat()
    monkeypatch.setattr(registry, "POLICIES", [policy, *registry.POLICIES])  # the one registry line
    return policy


def widget_ledger():
    return ledger_with(purchase("w-1", product="Widget", months=1, price="99.99", cash="99.99"),
                       purchase("kec-1"))


def test_a_registered_policy_judges_its_own_products(flat):
    ledger = widget_ledger()
    q = service.quote(ledger, "w-1", day(3), FAR).as_json()
    assert (q["policy"], q["mode"], q["amount"]) == ("flat-2026", "flat", "50.00")  # 49.995 rounded half-up
    assert [(ln["rule"], ln["refund"]) for ln in q["lines"]] == [("FLAT-1", "50.00")]
    assert service.quote(ledger, "kec-1", day(3), FAR).policy == "kingsoft-2021-05-27"


def test_its_parameters_can_be_overridden_like_any_other(flat):
    ledger = widget_ledger()
    assert service.quote(ledger, "w-1", day(3), FAR, overrides={"share": "0.25"}).amount == Decimal("25.00")
    with pytest.raises(LedgerError, match="unknown policy parameter"):
        service.quote(ledger, "w-1", day(3), FAR, overrides={"colour": "red"})


def test_a_request_under_it_is_recorded_frozen_settled_and_scheduled(flat):
    ledger = widget_ledger()
    record(ledger, {"type": "request_refund", "id": "l-w", "at": day(3).isoformat(), "instance": "w-1",
                    "refund": "rf-w"})
    r = refunds(service.events_of(ledger, "w-1"))["rf-w"]
    assert (r.state, r.policy, r.amount, r.stage) == ("accepted", "flat-2026", Decimal("50.00"), "settle")
    late = service.overdue(ledger, day(10), FAR)
    assert [(o.stage.refund, o.stage.rule, o.stage.policy) for o in late] == [("rf-w", "FLAT-2", "flat-2026")]
    orders, refund_rows = instance_rows("w-1", service.events_of(ledger, "w-1"))
    assert [(o.order, o.paid_cents) for o in orders] == [("w-1-buy", 9999)]
    assert [(x.refund, x.amount_cents, x.state) for x in refund_rows] == [("rf-w", 5000, "accepted")]
    record(ledger, {"type": "complete_refund", "at": day(4).isoformat(), "refund": "rf-w"})
    assert refunds(service.events_of(ledger, "w-1"))["rf-w"].state == "completed"
    assert service.overdue(ledger, day(10), FAR) == []


def test_a_request_may_ask_for_the_registered_policys_own_mode(flat):
    ledger = widget_ledger()
    record(ledger, {"type": "request_refund", "id": "l-w", "at": day(3).isoformat(), "instance": "w-1",
                    "refund": "rf-w", "mode": "flat"})
    assert refunds(service.events_of(ledger, "w-1"))["rf-w"].state == "accepted"


def test_a_mode_of_another_policy_is_bad_input_naming_mode(flat):
    ledger = widget_ledger()
    with pytest.raises(BadInput, match="line 1: mode: 'flat' is not a mode of kingsoft-2021-05-27, which judges"):
        record(ledger, {"type": "request_refund", "id": "l-k", "at": day(3).isoformat(), "instance": "kec-1",
                        "refund": "rf-k", "mode": "flat"})
    with pytest.raises(BadInput, match="mode: unknown mode 'nope'"):
        record(ledger, {"type": "request_refund", "id": "l-k", "at": day(3).isoformat(), "instance": "kec-1",
                        "refund": "rf-k", "mode": "nope"})
