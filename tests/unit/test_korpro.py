"""KorPro, rule by rule (rules-korpro.md: P-M*, P-G*, P-F*, P-B1, P-O1, P-X*, P-N*, P-R*, P-D1, P-V1).

Expected figures are worked out by hand in each test from the rule's own formula.
"""

from datetime import UTC, datetime, timedelta

import pytest

from adapters.formats.feed import BadInput
from adapters.services import reads
from domain.errors import LedgerError
from tests.feedkit import FAR, ledger_with, record

UTC = UTC
START = datetime(2026, 1, 5, tzinfo=UTC)


def at(days: float, hours: float = 0) -> str:
    return (START + timedelta(days=days, hours=hours)).isoformat()


def subscribe(instance="kp-1", plan="performance", **extra):
    line = {"type": "subscribe", "at": at(0), "instance": instance, "account": "initech", "plan": plan}
    line.update({"estimated_monthly_savings": "10000.00"} if plan == "performance" else {"cpus": 25})
    line.update(extra)
    return line


def charge(invoice, month, amount="2000.00", instance="kp-1", **extra):
    return {"type": "charge", "at": at(30 * month), "instance": instance, "invoice": invoice, "amount": amount,
            "period_start": at(30 * month), "period_end": at(30 * (month + 1)), **extra}


def req(reason, refund="rf-1", days=10.0, invoice="inv-1", instance="kp-1", **extra):
    return {"type": "request_refund", "at": at(days), "instance": instance, "refund": refund, "reason": reason,
            "email": "ap@initech.example", "invoice": invoice, "explanation": "see ticket", **extra}


def performance(*extra):
    return ledger_with(subscribe(), charge("inv-1", 0), charge("inv-2", 1), charge("inv-3", 2), *extra)


def fixed(*extra):
    return ledger_with(subscribe("kp-2", "fixed"), charge("inv-1", 0, "600.00", "kp-2"),
                       charge("inv-2", 1, "600.00", "kp-2"), *extra)


def q(ledger, reason, days, instance="kp-1", invoice="inv-1", known_at=FAR, **kw):
    return reads.assess(ledger, instance, START + timedelta(days=days), known_at, mode=reason, invoice=invoice,
                        **kw).as_json()


def rules(quote):
    return [r["rule"] for r in quote["reasons"]]


def test_performance_fee_is_20_percent_of_estimated_savings_and_mismatches_are_flagged_P_M1():
    ledger = ledger_with(subscribe(), charge("inv-1", 0, "2000.00", estimated_savings="10000.00"),
                         charge("inv-2", 1, "2500.00", estimated_savings="10000.00"))
    flags = [r for r in q(ledger, "money_back", 30)["reasons"] if r["rule"] == "P-M1"]  # inv-2 charged on day 30
    assert [f["message"] for f in flags] == ["suspected billing error: invoice inv-2 charged 2500.00, the formula "
                                             "gives 2000.00"]


def test_fixed_fee_is_500_plus_4_per_cpu_and_invoices_keep_what_was_charged_P_M2():
    ledger = ledger_with(subscribe("kp-2", "fixed"), charge("inv-1", 0, "600.00", "kp-2"),
                         charge("inv-2", 1, "650.00", "kp-2"),
                         {"type": "report_billing_error", "at": at(31), "instance": "kp-2", "invoice": "inv-2",
                          "incorrect_amount": "50.00"})
    quote = q(ledger, "billing_error", 32, "kp-2", "inv-2")
    assert [r["message"] for r in quote["reasons"] if r["rule"] == "P-M2"] == [
        "suspected billing error: invoice inv-2 charged 650.00, the formula gives 600.00"]
    assert [(ln["order"], ln["paid"], ln["refund"]) for ln in quote["lines"]] == [("inv-2", "650.00", "50.00")]


def test_money_back_within_30_days_refunds_every_fee_P_G1():
    ledger = ledger_with(subscribe(), charge("inv-1", 0))
    quote = q(ledger, "money_back", 30)
    assert (quote["eligible"], quote["amount"], quote["policy"]) == (True, "2000.00", "korpro-2025-12-20")
    assert rules(q(ledger, "money_back", 30.001)) == ["P-G1"]


def test_savings_shortfall_reprices_each_month_below_half_the_estimate_P_G2():
    ledger = performance({"type": "report_savings", "at": at(31), "instance": "kp-1", "invoice": "inv-1",
                          "actual_savings": "4000.00"},
                         {"type": "report_savings", "at": at(61), "instance": "kp-1", "invoice": "inv-2",
                          "actual_savings": "5000.00"})  # exactly 50%: not below
    quote = q(ledger, "savings_shortfall", 70)
    assert [(ln["order"], ln["refund"], ln["rule"]) for ln in quote["lines"]] == [("inv-1", "1200.00", "P-G2")]
    assert rules(q(ledger, "savings_shortfall", 20)) == ["P-G2"]  # nothing reported yet


def test_early_termination_gives_a_ceiling_and_needs_a_staff_decision_P_G3():
    """Decision: "months not yet used" are prepaid billing periods that start after the request."""
    ledger = ledger_with(subscribe(), charge("inv-1", 0), charge("inv-2", 1), {**charge("inv-3", 2), "at": at(45)})
    assert q(ledger, "early_termination", 40)["eligible"] is False  # nothing prepaid yet: the month in progress is used
    quote = q(ledger, "early_termination", 50)  # inv-3 (days 60..90), paid on day 45, is not used yet
    assert (quote["amount"], quote["ceiling"], quote["staff_decision_required"]) == ("2000.00", "2000.00", True)
    assert "staff decision" in quote["reasons"][0]["message"] and quote["reasons"][0]["rule"] == "P-G3"
    assert rules(q(ledger, "early_termination", 400)) == ["P-G3"]  # the 12-month commitment is over
    record(ledger, req("early_termination", days=50, invoice="inv-3"))
    with pytest.raises(BadInput, match="amount: a discretionary refund"):
        record(ledger, {"type": "decide_refund", "at": at(51), "refund": "rf-1", "approve": True})
    with pytest.raises(BadInput, match="amount: amount 2500.00 exceeds"):
        record(ledger, {"type": "decide_refund", "at": at(51), "refund": "rf-1", "approve": True, "amount": "2500.00"})
    record(ledger, {"type": "decide_refund", "at": at(51), "refund": "rf-1", "approve": True, "amount": "0.00"})


def test_trial_within_14_days_of_the_first_payment_refunds_every_fee_P_F1():
    ledger = fixed()
    assert q(ledger, "trial", 14, "kp-2")["amount"] == "600.00"  # only inv-1 was paid by day 14
    assert rules(q(ledger, "trial", 14.5, "kp-2")) == ["P-F1"]


def test_no_refund_for_a_partial_month_of_a_fixed_plan_P_F2_P_N1():
    quote = q(fixed(), "change_of_mind", 45, "kp-2")
    assert quote["eligible"] is False and rules(quote)[:2] == ["P-N1", "P-F2"]
    assert q(fixed(), "change_of_mind", 3, "kp-2")["amount"] == "600.00"  # within the trial: P-F1


def test_billing_errors_are_refunded_in_full_immediately_P_B1():
    ledger = fixed({"type": "report_billing_error", "at": at(31), "instance": "kp-2", "invoice": "inv-2",
                    "incorrect_amount": "50.00"},
                   {"type": "report_billing_error", "at": at(32), "instance": "kp-2", "invoice": "inv-2",
                    "incorrect_amount": "600.00", "duplicate": True})
    assert q(ledger, "billing_error", 33, "kp-2", "inv-2")["amount"] == "50.00"
    assert q(ledger, "duplicate_payment", 33, "kp-2", "inv-2")["amount"] == "600.00"
    assert rules(q(ledger, "billing_error", 33, "kp-2", "inv-1")) == ["P-B1"]
    record(ledger, req("billing_error", "rf-b", 33, "inv-2", "kp-2"))
    assert [o.stage.rule for o in reads.overdue(ledger, START + timedelta(days=80), FAR)] == ["P-R3"]
    # the same error is never refunded twice; the duplicate payment still is, in full (Decision: it was paid
    # beyond the charge, so the 50.00 already refunded of inv-2's 600.00 takes nothing off it)
    again = q(ledger, "billing_error", 34, "kp-2", "inv-2")
    assert (again["eligible"], rules(again)) == (False, ["P-B1"])
    assert q(ledger, "duplicate_payment", 34, "kp-2", "inv-2")["amount"] == "600.00"


def test_a_refunded_duplicate_takes_nothing_off_the_invoices_other_refunds_P_B1():
    ledger = fixed({"type": "report_billing_error", "at": at(31), "instance": "kp-2", "invoice": "inv-2",
                    "incorrect_amount": "600.00", "duplicate": True},
                   {"type": "report_billing_error", "at": at(31), "instance": "kp-2", "invoice": "inv-2",
                    "incorrect_amount": "50.00"})
    record(ledger, req("duplicate_payment", "rf-d", 32, "inv-2", "kp-2"))
    assert q(ledger, "billing_error", 33, "kp-2", "inv-2")["amount"] == "50.00"  # not capped by the 600.00
    again = q(ledger, "duplicate_payment", 33, "kp-2", "inv-2")
    assert (again["eligible"], rules(again)) == (False, ["P-B1"])  # and the duplicate is never refunded twice


def test_a_quote_without_an_invoice_covers_every_invoice_the_reason_applies_to_P_B1():
    ledger = fixed({"type": "report_billing_error", "at": at(31), "instance": "kp-2", "invoice": "inv-1",
                    "incorrect_amount": "20.00"},
                   {"type": "report_billing_error", "at": at(31), "instance": "kp-2", "invoice": "inv-2",
                    "incorrect_amount": "30.00"})
    quote = q(ledger, "billing_error", 33, "kp-2", invoice=None)
    assert [(ln["order"], ln["refund"]) for ln in quote["lines"]] == [("inv-1", "20.00"), ("inv-2", "30.00")]
    assert quote["amount"] == "50.00"
    none = q(ledger, "duplicate_payment", 33, "kp-2", invoice=None)
    assert (none["eligible"], rules(none)) == (False, ["P-B1"])
    with pytest.raises(LedgerError, match="one of inv-2"):  # only inv-2 was charged in the 30 days before
        q(ledger, "not_as_described", 45, "kp-2", invoice=None)
    with pytest.raises(LedgerError, match="inv-9.*its invoices: inv-1, inv-2"):
        q(ledger, "billing_error", 33, "kp-2", invoice="inv-9")


def test_a_cancellation_inside_the_trial_keeps_the_trial_refund_open_P_F1():
    cancelled = fixed({"type": "cancel", "at": at(10), "instance": "kp-2"})
    assert q(cancelled, "trial", 40, "kp-2")["amount"] == "1200.00"  # asked on day 40, cancelled on day 10
    late = fixed({"type": "cancel", "at": at(20), "instance": "kp-2"})
    denied = q(late, "trial", 21, "kp-2")
    assert rules(denied) == ["P-F1"] and "cancellation" in denied["reasons"][0]["message"]
    assert rules(q(fixed(), "trial", 40, "kp-2")) == ["P-F1"]  # no cancellation: the request is it


def test_outages_over_24_hours_refund_the_prorated_fee_P_O1():
    ledger = performance(
        {"type": "report_outage", "at": at(40), "instance": "kp-1", "start": at(35), "end": at(36, 12)},  # 36 h
        {"type": "report_outage", "at": at(40), "instance": "kp-1", "start": at(38), "end": at(39)},  # 24 h: no
        {"type": "report_outage", "at": at(70), "instance": "kp-1", "start": at(59), "end": at(61)})  # 48 h, 2 periods
    lines = {ln["order"]: ln["refund"] for ln in q(ledger, "outage", 75)["lines"]}
    # inv-2 (days 30..60, 720 h): 2000 x (36 + 24) / 720 = 166.67; inv-3 (days 60..90): 2000 x 24 / 720 = 66.67
    assert lines == {"inv-2": "166.67", "inv-3": "66.67"}
    short = performance({"type": "report_outage", "at": at(40), "instance": "kp-1", "start": at(38), "end": at(39)})
    assert rules(q(short, "outage", 45)) == ["P-O1"]


def test_not_as_described_within_30_days_of_the_charge_up_to_it_P_X1():
    ledger = performance()
    quote = q(ledger, "not_as_described", 50, invoice="inv-2")  # inv-2 charged on day 30
    assert (quote["ceiling"], quote["staff_decision_required"]) == ("2000.00", True)
    assert rules(q(ledger, "not_as_described", 61, invoice="inv-2")) == ["P-X1"]


def test_technical_incompatibility_within_30_days_refunds_every_fee_P_X2():
    assert q(performance(), "technical_incompatibility", 29)["amount"] == "2000.00"
    assert rules(q(performance(), "technical_incompatibility", 31)) == ["P-X2"]


@pytest.mark.parametrize(("reason", "rule"), [("user_error", "P-N3"), ("third_party", "P-N4")])
def test_never_refunded_reasons_P_N3_P_N4(reason, rule):
    quote = q(performance(), reason, 5)
    assert (quote["eligible"], quote["outcome"], rules(quote)) == (False, "denied", [rule])


def test_change_of_mind_after_the_guarantee_is_not_refunded_P_N1():
    assert rules(q(performance(), "change_of_mind", 45)) == ["P-N1", "P-G1"]
    assert q(performance(), "change_of_mind", 10)["amount"] == "2000.00"


def test_termination_for_violation_leaves_only_billing_errors_P_N2_P_B1():
    ledger = performance({"type": "report_billing_error", "at": at(31), "instance": "kp-1", "invoice": "inv-2",
                          "incorrect_amount": "100.00"},
                         {"type": "terminate_for_violation", "at": at(32), "instance": "kp-1"})
    assert rules(q(ledger, "technical_incompatibility", 33))[0] == "P-N2"
    assert q(ledger, "billing_error", 33, invoice="inv-2")["amount"] == "100.00"


@pytest.mark.parametrize("missing", ["email", "invoice", "explanation"])
def test_a_request_needs_email_invoice_and_explanation_P_R1(missing):
    ledger = performance()
    line = req("money_back")
    del line[missing]
    with pytest.raises(BadInput, match=f"line 1: {missing}: .*P-R1"):
        record(ledger, line)


def test_review_and_processing_deadlines_in_business_days_P_R2_P_R3():
    ledger = performance()
    record(ledger, req("money_back", days=10))  # Thursday 2026-01-15: decided by Tuesday 2026-01-20 (P-R2)
    late = reads.overdue(ledger, datetime(2026, 1, 21, tzinfo=UTC), FAR)
    assert [(o.stage.rule, o.due.date().isoformat()) for o in late] == [("P-R2", "2026-01-20")]
    record(ledger, {"type": "decide_refund", "at": at(16), "refund": "rf-1", "approve": True})  # Wed 2026-01-21
    flagged = reads.overdue(ledger, datetime(2026, 2, 5, tzinfo=UTC), FAR)  # 10 days: Wed 02-04
    assert [(o.stage.rule, o.as_json()["severity"]) for o in flagged] == [("P-R3", "flag")]
    record(ledger, {"type": "complete_refund", "at": "2026-02-06T00:00:00Z", "refund": "rf-1"})
    assert reads.overdue(ledger, datetime(2026, 3, 1, tzinfo=UTC), FAR) == []


def test_a_rejected_request_may_be_escalated_once_P_D1():
    ledger = performance()
    record(ledger, req("money_back", days=10),
           {"type": "decide_refund", "at": at(11), "refund": "rf-1", "approve": False, "reason": "not satisfied?"},
           {"type": "escalate", "at": at(12), "refund": "rf-1"})
    late = reads.overdue(ledger, START + timedelta(days=25), FAR)
    assert [o.stage.rule for o in late] == ["P-D1"]
    record(ledger, {"type": "decide_escalation", "at": at(13), "refund": "rf-1", "approve": False})
    with pytest.raises(BadInput, match="already escalated once"):
        record(ledger, {"type": "escalate", "at": at(14), "refund": "rf-1"})


def test_a_new_policy_version_judges_requests_from_its_posting_on_P_V1():
    ledger = performance({"type": "report_savings", "at": at(31), "instance": "kp-1", "invoice": "inv-1",
                          "actual_savings": "4000.00"},
                         {"type": "post_policy", "at": at(60), "policy": "korpro", "version": "2026-03-06",
                          "parameters": {"performance_rate": "0.25"}})
    before, after = q(ledger, "savings_shortfall", 59), q(ledger, "savings_shortfall", 61)
    assert (before["policy"], before["amount"]) == ("korpro-2025-12-20", "1200.00")  # 2000 - 0.20 x 4000
    assert (after["policy"], after["amount"]) == ("korpro-2026-03-06", "1000.00")  # 2000 - 0.25 x 4000
    with pytest.raises(BadInput, match="parameters: unknown KorPro parameter 'colour'"):
        record(ledger, {"type": "post_policy", "at": at(70), "policy": "korpro", "version": "v3",
                        "parameters": {"colour": "red"}})
    record(ledger, req("savings_shortfall", days=61))
    applied = [e for e in reads.events_of(ledger, "kp-1") if type(e).__name__ == "RefundRequested"][0]
    assert (applied.policy_version, applied.amount) == ("korpro-2026-03-06", 1000)
