"""The lean quote's K-R1 lines in scaled integers (`domain.policies.kingsoft.scaled`, issue 31) are the `Fraction`
reference's (the explained path of `amount.base_line` / `amount.upgrade_line`) to the cent, with the same exact
``consumed``, on random terms: prices and payments with 2 decimals, 1-36 months, term discounts, downgrades and
upgrades at random times (sorted as `refund_lines` sorts them, and not), refunds at any moment; and the cents
rounding from two integers is K-M2's rounding of the `Fraction` as it was computed before (copied below)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.money import Payment, round_cents, round_ratio
from domain.policies.kingsoft import scaled
from domain.policies.kingsoft.amount import base_line, refund_lines, upgrade_line
from domain.policies.kingsoft.orders import Order, discount_factor
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.timeutil import months_days

T0 = datetime(2026, 1, 1, tzinfo=UTC)
cents = st.integers(0, 2_000_000).map(lambda c: Decimal(c) / 100)
prices = st.integers(1, 500_000).map(lambda c: Decimal(c) / 100)
rates = st.dictionaries(st.integers(1, 36), st.integers(0, 100).map(lambda r: Decimal(r) / 100), max_size=4)
seconds = st.integers(0, 40 * 30 * 86_400)
tenders = st.sampled_from([("cash", "cloud_ticket"), ("cash",), ("cash", "cloud_ticket", "voucher", "gift_balance")])
payments = st.builds(Payment, cash=cents, cloud_ticket=cents, voucher=cents, gift_balance=cents)


def reference_round_cents(value: Fraction, mode: str) -> Decimal:
    """K-M2 as `money.round_cents` computed it before issue 31 (verbatim): the reference of `round_ratio`."""
    sign = -1 if value < 0 else 1
    c = abs(Fraction(value)) / Fraction(1, 100)
    whole, rest = divmod(c.numerator, c.denominator)
    twice = 2 * rest
    if twice > c.denominator or (twice == c.denominator and mode == "half_up"):
        whole += 1
    return (Decimal(sign * whole) / 100).quantize(Decimal("0.01"))


def base(months: int, price: Decimal, discounts: dict[int, Decimal], payment: Payment) -> Order:
    return Order("purchase", "o-1", T0, T0, T0 + months_days(months), price, payment, months=months,
                 discounts=tuple(sorted(discounts.items())))


def change(i: int, kind: str, at: datetime, end: datetime, price: Decimal, payment: Payment, credit: Decimal) -> Order:
    return Order(kind, f"c-{i}", at, at, end, price, payment if kind == "upgrade" else Payment(),
                 credit if kind == "downgrade" else Decimal("0"))


def figures(line) -> tuple:
    return line.rule, line.paid, line.consumed, line.refund, str(line.refund)


def both(fn, *args) -> tuple[tuple, tuple]:
    lean, full = fn(*args, explain=False), fn(*args, explain=True)
    assert lean.formula == "" and full.formula
    return figures(lean), figures(full)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(-10**12, 10**12), d=st.integers(1, 10**9), k=st.integers(1, 50),
       mode=st.sampled_from(["half_down", "half_up"]))
def test_cents_from_two_integers_are_the_fraction_rounding_K_M2(n, d, k, mode):
    """Reduced or not (``k``), the same cents and the same Decimal (exponent -2) as the `Fraction` reference."""
    want = reference_round_cents(Fraction(n, d), mode)
    assert str(round_ratio(n * k, d * k, mode)) == str(round_cents(Fraction(n, d), mode)) == str(want)


@settings(max_examples=200, deadline=None)
@given(mills=st.integers(-10**9, 10**9), mode=st.sampled_from(["half_down", "half_up"]))
def test_ties_follow_the_decimal_modes_K_M2(mills, mode):
    """On terminating amounts (3 decimals, half a cent among them) it is `decimal`'s ROUND_HALF_DOWN / _UP."""
    exact = Decimal(mills) / 1000
    rounding = ROUND_HALF_DOWN if mode == "half_down" else ROUND_HALF_UP
    assert str(round_ratio(mills, 1000, mode)) == str(exact.quantize(Decimal("0.01"), rounding=rounding))


@settings(max_examples=300, deadline=None)
@given(months=st.integers(1, 36), price=prices, discounts=rates, payment=payments, at=seconds, tender=tenders)
def test_a_lean_K_A1_line_is_the_fraction_reference_to_the_cent_K_A1_K_M2(months, price, discounts, payment,
                                                                          at, tender):
    o = base(months, price, discounts, payment)
    lean, full = both(base_line, "i-1", o, T0 + timedelta(seconds=at), KingsoftParameters(tender), "K-A1", [])
    assert lean == full


@settings(max_examples=200, deadline=None)
@given(months=st.integers(1, 36), price=prices, discounts=rates, payment=payments, at=seconds, data=st.data())
def test_a_lean_K_D1_line_is_the_fraction_reference_to_the_cent_K_D1_K_M2(months, price, discounts, payment, at,
                                                                          data):
    """Spec changes anywhere in the validity (several on one day among them), in start order as `refund_lines`
    passes them or in any order (each day then looked up one by one)."""
    o = base(months, price, discounts, payment)
    offsets = data.draw(st.lists(st.integers(0, months * 30 * 86_400 - 1), min_size=1, max_size=4))
    if data.draw(st.booleans()):
        offsets.sort()
    changes = [change(i, data.draw(st.sampled_from(["upgrade", "downgrade"])), T0 + timedelta(seconds=s), o.end,
                      data.draw(prices), data.draw(payments), data.draw(cents)) for i, s in enumerate(offsets)]
    lean, full = both(base_line, "i-1", o, T0 + timedelta(seconds=at), KingsoftParameters(), "K-A1", changes)
    assert lean == full and lean[0] == "K-D1"


@settings(max_examples=200, deadline=None)
@given(start=seconds, length=st.integers(0, 36 * 30 * 86_400), at=seconds, payment=payments, price=prices)
def test_a_lean_K_U1_line_is_the_fraction_reference_to_the_cent_K_U1_K_M2(start, length, at, payment, price):
    """Any time before, during or after the upgrade's coverage, a coverage of no day among them."""
    begin = T0 + timedelta(seconds=start)
    u = change(1, "upgrade", begin, begin + timedelta(seconds=length), price, payment, Decimal("0"))
    lean, full = both(upgrade_line, "i-1", u, T0 + timedelta(seconds=at), KingsoftParameters())
    assert lean == full


@settings(max_examples=150, deadline=None)
@given(months=st.integers(1, 36), price=prices, discounts=rates, payment=payments, at=seconds, data=st.data())
def test_lean_K_R1_lines_of_an_instance_are_the_reference_lines_K_R1_K_A1_K_U1_K_D1(months, price, discounts,
                                                                                    payment, at, data):
    """Through `refund_lines`: a purchase, upgrades and downgrades placed in its validity, a renewal, refunded at
    a random moment; every line's figures equal (the formulas aside)."""
    o = base(months, price, discounts, payment)
    kinds = data.draw(st.lists(st.sampled_from(["upgrade", "downgrade"]), max_size=3))
    orders = [o] + [change(i, k, T0 + timedelta(seconds=data.draw(st.integers(0, months * 30 * 86_400 - 1))),
                           o.end, data.draw(prices), data.draw(payments), data.draw(cents))
                    for i, k in enumerate(kinds)]
    if data.draw(st.booleans()):
        renewal_months = data.draw(st.integers(1, 12))
        orders.append(Order("renewal", "r-1", T0, o.end, o.end + months_days(renewal_months), data.draw(prices),
                            data.draw(payments), months=renewal_months))
    t = T0 + timedelta(seconds=at)
    lean = [figures(ln) for ln in refund_lines("i-1", orders, t, KingsoftParameters(), explain=False)]
    assert lean == [figures(ln) for ln in refund_lines("i-1", orders, t, KingsoftParameters(), explain=True)]


@settings(max_examples=200, deadline=None)
@given(discounts=rates, m=st.integers(0, 40))
def test_the_discount_factor_as_two_integers_is_the_fraction_factor_K_A1(discounts, m):
    n, d = scaled.factor_ratio(tuple(sorted(discounts.items())), m)
    assert Fraction(n, d) == discount_factor(tuple(sorted(discounts.items())), m)
