"""KorPro's parameters (policy ``korpro-2025-12-20``, rules-korpro.md): the spec's **Parameter** lines, which a
posted version (P-V1) or a what-if replay overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from domain.errors import LedgerError
from domain.timeutil import tz_of


@dataclass(frozen=True)
class KorProParameters:
    """The spec's **Parameter** lines (and the windows the source names), overridable per call."""

    performance_rate: Decimal = Decimal("0.20")  # P-M1
    base_fee: Decimal = Decimal("500")  # P-M2
    per_cpu_fee: Decimal = Decimal("4")  # P-M2
    shortfall_threshold: Decimal = Decimal("0.50")  # P-G2
    money_back_days: int = 30  # P-G1
    trial_days: int = 14  # P-F1
    described_days: int = 30  # P-X1
    incompatibility_days: int = 30  # P-X2
    outage_min_hours: int = 24  # P-O1
    review_days: int = 3  # P-R2
    processing_days: int = 10  # P-R3
    escalation_days: int = 5  # P-D1
    calendar_tz: str = "+00:00"  # P-R2, P-R3, P-D1: business days are counted in this offset (±HH:MM)
    holidays: tuple[date, ...] = ()  # P-R2, P-R3, P-D1: not business days

    def override(self, values: dict[str, Any]) -> KorProParameters:
        """A copy with ``values`` (from a feed or a what-if) parsed into each field's type."""
        known = {f.name: f for f in fields(self)}
        parsed: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in known:
                raise LedgerError(f"unknown KorPro parameter {name!r} (known: {', '.join(known)})", "parameters")
            current = getattr(self, name)
            try:
                if isinstance(current, Decimal):
                    if not isinstance(raw, str):
                        raise ValueError("give it as a JSON string, e.g. \"0.25\"")
                    parsed[name] = Decimal(raw)
                elif isinstance(current, bool) or not isinstance(current, (int, str, tuple)):
                    raise ValueError("not overridable")
                elif isinstance(current, int):
                    if isinstance(raw, str) and raw.isdigit():
                        raw = int(raw)
                    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
                        raise ValueError("give a whole number")
                    parsed[name] = raw
                elif isinstance(current, tuple):
                    items = raw.split(",") if isinstance(raw, str) else raw
                    parsed[name] = tuple(date.fromisoformat(d) for d in items if d)
                elif name == "calendar_tz":
                    tz_of(raw)  # ValueError unless an offset written ±HH:MM
                    parsed[name] = raw
                else:
                    parsed[name] = str(raw)
            except (ValueError, TypeError, ArithmeticError) as e:
                raise LedgerError(str(e), f"parameters.{name}") from None
        return replace(self, **parsed)
