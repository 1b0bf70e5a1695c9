"""The refund amount, rule by rule (rules-kingsoft.md: K-T3, K-T4, K-M*, K-A*, K-U1, K-D1, K-R1, K-P1).

Every expected figure is worked out by hand in the test, from the rule's own formula.
"""

from datetime import UTC, datetime

import pytest

from adapters.formats.feed import BadInput
from tests.feedkit import (
    day,
    downgrade,
    ledger_with,
    lines_by_order,
    purchase,
    quote,
    record,
    refund,
    renew,
    upgrade,
)


def test_seed_example_new_purchase_K_A1():
    """Paid 696 for 24 months at P = 50, rates {12: 0.30, 24: 0.42}, used 417 days:
    696 - (50/30 x 390 x 0.7 + 50/30 x 27) = 196.00."""
    ledger = ledger_with(purchase(months=24, price="50.00", cash="696.00", discounts={"12": "0.30", "24": "0.42"}))
    q = quote(ledger, at=day(417))
    assert q.as_json()["amount"] == "196.00"
    (line,) = q.as_json()["lines"]
    assert (line["rule"], line["paid"], line["consumed"], line["refund"]) == ("K-A1", "696.00", "500.00", "196.00")
    assert line["formula"] == "696.00 − (50/30 × 390 × 0.70 + 50/30 × 27) = 196.00"


def test_discount_factor_uses_the_largest_tier_at_or_below_full_months_K_A1():
    ledger = ledger_with(purchase(months=24, price="30.00", cash="504.00", discounts={"12": "0.30", "24": "0.30"}))
    # 11 full months + 5 days: no tier <= 11, factor 1: consumed = 1/day x 335 = 335
    assert refund(ledger, at=day(335)) == "169.00"
    # 12 full months + 5 days: tier 12 applies to the first 360 days: 360 x 0.7 + 5 = 257
    assert refund(ledger, at=day(365)) == "247.00"


def test_seed_example_upgrade_K_U1():
    """120/year, upgraded to 240/year on day 90 (upgrade paid 90), refunded 5 days later:
    upgrade 90/270 x (270 - 5) = 88.33; base 120 - 120/360 x 95 = 88.33."""
    ledger = ledger_with(purchase(months=12, price="10.00", cash="120.00"),
                         upgrade(order="up", price="20.00", cash="90.00", at=day(90)))
    q = quote(ledger, at=day(95))
    lines = lines_by_order(q)
    assert (lines["kec-1-buy"]["rule"], lines["kec-1-buy"]["refund"]) == ("K-A1", "88.33")
    assert (lines["up"]["rule"], lines["up"]["refund"]) == ("K-U1", "88.33")
    assert q.as_json()["amount"] == "176.66"


def test_upgrade_usage_is_capped_at_its_covered_days_K_U1():
    ledger = ledger_with(purchase(months=1, price="30.00", cash="30.00"),
                         upgrade(order="up", price="60.00", cash="20.00", at=day(10)))
    assert lines_by_order(quote(ledger, at=day(200)))["up"]["refund"] == "0.00"


def test_purchase_not_yet_activated_refunds_its_whole_actual_payment_K_A2_K_M1():
    ledger = ledger_with(purchase(months=12, price="15.00", at=day(0), activated_at=day(3),
                                  payment={"cash": "100.00", "cloud_ticket": "20.00", "voucher": "50.00",
                                           "gift_balance": "10.00"}))
    q = quote(ledger, at=day(2))
    (line,) = q.as_json()["lines"]
    assert (line["rule"], line["paid"], line["refund"]) == ("K-A2", "120.00", "120.00")
    assert "consumed" not in line
    # K-M1 is a Parameter: only cash refundable
    q2 = quote(ledger, at=day(2), overrides={"refundable_tenders": "cash"})
    assert q2.as_json()["amount"] == "100.00"


def test_validity_of_purchase_renewal_and_spec_change_K_T3():
    from adapters.services.reads import events_of
    from domain.policies.kingsoft.view import replay
    from tests.feedkit import FAR

    ledger = ledger_with(
        purchase(months=1, at=day(0), activated_at=day(2)),
        renew(order="r1", months=2, at=day(10)),  # placed before expiry: starts at expiry (day 32)
        upgrade(order="u1", price="20.00", cash="5.00", at=day(20)),  # [day 20, expiry day 92)
    )
    view = replay("kec-1", events_of(ledger, "kec-1"), FAR, FAR)
    spans = {o.order: (o.start, o.end) for o in view.orders}
    assert spans["kec-1-buy"] == (day(2), day(32))
    assert spans["r1"] == (day(32), day(92))
    assert spans["u1"] == (day(20), day(92))

    lapsed = ledger_with(purchase(months=1, at=day(0)), renew(order="r2", months=1, at=day(40)))
    view = replay("kec-1", events_of(lapsed, "kec-1"), FAR, FAR)
    assert {o.order: o.start for o in view.orders}["r2"] == day(40)  # already expired: starts when placed


def test_renewal_taken_effect_refunds_only_the_renewal_K_A3():
    ledger = ledger_with(purchase(months=1, price="30.00"), renew(order="r1", months=2, price="30.00", at=day(5)))
    q = quote(ledger, at=day(40))  # renewal in effect from day 30; used 10 days of it
    lines = lines_by_order(q)
    assert (lines["kec-1-buy"]["rule"], lines["kec-1-buy"]["refund"]) == ("K-A3", "0.00")
    assert (lines["r1"]["rule"], lines["r1"]["refund"]) == ("K-A3", "50.00")  # 60 - 1 x 10
    assert q.as_json()["amount"] == "50.00"


def test_renewal_not_taken_effect_refunds_base_plus_whole_renewal_K_A4_K_A2():
    """K-A4: the base order in effect by K-A1, plus the whole payment of the renewal not yet in effect (K-A2)."""
    ledger = ledger_with(purchase(months=1, price="30.00"), renew(order="r1", months=2, price="30.00", at=day(5)))
    q = quote(ledger, at=day(10))
    lines = lines_by_order(q)
    assert (lines["kec-1-buy"]["rule"], lines["kec-1-buy"]["refund"]) == ("K-A1", "20.00")  # 30 - 10
    assert (lines["r1"]["rule"], lines["r1"]["refund"]) == ("K-A2", "60.00")
    assert q.as_json()["amount"] == "80.00"


def test_upgraded_then_renewed_sums_base_upgrade_and_renewal_K_R1():
    ledger = ledger_with(
        purchase(months=12, price="10.00", cash="120.00"),
        upgrade(order="u1", price="20.00", cash="90.00", at=day(90)),  # covers days 90..360: 270 days
        renew(order="r1", months=12, price="20.00", cash="240.00", at=day(100)),
    )
    q = quote(ledger, at=day(120))
    lines = lines_by_order(q)
    assert lines["kec-1-buy"]["refund"] == "80.00"  # K-A1: 120 - 10/30 x 120
    assert lines["u1"]["refund"] == "80.00"  # K-U1: 90/270 x (270 - 30)
    assert lines["r1"]["refund"] == "240.00"  # K-A2: not yet in effect
    assert q.as_json()["amount"] == "400.00"


def test_upgrade_placed_after_a_renewal_covers_it_K_T3_K_R1():
    ledger = ledger_with(
        purchase(months=1, price="30.00"),
        renew(order="r1", months=1, price="30.00", at=day(5)),
        upgrade(order="u1", price="60.00", cash="50.00", at=day(10)),  # [10, 60): 50 days
    )
    q = quote(ledger, at=day(20))
    assert lines_by_order(q)["u1"]["refund"] == "40.00"  # 50/50 x (50 - 10)


def test_downgrade_prices_each_usage_day_at_the_spec_in_effect_K_D1():
    ledger = ledger_with(
        purchase(months=12, price="30.00", cash="360.00"),  # 1.00 a day
        upgrade(order="u1", price="60.00", cash="55.00", at=day(5)),  # 2.00 a day from day 5
        downgrade(order="d1", price="15.00", credit="100.00", at=day(10)),  # 0.50 a day from day 10
    )
    q = quote(ledger, at=day(20))
    (line,) = q.as_json()["lines"]  # the upgrade is absorbed into the K-D1 line
    assert line["rule"] == "K-D1"
    # paid 360 + 55 - 100 = 315; consumed 5 x 1.00 + 5 x 2.00 + 10 x 0.50 = 20
    assert (line["paid"], line["consumed"], line["refund"]) == ("315.00", "20.00", "295.00")


def test_downgrade_within_a_day_applies_from_the_next_day_start_K_D1():
    """Decision: a change at instant c applies to the usage day that starts at or after c."""
    ledger = ledger_with(purchase(months=12, price="30.00", cash="360.00"),
                         downgrade(order="d1", price="15.00", credit="0.00", at=day(10, hours=1)))
    # days 0..10 start before the change (11 days at 1.00), days 11..19 at 0.50
    assert refund(ledger, at=day(20)) == "344.50"  # 360 - (11 + 4.50)


def test_downgrade_without_price_change_is_exactly_K_A1_K_D1():
    plain = ledger_with(purchase(months=24, price="50.00", cash="696.00", discounts={"12": "0.30", "24": "0.42"}))
    same = ledger_with(purchase(months=24, price="50.00", cash="696.00", discounts={"12": "0.30", "24": "0.42"}),
                       downgrade(order="d1", price="50.00", credit="0.00", at=day(100)))
    assert refund(plain, at=day(417)) == refund(same, at=day(417)) == "196.00"


def test_negative_total_clears_resources_and_refunds_nothing_K_M4():
    """K-M4: a negative line (a K-D1 credit larger than what is left) gives amount 0.00, resources_cleared."""
    ledger = ledger_with(purchase(months=12, price="30.00", cash="360.00"),
                         downgrade(order="d1", price="15.00", credit="300.00", at=day(1)))
    q = quote(ledger, at=day(200)).as_json()
    # paid 60; consumed 1 day at 1.00 + 199 days at 0.50 = 100.50: the line is -40.50
    assert q["lines"][0]["refund"] == "-40.50"
    assert (q["amount"], q["outcome"]) == ("0.00", "resources_cleared")


def test_expired_instance_consumes_its_whole_term_K_T4_K_M4():
    ledger = ledger_with(purchase(months=1, price="30.00"))
    q = quote(ledger, at=day(45)).as_json()
    assert (q["amount"], q["outcome"], q["lines"][0]["refund"]) == ("0.00", "resources_cleared", "0.00")


def test_base_order_in_effect_is_the_one_whose_validity_contains_t_K_T4():
    ledger = ledger_with(purchase(months=1, price="30.00"), renew(order="r1", months=1, price="30.00", at=day(1)))
    assert lines_by_order(quote(ledger, at=day(29, hours=23)))["kec-1-buy"]["rule"] == "K-A1"
    at_boundary = lines_by_order(quote(ledger, at=day(30)))
    assert (at_boundary["r1"]["rule"], at_boundary["r1"]["refund"]) == ("K-A3", "30.00")  # start inclusive, 0 days


def test_half_down_rounding_per_line_K_M2():
    ledger = ledger_with(purchase(months=1, price="0.15", cash="0.15"))  # 0.005 a day
    assert refund(ledger, at=day(1)) == "0.14"  # 0.145 rounds half-down


def test_lines_round_individually_and_add_up_K_M2():
    ledger = ledger_with(purchase(months=1, price="0.15", cash="0.15"),
                         renew(order="r1", months=1, price="0.15", cash="0.15", at=day(0, hours=1)))
    q = quote(ledger, at=day(1)).as_json()
    assert [ln["refund"] for ln in q["lines"]] == ["0.14", "0.15"]
    assert q["amount"] == "0.29"


def test_a_request_whose_only_paid_order_is_a_non_refundable_promotion_is_denied_K_P1():
    """K-P1 Decision: denied (not cleared under K-M4), citing the promotion and its purchase."""
    ledger = ledger_with(purchase(months=12, price="10.00", cash="99.00",
                                  promotion={"id": "double-11", "refundable": False}))
    q = quote(ledger, at=day(10)).as_json()
    assert (q["eligible"], q["mode"], q["outcome"], q["amount"], q["lines"]) == (False, "none", "denied", "0.00", [])
    (reason,) = q["reasons"]
    assert reason["rule"] == "K-P1" and "kec-1 order kec-1-buy (promotion double-11)" in reason["message"]
    assert [(f["fact"], f["ref"]) for f in reason["facts"]] == [("Purchased", "kec-1-buy")]


def test_a_non_refundable_promoted_order_refunds_nothing_and_the_other_orders_refund_as_usual_K_P1_K_A4():
    ledger = ledger_with(purchase(months=1, price="30.00", cash="25.00",
                                  promotion={"id": "double-11", "refundable": False}),
                         renew(order="r1", months=1, price="30.00", at=day(5)))
    q = quote(ledger, at=day(10))
    lines = lines_by_order(q)
    assert (lines["kec-1-buy"]["rule"], lines["kec-1-buy"]["refund"]) == ("K-P1", "0.00")
    assert "double-11" in lines["kec-1-buy"]["formula"]
    assert (lines["r1"]["rule"], lines["r1"]["refund"]) == ("K-A2", "30.00")
    assert (q.eligible, q.outcome, q.as_json()["amount"]) == (True, "refund", "30.00")


def test_nothing_paid_at_all_is_cleared_not_denied_K_M4_K_P1():
    """With no actual payment (K-M1) and no non-refundable promotion, K-M4 clears."""
    ledger = ledger_with(purchase(months=1, price="30.00", payment={"voucher": "30.00"}))
    q = quote(ledger, at=day(10)).as_json()
    assert (q["eligible"], q["outcome"], q["amount"], q["reasons"]) == (True, "resources_cleared", "0.00", [])


def test_a_non_refundable_promotion_paid_with_vouchers_only_is_denied_not_cleared_K_P1_K_M4():
    """K-P1 Decision (2026-12): no order has an actual payment and one is a ``refundable: false`` promoted
    order: denied under K-P1 (the instance is not released), not cleared under K-M4."""
    ledger = ledger_with(purchase(months=1, price="30.00", payment={"voucher": "30.00"},
                                  promotion={"id": "free-trial", "refundable": False}))
    for mode in ("auto", "five_day", "self_service"):
        q = quote(ledger, at=day(10) if mode != "five_day" else day(1), mode=mode).as_json()
        assert (q["eligible"], q["outcome"], q["amount"]) == (False, "denied", "0.00"), mode
        assert q["reasons"][0]["rule"] == "K-P1" and "free-trial" in q["reasons"][0]["message"], mode
        assert [(f["fact"], f["ref"]) for f in q["reasons"][0]["facts"]] == [("Purchased", "kec-1-buy")], mode


def test_a_non_refundable_promoted_order_after_its_validity_cites_K_P1_not_K_A3():
    """K-P1 Decision (2026-12), the issue's reproduction: the promoted EBS purchase is superseded by its
    renewal (K-A3 would make it 0.00 too); its line cites K-P1, the renewal refunds by K-A3:
    300 - 300/30 x 5 = 250.00."""
    t0 = "2027-03-01T00:00:00Z"
    ledger = ledger_with(
        purchase("ebs-p", order="o-p1", months=1, price="300.00", cash="300.00", at=t0, product="EBS", account="b",
                 promotion={"id": "p", "refundable": False, "five_day_refund": False}),
        renew("ebs-p", order="o-p2", months=1, price="300.00", cash="300.00", at="2027-03-10T00:00:00Z"))
    q = quote(ledger, "ebs-p", at=datetime(2027, 4, 5, tzinfo=UTC))
    lines = lines_by_order(q)
    assert (lines["o-p1"]["rule"], lines["o-p1"]["refund"], lines["o-p1"]["formula"]) == \
        ("K-P1", "0.00", "promotion p is not refundable: 0.00")
    assert (lines["o-p2"]["rule"], lines["o-p2"]["refund"]) == ("K-A3", "250.00")
    assert (q.outcome, q.as_json()["amount"]) == ("refund", "250.00")


def test_what_counts_as_paid_follows_the_refundable_tenders_K_P1_K_M1():
    """With ``refundable_tenders=cash`` a renewal paid in cloud tickets has no actual payment, so the
    promoted purchase is the only paid order: denied."""
    ledger = ledger_with(purchase(months=1, price="30.00", cash="30.00",
                                  promotion={"id": "double-11", "refundable": False}),
                         renew(order="r1", months=1, price="30.00", at=day(5), payment={"cloud_ticket": "30.00"}))
    assert quote(ledger, at=day(10)).as_json()["amount"] == "30.00"
    q = quote(ledger, at=day(10), overrides={"refundable_tenders": "cash"}).as_json()
    assert (q["outcome"], [r["rule"] for r in q["reasons"]]) == ("denied", ["K-P1"])


def test_promotion_that_stays_refundable_follows_the_general_rule_K_P1():
    ledger = ledger_with(purchase(months=12, price="10.00", cash="99.00", promotion={"id": "spring"}))
    assert refund(ledger, at=day(30)) == "89.00"  # 99 - 10/30 x 30


def test_mixed_currencies_on_one_instance_are_bad_input_K_M3():
    ledger = ledger_with(purchase(months=1))
    with pytest.raises(BadInput, match="line 1: currency: .*CNY.*K-M3"):
        record(ledger, renew(order="r1", months=1, at=day(5), currency="USD"))
