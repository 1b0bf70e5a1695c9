"""Property-based invariants of the refund amount (hypothesis)."""

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.services.reads import events_of
from domain.policies.kingsoft.amount import refund_lines, total
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.policies.kingsoft.view import replay
from tests.feedkit import FAR, T0, day, ledger_with, purchase, quote, renew, upgrade

cents = st.integers(min_value=1, max_value=100_000).map(lambda c: Decimal(c) / 100)
rates = st.dictionaries(st.sampled_from([3, 6, 12, 24, 36]),
                        st.integers(min_value=1, max_value=60).map(lambda r: Decimal(r) / 100), max_size=3)
moments = st.integers(min_value=0, max_value=40 * 30 * 24 * 3600).map(lambda s: T0 + timedelta(seconds=s))


def single_purchase(months: int, price: Decimal, discounts: dict[int, Decimal], cash: Decimal, voucher: Decimal):
    return purchase(months=months, price=str(price), discounts={str(k): str(v) for k, v in discounts.items()},
                    payment={"cash": str(cash), "voucher": str(voucher)}, promotion={"id": "any-price"})


@settings(max_examples=60, deadline=None)
@given(months=st.integers(1, 36), price=cents, discounts=rates, cash=cents, voucher=cents, t=moments)
def test_refund_never_exceeds_the_actual_payment_K_M1_K_A1(months, price, discounts, cash, voucher, t):
    ledger = ledger_with(single_purchase(months, price, discounts, cash, voucher))
    q = quote(ledger, at=t).as_json()
    assert Decimal("0") <= Decimal(q["amount"]) <= cash


@settings(max_examples=40, deadline=None)
@given(months=st.integers(1, 36), price=cents, cash=cents, t1=moments, t2=moments)
def test_without_term_discounts_the_refund_never_increases_with_time_K_A1(months, price, cash, t1, t2):
    ledger = ledger_with(single_purchase(months, price, {}, cash, Decimal("0")))
    early, late = sorted([t1, t2])
    assert Decimal(quote(ledger, at=late).as_json()["amount"]) <= Decimal(quote(ledger, at=early).as_json()["amount"])


def test_with_term_discounts_the_refund_jumps_up_where_a_tier_starts_K_A1():
    """A property of the source formula: on day 360 the 12-month rate starts to apply to all 360 days."""
    ledger = ledger_with(purchase(months=24, price="50.00", cash="696.00", discounts={"12": "0.30", "24": "0.42"}))
    day_359 = Decimal(quote(ledger, at=day(359)).as_json()["amount"])  # 696 - 50/30 x 359
    day_360 = Decimal(quote(ledger, at=day(360)).as_json()["amount"])  # 696 - 50/30 x 360 x 0.7
    assert (day_359, day_360) == (Decimal("97.67"), Decimal("276.00"))


@settings(max_examples=40, deadline=None)
@given(months=st.integers(1, 24), price=cents, up_day=st.integers(0, 29), renew_day=st.integers(0, 40),
       up_cash=cents, t=moments)
def test_lines_add_up_to_the_amount_and_replay_is_deterministic_K_M2_K_R1(months, price, up_day, renew_day,
                                                                          up_cash, t):
    ledger = ledger_with(
        purchase(months=months, price=str(price)),
        upgrade(order="u", price=str(price * 2), cash=str(up_cash), at=day(up_day)),
        renew(order="r", months=1, price=str(price * 2), at=day(renew_day)),
    )
    first = quote(ledger, at=t).as_json()
    lines_sum = sum(Decimal(ln["refund"]) for ln in first["lines"])
    if first["outcome"] == "refund":
        assert lines_sum == Decimal(first["amount"])
    else:
        assert lines_sum <= 0 and first["amount"] == "0.00"
    assert quote(ledger, at=t).as_json() == first


@settings(max_examples=30, deadline=None)
@given(months=st.integers(1, 24), price=cents, t=moments)
def test_refund_lines_are_a_pure_function_of_the_events(months, price, t):
    ledger = ledger_with(purchase(months=months, price=str(price)))
    events = events_of(ledger, "kec-1")
    once = refund_lines("kec-1", replay("kec-1", events, t, FAR).orders, t, KingsoftParameters())
    again = refund_lines("kec-1", replay("kec-1", list(events), t, FAR).orders, t, KingsoftParameters())
    assert once == again and total(once) == total(again)
