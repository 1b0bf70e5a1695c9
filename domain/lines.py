"""A quote's line (one refunded order or invoice) and the number formats of its formula, shared by policies."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from domain.money import fmt, round_cents


class Line(NamedTuple):
    """One refunded order: what was paid, what was consumed, what is refunded, and why."""

    instance: str
    order: str
    kind: str
    rule: str
    paid: Fraction
    consumed: Fraction | None  # None where the rule refunds a whole payment
    refund: Decimal  # rounded once (K-M2)
    formula: str

    def as_json(self) -> dict[str, str]:
        """``consumed`` is shown as ``paid - refund`` so each line adds up to the cent;
        the exact consumption is in ``formula``. ``paid`` is whole cents (tenders are)."""
        out = {"instance": self.instance, "order": self.order, "kind": self.kind, "rule": self.rule,
               "paid": fmt(round_cents(self.paid, "half_down"))}
        if self.consumed is not None:
            out["consumed"] = fmt(round_cents(self.paid, "half_down") - self.refund)
        out["refund"] = fmt(self.refund)
        out["formula"] = self.formula
        return out


def num(x: Fraction | Decimal | int) -> str:
    """A number for a formula: exact decimal when it terminates, else ``a/b``."""
    x = Fraction(x)
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return f"{x.numerator}/{x.denominator}"
    s = format(Decimal(x.numerator) / Decimal(x.denominator), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def formula_money(x: Fraction | Decimal) -> str:
    """An amount for a formula: 2 decimals when it is whole cents, else exact."""
    x = Fraction(x)
    return fmt(Decimal(x.numerator) / Decimal(x.denominator)) if (x * 100).denominator == 1 else num(x)


def rate(x: Fraction) -> str:
    """A discount factor for a formula, at least 2 decimals (0.70)."""
    s = num(x)
    return s + "0" if len(s.partition(".")[2]) == 1 else s


