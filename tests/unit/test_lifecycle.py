"""The refund lifecycle fold (domain.lifecycle): one fold for every policy's refund events.

Each test records a real feed on the in-memory store and folds the instance's own stream; the states are those
the rules name (K-L1, K-L2, K-L3, K-Q2; P-R2, P-R3, P-D1, P-B1).
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.formats.feed import BadInput
from adapters.services import reads
from domain.lifecycle import refunds, released_by
from tests.feedkit import day, ledger_with, purchase, record
from tests.unit.test_korpro import START, charge, performance, req, subscribe


def folded(ledger, instance):
    return refunds(reads.events_of(ledger, instance))


def kingsoft(refund="rf-1", **extra):
    return {"type": "request_refund", "id": f"l-{refund}", "at": day(1).isoformat(), "instance": "kec-1",
            "refund": refund, **extra}


def test_an_accepted_application_releases_and_waits_to_be_settled_K_L1_K_L2_K_L3():
    ledger = ledger_with(purchase(), kingsoft())
    r = folded(ledger, "kec-1")["rf-1"]
    assert (r.state, r.stage, r.since, r.releases, r.primary) == ("accepted", "settle", day(1), True, True)
    assert r.amount == Decimal("120.00") and r.lines == (("kec-1", "kec-1-buy", Decimal("120.00")),)
    assert released_by(reads.events_of(ledger, "kec-1")) == "rf-1"


def test_completion_settles_and_keeps_the_release_K_L2_K_L3():
    ledger = ledger_with(purchase(), kingsoft(),
                         {"type": "complete_refund", "at": day(2).isoformat(), "refund": "rf-1"})
    r = folded(ledger, "kec-1")["rf-1"]
    assert (r.state, r.stage, r.settled_at) == ("completed", None, day(2))
    assert released_by(reads.events_of(ledger, "kec-1")) == "rf-1"


def test_a_rejection_unreleases_K_Q2():
    ledger = ledger_with(purchase(), kingsoft(),
                         {"type": "reject_refund", "at": day(2).isoformat(), "refund": "rf-1", "reason": "abuse"})
    r = folded(ledger, "kec-1")["rf-1"]
    assert (r.state, r.stage, r.settled_at) == ("rejected", None, day(2))
    assert released_by(reads.events_of(ledger, "kec-1")) is None


def test_a_denied_request_opens_nothing_and_releases_nothing():
    ledger = ledger_with(purchase(product="Redis"), kingsoft())
    r = folded(ledger, "kec-1")["rf-1"]
    assert (r.state, r.stage, r.amount, r.lines, r.releases) == ("denied", None, Decimal("0.00"), (), False)


def test_a_korpro_request_waits_for_review_then_payment_with_the_decided_amount_P_R2_P_R3():
    ledger = performance({"type": "report_savings", "at": (START + timedelta(days=31)).isoformat(),
                          "instance": "kp-1", "invoice": "inv-1", "actual_savings": "4000.00"},
                         req("savings_shortfall", days=40),
                         {"type": "decide_refund", "at": (START + timedelta(days=41)).isoformat(),
                          "refund": "rf-1", "approve": True, "amount": "500.00"})
    r = folded(ledger, "kp-1")["rf-1"]
    assert (r.state, r.stage, r.since) == ("approved", "payment", START + timedelta(days=41))
    assert r.amount == Decimal("500.00") and r.lines == (("kp-1", "inv-1", Decimal("500.00")),)


def test_a_rejected_korpro_request_is_escalated_once_P_D1():
    decide = {"type": "decide_refund", "at": (START + timedelta(days=11)).isoformat(), "refund": "rf-1",
              "approve": False}
    escalate = {"type": "escalate", "at": (START + timedelta(days=12)).isoformat(), "refund": "rf-1"}
    ledger = performance(req("money_back"), decide, escalate)
    r = folded(ledger, "kp-1")["rf-1"]
    assert (r.state, r.stage, r.escalated) == ("escalated", "escalation", True)
    record(ledger, {**decide, "type": "decide_escalation", "at": (START + timedelta(days=13)).isoformat()})
    with pytest.raises(BadInput, match="already escalated once"):
        record(ledger, {**escalate, "at": (START + timedelta(days=14)).isoformat()})


def test_a_billing_error_is_approved_at_once_P_B1():
    ledger = ledger_with(subscribe(), charge("inv-1", 0),
                         {"type": "report_billing_error", "at": (START + timedelta(days=1)).isoformat(),
                          "instance": "kp-1", "invoice": "inv-1", "incorrect_amount": "100.00"},
                         req("billing_error", days=2))
    r = folded(ledger, "kp-1")["rf-1"]
    assert (r.state, r.stage, r.amount) == ("approved", "payment", Decimal("100.00"))


def test_no_refund_event_of_any_policy_can_be_retracted():
    ledger = performance({**req("money_back"), "id": "line-req"})
    with pytest.raises(BadInput, match="cannot be retracted"):
        record(ledger, {"type": "retract", "at": (START + timedelta(days=20)).isoformat(), "target": "line-req",
                        "reason": "oops"})
