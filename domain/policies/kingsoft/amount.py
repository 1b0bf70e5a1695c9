"""Kingsoft refund amount (policy ``kingsoft-2021-05-27``): rules K-M*, K-A*, K-U1, K-D1, K-R1, K-P1, and the
five-day refund's lines (K-F9).

Pure functions of an instance's orders (with K-T3 validity) and the application
time ``t``. Every figure is an exact `Fraction` until the line is rounded once,
half-down, to cents (K-M2).
"""

from __future__ import annotations

import bisect
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from domain.errors import Inconsistent
from domain.lines import Line, formula_money, num, rate
from domain.money import exact, fmt, round_cents
from domain.policies.kingsoft import scaled
from domain.policies.kingsoft.orders import Order
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.timeutil import MONTH_DAYS, usage_days

if TYPE_CHECKING:
    from domain.policies.kingsoft.rules import Application
    from domain.policies.kingsoft.view import InstanceView


def k_a1_consumed(price_by_day: list[Fraction], factor: Fraction, full_months: int) -> Fraction:
    """K-A1 consumption: the first ``30m`` days at the discount factor ``f(m)``, the rest at list price."""
    cut = MONTH_DAYS * full_months
    return sum(price_by_day[:cut], Fraction(0)) / MONTH_DAYS * factor + \
        sum(price_by_day[cut:], Fraction(0)) / MONTH_DAYS


def base_line(instance: str, o: Order, t: datetime, params: KingsoftParameters, rule: str,
              changes: list[Order], explain: bool = True) -> Line:
    """K-A1 for the base order in effect (K-A3 when it is a renewal), or K-D1 when it has a downgrade.

    K-D1: with spec changes in the base order's validity, actual payment = base + its upgrades - credits,
    and each usage day is priced at the spec in effect at the start of that day (day ``i`` starts at
    ``start + (i-1) x 24h``; a change at instant ``c`` applies to the day that starts at ``c``).
    K-T4: after expiry the usage is capped at the order's length. ``explain`` False: the formula is left empty
    (a ledger-wide job's lean quote) and the figures are computed in scaled integers (`scaled`), the same to
    the cent and the same exact ``consumed``; the `Fraction` code below is the explained path and the reference.
    """
    length = MONTH_DAYS * (o.months or 0)
    d = min(usage_days(o.start, t), length)
    m, r = divmod(d, MONTH_DAYS)
    paid = o.payment.actual(params.refundable_tenders)
    if changes:
        rule = "K-D1"
        paid += sum((c.payment.actual(params.refundable_tenders) - exact(c.credit) for c in changes), Fraction(0))
        starts = [usage_days(o.start, c.start) if c.start > o.start else 0 for c in changes]
    if not o.refundable:
        return _promotion_line(instance, o, paid, explain)
    if not explain:  # the lean quote: the same figures in scaled integers (issue 31)
        ratio = scaled.factor_ratio(o.discounts, m)
        consumed, refund = scaled.k_d1(paid, [o.monthly_price, *(c.monthly_price for c in changes)], starts, d,
                                       m, ratio) if changes else scaled.k_a1(paid, o.monthly_price, ratio, m, r)
        return Line(instance, o.order, o.kind, rule, paid, consumed, refund, "")
    factor = o.discount_factor(m)
    if changes:
        prices = [Fraction(o.monthly_price)] + [Fraction(c.monthly_price) for c in changes]
        by_day = [prices[bisect.bisect_right(starts, i)] for i in range(d)]
        consumed = k_a1_consumed(by_day, factor, m)
        formula = (f"{formula_money(paid)} − Σ price(day)/30 over {d} days (f({m}) = {rate(factor)} on the first "
                   f"{MONTH_DAYS * m}) = {formula_money(paid)} − {num(consumed)}")
    else:
        daily = Fraction(o.monthly_price) / MONTH_DAYS
        consumed = daily * (MONTH_DAYS * m) * factor + daily * r
        p = num(o.monthly_price)
        terms = []
        if m:
            terms.append(f"{p}/30 × {MONTH_DAYS * m}" + (f" × {rate(factor)}" if factor != 1 else ""))
        if r or not m:
            terms.append(f"{p}/30 × {r}")
        formula = f"{formula_money(paid)} − ({' + '.join(terms)})"
    refund = round_cents(paid - consumed, "half_down")
    return Line(instance, o.order, o.kind, rule, paid, consumed, refund, f"{formula} = {fmt(refund)}")


def upgrade_line(instance: str, u: Order, t: datetime, params: KingsoftParameters, explain: bool = True) -> Line:
    """K-U1: ``paid_U / D_U x (D_U - u)``, D_U its covered days (K-T1 counting), u days used since it
    (``explain`` False: in scaled integers, `scaled.k_u1`)."""
    paid = u.payment.actual(params.refundable_tenders)
    covered = usage_days(u.start, u.end)
    used = min(usage_days(u.start, t), covered)
    if not u.refundable:
        return _promotion_line(instance, u, paid, explain)
    if not explain:  # the lean quote: scaled integers (issue 31)
        consumed, refund = scaled.k_u1(paid, covered, used)
        return Line(instance, u.order, u.kind, "K-U1", paid, consumed, refund, "")
    exact_refund = paid / covered * (covered - used) if covered else Fraction(0)
    refund = round_cents(exact_refund, "half_down")
    return Line(instance, u.order, u.kind, "K-U1", paid, paid - exact_refund, refund,
                f"{formula_money(paid)}/{covered} × ({covered} − {used}) = {fmt(refund)}")


def whole_payment_line(instance: str, o: Order, params: KingsoftParameters, rule: str,
                       explain: bool = True) -> Line:
    """K-A2: an order not yet in effect refunds its whole actual payment."""
    paid = o.payment.actual(params.refundable_tenders)
    if not o.refundable:
        return _promotion_line(instance, o, paid, explain)
    refund = round_cents(paid, "half_down")
    return Line(instance, o.order, o.kind, rule, paid, None, refund,
                f"whole actual payment {formula_money(paid)} (not yet in effect)" if explain else "")


def expired_line(instance: str, o: Order, params: KingsoftParameters, explain: bool = True) -> Line:
    """K-A3: once a later base order is in effect, earlier ones refund 0 (a non-refundable promoted one cites
    K-P1, the Decision: whatever else makes it 0.00)."""
    paid = o.payment.actual(params.refundable_tenders)
    if not o.refundable:
        return _promotion_line(instance, o, paid, explain)
    return Line(instance, o.order, o.kind, "K-A3", paid, paid, Decimal("0.00"),
                "superseded by a later base order in effect: 0.00" if explain else "")


def _promotion_line(instance: str, o: Order, paid: Fraction, explain: bool = True) -> Line:
    """K-P1: the promotion's own rule (``refundable: false``) wins."""
    pid = (o.promotion or {}).get("id", "?")
    return Line(instance, o.order, o.kind, "K-P1", paid, None, Decimal("0.00"),
                f"promotion {pid} is not refundable: 0.00" if explain else "")


def base_in_effect(orders: list[Order], t: datetime) -> Order | None:
    """K-T4: the purchase or renewal whose validity contains ``t``; after the last one has expired,
    that last one; None while no base order has taken effect."""
    bases = sorted((o for o in orders if o.is_base), key=lambda o: o.start)
    for o in bases:
        if o.start <= t < o.end:
            return o
    started = [o for o in bases if o.start <= t]
    return started[-1] if started else None


def refund_lines(instance: str, orders: list[Order], t: datetime, params: KingsoftParameters,
                 explain: bool = True) -> list[Line]:
    """K-R1 (and K-A4): base order in effect (K-A1 / K-A3 / K-D1) + each upgrade that has taken effect
    (K-U1) + each base order not yet in effect (K-A2); earlier base orders refund 0 (K-A3). ``explain`` False:
    the same lines, their formulas empty."""
    effective = base_in_effect(orders, t)
    absorbed = []
    if effective is not None:
        own = [o for o in orders if not o.is_base and effective.start <= o.start < effective.end]
        if any(o.kind == "downgrade" for o in own):
            absorbed = sorted(own, key=lambda o: o.start)
    lines: list[Line] = []
    for o in orders:
        if o.is_base:
            if effective is None or o.start > t:
                lines.append(whole_payment_line(instance, o, params, "K-A2", explain))
            elif o is effective:
                lines.append(base_line(instance, o, t, params, "K-A1" if o.kind == "purchase" else "K-A3",
                                       absorbed, explain))
            else:
                lines.append(expired_line(instance, o, params, explain))
        elif o.kind == "upgrade" and o not in absorbed:
            lines.append(upgrade_line(instance, o, t, params, explain))
    return lines


def total(lines: list[Line]) -> tuple[Decimal, str]:
    """K-M2 / K-M4: the amount is the sum of the rounded lines; ``<= 0`` refunds nothing
    (amount 0.00, outcome ``resources_cleared``). K-P1: an application whose every paid order is a
    non-refundable promotion never gets here: it is denied (``rules.promotion_forbids_refund``)."""
    amount = sum((ln.refund for ln in lines), Decimal("0.00"))
    if amount <= 0:
        return Decimal("0.00"), "resources_cleared"
    return amount, "refund"


def five_day_lines(app: Application, explain: bool = True) -> list[Line]:
    """K-F9: the whole actual payment (K-M1) of every instance in the application (``explain`` False: their
    formulas empty)."""
    lines = []
    for v in app.views:
        for o in v.orders:
            paid = o.payment.actual(app.params.refundable_tenders)
            if not o.refundable:
                lines.append(Line(v.name, o.order, o.kind, "K-P1", paid, None, Decimal("0.00"),
                                  f"promotion {o.promotion['id']} is not refundable: 0.00"  # type: ignore[index]  # not refundable: in a promotion
                                  if explain else ""))
                continue
            refund = round_cents(paid, "half_down")
            lines.append(Line(v.name, o.order, o.kind, "K-F9", paid, None, refund,
                              f"five-day refund: whole actual payment {refund}" if explain else ""))
    return lines


def amount_lines(views: list[InstanceView], at: datetime, params: KingsoftParameters,
                 explain: bool = True) -> list[Line]:
    """K-R1 lines of every instance in the application, primary first (``explain`` False: formulas empty)."""
    currencies = {v.currency for v in views}
    if len(currencies) > 1:
        raise Inconsistent(f"instances refunded together are billed in {sorted(currencies)} (K-M3)", "with")
    return [ln for v in views for ln in refund_lines(v.name, v.orders, at, params, explain)]
