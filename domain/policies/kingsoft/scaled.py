"""Kingsoft K-R1 line figures in scaled integers: the lean quote's hot path (issue 31).

A ledger-wide job (``explain=False``) prices every line here: each figure is an integer numerator over an
integer denominator (`Decimal.as_integer_ratio`, the cached `Payment.actual`'s two ints), every day count an
int, and the refund is rounded once, half-down, to cents by `money.round_ratio` (K-M2), the very rounding
`round_cents` applies to a `Fraction`. Only the line's ``consumed`` is made a `Fraction`, once, because
`Line` carries it. No figure is truncated anywhere: the result is exactly the explained path's
(`amount.base_line` / `amount.upgrade_line` with ``explain=True``, the `Fraction` reference, kept for
the formulas a person reads); `tests/unit/test_scaled_lines.py` compares both to the cent on random terms.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from math import lcm

from domain.money import round_ratio
from domain.timeutil import MONTH_DAYS


def factor_ratio(discounts: Iterable[tuple[int, Decimal]], full_months: int) -> tuple[int, int]:
    """K-A1's ``f(m) = 1 - rate(k)`` (the largest ``k <= m`` with a rate, else 1) as ``(numerator,
    denominator)``: `orders.discount_factor` without its three `Fraction`\\ s."""
    best = None
    for k, rate in discounts:
        if k <= full_months and (best is None or k > best[0]):
            best = (k, rate)
    if best is None:
        return 1, 1
    n, d = best[1].as_integer_ratio()
    return d - n, d


def k_a1(paid: Fraction, price: Decimal, factor: tuple[int, int], m: int, r: int) -> tuple[Fraction, Decimal]:
    """K-A1 (K-A3, K-T4) for ``m`` full months and ``r`` more days: consumed ``price/30 x 30m x f(m) +
    price/30 x r`` = ``price x (30 m fn + r fd) / (30 fd)``, and the refund ``paid - consumed`` to cents."""
    pn, pd = paid.numerator, paid.denominator
    qn, qd = price.as_integer_ratio()
    fn, fd = factor
    used = qn * (MONTH_DAYS * m * fn + r * fd)
    over = qd * MONTH_DAYS * fd
    return Fraction(used, over), round_ratio(pn * over - pd * used, pd * over, "half_down")


def k_d1(paid: Fraction, prices: list[Decimal], starts: list[int], d: int, m: int,
         factor: tuple[int, int]) -> tuple[Fraction, Decimal]:
    """K-D1 over ``d`` usage days: day ``i`` at ``prices[bisect_right(starts, i)]`` (the spec in effect at the
    start of that day), the first ``30m`` days at ``f(m)``, the rest at list price. Each price's days are
    counted instead of summed day by day: with ``starts`` ascending (`refund_lines` sorts the changes by
    start) price ``j`` holds the days ``[starts[j-1], starts[j])``; otherwise each day is looked up as the
    reference does."""
    cut = MONTH_DAYS * m
    if all(a <= b for a, b in zip(starts, starts[1:], strict=False)):
        bounds = [0, *starts, d]
        spans = [(max(lo, 0), min(hi, d)) for lo, hi in zip(bounds, bounds[1:], strict=False)]
        first = [max(0, min(hi, cut) - lo) for lo, hi in spans]
        rest = [max(0, hi - max(lo, cut)) for lo, hi in spans]
    else:
        first, rest = [0] * len(prices), [0] * len(prices)
        for i in range(d):
            (first if i < cut else rest)[bisect.bisect_right(starts, i)] += 1
    ratios = [p.as_integer_ratio() for p in prices]
    qd = lcm(*(den for _, den in ratios))
    scaled = [n * (qd // den) for n, den in ratios]
    fn, fd = factor
    used = sum(a * q for a, q in zip(first, scaled, strict=True)) * fn + \
        sum(b * q for b, q in zip(rest, scaled, strict=True)) * fd
    over = qd * MONTH_DAYS * fd
    pn, pd = paid.numerator, paid.denominator
    return Fraction(used, over), round_ratio(pn * over - pd * used, pd * over, "half_down")


def k_u1(paid: Fraction, covered: int, used: int) -> tuple[Fraction, Decimal]:
    """K-U1: refund ``paid / D x (D - u)``, consumed ``paid - refund`` = ``paid x u / D`` (all of it when the
    upgrade covers no day)."""
    if not covered:
        return paid, round_ratio(0, 1, "half_down")
    pn, pd = paid.numerator, paid.denominator
    return Fraction(pn * used, pd * covered), round_ratio(pn * (covered - used), pd * covered, "half_down")
