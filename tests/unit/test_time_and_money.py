"""K-T1, K-T2, K-M1, K-M2: usage days, 30-day months, actual payment, half-down rounding."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import Payment, exact, round_cents
from domain.timeutil import DAY, months_days, usage_days

T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("delta", "days"), [
    (timedelta(0), 0),
    (-timedelta(hours=1), 0),
    (timedelta(seconds=1), 1),
    (timedelta(hours=24), 1),
    (timedelta(hours=24, seconds=1), 2),
    (timedelta(days=417), 417),
    (timedelta(days=416, hours=23), 417),
])
def test_usage_days_counts_any_started_24h_as_a_day_K_T1(delta, days):
    assert usage_days(T, T + delta) == days


def test_usage_days_compares_instants_across_offsets_K_T1():
    beijing = T.astimezone(timezone(timedelta(hours=8)))
    assert usage_days(beijing, T + DAY) == 1


def test_a_month_is_thirty_days_K_T2():
    assert months_days(1) == timedelta(days=30)
    assert months_days(24) == timedelta(days=720)


@pytest.mark.parametrize(("value", "down", "up"), [
    (Fraction(125, 1000), "0.12", "0.13"),
    (Fraction(126, 1000), "0.13", "0.13"),
    (Fraction(124, 1000), "0.12", "0.12"),
    (Fraction(-125, 1000), "-0.12", "-0.13"),
    (Fraction(1, 3), "0.33", "0.33"),
    (Fraction(2, 3), "0.67", "0.67"),
    (Fraction(265, 3), "88.33", "88.33"),
])
def test_rounding_half_down_and_half_up_K_M2(value, down, up):
    assert round_cents(value, "half_down") == Decimal(down)
    assert round_cents(value, "half_up") == Decimal(up)


def test_round_cents_agrees_with_decimal_half_down_on_terminating_values_K_M2():
    from decimal import ROUND_HALF_DOWN
    for cents in range(-2000, 2000, 7):
        value = Decimal(cents) / 1000
        assert round_cents(Fraction(value), "half_down") == value.quantize(Decimal("0.01"), ROUND_HALF_DOWN)


def test_actual_payment_is_cash_plus_cloud_tickets_K_M1():
    p = Payment(cash=Decimal("100"), cloud_ticket=Decimal("20"), voucher=Decimal("50"),
                gift_balance=Decimal("10"))
    assert p.actual() == 120
    assert p.actual(("cash",)) == 100
    assert p.total == Decimal("180")
    with pytest.raises(ValueError):
        p.actual(("bitcoin",))


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        exact(0.1)
    with pytest.raises(TypeError):
        Payment(cash=0.1)  # type: ignore[arg-type]  # the wrong type, on purpose
    with pytest.raises(TypeError):
        round_cents(0.125, "half_down")  # type: ignore[arg-type]  # the wrong type, on purpose


def test_the_per_quote_constants_are_the_values_they_stand_for():
    """Computed once, not per quote: a payment's tenders are its fields; an offset parses to one time zone
    (bad ones are still refused each time); a policy's own overrides are those its parameters name."""
    from dataclasses import fields

    from domain.errors import LedgerError
    from domain.money import TENDERS
    from domain.policies import registry
    from domain.timeutil import tz_of

    assert TENDERS == tuple(f.name for f in fields(Payment))
    with pytest.raises(TypeError, match=r"payment\.voucher must be a Decimal"):
        Payment(Decimal("1"), Decimal("0"), 0)  # type: ignore[arg-type]  # an int, on purpose
    assert tz_of("+08:00") is tz_of("+08:00") == timezone(timedelta(hours=8))
    for bad in ("+24:00", "08:00", 8, None, ["+08:00"]):
        for _ in range(2):
            with pytest.raises(ValueError, match="is not a UTC offset"):
                tz_of(bad)  # type: ignore[arg-type]  # wrong types too, on purpose
    for policy in registry.POLICIES:
        names = {f.name for f in fields(policy.parameters)}
        assert registry.own({}, policy) == {}
        assert registry.own({"calendar_tz": "+01:00"}, policy) == ({"calendar_tz": "+01:00"} if "calendar_tz" in names
                                                                   else {})
    with pytest.raises(LedgerError, match=r"unknown policy parameter\(s\) \['nope'\]"):
        registry.own({"nope": 1}, registry.POLICIES[0])


@given(n=st.integers(-(10**24), 10**24), d=st.integers(1, 10**20))  # round_cents: 28 digits
def test_finance_cents_of_a_fraction_is_round_cents_half_up_K_M2(n, d):
    """`finance.cents` rounds a Fraction from its integers: the cents `round_cents(..., "half_up")` gives."""
    from projections.finance import cents

    x = Fraction(n, d)
    assert cents(x) == int(round_cents(x, "half_up") * 100)
    for places in range(5):  # stored prices have two decimals; quotients of them more
        assert cents(Decimal(n).scaleb(-places)) == int(round_cents(Fraction(n, 10**places), "half_up") * 100)
