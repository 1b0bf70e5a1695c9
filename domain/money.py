"""Money: exact `Decimal` at rest, `Fraction` inside formulas, rounded once per line.

K-M1 (actual payment) and K-M2 (half-down rounding to cents) live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Literal

CENTS = Decimal("0.01")  # the exponent of every rounded amount (made once: `from_cents` runs once per line)
TENDERS = ("cash", "cloud_ticket", "voucher", "gift_balance")
Rounding = Literal["half_down", "half_up"]


def exact(value: Decimal | int | Fraction) -> Fraction:
    """A money value as an exact fraction; a float is a programming error."""
    if isinstance(value, float) or isinstance(value, bool):
        raise TypeError(f"money must never be a float or bool: {value!r}")
    return Fraction(value)


def round_cents(value: Fraction, mode: Rounding) -> Decimal:
    """Round an exact amount to cents, once.

    K-M2: ``half_down`` sends ties towards zero (0.125 -> 0.12, 0.126 -> 0.13);
    ``half_up`` sends them away from zero (each policy says which). Same as `decimal`'s
    ROUND_HALF_DOWN / ROUND_HALF_UP, but computed on the exact fraction so that
    a non-terminating value (1/3) is never truncated first.
    """
    if isinstance(value, float):
        raise TypeError("money must never be a float")
    if not isinstance(value, Fraction | int):
        value = Fraction(value)
    return round_ratio(value.numerator, value.denominator, mode)


def round_ratio(numerator: int, denominator: int, mode: Rounding) -> Decimal:
    """K-M2 on the exact amount ``numerator / denominator`` (any integers, ``denominator > 0``, reduced or not):
    `round_cents` without building a `Fraction` (the lean K-R1 lines, `kingsoft.scaled`). The cents are
    ``100 n / d``: the whole part, plus one when twice the rest is over ``d`` (or equal to it, half-up),
    the sign put back after (ties go towards zero under half-down, away from it under half-up)."""
    whole, rest = divmod(100 * abs(numerator), denominator)
    twice = 2 * rest
    if twice > denominator or (twice == denominator and mode == "half_up"):
        whole += 1
    return from_cents(-whole if numerator < 0 else whole)


def from_cents(c: int) -> Decimal:
    """Integer cents as a two-decimal amount (what the exports, the journal and the read models show)."""
    return (Decimal(c) / 100).quantize(CENTS)


def fmt(value: Decimal) -> str:
    """Two-decimal string, the interface's money format."""
    return str(value.quantize(CENTS))


@dataclass(frozen=True, slots=True)
class Payment:
    """How an order was paid, split by tender (K-M1)."""

    cash: Decimal = Decimal("0")
    cloud_ticket: Decimal = Decimal("0")
    voucher: Decimal = Decimal("0")
    gift_balance: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        for name in TENDERS:  # its fields, in order (a constant: ``fields()`` rebuilt the tuple per payment)
            if not isinstance(getattr(self, name), Decimal):
                raise TypeError(f"payment.{name} must be a Decimal, got {getattr(self, name)!r}")

    @property
    def total(self) -> Decimal:
        return self.cash + self.cloud_ticket + self.voucher + self.gift_balance

    def actual(self, refundable_tenders: tuple[str, ...] = ("cash", "cloud_ticket")) -> Fraction:
        """K-M1: the part of the payment that may be refunded (cash + cloud tickets by default).

        Vouchers, gift balance and the discounted amount are never refunded.
        """
        return _actual(self, tuple(refundable_tenders))

    def as_dict(self) -> dict[str, str]:
        return {t: str(getattr(self, t)) for t in TENDERS}


@lru_cache(maxsize=8192)
def _actual(payment: Payment, refundable_tenders: tuple[str, ...]) -> Fraction:
    """K-M1, memoised: payments are immutable values and a ledger holds few distinct ones."""
    unknown = set(refundable_tenders) - set(TENDERS)
    if unknown:
        raise ValueError(f"unknown tender(s) {sorted(unknown)}; tenders are {TENDERS}")
    return sum((exact(getattr(payment, t)) for t in refundable_tenders), Fraction(0))
