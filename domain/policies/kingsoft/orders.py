"""Orders and their validity periods (K-T2, K-T3, K-T4).

A pure fold of an instance's order facts, in business-time order, into `Order`
values whose ``start``/``end`` follow K-T3. Validity is *derived*, never stored:
a retracted renewal therefore moves every later renewal, as the facts say.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from domain.money import Payment
from domain.timeutil import months_days

BASE_KINDS = ("purchase", "renewal")


class Order(NamedTuple):
    kind: str  # purchase | renewal | upgrade | downgrade
    order: str
    at: datetime  # business time the order was placed
    start: datetime  # K-T3 validity start (inclusive)
    end: datetime  # K-T3 validity end (exclusive)
    monthly_price: Decimal
    payment: Payment
    credit: Decimal = Decimal("0")
    months: int | None = None
    discounts: tuple[tuple[int, Decimal], ...] = ()
    promotion: dict[str, Any] | None = None
    line: str | None = None

    @property
    def is_base(self) -> bool:
        return self.kind in BASE_KINDS

    def taken_effect(self, t: datetime) -> bool:
        """K-T4: an order has taken effect at ``t`` when its validity start <= t."""
        return self.start <= t

    def discount_factor(self, full_months: int) -> Fraction:
        """K-A1: ``f(m) = 1 - rate(k)`` for the largest ``k <= m`` that has a rate, else 1."""
        return discount_factor(self.discounts, full_months)

    @property
    def refundable(self) -> bool:
        """K-P1: a promotion with ``refundable: false`` wins over the general rules."""
        return not (self.promotion and self.promotion.get("refundable") is False)


def expiry(orders: Iterable[Order]) -> datetime | None:
    """The instance's expiry: the end of its latest base order (None before any)."""
    ends = [o.end for o in orders if o.is_base]
    return max(ends) if ends else None


def discount_factor(discounts: Iterable[tuple[int, Decimal]], full_months: int) -> Fraction:
    """K-A1: ``f(m) = 1 - rate(k)`` for the largest ``k <= m`` that has a rate, else 1."""
    best = None
    for k, rate in discounts:
        if k <= full_months and (best is None or k > best[0]):
            best = (k, rate)
    return Fraction(1) - Fraction(best[1]) if best else Fraction(1)


def term_price(monthly_price: Decimal, months: int, discounts: tuple[tuple[int, Decimal], ...]) -> Fraction:
    """The list price of a term: ``months x monthly_price x f(months)`` (K-A1's factor)."""
    return Fraction(monthly_price) * months * discount_factor(discounts, months)


def build_orders(facts: Iterable[Any]) -> list[Order]:
    """K-T3: fold order facts (sorted by business time ``at``) into orders with validity.

    - purchase: ``[activated_at, activated_at + 30*months days)``; activated_at defaults to ``at``;
    - renewal: starts at the instance's expiry when placed, or at ``at`` if already expired;
    - upgrade/downgrade: ``[at, expiry at that moment)``, covering every renewal already placed.
    """
    orders: list[Order] = []
    current: datetime | None = None  # the expiry so far: the end of the latest base order
    for f in facts:
        kind = getattr(f, "KIND", None)
        if kind is None:
            continue
        common = dict(order=f.order, at=f.at, monthly_price=f.monthly_price, line=f.line)
        if kind == "purchase":
            start = f.activated_at or f.at
            orders.append(Order(kind, start=start, end=start + months_days(f.months), payment=f.payment,
                                months=f.months, discounts=_rates(f.discounts), promotion=f.promotion, **common))
            current = max(current, orders[-1].end) if current else orders[-1].end
        elif kind == "renewal":
            start = current if current is not None and current > f.at else f.at
            orders.append(Order(kind, start=start, end=start + months_days(f.months), payment=f.payment,
                                months=f.months, discounts=_rates(f.discounts), **common))
            current = max(current, orders[-1].end) if current else orders[-1].end
        else:
            end = current if current is not None else f.at
            payment = f.payment if kind == "upgrade" else Payment()
            credit = f.credit if kind == "downgrade" else Decimal("0")
            orders.append(Order(kind, start=f.at, end=end, payment=payment, credit=credit, **common))
    return orders


def _rates(discounts: dict[str, Decimal] | None) -> tuple[tuple[int, Decimal], ...]:
    return tuple(sorted((int(k), Decimal(v)) for k, v in (discounts or {}).items()))
