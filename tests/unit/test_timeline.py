"""The timeline an auditor reads (issue 14, item 8), for both policies, on the in-memory store: every order with
its amount, the overlaps K-S3 forbids and no other, retracted facts with what retracted them, refund requests
with their frozen amounts, the release (K-L3) cutting the orders short, the five-day window (K-F2); and the
HTML page's labels and month ticks."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import Settings, bootstrap
from adapters.formats.timeline_html import render
from adapters.services import feeds, queries
from tests.feedkit import CST, KORPRO_BILLING_ERROR, T0, day, downgrade, jsonl, memory_ledger, purchase, renew, upgrade

NOW = datetime(2030, 1, 1, tzinfo=UTC)
FIVE_DAYS = timedelta(hours=120)  # K-F2


def app_with(*lines, now: datetime = NOW, ledger=None):
    app = bootstrap(Settings(url="unused://", clock=lambda: now), ledger=ledger or memory_ledger())
    feeds.record_feed(app, jsonl(*lines))
    return app


def by_order(tl) -> dict:
    return {o["order"]: o for o in tl.as_json()["orders"]}


def test_ordinary_overlaps_are_facts_and_only_renewal_then_downgrade_is_flagged_K_S3_K_T3():
    app = app_with(
        purchase("kec-u", order="u-1", months=12), upgrade("kec-u", order="u-2", price="20.00", cash="50.00",
                                                            at=day(30)),
        purchase("kec-d", order="d-1", months=1),
        renew("kec-d", order="d-2", months=1, at=day(9)),  # K-T3: from the expiry, day 30, to day 60
        downgrade("kec-d", order="d-3", price="5.00", credit="2.00", at=day(14)))  # [day 14, day 60)
    upgraded = by_order(queries.timeline(app, "kec-u", day(40)))
    assert upgraded["u-1"]["overlaps"] == ["u-2"] and upgraded["u-2"]["overlaps"] == ["u-1"]  # the fact stays
    assert upgraded["u-1"]["rule_overlaps"] == upgraded["u-2"]["rule_overlaps"] == []  # an upgrade is no K-S3
    tl = queries.timeline(app, "kec-d", day(40))
    rows = by_order(tl)
    assert rows["d-1"]["overlaps"] == ["d-3"] and rows["d-1"]["rule_overlaps"] == []  # purchase vs downgrade
    assert rows["d-2"]["rule_overlaps"] == [{"rule": "K-S3", "order": "d-3"}]
    assert rows["d-3"]["rule_overlaps"] == [{"rule": "K-S3", "order": "d-2"}]
    [flag] = tl.as_json()["rule_overlaps"]
    assert (flag["rule"], flag["orders"], flag["start"], flag["end"]) == (
        "K-S3", ["d-2", "d-3"], day(30).isoformat(), day(60).isoformat())
    assert tl.overlap_rules == ("K-S3",)


def test_every_order_shows_its_actual_payment_and_currency_K_M1():
    app = app_with(purchase("kec-1", order="o-1", months=12, price="10.00",
                            payment={"cash": "100.00", "cloud_ticket": "5.00", "voucher": "15.00"}),
                   downgrade("kec-1", order="o-2", price="5.00", credit="7.50", at=day(20)))
    rows = by_order(queries.timeline(app, "kec-1", day(1)))
    assert (rows["o-1"]["amount"], rows["o-1"]["currency"]) == ("105.00", "CNY")  # cash + cloud ticket, no voucher
    assert (rows["o-2"]["amount"], rows["o-2"]["credit"]) == ("0.00", "7.50")


def test_the_release_cuts_every_order_at_the_accepted_application_and_a_rejection_undoes_it_K_L3_K_Q2():
    lines = [purchase("kec-1", order="o-1", months=1), renew("kec-1", order="o-2", months=1, at=day(5)),
             {"type": "request_refund", "at": day(10).isoformat(), "instance": "kec-1", "refund": "r-1",
              "mode": "self_service"}]
    app = app_with(*lines)
    tl = queries.timeline(app, "kec-1", day(10))
    j = tl.as_json()
    assert j["release"] == {"refund": "r-1", "at": day(10).isoformat(), "recorded_at": NOW.isoformat(),
                            "rule": "K-L3"}
    rows = by_order(tl)
    assert rows["o-1"]["released_at"] == rows["o-2"]["released_at"] == day(10).isoformat()
    bars = {o.order: o for o in tl.orders}
    assert bars["o-1"].used_until == day(10) and bars["o-2"].used_until == day(30)  # o-2 starts at day 30: unused
    [r] = j["refunds"]
    assert (r["state"], r["quoted"], r["amount"], r["releases"]) == ("accepted", r["amount"], r["amount"], True)
    assert r["quoted"] != "0.00"
    frozen = next(f for f in queries.history(app, "kec-1").facts if f["fact"] == "RefundApplied")
    assert r["quoted"] == frozen["details"]["amount"]

    later = NOW + timedelta(days=1)
    app2 = bootstrap(Settings(url="unused://", clock=lambda: later), ledger=app.ledger)
    feeds.record_feed(app2, jsonl({"type": "reject_refund", "at": day(12).isoformat(), "refund": "r-1",
                                   "reason": "abuse"}))
    again = queries.timeline(app2, "kec-1", day(12))
    assert again.release is None and all(o["released_at"] is None for o in again.as_json()["orders"])
    assert again.as_json()["refunds"][0]["state"] == "rejected"
    assert queries.timeline(app2, "kec-1", day(12), known_at=NOW).release is not None  # as known before


def test_a_retracted_order_is_listed_with_its_retraction_line_reason_and_would_be_validity():
    first = app_with(purchase("kec-1", order="o-1", months=12),
                     {**upgrade("kec-1", order="o-2", price="20.00", cash="90.00", at=day(90)), "id": "up-1"})
    later = NOW + timedelta(days=3)
    app = bootstrap(Settings(url="unused://", clock=lambda: later), ledger=first.ledger)
    feeds.record_feed(app, jsonl({"type": "retract", "id": "fix-1", "at": day(95).isoformat(),
                                  "target": "up-1", "reason": "never provisioned"}))
    before = queries.timeline(app, "kec-1", day(100), known_at=NOW)
    assert [o.order for o in before.orders] == ["o-1", "o-2"] and before.retracted == []
    after = queries.timeline(app, "kec-1", day(100)).as_json()
    assert [o["order"] for o in after["orders"]] == ["o-1"]
    [x] = after["retracted"]
    assert (x["fact"], x["id"], x["order"], x["kind"], x["at"]) == ("Upgraded", "up-1", "o-2", "upgrade",
                                                                      day(90).isoformat())
    assert (x["start"], x["end"]) == (day(90).isoformat(), day(360).isoformat())  # K-T3: to the expiry
    assert x["retracted"]["by"] == "fix-1" and x["retracted"]["reason"] == "never provisioned"
    assert x["retracted"]["recorded_at"] == later.isoformat()


def test_the_five_day_window_opens_at_the_trial_or_activation_K_F2():
    trial = T0 - timedelta(days=2)
    app = app_with(purchase("kec-1", trial_started_at=trial, activated_at=T0), purchase("kec-2", at=day(3)))
    [w] = queries.timeline(app, "kec-1", day(1)).windows
    assert (w.rule, w.start, w.end) == ("K-F2", trial, trial + FIVE_DAYS)
    [w2] = queries.timeline(app, "kec-2", day(3)).windows
    assert (w2.start, w2.end) == (day(3), day(3) + FIVE_DAYS)


def test_a_denied_request_shows_its_rules_and_refunds_nothing_K_S3():
    app = app_with(purchase("kec-d", order="d-1", months=1), renew("kec-d", order="d-2", months=1, at=day(9)),
                   downgrade("kec-d", order="d-3", price="5.00", credit="2.00", at=day(14)),
                   {"type": "request_refund", "at": day(20).isoformat(), "instance": "kec-d", "refund": "r-d"})
    tl = queries.timeline(app, "kec-d", day(20))
    [r] = tl.as_json()["refunds"]
    assert r["state"] == "denied" and "K-S3" in r["rules"] and (r["amount"], r["quoted"]) == ("0.00", "0.00")
    assert tl.release is None


def test_a_korpro_timeline_reads_its_charges_through_the_policy():
    app = app_with(*KORPRO_BILLING_ERROR)
    tl = queries.timeline(app, "kp-2", datetime(2026, 1, 20, tzinfo=UTC))
    j = tl.as_json()
    assert [(o["order"], o["kind"], o["amount"], o["currency"], o["start"], o["end"]) for o in j["orders"]] == [
        ("inv-1", "charge", "650.00", "USD", "2026-01-10T00:00:00+00:00", "2026-02-10T00:00:00+00:00")]
    assert (j["policy"], j["calendar_tz"], j["windows"], j["rule_overlaps"], j["release"]) == (
        "korpro", "+00:00", [], [], None)
    [r] = j["refunds"]
    assert (r["refund"], r["mode"], r["quoted"], r["currency"]) == ("r-kp", "billing_error", "50.00", "USD")
    page = render(tl)
    assert "paid USD 650.00" in page and "r-kp approved: USD 50.00 (frozen quote)" in page


def test_the_page_labels_its_marks_and_ticks_each_month_start_in_the_policys_zone_K_L3():
    app = app_with(purchase("kec-1", order="o-1", months=12, price="10.00"),
                   {"type": "request_refund", "at": day(40).isoformat(), "instance": "kec-1", "refund": "r-1",
                    "mode": "self_service"})
    tl = queries.timeline(app, "kec-1", day(20), known_at=NOW)
    page = render(tl)
    amount = tl.as_json()["refunds"][0]["amount"]
    for label in (f"r-1 accepted: CNY {amount} (frozen quote)", "released (K-L3) by r-1",
                  f"five-day window (K-F2) until {(T0 + FIVE_DAYS):%Y-%m-%d %H:%M}",
                  f"--at {day(20):%Y-%m-%d %H:%M}", "paid CNY 120.00"):
        assert label in page, label
    assert "--known-at 2030-01-01 08:00 ▶" in page  # beyond the axis: at its edge, in +08:00
    ticks = re.findall(r'data-t="([^"]+)"[^>]*>([^<]+)</text>', page)
    times = [datetime.fromisoformat(t) for t, _ in ticks]
    assert all(t.utcoffset() == timedelta(hours=8) and (t.day, t.hour, t.minute) == (1, 0, 0) for t in times)
    assert [label for _, label in ticks] == [f"{t:%Y-%m}" for t in times]
    months = [t.year * 12 + t.month for t in times]
    steps = {b - a for a, b in zip(months, months[1:], strict=False)}
    assert len(steps) == 1 and len(ticks) <= 14
    assert times[0] <= T0 + timedelta(days=31) and times[-1] >= T0 + timedelta(days=360 - 31 * steps.pop())
    assert times[0].tzinfo is not None and T0.tzinfo == CST


@pytest.mark.parametrize("at, months", [(T0, 1), (T0, 2), (T0, 12), (T0, 36), (T0, 120),
                                        (datetime(1970, 1, 1, tzinfo=UTC), 120)])
def test_ticks_never_crowd_whatever_the_span(at, months):
    far = datetime(2199, 6, 1, tzinfo=UTC)  # near the envelope's far end
    app = app_with(purchase("kec-1", order="o-1", months=months, at=at), purchase("kec-2", order="o-2", at=far),
                   purchase("kec-3", order="o-3", months=1, at=datetime(1970, 1, 1, tzinfo=UTC)),
                   renew("kec-3", order="o-4", months=1, at=far))  # two centuries on one axis
    for name, span in (("kec-1", timedelta(days=30 * months)), ("kec-2", timedelta(days=360)),
                       ("kec-3", far - datetime(1970, 1, 1, tzinfo=UTC))):
        page = render(queries.timeline(app, name, at, known_at=NOW))
        ticks = [datetime.fromisoformat(t) for t in re.findall(r'data-t="([^"]+)"', page)]
        assert 1 <= len(ticks) <= 14
        assert all((t.day, t.hour, t.minute) == (1, 0, 0) for t in ticks)
        assert ticks[-1] - ticks[0] >= span * 0.5  # they span the facts
