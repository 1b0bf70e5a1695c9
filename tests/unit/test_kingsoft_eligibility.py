"""Eligibility and the refund lifecycle, rule by rule (rules-kingsoft.md: K-F*, K-S*, K-Q*, K-E1, K-L*)."""

from decimal import Decimal

import pytest

from adapters.formats.feed import BadInput
from adapters.services import reads
from domain.instance import account_id, instance_id
from tests.feedkit import FAR, T0, day, downgrade, ledger_with, purchase, quote, record, renew, upgrade


def req(instance="kec-1", refund="r1", at=day(1), **extra):
    return {"type": "request_refund", "id": f"line-{refund}", "at": at.isoformat(), "instance": instance,
            "refund": refund, **extra}


def auto(ledger, instance="kec-1", at=day(1), **kw):
    return quote(ledger, instance, at=at, mode=kw.pop("mode", "auto"), **kw).as_json()


def rules(q):
    return [r["rule"] for r in q["reasons"]]


def kec_with_eip_and_disks(*, eip_mbps=100, disks=1, **kec):
    lines = [purchase("kec-1", **kec), purchase("eip-1", product="EIP", bandwidth_mbps=eip_mbps)]
    lines += [{"type": "bind_eip", "at": day(0, hours=1).isoformat(), "instance": "kec-1", "eip": "eip-1"}]
    for n in range(disks):
        lines += [purchase(f"ebs-{n}", product="EBS"),
                  {"type": "mount_disk", "at": day(0, hours=1).isoformat(), "instance": "kec-1",
                   "disk": f"ebs-{n}"}]
    return lines


# ----- five-day -----

def test_new_kec_within_five_days_gets_its_whole_actual_payment_back_K_F1_K_F9():
    ledger = ledger_with(purchase(months=12, price="10.00", payment={"cash": "100.00", "voucher": "20.00"}))
    q = auto(ledger, at=day(3))
    assert (q["mode"], q["eligible"], q["amount"]) == ("five_day", True, "100.00")
    assert [ln["rule"] for ln in q["lines"]] == ["K-F9"]


@pytest.mark.parametrize("product", ["MongoDB", "KingAI", "Redis"])
def test_other_products_have_no_five_day_refund_K_F1(product):
    ledger = ledger_with(purchase("x-1", product=product))
    q = auto(ledger, "x-1", at=day(1), mode="five_day")
    assert (q["eligible"], q["mode"], rules(q)) == (False, "none", ["K-F1"])


def test_pay_as_you_go_billing_has_no_five_day_refund_K_F1():
    ledger = ledger_with(purchase(billing="pay_as_you_go"))
    assert "K-F1" in rules(auto(ledger, mode="five_day"))


def test_five_day_window_is_120_hours_inclusive_from_activation_K_F2():
    ledger = ledger_with(purchase(at=day(0), activated_at=day(1)))
    assert auto(ledger, at=day(6))["mode"] == "five_day"  # exactly 120 h after activation
    late = auto(ledger, at=day(6, seconds=1), mode="five_day")
    assert rules(late) == ["K-F2"] and "2026-01-07T00:00:00+08:00" in late["reasons"][0]["message"]


def test_before_activation_the_five_day_window_is_open_and_refunds_the_whole_payment_K_F2_K_F9_K_A2():
    """K-F2 Decision: a request between purchase and activation is five-day eligible; the amount is the
    whole actual payment (cash + cloud_ticket, K-M1), the same as the K-A2 self-service amount."""
    ledger = ledger_with(purchase(months=12, price="10.00", at=day(0), activated_at=day(10),
                                  payment={"cash": "90.00", "cloud_ticket": "10.00", "voucher": "20.00"}))
    q = auto(ledger, at=day(2))
    assert (q["mode"], q["eligible"], q["outcome"], q["amount"], q["reasons"]) == ("five_day", True, "refund",
                                                                                   "100.00", [])
    assert [(ln["rule"], ln["refund"]) for ln in q["lines"]] == [("K-F9", "100.00")]
    self_service = auto(ledger, at=day(2), mode="self_service")
    assert [(ln["rule"], ln["refund"]) for ln in self_service["lines"]] == [("K-A2", "100.00")]


def test_a_trial_starts_the_five_day_window_K_F2():
    ledger = ledger_with(purchase(at=day(3), trial_started_at=day(0)))
    assert rules(auto(ledger, at=day(5, seconds=1), mode="five_day")) == ["K-F2"]


@pytest.mark.parametrize("change", [
    renew(order="r", months=1, at=day(1)),
    upgrade(order="u", price="20.00", cash="5.00", at=day(1)),
    downgrade(order="d", price="5.00", credit="1.00", at=day(1)),
    {"type": "change_billing_mode", "at": day(1).isoformat(), "instance": "kec-1", "mode": "pay_as_you_go"},
])
def test_only_new_purchases_get_a_five_day_refund_K_F3(change):
    ledger = ledger_with(purchase(), change)
    q = auto(ledger, at=day(2))
    assert q["mode"] == "self_service"
    assert [r["rule"] for r in q["reasons"]] == ["K-F3"]  # informational: why five-day was passed over


def test_one_five_day_refund_per_product_per_account_K_F4():
    ledger = ledger_with(purchase("kec-1"), purchase("kec-2", at=day(10)), purchase("ebs-1", product="EBS",
                                                                                       at=day(10)))
    record(ledger, req("kec-1", "r1", at=day(1)))
    assert rules(auto(ledger, "kec-2", at=day(11), mode="five_day")) == ["K-F4"]
    assert auto(ledger, "ebs-1", at=day(11))["mode"] == "five_day"  # another product is fine


def test_a_rejected_five_day_refund_does_not_use_the_products_allowance_K_F4_K_Q2():
    ledger = ledger_with(purchase("kec-1"), purchase("kec-2", at=day(10)))
    record(ledger, req("kec-1", "r1", at=day(1)),
           {"type": "reject_refund", "at": day(2).isoformat(), "refund": "r1", "reason": "abnormal"})
    assert auto(ledger, "kec-2", at=day(11))["mode"] == "five_day"


def test_instances_purchased_within_five_days_after_a_five_day_refund_are_excluded_K_F5():
    ledger = ledger_with(purchase("kec-1"), purchase("ebs-1", product="EBS", at=day(6)),
                         purchase("ebs-2", product="EBS", at=day(6, seconds=1)))
    record(ledger, req("kec-1", "r1", at=day(1)))
    assert rules(auto(ledger, "ebs-1", at=day(7), mode="five_day")) == ["K-F5"]  # purchased at t0 + 120 h
    assert auto(ledger, "ebs-2", at=day(7))["mode"] == "five_day"


def test_bound_eip_rides_with_its_kec_K_F6():
    ledger = ledger_with(*kec_with_eip_and_disks(disks=0))
    q = auto(ledger, at=day(2), with_=["eip-1"])
    assert (q["mode"], q["amount"]) == ("five_day", "240.00")
    assert rules(auto(ledger, "eip-1", at=day(2), mode="five_day")) == ["K-F6"]  # not on its own


def test_eip_over_200_mbps_denies_the_whole_application_K_F6():
    ledger = ledger_with(*kec_with_eip_and_disks(disks=0, eip_mbps=300))
    q = auto(ledger, at=day(2), with_=["eip-1"], mode="five_day")
    assert (q["eligible"], rules(q)) == (False, ["K-F6"])
    assert auto(ledger, at=day(2))["mode"] == "five_day"  # applying again without the EIP


def test_renewed_eip_is_not_five_day_refundable_K_F6():
    ledger = ledger_with(*kec_with_eip_and_disks(disks=0), renew("eip-1", order="er", months=1, at=day(1)))
    assert "K-F6" in rules(auto(ledger, at=day(2), with_=["eip-1"], mode="five_day"))


def test_at_most_one_mounted_ebs_per_kec_application_K_F7():
    ledger = ledger_with(*kec_with_eip_and_disks(disks=2))
    assert rules(auto(ledger, at=day(2), with_=["ebs-0", "ebs-1"], mode="five_day")) == ["K-F7"]
    assert auto(ledger, at=day(2), with_=["ebs-0"])["mode"] == "five_day"
    assert auto(ledger, "ebs-1", at=day(2))["mode"] == "five_day"  # an EBS on its own


def test_krds_with_an_undeleted_kdrds_is_not_eligible_K_F8():
    assoc = {"type": "associate_kdrds", "at": day(0, hours=1).isoformat(), "instance": "db-1", "kdrds": "kd-1"}
    ledger = ledger_with(purchase("db-1", product="KRDS"), assoc)
    assert rules(auto(ledger, "db-1", at=day(2), mode="five_day")) == ["K-F8"]
    record(ledger, {**assoc, "type": "delete_kdrds", "at": day(1).isoformat()})
    assert auto(ledger, "db-1", at=day(2))["mode"] == "five_day"


def test_a_bundle_whose_only_paid_order_is_a_non_refundable_promotion_is_denied_in_every_mode_K_P1():
    """K-P1 Decision: five-day, self-service and exception requests alike; with the EIP bought without
    promotion (mixed), the EIP refunds and the KEC's line cites K-P1 at 0.00."""
    promoted = {"id": "double-11", "refundable": False}
    ledger = ledger_with(*kec_with_eip_and_disks(disks=0, promotion=promoted))
    for mode in ("auto", "five_day", "self_service", "exception"):
        q = auto(ledger, at=day(2), mode=mode, exception_report="ER-1")
        assert (q["eligible"], q["mode"], q["outcome"], rules(q)[0]) == (False, "none", "denied", "K-P1"), mode
    mixed = auto(ledger, at=day(2), with_=["eip-1"])
    assert (mixed["eligible"], mixed["mode"], mixed["outcome"], mixed["amount"]) == (True, "five_day", "refund",
                                                                                       "120.00")
    assert [(ln["instance"], ln["rule"], ln["refund"]) for ln in mixed["lines"]] == [
        ("kec-1", "K-P1", "0.00"), ("eip-1", "K-F9", "120.00")]


def test_a_denied_promoted_request_releases_nothing_and_uses_no_quota_K_P1_K_L3_K_Q1():
    """K-P1 Decision through the service: the request is recorded as denied (RefundDenied, with its
    K-P1 reason), the instance takes later orders (not released, K-L3) and the month keeps its three
    applications (denied requests do not count, K-Q1)."""
    others = [f"db-{n}" for n in range(3)]
    ledger = ledger_with(purchase(cash="99.00", promotion={"id": "double-11", "refundable": False}),
                         *(purchase(n, product="MongoDB") for n in others))
    result = record(ledger, req(at=day(10)))
    assert (result.recorded, result.denied) == (1, 1)
    kinds = [type(e).__name__ for e in reads.events_of(ledger, "kec-1")]
    assert "RefundDenied" in kinds and "RefundApplied" not in kinds
    denied = [e for e in reads.events_of(ledger, "kec-1") if type(e).__name__ == "RefundDenied"][0]
    # most specific first; auto also tried five-day, whose window (K-F2) had closed
    assert [r["rule"] for r in denied.reasons] == ["K-P1", "K-F2"] and "double-11" in denied.reasons[0]["message"]
    assert (denied.quote["outcome"], denied.quote["amount"], denied.quote["lines"]) == ("denied", "0.00", [])
    account = [type(e).__name__ for e in ledger.events.get(account_id("acme"))]
    assert "ApplicationDenied" in account and "ApplicationAccepted" not in account
    assert "K-L3" not in rules(auto(ledger, at=day(11)))
    assert record(ledger, renew(order="r-after", months=1, at=day(11))).recorded == 1
    accepted = record(ledger, *(req(n, f"r-{n}", at=day(12)) for n in others))
    assert (accepted.recorded, accepted.denied) == (3, 0)


def test_promotion_without_five_day_refund_wins_K_P1_K_F9():
    ledger = ledger_with(purchase(promotion={"id": "p", "five_day_refund": False}))
    q = auto(ledger, at=day(1))
    assert q["mode"] == "self_service" and rules(q) == ["K-P1"]


# ----- self-service -----

def test_self_service_after_five_days_pays_the_amount_rules_K_S1_K_S4():
    ledger = ledger_with(purchase(months=12, price="30.00", cash="360.00"))
    q = auto(ledger, at=day(10))
    assert (q["mode"], q["amount"], q["lines"][0]["rule"]) == ("self_service", "350.00", "K-A1")
    assert rules(q) == ["K-F2"]


@pytest.mark.parametrize("product", ["MongoDB", "KingAI", "EBS", "KRDS"])
def test_self_service_products_K_S1(product):
    assert auto(ledger_with(purchase("x", product=product)), "x", at=day(10))["mode"] == "self_service"


def test_products_outside_the_lists_are_denied_with_every_reason_K_S1_K_F1():
    q = auto(ledger_with(purchase("x", product="CDN")), "x", at=day(10))
    assert (q["eligible"], q["outcome"], q["mode"], q["amount"]) == (False, "denied", "none", "0.00")
    assert rules(q) == ["K-F2", "K-S1", "K-F1"]  # most specific first


def test_market_image_kec_has_no_self_service_refund_K_S2():
    q = auto(ledger_with(purchase(image="market")), at=day(10))
    assert q["eligible"] is False and rules(q)[0] == "K-S2"


def test_renewed_then_downgraded_with_overlap_is_not_eligible_K_S3():
    ledger = ledger_with(purchase(months=1), renew(order="r", months=1, at=day(5)),
                         downgrade(order="d", price="5.00", credit="1.00", at=day(10)))
    q = auto(ledger, at=day(20))
    assert q["eligible"] is False and "K-S3" in rules(q)
    downgraded_first = ledger_with(purchase(months=1), downgrade(order="d", price="5.00", credit="1.00", at=day(5)),
                                   renew(order="r", months=1, price="5.00", at=day(10)))
    assert auto(downgraded_first, at=day(20))["eligible"] is True


# ----- every console application -----

def test_three_applications_per_account_per_calendar_month_K_Q1():
    names = [f"kec-{n}" for n in range(5)]
    ledger = ledger_with(*(purchase(n, product="MongoDB") for n in names))
    result = record(ledger, *(req(n, f"r{i}", at=day(20 + i)) for i, n in enumerate(names[:4])))
    assert (result.recorded, result.denied) == (4, 1)
    assert rules(auto(ledger, "kec-4", at=day(25), mode="self_service")) == ["K-Q1"]
    # the quota is per calendar month in the policy's time zone (+08:00): February is free
    assert auto(ledger, "kec-4", at=day(31))["eligible"] is True


def test_denied_and_exception_requests_do_not_count_K_Q1_K_E1():
    names = [f"db-{n}" for n in range(5)]
    ledger = ledger_with(purchase("cdn-1", product="CDN"), *(purchase(n, product="MongoDB") for n in names))
    record(ledger, req("cdn-1", "d1", at=day(10)),  # denied (K-S1)
           req("db-0", "e1", at=day(10), mode="exception", exception_report="ER-7"),
           *(req(n, f"r{i}", at=day(11)) for i, n in enumerate(names[1:4])))
    assert rules(auto(ledger, "db-4", at=day(12), mode="self_service")) == ["K-Q1"]
    account = list(ledger.events.get(account_id("acme")))
    assert [type(e).__name__ for e in account][1:3] == ["ApplicationDenied", "ApplicationAccepted"]


def test_staff_rejection_keeps_the_quota_slot_used_K_Q2():
    """K-Q2: staff may reject an application after it was submitted; the quota slot stays used."""
    names = [f"db-{n}" for n in range(4)]
    ledger = ledger_with(*(purchase(n, product="MongoDB") for n in names))
    record(ledger, *(req(n, f"r{i}", at=day(20)) for i, n in enumerate(names[:3])),
           {"type": "reject_refund", "at": day(21).isoformat(), "refund": "r0", "reason": "malicious"})
    assert rules(auto(ledger, "db-3", at=day(22), mode="self_service")) == ["K-Q1"]
    # r0 was rejected: db-0 is no longer released (no K-L3), but the month's quota is still used up
    assert rules(auto(ledger, "db-0", at=day(22), mode="self_service")) == ["K-Q1"]


def test_exception_refund_needs_a_cited_report_and_pays_the_self_service_amount_K_E1():
    ledger = ledger_with(purchase("cdn-1", product="CDN", months=12, price="30.00"))
    denied = auto(ledger, "cdn-1", at=day(10), mode="exception")
    assert rules(denied) == ["K-E1"]
    q = auto(ledger, "cdn-1", at=day(10), exception_report="ER-2026-7")
    assert (q["mode"], q["amount"]) == ("exception", "350.00")
    assert auto(ledger, "cdn-1", at=day(10), reason="product_retirement")["mode"] == "exception"


# ----- lifecycle -----

def test_the_quote_is_frozen_into_the_application_K_L1():
    ledger = ledger_with(purchase(months=12, price="30.00", cash="360.00"),
                         {**upgrade(order="u1", price="60.00", cash="100.00", at=day(5)), "id": "u1"})
    record(ledger, req(at=day(10)))
    applied = [e for e in reads.events_of(ledger, "kec-1") if type(e).__name__ == "RefundApplied"][0]
    # K-A1: 360 - 10 = 350; K-U1: 100/355 x (355 - 5) = 98.59
    assert (applied.amount, applied.quote["amount"], applied.quote["mode"]) == (Decimal("448.59"), "448.59",
                                                                                 "self_service")
    record(ledger, {"type": "retract", "at": day(11).isoformat(), "target": "u1", "reason": "upgrade never ran"})
    assert auto(ledger, at=day(10))["amount"] != "448.59"  # what the ledger would say now...
    again = [e for e in reads.events_of(ledger, "kec-1") if type(e).__name__ == "RefundApplied"][0]
    assert again.quote == applied.quote  # ...does not change what was decided then


def test_applications_are_overdue_after_five_working_days_K_L2():
    from datetime import date

    from projections.deadlines import due

    ledger = ledger_with(purchase(product="MongoDB"))
    record(ledger, req(at=day(8, hours=10)))  # Friday 2026-01-09 10:00 +08:00
    assert due(day(8, hours=10), "+08:00", ()).isoformat() == "2026-01-16T23:59:59.999999+08:00"
    assert due(day(8, hours=10), "+08:00", (date(2026, 1, 12),)).date().isoformat() == "2026-01-19"
    assert reads.overdue(ledger, day(15, hours=12), FAR) == []
    late = reads.overdue(ledger, day(16), FAR)
    assert [(o.stage.refund, o.stage.rule) for o in late] == [("r1", "K-L2")]
    assert reads.overdue(ledger, day(16), FAR, holidays=(date(2026, 1, 12),)) == []
    record(ledger, {"type": "complete_refund", "at": day(17).isoformat(), "refund": "r1"})
    assert reads.overdue(ledger, day(18), FAR) == []
    assert [o.stage.refund for o in reads.overdue(ledger, day(16, hours=1), FAR)] == ["r1"]


def test_refunded_instances_are_released_and_take_no_more_orders_K_L3():
    ledger = ledger_with(*kec_with_eip_and_disks(disks=1))
    record(ledger, req(at=day(2), **{"with": ["eip-1", "ebs-0"]}))
    for name in ("kec-1", "eip-1", "ebs-0"):
        with pytest.raises(BadInput, match="released by refund 'r1'"):
            record(ledger, renew(name, order=f"{name}-r", months=1, at=day(3)))
    with pytest.raises(BadInput, match="line 1: instance: .*released"):
        record(ledger, req(refund="r2", at=day(3)))
    assert auto(ledger, at=day(3))["reasons"][0]["rule"] == "K-L3"


def test_rejection_unreleases_every_instance_of_the_application_K_L3_K_Q2():
    ledger = ledger_with(*kec_with_eip_and_disks(disks=0))
    record(ledger, req(at=day(2), **{"with": ["eip-1"]}),
           {"type": "reject_refund", "at": day(3).isoformat(), "refund": "r1", "reason": "abnormal"})
    result = record(ledger, renew("eip-1", order="eip-r", months=1, at=day(4)),
                    renew("kec-1", order="kec-r", months=1, at=day(4)))
    assert (result.recorded, result.denied) == (2, 0)
    again = auto(ledger, at=day(5), with_=["eip-1"], mode="self_service")
    assert (again["eligible"], rules(again)) == (True, [])  # no K-L3 on either instance


def test_a_refund_is_never_settled_twice_K_L2():
    ledger = ledger_with(purchase())
    record(ledger, req(), {"type": "complete_refund", "at": day(2).isoformat(), "refund": "r1"})
    with pytest.raises(BadInput, match="refund: refund 'r1' is completed"):
        record(ledger, {"type": "complete_refund", "at": day(3).isoformat(), "refund": "r1"})
    with pytest.raises(BadInput, match="refund: no refund 'r9'"):
        record(ledger, {"type": "reject_refund", "at": day(3).isoformat(), "refund": "r9", "reason": "x"})


def test_with_must_be_bound_or_mounted_and_of_the_same_account():
    ledger = ledger_with(purchase("kec-1"), purchase("eip-1", product="EIP"),
                         purchase("eip-2", product="EIP", account="other"))
    streams = [instance_id(n) for n in ("kec-1", "eip-1", "eip-2")] + [account_id("acme"), account_id("other")]
    before = [len(list(ledger.events.get(s))) for s in streams]
    with pytest.raises(BadInput, match="with: eip-1 is not an EIP bound to"):
        record(ledger, req(**{"with": ["eip-1"]}))
    with pytest.raises(BadInput, match="with: eip-2 belongs to account other"):
        record(ledger, req(**{"with": ["eip-2"]}))
    assert [len(list(ledger.events.get(s))) for s in streams] == before  # bad input records nothing
    assert auto(ledger, at=day(1))["mode"] == "five_day"  # the refund id and the quota are still free
    assert record(ledger, req()).denied == 0


def test_a_denied_request_is_recorded_with_its_reasons():
    ledger = ledger_with(purchase("x", product="CDN"))
    result = record(ledger, req("x", at=day(10)))
    assert (result.recorded, result.denied) == (1, 1)
    denied = [e for e in reads.events_of(ledger, "x") if type(e).__name__ == "RefundDenied"][0]
    assert [r["rule"] for r in denied.reasons] == ["K-F2", "K-S1", "K-F1"]
    assert T0 < denied.at


def test_the_explained_path_judges_each_mode_by_the_fast_paths_rules():
    """Issue 26, item 2: one rule table per mode. The explained path's table (RULES) is derived from the fast
    path's (EVERY_MODE + LEAN), so the two cannot disagree; no check is needed to keep them in step."""
    from domain.policies.kingsoft import rules as e

    assert e.RULES == {m: e.EVERY_MODE + lean for m, lean in e.LEAN.items()}


def test_both_K_P1_reasons_in_the_order_of_their_rules_K_P1():
    """A promotion that is neither refundable nor five-day-refundable: the denial names K-P1 twice, the every-mode
    refund rule first, then the five-day rule (the order the explained path gives reasons of one rule id)."""
    ledger = ledger_with(purchase(promotion={"id": "p-9", "refundable": False, "five_day_refund": False}))
    q = auto(ledger)
    assert q["outcome"] == "denied" and rules(q) == ["K-P1", "K-P1"]
    assert q["reasons"][0]["message"].startswith("every paid order of the application was bought in a promotion")
    assert q["reasons"][1]["message"] == "kec-1 was bought in promotion p-9, which has no five-day refund"
