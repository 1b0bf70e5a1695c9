"""KorPro's pricing formulas (policy ``korpro-2025-12-20``, rules-korpro.md: P-M1, P-M2, P-O1), pure.

Every figure is exact (a `Decimal` of the parameters, or a `Fraction`); money is rounded half-up to cents at each
refund line (`domain.policies.korpro.rules`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from domain.policies.korpro.parameters import KorProParameters
from domain.timeutil import ratio


def add_months(t: datetime, months: int) -> datetime:
    """Calendar months (the commitment is "1 year"); the day is clipped to the month's length."""
    y, m = divmod(t.month - 1 + months, 12)
    year, month = t.year + y, m + 1
    for day in (t.day, 30, 29, 28):
        try:
            return t.replace(year=year, month=month, day=min(t.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def fixed_fee(params: KorProParameters, cpus: int) -> Decimal:
    """P-M2: 500 base + 4 per CPU under management."""
    return params.base_fee + params.per_cpu_fee * cpus


def performance_fee(params: KorProParameters, estimated_savings: Decimal) -> Fraction:
    """P-M1: 20% of the month's estimated savings."""
    return Fraction(params.performance_rate) * Fraction(estimated_savings)


def outage_share(fee: Decimal, period: tuple[datetime, datetime], outage: tuple[datetime, datetime]) -> Fraction:
    """P-O1: the period's fee prorated by the outage time inside it / the period's length."""
    start, end = max(period[0], outage[0]), min(period[1], outage[1])
    if end <= start:
        return Fraction(0)
    return Fraction(fee) * ratio(end - start, period[1] - period[0])
