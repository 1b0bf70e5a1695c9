"""The refund quote's shape, the same for every policy: a `Quote` (the amount, the outcome and the lines that
add up to it), the `Reason` s it gives and the recorded facts each one cites (`Cited`). The rules that make a
quote are each policy's (``domain.policies``: Kingsoft's K-M*, K-A*, K-U1, K-D1, K-R1, K-P1 in
``kingsoft.amount``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from domain.lines import Line
from domain.money import fmt


class Cited(NamedTuple):
    """A recorded fact a reason rests on, with both of its times."""

    fact: str
    ref: str | None  # the order, refund or feed-line id that names it
    at: str
    recorded_at: str

    def as_json(self) -> dict[str, str | None]:
        return self._asdict()


def cite(event: Any, ref: str | None = None) -> Cited:
    ref = ref or getattr(event, "order", None) or getattr(event, "refund", None) or getattr(event, "line", None)
    return Cited(type(event).__name__, ref, event.at.isoformat(), event.timestamp.isoformat())


@dataclass(frozen=True)
class Reason:
    rule: str
    message: str
    facts: tuple[Cited, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "message": self.message}
        if self.facts:
            out["facts"] = [f.as_json() for f in self.facts]
        return out


@dataclass(frozen=True)
class Quote:
    instance: str
    at: datetime
    known_at: datetime
    currency: str
    mode: str
    eligible: bool
    amount: Decimal
    outcome: str  # refund | resources_cleared | denied
    lines: list[Line]
    policy: str  # the registered policy that judged it (name and version): each policy says its own
    reasons: list[Reason] = field(default_factory=list)
    ceiling: Decimal | None = None  # a discretionary refund (e.g. P-G3, P-X1): the most a decision may grant

    def as_json(self) -> dict[str, Any]:
        """The interface's ``quote --json`` shape."""
        return {
            "instance": self.instance,
            "at": self.at.isoformat(),
            "known_at": self.known_at.isoformat(),
            "policy": self.policy,
            "currency": self.currency,
            "mode": self.mode,
            "eligible": self.eligible,
            "reasons": [r.as_json() for r in self.reasons],
            "amount": fmt(self.amount),
            "outcome": self.outcome,
            "lines": [ln.as_json() for ln in self.lines],
            **({"ceiling": fmt(self.ceiling), "staff_decision_required": True} if self.ceiling is not None else {}),
        }
