"""Reconciliation: the ledger against a payment provider's statement, line by line (pure).

A statement line is a charge (``reference`` = an order id, or an invoice) or a refund (``reference`` = a
refund id). The ledger expects, within the statement's period (its first to last ``booked_at`` day, UTC):
every order that moved cash (its cash tender; an invoiced charge's amount), and every completed refund
(its frozen quote, or the amount a staff decision granted). Each statement line is then one of: matched,
amount_mismatch, refund_above_quote, currency_mismatch, account_mismatch, missing_in_ledger, duplicate;
each expected ledger item that no line matched is missing_in_statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from domain.money import fmt
from projections.finance import OrderRow, RefundRow

PAID_REFUND_STATES = ("accepted", "approved", "completed")


def amount(c: int | None) -> str | None:
    return None if c is None else fmt(Decimal(c) / 100)


def _larger(statement: int, ledger: int) -> str:
    """Which side is larger, and by how much (never a signed difference)."""
    side = "statement" if statement > ledger else "ledger"
    return f"the {side} is larger by {amount(abs(statement - ledger))} (statement {amount(statement)}, ledger " \
           f"{amount(ledger)})"


@dataclass(frozen=True)
class StatementLine:
    row: int  # the CSV row number (the header is row 1)
    kind: str  # charge | refund
    reference: str
    account: str
    amount_cents: int
    currency: str
    booked_at: datetime


@dataclass(frozen=True)
class Finding:
    status: str
    kind: str
    reference: str
    account: str | None
    statement_amount: int | None
    ledger_amount: int | None
    currency: str | None
    row: int | None
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "kind": self.kind, "reference": self.reference, "account": self.account,
                "statement_amount": amount(self.statement_amount), "ledger_amount": amount(self.ledger_amount),
                "currency": self.currency, "row": self.row, "detail": self.detail}


@dataclass(frozen=True)
class Expected:
    kind: str
    reference: str
    account: str
    amount_cents: int
    currency: str
    on: date
    required: bool  # must appear in the statement (a cash charge, a completed refund)


@dataclass(frozen=True)
class Scope:
    """What of the ledger a statement can be compared with: the items its lines name, and the required items
    dated inside its period (its first to last booking day, UTC). Computed once per statement."""

    named: frozenset[tuple[str, str]]
    first: date
    last: date

    @classmethod
    def of(cls, statement: list[StatementLine]) -> Scope:
        first, last = period(statement)
        return cls(frozenset((s.kind, s.reference) for s in statement), first, last)

    def keeps(self, key: tuple[str, str], e: Expected) -> bool:
        return key in self.named or (e.required and self.first <= e.on <= self.last)


def expected_items(orders: Iterable[OrderRow], refunds: Iterable[RefundRow],
                   scope: Scope | None = None) -> dict[tuple[str, str], Expected]:
    """What the ledger expects to see paid; given a statement's `Scope`, only what `reconcile` can look at
    (so a ledger-wide job keeps little)."""
    out = {}
    for o in orders:
        if o.kind != "downgrade":
            out[("charge", o.order)] = Expected("charge", o.order, o.account, o.cash_cents, o.currency,
                                               o.placed_at.astimezone(UTC).date(), o.cash_cents > 0)
    for r in refunds:
        if r.state in PAID_REFUND_STATES:
            on = (r.settled_at or r.requested_at).astimezone(UTC).date()
            out[("refund", r.refund)] = Expected("refund", r.refund, r.account, r.amount_cents, r.currency, on,
                                                 r.state == "completed")
    return out if scope is None else {k: e for k, e in out.items() if scope.keeps(k, e)}


def period(statement: list[StatementLine]) -> tuple[date, date]:
    """The statement's first and last booking days (UTC); an empty statement covers no day."""
    if not statement:
        return date.max, date.min
    return (min(s.booked_at for s in statement).astimezone(UTC).date(),
            max(s.booked_at for s in statement).astimezone(UTC).date())


def reconcile(statement: list[StatementLine], expected: dict[tuple[str, str], Expected]) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for s in statement:
        key = (s.kind, s.reference)

        def finding(status: str, detail: str, e: Expected | None = None, s: StatementLine = s) -> Finding:
            return Finding(status, s.kind, s.reference, s.account, s.amount_cents, e.amount_cents if e else None,
                           s.currency, s.row, detail)

        if key in seen:
            findings.append(finding("duplicate", f"{s.kind} {s.reference} appears more than once in the statement",
                                    expected.get(key)))
            continue
        seen.add(key)
        e = expected.get(key)
        if e is None:
            findings.append(finding("missing_in_ledger", f"the ledger has no {s.kind} {s.reference}"))
        elif s.currency != e.currency:
            findings.append(finding("currency_mismatch", f"statement in {s.currency}, ledger in {e.currency}", e))
        elif s.account != e.account:
            findings.append(finding("account_mismatch", f"statement account {s.account}, ledger {e.account}", e))
        elif s.kind == "refund" and s.amount_cents > e.amount_cents:
            findings.append(finding("refund_above_quote", "refund paid above the ledger's frozen quote (K-L1)", e))
        elif s.amount_cents != e.amount_cents:
            findings.append(finding("amount_mismatch", _larger(s.amount_cents, e.amount_cents), e))
        else:
            findings.append(finding("matched", "", e))
    if statement:
        first, last = period(statement)
        for key, e in sorted(expected.items()):
            if key not in seen and e.required and first <= e.on <= last:
                findings.append(Finding("missing_in_statement", e.kind, e.reference, e.account, None, e.amount_cents,
                                        e.currency, None, f"the ledger has this {e.kind} on {e.on}; the statement "
                                                          "does not"))
    return findings
