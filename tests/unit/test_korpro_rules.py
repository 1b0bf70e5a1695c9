"""KorPro's judges called directly (domain.policies.korpro.rules): one per refund reason, each returning the
lines it would refund or the reasons it denies, on a subscription replayed from a real feed.

The figures are worked out in each test from the rule's own formula (rules-korpro.md).
"""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from adapters.services import reads
from domain.policies.korpro import rules
from domain.policies.korpro.parameters import KorProParameters
from domain.policies.korpro.view import replay_subscription
from tests.feedkit import FAR
from tests.unit.test_korpro import START, charge, fixed, performance

P = KorProParameters()


def view(ledger, instance="kp-1", days=10.0, reason=""):
    v = replay_subscription(instance, reads.events_of(ledger, instance), START + timedelta(days=days), FAR)
    return replace(v, reason=reason)


def ask(days, reason, invoice="inv-1"):
    return rules.KorProRequest(START + timedelta(days=days), reason, invoice)


def refunds(judged):
    return [(ln.order, ln.rule, str(ln.refund)) for ln in judged.lines]


def rules_of(judged):
    return [r.rule for r in judged.reasons]


def test_money_back_refunds_every_fee_within_30_days_then_nothing_P_G1():
    ledger = performance()
    assert refunds(rules.money_back(view(ledger, days=29), ask(29, "money_back"), P)) == [
        ("inv-1", "P-G1", "2000.00")]  # only inv-1 is charged by day 29
    late = rules.money_back(view(ledger, days=31), ask(31, "money_back"), P)
    assert (late.lines, rules_of(late)) == ([], ["P-G1"])


def test_trial_refunds_every_fee_within_14_days_of_the_first_payment_P_F1():
    ledger = fixed()
    assert refunds(rules.trial(view(ledger, "kp-2", 14), ask(14, "trial"), P)) == [("inv-1", "P-F1", "600.00")]
    assert rules_of(rules.trial(view(ledger, "kp-2", 15), ask(15, "trial"), P)) == ["P-F1"]


def test_change_of_mind_after_the_trial_is_never_refunded_P_N1_P_F2():
    judged = rules.change_of_mind(view(fixed(), "kp-2", 20), ask(20, "change_of_mind"), P)
    assert judged.lines == [] and rules_of(judged)[:2] == ["P-N1", "P-F2"]


def test_savings_shortfall_reprices_a_month_on_its_actual_savings_P_G2():
    report = {"type": "report_savings", "at": (START + timedelta(days=31)).isoformat(), "instance": "kp-1",
              "invoice": "inv-1", "actual_savings": "4000.00"}
    judged = rules.savings_shortfall(view(performance(report), days=40), ask(40, "savings_shortfall"), P)
    assert refunds(judged) == [("inv-1", "P-G2", str(Decimal("2000.00") - Decimal("0.20") * 4000))]  # 1200.00


def test_early_termination_offers_the_months_paid_ahead_as_a_ceiling_P_G3():
    ahead = {**charge("inv-4", 3), "at": (START + timedelta(days=80)).isoformat()}  # billed 10 days ahead
    judged = rules.early_termination(view(performance(ahead), days=85), ask(85, "early_termination"), P)
    assert refunds(judged) == [("inv-4", "P-G3", "2000.00")] and judged.ceiling == Decimal("2000.00")
    used = rules.early_termination(view(performance(), days=45), ask(45, "early_termination"), P)
    assert (used.lines, rules_of(used)) == ([], ["P-G3"])  # every month paid so far has begun


def test_a_period_starting_exactly_at_the_request_is_not_yet_used_P_G3():
    """P-G3 Decision (2026-12): a billing period not yet used starts at or after the request (one starting
    exactly then has had no use); one second later it is in progress, so used."""
    ahead = {**charge("inv-4", 3), "at": (START + timedelta(days=80)).isoformat()}  # period from day 90
    exactly = rules.early_termination(view(performance(ahead), days=90), ask(90, "early_termination"), P)
    assert refunds(exactly) == [("inv-4", "P-G3", "2000.00")]
    later = rules.early_termination(view(performance(ahead), days=90 + 1 / 86400),
                                    ask(90 + 1 / 86400, "early_termination"), P)
    assert (later.lines, rules_of(later)) == ([], ["P-G3"])


def test_a_billing_error_refunds_the_incorrect_part_P_B1():
    error = {"type": "report_billing_error", "at": (START + timedelta(days=2)).isoformat(), "instance": "kp-1",
             "invoice": "inv-1", "incorrect_amount": "150.00"}
    judged = rules.billing_error(view(performance(error), days=3), ask(3, "billing_error"), P)
    assert refunds(judged) == [("inv-1", "P-B1", "150.00")]
    assert rules_of(rules.billing_error(view(performance(), days=3), ask(3, "billing_error"), P)) == ["P-B1"]


def test_an_outage_over_24_hours_refunds_its_share_of_the_period_P_O1():
    outage = {"type": "report_outage", "at": (START + timedelta(days=12)).isoformat(), "instance": "kp-1",
              "start": (START + timedelta(days=10)).isoformat(), "end": (START + timedelta(days=11.5)).isoformat()}
    judged = rules.outage(view(performance(outage), days=13), ask(13, "outage"), P)
    share = Fraction(2000) * Fraction(36, 30 * 24)  # 36 h of a 30-day period
    assert refunds(judged) == [("inv-1", "P-O1", f"{Decimal(share.numerator) / share.denominator:.2f}")]
    short = dict(outage, end=(START + timedelta(days=11)).isoformat())  # exactly 24 h: nothing
    assert rules_of(rules.outage(view(performance(short), days=13), ask(13, "outage"), P)) == ["P-O1"]


def test_not_as_described_is_capped_by_the_charge_within_30_days_P_X1():
    ledger = performance()
    judged = rules.not_as_described(view(ledger, days=20), ask(20, "not_as_described"), P)
    assert judged.ceiling == Decimal("2000.00")
    assert rules_of(rules.not_as_described(view(ledger, days=31), ask(31, "not_as_described"), P)) == ["P-X1"]


def test_technical_incompatibility_within_30_days_refunds_every_fee_P_X2():
    assert refunds(rules.incompatible(view(performance(), days=5), ask(5, "technical_incompatibility"), P)) == [
        ("inv-1", "P-X2", "2000.00")]


def test_user_error_and_third_party_charges_are_never_refunded_P_N3_P_N4():
    v = view(performance())
    assert rules_of(rules.JUDGES["user_error"](v, ask(10, "user_error"), P)) == ["P-N3"]
    assert rules_of(rules.JUDGES["third_party"](v, ask(10, "third_party"), P)) == ["P-N4"]


def test_an_invoice_off_the_pricing_formula_is_flagged_not_rewritten_P_M2():
    ledger = fixed(charge("inv-3", 2, "650.00", "kp-2"))
    flags = rules.suspected_billing_errors(view(ledger, "kp-2", 70), P)
    assert [(r.rule, "inv-3" in r.message) for r in flags] == [("P-M2", True)]
