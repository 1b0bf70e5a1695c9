"""Finance jobs over the whole ledger: reading every instance's rows (streamed), reading a payment
provider's statement (CSV, strictly: every malformed row is an error naming its row and column)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, TextIO

from eventsourcing.utils import get_topic

from adapters.feed import BadInput
from adapters.store import Ledger
from domain.instance import Instance
from domain.korpro import Subscription
from projections.finance import FAR, OrderRow, RefundRow, instance_rows
from projections.reconcile import StatementLine

COLUMNS = ("kind", "reference", "account", "amount", "currency", "booked_at")
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")


def instance_names(ledger: Ledger, page: int = 1000) -> Iterator[tuple[Any, str]]:
    """Every instance (id, name), in the order they were opened, read page by page (flat memory)."""
    topics = [get_topic(Instance.Opened), get_topic(Subscription.Opened)]
    start = 1
    while True:
        batch = ledger.recorder.select_notifications(start=start, limit=page, topics=topics)
        for note in batch:
            yield note.originator_id, ledger.mapper.to_domain_event(note).name
        if len(batch) < page:
            return
        start = batch[-1].id + 1


def ledger_rows(ledger: Ledger, known_at: datetime = FAR) -> tuple[list[OrderRow], list[RefundRow]]:
    orders, refunds = [], []
    for aggregate_id, name in instance_names(ledger):
        o, r = instance_rows(name, ledger.events.get(aggregate_id), known_at)
        orders += o
        refunds += r
    return orders, refunds


def read_statement(handle: TextIO) -> list[StatementLine]:
    """A payment statement (CSV with a header row). Bad input names the row (header = row 1) and column."""
    reader = csv.DictReader(handle)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadInput(None, f"row 1 (header): missing column(s) {', '.join(missing)}")
    unknown = [c for c in reader.fieldnames or [] if c not in COLUMNS]
    if unknown:
        raise BadInput(None, f"row 1 (header): unknown column(s) {', '.join(unknown)}")
    lines = []
    for n, raw in enumerate(reader, start=2):
        if None in raw or any(raw[c] is None for c in COLUMNS):
            raise BadInput(None, f"row {n}: expected {len(COLUMNS)} columns")

        def bad(column: str, what: str, n: int = n) -> BadInput:
            return BadInput(None, f"row {n}, column {column}: {what}")

        kind = raw["kind"].strip()
        if kind not in ("charge", "refund"):
            raise bad("kind", f"{kind!r} is neither charge nor refund")
        for column in ("reference", "account"):
            if not raw[column].strip():
                raise bad(column, "empty")
        amount = raw["amount"].strip()
        if not _AMOUNT.match(amount):
            raise bad("amount", f"{amount!r} is not a non-negative amount with at most 2 decimals")
        currency = raw["currency"].strip()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise bad("currency", f"{currency!r} is not a 3-letter currency code")
        try:
            booked = datetime.fromisoformat(raw["booked_at"].strip())
        except ValueError:
            raise bad("booked_at", f"{raw['booked_at']!r} is not an ISO 8601 time") from None
        if booked.tzinfo is None:
            raise bad("booked_at", f"{raw['booked_at']!r} has no offset")
        lines.append(StatementLine(n, kind, raw["reference"].strip(), raw["account"].strip(),
                                   int(Decimal(amount) * 100), currency, booked))
    return lines
