"""Kingsoft's parameters (policy ``kingsoft-2021-05-27``): the settings a what-if replay may override (the spec's
**Parameter** lines: K-M1's refundable tenders, K-Q1's and K-L2's calendar, K-L2's holidays).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from domain.errors import LedgerError
from domain.money import TENDERS
from domain.timeutil import tz_of


@dataclass(frozen=True)
class KingsoftParameters:
    """Policy settings a what-if replay may override (the spec's **Parameter** lines)."""

    refundable_tenders: tuple[str, ...] = ("cash", "cloud_ticket")  # K-M1
    calendar_tz: str = "+08:00"  # K-Q1 (its months) and K-L2 (its working days); ±HH:MM
    holidays: tuple[date, ...] = field(default=())  # K-L2

    def override(self, values: dict[str, Any]) -> KingsoftParameters:
        """A copy with overrides given as text (``--set refundable_tenders=cash``, ``holidays=2026-10-01,...``)."""
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            if name == "refundable_tenders":
                tenders = tuple(t for t in str(raw).split(",") if t)
                unknown = set(tenders) - set(TENDERS)
                if unknown:
                    raise LedgerError(f"unknown tender(s) {sorted(unknown)}; tenders are {TENDERS}", name)
                changes[name] = tenders
            elif name == "holidays":
                try:
                    changes[name] = tuple(date.fromisoformat(d) for d in str(raw).split(",") if d)
                except ValueError as e:
                    raise LedgerError(str(e), name) from None
            elif name == "calendar_tz":
                try:
                    tz_of(str(raw))
                except ValueError as e:
                    raise LedgerError(str(e), name) from None
                changes[name] = str(raw)
            else:
                raise LedgerError(f"unknown Kingsoft parameter {name!r} (known: refundable_tenders, calendar_tz, "
                                  "holidays)", "parameters")
        return replace(self, **changes)
