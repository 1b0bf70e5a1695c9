"""A payment provider's statement (CSV), read strictly: every malformed row is an error naming its row and
column."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal

from adapters.formats import envelope
from adapters.formats.errors import BadInput
from projections.reconcile import StatementLine

STATEMENT_COLUMNS = ("kind", "reference", "account", "amount", "currency", "booked_at")


def read_statement(handle: Iterable[str]) -> list[StatementLine]:
    """A payment statement (CSV with a header row). Bad input names the row (header = row 1) and column."""
    reader = csv.DictReader(handle)
    missing = [c for c in STATEMENT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadInput(None, f"row 1 (header): missing column(s) {', '.join(missing)}")
    unknown = [c for c in reader.fieldnames or [] if c not in STATEMENT_COLUMNS]
    if unknown:
        raise BadInput(None, f"row 1 (header): unknown column(s) {', '.join(unknown)}")
    lines = []
    for n, raw in enumerate(reader, start=2):
        if None in raw or any(raw[c] is None for c in STATEMENT_COLUMNS):
            raise BadInput(None, f"row {n}: expected {len(STATEMENT_COLUMNS)} columns")

        def bad(column: str, what: str, n: int = n) -> BadInput:
            return BadInput(None, f"row {n}, column {column}: {what}")

        kind = raw["kind"].strip()
        if kind not in ("charge", "refund"):
            raise bad("kind", f"{kind!r} is neither charge nor refund")
        for column in ("reference", "account"):
            if not raw[column].strip():
                raise bad(column, "empty")
        amount = raw["amount"].strip()
        try:
            envelope.parse_money(amount)
        except envelope.Refused as e:
            raise bad("amount", f"{amount!r} is not a non-negative amount with at most 2 decimals "
                                f"({e.message})") from None
        currency = raw["currency"].strip()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise bad("currency", f"{currency!r} is not a 3-letter currency code")
        try:
            booked = envelope.instant(raw["booked_at"].strip())
        except envelope.Refused as e:
            raise bad("booked_at", e.message) from None
        lines.append(StatementLine(n, kind, raw["reference"].strip(), raw["account"].strip(),
                                   int(Decimal(amount) * 100), currency, booked))
    return lines
