"""The Kingsoft eligibility rules one by one (rules-kingsoft.md: K-L3, K-Q1, K-F1..K-F8, K-P1, K-S1..K-S3, K-E1).

Each test calls the rule function itself on an `Application` of views replayed from an in-memory ledger,
and asserts on the `Reason`s it returns: the rule id, the facts the message names, and the recorded facts it
cites. `judge` and the service are exercised in test_kingsoft_eligibility.py.
"""

from datetime import UTC, datetime

from adapters.services import reads
from domain.instance import account_id
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.policies.kingsoft.rules import (
    Application,
    Request,
    cooling_off,
    eip_rides_with_kec,
    exception_cited,
    five_day_products,
    five_day_window,
    kdrds_first,
    market_image,
    new_purchase_only,
    one_ebs_per_kec,
    one_per_product,
    promotion_forbids_five_day,
    promotion_forbids_refund,
    quota,
    released,
    renewal_downgrade_overlap,
    self_service_products,
)
from domain.policies.kingsoft.view import applications, replay
from tests.feedkit import FAR, day, downgrade, ledger_with, purchase, record, renew, upgrade

NOT_REFUNDABLE = {"id": "double-11", "refundable": False}


def application(ledger, *names, at=day(1), account="acme", params=KingsoftParameters(), **request):
    """The request for ``names`` (primary first) at ``at``, with the account's earlier applications."""
    views = [replay(n, reads.events_of(ledger, n), at, FAR) for n in names]
    prior = applications(ledger.streams.get(account_id(account)), at, FAR)
    return Application(views, prior, Request(at=at, **request), FAR, params)


def req(instance="kec-1", refund="r1", at=day(1), **extra):
    return {"type": "request_refund", "at": at.isoformat(), "instance": instance, "refund": refund, **extra}


def bind(kec, eip):
    return {"type": "bind_eip", "at": day(0, hours=1).isoformat(), "instance": kec, "eip": eip}


def mount(kec, disk):
    return {"type": "mount_disk", "at": day(0, hours=1).isoformat(), "instance": kec, "disk": disk}


def cited(reason):
    return [(c.fact, c.ref) for c in reason.facts]


# ----- every mode -----

def test_released_names_the_refund_that_released_the_instance_K_L3():
    ledger = ledger_with(purchase())
    assert released(application(ledger, "kec-1", at=day(1))) == []
    record(ledger, req(at=day(1)))
    (reason,) = released(application(ledger, "kec-1", at=day(2)))
    assert (reason.rule, reason.message) == ("K-L3", "kec-1 was already released by refund r1")
    assert cited(reason) == [("RefundApplied", "r1")]


def test_released_ignores_an_application_rejected_later_K_L3_K_Q2():
    ledger = ledger_with(purchase())
    record(ledger, req(at=day(1)), {"type": "reject_refund", "at": day(2).isoformat(), "refund": "r1",
                                    "reason": "abnormal"})
    assert released(application(ledger, "kec-1", at=day(3))) == []


def test_quota_counts_the_accepted_applications_of_the_calendar_month_K_Q1():
    names = [f"db-{n}" for n in range(4)]
    ledger = ledger_with(*(purchase(n, product="MongoDB") for n in names))
    record(ledger, *(req(n, f"r{i}", at=day(20 + i)) for i, n in enumerate(names[:2])))
    assert quota(application(ledger, "db-3", at=day(25))) == []  # two so far
    record(ledger, req("db-2", "r2", at=day(22)))
    (reason,) = quota(application(ledger, "db-3", at=day(25)))
    assert reason.rule == "K-Q1"
    assert "account acme already made 3 refund applications in 2026-01 (r0, r1, r2)" in reason.message
    assert cited(reason) == [("ApplicationAccepted", "r0"), ("ApplicationAccepted", "r1"),
                             ("ApplicationAccepted", "r2")]
    assert quota(application(ledger, "db-3", at=day(31))) == []  # 2026-02-01 00:00 +08:00: a new month


def test_quota_skips_exception_refunds_and_counts_in_the_policy_time_zone_K_Q1_K_E1():
    names = [f"db-{n}" for n in range(4)]
    ledger = ledger_with(*(purchase(n, product="MongoDB") for n in names))
    record(ledger, req("db-0", "e0", at=day(20), mode="exception", exception_report="ER-1"),
           req("db-1", "r1", at=day(20)), req("db-2", "r2", at=day(20)))
    assert quota(application(ledger, "db-3", at=day(25))) == []  # the exception refund is not counted
    record(ledger, req("db-3", "r3", at=datetime(2026, 1, 31, 20, tzinfo=UTC)))  # 2026-02-01 04:00 +08:00
    at = datetime(2026, 1, 31, 22, tzinfo=UTC)
    assert quota(application(ledger, "db-0", at=at)) == []  # February in +08:00: r3 is its only one
    utc = KingsoftParameters(calendar_tz="+00:00")
    (reason,) = quota(application(ledger, "db-0", at=at, params=utc))  # January in UTC: r1, r2, r3
    assert (reason.rule, [ref for _, ref in cited(reason)]) == ("K-Q1", ["r1", "r2", "r3"])


# ----- five-day unconditional refund -----

def test_five_day_products_are_kec_ebs_krds_with_subscription_billing_K_F1():
    ledger = ledger_with(purchase(), purchase("ebs-1", product="EBS"), purchase("db-1", product="KRDS"),
                         purchase("cdn-1", product="CDN"), purchase("kec-2", billing="pay_as_you_go"))
    for name in ("kec-1", "ebs-1", "db-1"):
        assert five_day_products(application(ledger, name)) == []
    (other,) = five_day_products(application(ledger, "cdn-1"))
    assert (other.rule, cited(other)) == ("K-F1", [("Purchased", "cdn-1-buy")])
    assert other.message.startswith("cdn-1 is a CDN")
    (billing,) = five_day_products(application(ledger, "kec-2"))
    assert (billing.rule, billing.message) == ("K-F1", "kec-2 is billed pay_as_you_go, not by subscription")


def test_five_day_window_closes_120_hours_after_activation_inclusive_K_F2():
    ledger = ledger_with(purchase(at=day(0), activated_at=day(1)))
    assert five_day_window(application(ledger, "kec-1", at=day(6))) == []
    (reason,) = five_day_window(application(ledger, "kec-1", at=day(6, seconds=1)))
    assert reason.rule == "K-F2"
    assert reason.message == ("kec-1: the five-day window closed at 2026-01-07T00:00:00+08:00 (activation + 120 h)")
    assert cited(reason) == [("Purchased", "kec-1-buy")]


def test_five_day_window_is_open_before_activation_K_F2():
    """K-F2 Decision: before activation the window counts as open."""
    ledger = ledger_with(purchase(at=day(0), activated_at=day(10)))
    assert five_day_window(application(ledger, "kec-1", at=day(2))) == []


def test_five_day_window_starts_at_the_trial_K_F2():
    ledger = ledger_with(purchase(at=day(3), trial_started_at=day(0)))
    assert five_day_window(application(ledger, "kec-1", at=day(5))) == []
    (reason,) = five_day_window(application(ledger, "kec-1", at=day(5, seconds=1)))
    assert reason.rule == "K-F2" and "(trial start + 120 h)" in reason.message


def test_new_purchase_only_lists_every_change_K_F3():
    ledger = ledger_with(purchase(), renew(order="r", months=1, at=day(1)),
                         upgrade(order="u", price="20.00", cash="5.00", at=day(1, hours=1)),
                         {"type": "change_billing_mode", "at": day(1, hours=2).isoformat(), "instance": "kec-1",
                          "mode": "pay_as_you_go"})
    assert new_purchase_only(application(ledger, "kec-1", at=day(0, hours=12))) == []
    (reason,) = new_purchase_only(application(ledger, "kec-1", at=day(2)))
    assert (reason.rule, reason.message) == (
        "K-F3", "kec-1 is no longer a new purchase (it had: renewal, upgrade, billing_mode_change)")
    assert [f for f, _ in cited(reason)] == ["Renewed", "Upgraded", "BillingModeChanged"]


def test_one_five_day_refund_per_product_ever_K_F4():
    ledger = ledger_with(purchase("kec-1"), purchase("kec-2", at=day(10)), purchase("ebs-1", product="EBS",
                                                                                       at=day(10)))
    record(ledger, req("kec-1", "r1", at=day(1)))
    (reason,) = one_per_product(application(ledger, "kec-2", at=day(11)))
    assert (reason.rule, reason.message) == ("K-F4", "account acme already five-day-refunded a KEC (refund r1)")
    assert cited(reason) == [("ApplicationAccepted", "r1")]
    assert one_per_product(application(ledger, "ebs-1", at=day(11))) == []


def test_a_rejected_five_day_refund_leaves_the_product_free_K_F4_K_Q2():
    ledger = ledger_with(purchase("kec-1"), purchase("kec-2", at=day(10)))
    record(ledger, req("kec-1", "r1", at=day(1)),
           {"type": "reject_refund", "at": day(2).isoformat(), "refund": "r1", "reason": "abnormal"})
    assert one_per_product(application(ledger, "kec-2", at=day(11))) == []


def test_cooling_off_covers_purchases_up_to_120_hours_after_a_five_day_refund_K_F5():
    ledger = ledger_with(purchase("kec-1"), purchase("ebs-1", product="EBS", at=day(6)),
                         purchase("ebs-2", product="EBS", at=day(6, seconds=1)))
    record(ledger, req("kec-1", "r1", at=day(1)))
    (reason,) = cooling_off(application(ledger, "ebs-1", at=day(7)))
    assert reason.rule == "K-F5" and reason.message.startswith("ebs-1 was purchased within five days after "
                                                               "five-day refund r1")
    assert cited(reason) == [("ApplicationAccepted", "r1"), ("Purchased", "ebs-1-buy")]
    assert cooling_off(application(ledger, "ebs-2", at=day(7))) == []


def test_an_eip_rides_only_with_its_kec_K_F6():
    ledger = ledger_with(purchase("kec-1"), purchase("eip-1", product="EIP", bandwidth_mbps=200),
                         bind("kec-1", "eip-1"))
    assert eip_rides_with_kec(application(ledger, "kec-1", "eip-1", at=day(2))) == []  # 200 Mbps is allowed
    (alone,) = eip_rides_with_kec(application(ledger, "eip-1", at=day(2)))
    assert (alone.rule, alone.message) == ("K-F6", "EIP eip-1 can be five-day-refunded only together with its KEC")


def test_a_renewed_or_fast_eip_is_not_five_day_refundable_K_F6():
    ledger = ledger_with(purchase("kec-1"), purchase("eip-1", product="EIP", bandwidth_mbps=300),
                         bind("kec-1", "eip-1"), renew("eip-1", order="eip-r", months=1, at=day(1)))
    reasons = eip_rides_with_kec(application(ledger, "kec-1", "eip-1", at=day(2)))
    assert [(r.rule, r.message) for r in reasons] == [("K-F6", "EIP eip-1 was renewed"),
                                                      ("K-F6", "EIP eip-1 has 300 Mbps (more than 200)")]
    assert cited(reasons[0]) == [("Renewed", "eip-r")]


def test_one_mounted_ebs_per_kec_application_K_F7():
    ledger = ledger_with(purchase("kec-1"), purchase("ebs-0", product="EBS"), purchase("ebs-1", product="EBS"),
                         mount("kec-1", "ebs-0"), mount("kec-1", "ebs-1"))
    assert one_ebs_per_kec(application(ledger, "kec-1", "ebs-0", at=day(2))) == []
    assert one_ebs_per_kec(application(ledger, "ebs-1", at=day(2))) == []  # an EBS on its own
    (reason,) = one_ebs_per_kec(application(ledger, "kec-1", "ebs-0", "ebs-1", at=day(2)))
    assert (reason.rule, reason.message) == ("K-F7", "a KEC application may include one EBS data disk, not 2 "
                                                     "(ebs-0, ebs-1)")
    assert cited(reason) == [("DiskMounted", "ebs-0"), ("DiskMounted", "ebs-1")]


def test_a_krds_with_an_undeleted_kdrds_must_wait_K_F8():
    assoc = {"type": "associate_kdrds", "at": day(0, hours=1).isoformat(), "instance": "db-1", "kdrds": "kd-1"}
    ledger = ledger_with(purchase("db-1", product="KRDS"), assoc)
    (reason,) = kdrds_first(application(ledger, "db-1", at=day(1)))
    assert (reason.rule, reason.message) == ("K-F8", "KRDS db-1 is associated with KDRDS kd-1: delete it first")
    assert cited(reason) == [("KdrdsAssociated", "kd-1")]
    record(ledger, {**assoc, "type": "delete_kdrds", "at": day(1).isoformat()})
    assert kdrds_first(application(ledger, "db-1", at=day(2))) == []


def test_a_promotion_without_five_day_refund_forbids_five_day_K_P1():
    ledger = ledger_with(purchase(promotion={"id": "p-7", "five_day_refund": False}),
                         purchase("kec-2", promotion=NOT_REFUNDABLE))
    (reason,) = promotion_forbids_five_day(application(ledger, "kec-1"))
    assert (reason.rule, cited(reason)) == ("K-P1", [("Purchased", "kec-1-buy")])
    assert reason.message == "kec-1 was bought in promotion p-7, which has no five-day refund"
    assert promotion_forbids_five_day(application(ledger, "kec-2")) == []  # not refundable is another rule


def test_an_application_whose_every_paid_order_is_a_non_refundable_promotion_is_denied_K_P1():
    ledger = ledger_with(purchase("kec-1", promotion=NOT_REFUNDABLE), purchase("eip-1", product="EIP",
                                                                               promotion=NOT_REFUNDABLE),
                         bind("kec-1", "eip-1"))
    (reason,) = promotion_forbids_refund(application(ledger, "kec-1", "eip-1", at=day(2)))
    assert reason.rule == "K-P1"
    assert reason.message.endswith("kec-1 order kec-1-buy (promotion double-11), "
                                   "eip-1 order eip-1-buy (promotion double-11)")
    assert cited(reason) == [("Purchased", "kec-1-buy"), ("Purchased", "eip-1-buy")]


def test_one_refundable_paid_order_lifts_the_promotion_denial_nothing_paid_does_not_K_P1_K_M4():
    """K-P1 Decisions: a paid renewal lifts the denial; nothing paid at all (vouchers only) denies under K-P1
    when an order is a non-refundable promotion (2026-12), and leaves K-M4 to clear when none is."""
    ledger = ledger_with(purchase("kec-1", promotion=NOT_REFUNDABLE), renew("kec-1", order="r", months=1, at=day(1)),
                         purchase("kec-2", payment={"voucher": "120.00"}, promotion=NOT_REFUNDABLE),
                         purchase("kec-3", payment={"voucher": "120.00"}))
    assert [r.rule for r in promotion_forbids_refund(application(ledger, "kec-1", at=day(0, hours=12)))] == ["K-P1"]
    assert promotion_forbids_refund(application(ledger, "kec-1", at=day(2))) == []  # the renewal is paid
    (reason,) = promotion_forbids_refund(application(ledger, "kec-2", at=day(2)))  # nothing paid, promoted: K-P1
    assert reason.rule == "K-P1" and "no order of the application has an actual payment" in reason.message
    assert promotion_forbids_refund(application(ledger, "kec-3", at=day(2))) == []  # nothing paid: K-M4


# ----- self-service refund after five days -----

def test_self_service_products_K_S1():
    ledger = ledger_with(purchase(), purchase("eip-1", product="EIP"), bind("kec-1", "eip-1"),
                         purchase("cdn-1", product="CDN"),
                         *(purchase(f"x-{p}", product=p) for p in ("EBS", "KRDS", "MongoDB", "KingAI")))
    for name in ("x-EBS", "x-KRDS", "x-MongoDB", "x-KingAI"):
        assert self_service_products(application(ledger, name, at=day(10))) == []
    assert self_service_products(application(ledger, "kec-1", "eip-1", at=day(10))) == []
    (cdn,) = self_service_products(application(ledger, "cdn-1", at=day(10)))
    assert (cdn.rule, cdn.message, cited(cdn)) == ("K-S1", "cdn-1 is a CDN, which has no self-service refund",
                                                    [("Purchased", "cdn-1-buy")])
    (eip,) = self_service_products(application(ledger, "eip-1", at=day(10)))
    assert eip.message.endswith("(an EIP only together with its KEC)")


def test_a_kec_on_a_market_image_has_no_self_service_refund_K_S2():
    ledger = ledger_with(purchase(image="market"), purchase("kec-2", image="public"),
                         purchase("ebs-1", product="EBS", image="market"))
    (reason,) = market_image(application(ledger, "kec-1", at=day(10)))
    assert (reason.rule, reason.message, cited(reason)) == ("K-S2", "KEC kec-1 uses a Cloud Market image",
                                                            [("Purchased", "kec-1-buy")])
    assert market_image(application(ledger, "kec-2", at=day(10))) == []
    assert market_image(application(ledger, "ebs-1", at=day(10))) == []  # K-S2 is about KECs


def test_renewed_then_downgraded_with_overlapping_validity_K_S3():
    ledger = ledger_with(purchase(months=1), renew(order="r", months=1, at=day(5)),
                         downgrade(order="d", price="5.00", credit="1.00", at=day(10)))
    (reason,) = renewal_downgrade_overlap(application(ledger, "kec-1", at=day(20)))
    # renewal [day 30, day 60), downgrade [day 10, day 60): they overlap on [day 30, day 60)
    assert (reason.rule, reason.message) == ("K-S3", "kec-1: downgrade d overlaps renewal r "
                                                     "([2026-01-31T00:00:00+08:00, 2026-03-02T00:00:00+08:00))")
    assert cited(reason) == [("Renewed", "r"), ("Downgraded", "d")]


def test_downgraded_before_the_renewal_is_no_overlap_K_S3():
    ledger = ledger_with(purchase(months=1), downgrade(order="d", price="5.00", credit="1.00", at=day(5)),
                         renew(order="r", months=1, price="5.00", at=day(10)))
    assert renewal_downgrade_overlap(application(ledger, "kec-1", at=day(20))) == []


# ----- exception refunds -----

def test_an_exception_refund_cites_a_report_or_a_retirement_or_migration_K_E1():
    ledger = ledger_with(purchase("cdn-1", product="CDN"))
    (reason,) = exception_cited(application(ledger, "cdn-1", at=day(10), mode="exception"))
    assert reason.rule == "K-E1" and "exception_report" in reason.message
    assert exception_cited(application(ledger, "cdn-1", at=day(10), reason="abnormal")) != []
    for cites in ({"exception_report": "ER-7"}, {"reason": "product_retirement"},
                  {"reason": "data_centre_migration"}):
        assert exception_cited(application(ledger, "cdn-1", at=day(10), mode="exception", **cites)) == []
